// Bulk reassignment: an admin moves every customer of a departing rep to
// another. The API answers at once (202) and moves the customers in the
// background; this screen follows the job until it is done.
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors } from '../dom.js';
import { t, fmtNum, fmtDate } from '../i18n.js';

const POLL_MS = 1000;

export const reassign = {
  id: 'reassign', nav: 'ra.title', roles: ['admin'],
  async render(el, { query }) {
    const from = query.get('from') || '';
    const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'reassign' });
    const progress = h('section', { 'aria-labelledby': 'ra-p-h', id: 'reassign-progress', hidden: true });
    const form = h('form', { class: 'bar', id: 'reassign-form', novalidate: true },
      field(t('ra.from'), 'from', { value: from, required: true }), field(t('ra.to'), 'to', { required: true }),
      h('button', { class: 'primary', type: 'submit' }, t('ra.start')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { to: form.to.value.trim() };
      const who = form.from.value.trim();
      if (!who) return showErrors(form, { errors: [{ field: 'from', message: t('ra.needFrom') }] });
      try {
        const job = await api('POST', `/owners/${encodeURIComponent(who)}/reassign`, { body });
        mount(summary);
        showErrors(form, null);
        follow(progress, who, job);
        history.replaceState(null, '', `#/reassign${qs({ from: who })}`);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
        showErrors(form, e.problem, summary.firstChild);
        // 409: a job for this rep is still running; show how far it is.
        if (e.status === 409) follow(progress, who);
      }
    });
    mount(el, h('h1', null, t('ra.title')), h('p', { class: 'muted' }, t('ra.intro')), summary, form, progress);
    if (from) {
      try {
        follow(progress, from, await api('GET', `/owners/${encodeURIComponent(from)}/reassign`));
      } catch (e) {
        // No job for this rep yet: only the form.
        if (!(e instanceof ApiError) || e.status !== 404) throw e;
      }
    }
  },
};

// follow shows a job's progress and polls it until it is done or the
// screen is left.
async function follow(box, from, job) {
  const poll = ++polls;
  for (;;) {
    if (!job) {
      try {
        job = await api('GET', `/owners/${encodeURIComponent(from)}/reassign`);
      } catch (e) {
        // A failed poll says so where the bar was; the admin may reload.
        if (box.isConnected && poll === polls) { mount(box, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('error'))); box.hidden = false; }
        return;
      }
    }
    if (!box.isConnected || poll !== polls) return;
    const pct = job.total ? job.moved / job.total : job.status === 'done' ? 1 : 0;
    mount(box, h('h2', { id: 'ra-p-h' }, `${t('ra.progress')}: ${job.from} → ${job.to}`),
      h('progress', { id: 'reassign-bar', max: job.total || 1, value: job.total ? job.moved : job.status === 'done' ? 1 : 0, 'aria-labelledby': 'ra-p-h', 'aria-valuetext': `${fmtNum(job.moved)} / ${fmtNum(job.total)}` }),
      h('p', { id: 'reassign-status', 'data-status': job.status, role: 'status' },
        `${t(`ra.st.${job.status}`)} · ${t('ra.moved')} ${fmtNum(job.moved)} / ${fmtNum(job.total)} (${fmtNum(pct, { style: 'percent' })})`,
        job.finishedAt ? ` · ${t('ra.finished')} ${fmtDate(job.finishedAt)}` : ''),
      job.status === 'done' ? h('p', null, h('a', { href: `#/customers${qs({ owner: job.to })}`, id: 'reassign-owner' }, `${t('ra.openBook')} ${job.to}`)) : null);
    box.hidden = false;
    if (job.status === 'done') return;
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = null;
  }
}

// polls counts the followers started, so that only the latest one runs.
let polls = 0;
