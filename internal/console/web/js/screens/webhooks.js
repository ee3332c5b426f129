// Webhooks: an admin registers endpoints for domain events, sees the
// signing secret once, deletes endpoints, and reads each one's delivery
// log (status, attempts, last error; never a payload).
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors, toast } from '../dom.js';
import { t, fmtDate } from '../i18n.js';

// EVENTS are the types the API accepts (WebhookInput.events).
const EVENTS = ['customer.created', 'customer.updated', 'customer.verified', 'customer.merged', 'customer.unmerged', 'customer.lost', 'customer.erased',
  'complaint.created', 'complaint.linked', 'complaint.transitioned', 'complaint.breached', 'reminder.created', 'import.finished',
  'approval.requested', 'approval.decided', 'survey.answered'];

export const webhooks = {
  id: 'webhooks', nav: 'wh.title', roles: ['admin'],
  async render(el, { relabel }) {
    const list = h('div', { class: 'wrap', id: 'webhook-list-box' });
    // The secret is shown once: again on a language switch, never after
    // the screen is left or rendered anew.
    if (!relabel) created = null;
    const secret = h('div', { 'aria-live': 'polite', id: 'webhook-secret-box' }, created ? secretView(created) : null);
    mount(el, h('h1', null, t('wh.title')), h('p', { class: 'muted' }, t('wh.intro')), secret, list, createSection(secret, list));
    await fill(list);
  },
};

// fill lists the endpoints, each with its delivery log and a delete button
// that asks once more before deleting.
async function fill(list) {
  const page = await api('GET', '/webhooks');
  if (!page.items.length) return mount(list, h('p', { id: 'webhook-empty' }, t('wh.empty')));
  mount(list, h('table', { id: 'webhook-list' }, h('thead', null, h('tr', null,
    [t('wh.url'), t('wh.events'), t('status'), t('wh.created'), ''].map((x, i) => h('th', { scope: 'col', class: i === 1 || i === 3 ? 'hide-sm' : null }, x)))),
  h('tbody', null, page.items.map((w) => {
    const del = h('button', { type: 'button', class: 'danger', 'data-delete': w.id }, t('wh.delete'));
    del.addEventListener('click', async () => {
      if (!del.dataset.armed) { del.dataset.armed = '1'; del.textContent = t('wh.confirmDelete'); return; }
      try {
        await api('DELETE', `/webhooks/${encodeURIComponent(w.id)}`);
        toast(t('wh.deleted'));
        await fill(list);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        del.replaceWith(h('span', { class: 'err', role: 'alert' }, e.problem?.detail || t('error')));
      }
    });
    return h('tr', { 'data-webhook': w.id },
      h('td', null, h('code', null, w.url)), h('td', { class: 'hide-sm' }, w.events.join(', ')),
      h('td', null, w.enabled ? t('wh.enabled') : `${t('wh.disabled')}${w.disabledReason ? ` (${w.disabledReason})` : ''}`),
      h('td', { class: 'hide-sm' }, fmtDate(w.createdAt)),
      h('td', null, h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}`, 'data-deliveries': w.id }, t('wh.deliveries')), ' ', del));
  }))));
}

// created is the webhook just registered, whose secret is on screen.
let created = null;

function secretView(w) {
  return h('div', { class: 'success', role: 'status', id: 'webhook-created' },
    h('p', null, `${t('wh.createdFor')} `, h('code', null, w.url)),
    h('p', null, h('label', { for: 'webhook-secret' }, t('wh.secretOnce')), ' ',
      h('input', { id: 'webhook-secret', readonly: true, value: w.secret, size: 48, 'aria-readonly': 'true' })));
}

function createSection(secret, list) {
  const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'webhook-create' });
  const events = h('fieldset', { class: 'events' }, h('legend', null, t('wh.events')),
    h('span', { class: 'err', 'data-error-for': 'events', id: 'wh-events-err' }),
    EVENTS.map((ev) => field(ev, `event:${ev}`, { type: 'checkbox' })));
  const form = h('form', { class: 'grid', id: 'webhook-form', novalidate: true },
    field(t('wh.url'), 'url', { type: 'url', required: true, value: '' }), events,
    h('div', null, h('button', { class: 'primary', type: 'submit' }, t('wh.create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { url: form.url.value.trim(), events: EVENTS.filter((e) => form.querySelector(`[name="event:${e}"]`).checked) };
    try {
      const w = await api('POST', '/webhooks', { body });
      mount(summary);
      showErrors(form, null);
      form.reset();
      created = w;
      mount(secret, secretView(w));
      secret.querySelector('input').select();
      await fill(list);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
      // errors name events[0] for an unknown type: shown under events.
      const p = { ...e.problem, errors: (e.problem?.errors || []).map((x) => ({ ...x, field: x.field.startsWith('events') ? 'events' : x.field })) };
      showErrors(form, p, summary.firstChild);
    }
  });
  return h('section', { 'aria-labelledby': 'wh-new-h' }, h('h2', { id: 'wh-new-h' }, t('wh.new')), summary, form);
}

// webhook is one endpoint's delivery log, a page at a time.
export const webhook = {
  id: 'webhooks', detail: true, title: 'wh.title', roles: ['admin'],
  async render(el, { id, query }) {
    const cursor = query.get('cursor') || '';
    const [all, page] = await Promise.all([api('GET', '/webhooks'), api('GET', `/webhooks/${encodeURIComponent(id)}/deliveries${qs({ limit: 50, cursor })}`)]);
    const w = all.items.find((x) => x.id === id);
    const here = `#/webhooks/${encodeURIComponent(id)}`;
    mount(el, h('p', null, h('a', { href: '#/webhooks' }, `← ${t('wh.title')}`)),
      h('h1', null, t('wh.deliveries')), w ? h('p', null, h('code', { id: 'webhook-url' }, w.url), ` · ${w.enabled ? t('wh.enabled') : t('wh.disabled')}`) : null,
      page.items.length
        ? h('div', { class: 'wrap' }, h('table', { id: 'delivery-list' }, h('thead', null, h('tr', null,
          [t('wh.event'), t('status'), t('wh.attempts'), t('wh.lastError'), t('at')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, page.items.map((d) => h('tr', { 'data-status': d.status },
          h('td', null, d.type, h('br'), h('small', { class: 'muted' }, d.eventId)), h('td', null, t(`wh.st.${d.status}`)),
          h('td', null, String(d.attempts)), h('td', null, d.lastError || '—'), h('td', null, fmtDate(d.at)))))))
        : h('p', { id: 'delivery-empty' }, t('wh.noDeliveries')),
      h('p', { class: 'bar' }, cursor ? h('a', { href: here }, t('first')) : null,
        page.nextCursor ? h('a', { href: `${here}${qs({ cursor: page.nextCursor })}`, rel: 'next' }, t('next')) : null));
  },
};
