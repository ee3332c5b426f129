// One complaint: its timeline, the transitions legal from its status, the
// resolution form and notes.
import { api, ApiError } from '../api.js';
import { h, mount, field, showErrors } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { startCountdown } from './complaints.js';

// legal mirrors the API's state machine, so only moves it would accept are
// offered; the API still decides (409 otherwise).
const legal = { acknowledged: ['in_progress', 'escalated'], in_progress: ['resolved', 'escalated'], resolved: ['closed', 'reopened'], closed: ['reopened'] };

export const complaint = {
  id: 'complaints', detail: true, title: 'complaints', roles: ['admin', 'service', 'sales', 'auditor'],
  async render(el, { id, me }) {
    const c = await api('GET', `/complaints/${encodeURIComponent(id)}`);
    const work = ['admin', 'service'].some((r) => me.roles.includes(r));
    mount(el, h('h1', null, c.subject),
      h('dl', { class: 'kv', id: 'complaint-details' },
        [[t('status'), h('span', { id: 'complaint-status' }, t(`st.${c.status}`))], [t('severity'), c.severity], [t('channel'), c.channel], [t('category'), c.category],
          [t('customerId'), h('a', { href: `#/customers/${encodeURIComponent(c.customerId)}` }, c.customerId)], [t('assignee'), c.assigneeId],
          [t('slaDue'), ['resolved', 'closed'].includes(c.status) ? fmtDate(c.slaDueAt) : h('span', { 'data-due': c.slaDueAt })], [t('description'), c.description],
          c.resolution ? [t('resolution'), `${c.resolution.summary} · ${c.resolution.rootCause} · ${c.resolution.remedy}`] : null]
          .filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
      work ? transitions(c) : null, work ? notes(c) : null,
      h('h2', null, t('timeline')),
      h('ol', { id: 'timeline' }, (c.timeline || []).map((e) => h('li', null, `${fmtDate(e.at)} · ${e.actorId} · ${e.action}`, e.to ? ` → ${t(`st.${e.to}`)}` : '', e.note ? ` · ${e.note}` : ''))));
    startCountdown(el);
  },
};

function transitions(c) {
  const moves = legal[c.status] || [];
  if (!moves.length) return null;
  const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'transition' });
  const res = h('fieldset', { id: 'resolution', hidden: true }, h('legend', null, t('resolution')), h('span', { class: 'err', 'data-error-for': 'resolution' }),
    field(t('summary'), 'resolution.summary', {}), field(t('rootCause'), 'resolution.rootCause', {}), field(t('remedy'), 'resolution.remedy', {}));
  const to = field(t('transition'), 'to', { options: moves.map((m) => [m, t(`st.${m}`)]), value: moves[0] });
  const form = h('form', { class: 'grid', id: 'transition-form', novalidate: true }, to, field(t('note'), 'note', {}), res,
    h('div', null, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  const sync = () => { res.hidden = form.to.value !== 'resolved'; };
  form.to.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { to: form.to.value, note: form.note.value };
    if (body.to === 'resolved') body.resolution = { summary: form['resolution.summary'].value, rootCause: form['resolution.rootCause'].value, remedy: form['resolution.remedy'].value };
    try { await api('POST', `/complaints/${encodeURIComponent(c.id)}/transitions`, { body }); dispatchEvent(new HashChangeEvent('hashchange')); } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
      showErrors(form, e.problem, summary.firstChild);
    }
  });
  return h('section', { 'aria-labelledby': 'tr-h' }, h('h2', { id: 'tr-h' }, t('transition')), summary, form);
}

function notes(c) {
  const form = h('form', { class: 'bar', id: 'note-form' }, field(t('note'), 'note', { required: true }), h('button', { type: 'submit' }, t('addNote')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', `/complaints/${encodeURIComponent(c.id)}/notes`, { body: { note: form.note.value } }); dispatchEvent(new HashChangeEvent('hashchange')); } catch (e) { showErrors(form, e.problem); }
  });
  return form;
}
