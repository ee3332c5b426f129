// Complaints: my queue and the team queue with filters and a live SLA
// countdown, and the intake form.
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors } from '../dom.js';
import { t, fmtDuration, fmtDate } from '../i18n.js';

const STATUSES = ['acknowledged', 'in_progress', 'resolved', 'closed'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const CHANNELS = ['phone', 'email', 'web', 'app', 'store', 'social'];

let ticker;
// countdown keeps every [data-due] element's remaining time current.
export function startCountdown(root) {
  clearInterval(ticker);
  const tick = () => {
    if (!root.isConnected) { clearInterval(ticker); return; }
    for (const el of root.querySelectorAll('[data-due]')) {
      const left = new Date(el.dataset.due) - Date.now();
      el.textContent = left < 0 ? `${t('overdueBy')} ${fmtDuration(left)}` : `${fmtDuration(left)} ${t('left')}`;
      el.className = left < 0 ? 'late' : left < 3600e3 ? 'soon' : '';
    }
  };
  tick();
  ticker = setInterval(tick, 1000);
}

export const complaints = {
  id: 'complaints', nav: 'complaints', roles: ['admin', 'service', 'sales', 'auditor'],
  async render(el, { query, me }) {
    const f = { queue: query.get('queue') || (me.roles.includes('service') ? 'mine' : 'team'), status: query.get('status') || '', severity: query.get('severity') || '', breached: query.get('breached') === 'true' };
    const filters = h('form', { class: 'bar', id: 'complaint-filters' },
      field(t('status'), 'status', { options: [['', t('any')], ...STATUSES.map((s) => [s, t(`st.${s}`)])], value: f.status }),
      field(t('severity'), 'severity', { options: [['', t('any')], ...SEVERITIES.map((s) => [s, s])], value: f.severity }),
      field(t('breached'), 'breached', { type: 'checkbox', checked: f.breached }), h('button', { type: 'submit' }, t('apply')));
    filters.addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.hash = `#/complaints${qs({ queue: f.queue, status: filters.status.value, severity: filters.severity.value, breached: filters.breached.checked ? 'true' : '' })}`;
    });
    const page = await api('GET', `/complaints${qs({ status: f.status, severity: f.severity, breached: f.breached ? 'true' : '', assignee: f.queue === 'mine' ? me.user : '', limit: 50 })}`);
    const tabs = h('p', { class: 'bar', role: 'navigation', 'aria-label': t('complaints') }, ['mine', 'team'].map((q) =>
      h('a', { href: `#/complaints${qs({ queue: q })}`, 'aria-current': f.queue === q ? 'page' : null }, t(q === 'mine' ? 'myQueue' : 'teamQueue'))));
    const table = h('table', { id: 'complaint-list' }, h('thead', null, h('tr', null, [t('subject'), t('status'), t('severity'), t('slaDue'), t('assignee')].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, page.items.map((c) => h('tr', null, h('td', null, h('a', { href: `#/complaints/${encodeURIComponent(c.id)}` }, c.subject)),
        h('td', null, t(`st.${c.status}`)), h('td', null, c.severity),
        h('td', null, ['resolved', 'closed'].includes(c.status) ? '—' : h('span', { 'data-due': c.slaDueAt, title: fmtDate(c.slaDueAt) })), h('td', null, c.assigneeId)))));
    mount(el, h('h1', null, t('complaints')), tabs, filters, h('div', { class: 'wrap' }, table),
      ['admin', 'sales', 'service'].some((r) => me.roles.includes(r)) ? intake(query) : null);
    startCountdown(el);
  },
};

function intake(query) {
  const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'complaint-intake' });
  const form = h('form', { class: 'grid', id: 'complaint-form', novalidate: true },
    field(t('customerId'), 'customerId', { value: query.get('customerId') || '', required: true }),
    field(t('channel'), 'channel', { options: CHANNELS.map((c) => [c, c]), value: 'phone' }),
    field(t('category'), 'category', { value: '' }),
    field(t('severity'), 'severity', { options: SEVERITIES.map((s) => [s, s]), value: 'medium' }),
    field(t('subject'), 'subject', { required: true }), field(t('description'), 'description', { type: 'textarea' }),
    h('div', null, h('button', { class: 'primary', type: 'submit' }, t('file'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(['customerId', 'channel', 'category', 'severity', 'subject', 'description'].map((k) => [k, form[k].value.trim()]));
    try {
      const c = await api('POST', '/complaints', { body });
      location.hash = `#/complaints/${encodeURIComponent(c.id)}`;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
      showErrors(form, e.problem, summary.firstChild);
    }
  });
  return h('section', { 'aria-labelledby': 'new-complaint' }, h('h2', { id: 'new-complaint' }, t('newComplaint')), summary, form);
}
