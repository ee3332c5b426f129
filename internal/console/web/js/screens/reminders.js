// Reminders inbox: due, overdue and done; mark done; jump to the subject.
import { api, qs } from '../api.js';
import { h, mount, toast } from '../dom.js';
import { t, fmtDate } from '../i18n.js';

export const reminders = {
  id: 'reminders', nav: 'reminders', roles: ['admin', 'sales', 'service', 'finance', 'auditor'],
  async render(el, { query }) {
    const tab = query.get('tab') || 'due';
    // The API lists open reminders unless asked for done ones.
    const [open, closed] = await Promise.all([api('GET', `/reminders${qs({ status: 'open', limit: 200 })}`), api('GET', `/reminders${qs({ status: 'done', limit: 200 })}`)]);
    const page = { items: [...open.items, ...closed.items] };
    const now = Date.now();
    const pick = { due: (r) => r.status !== 'done' && new Date(r.dueAt) >= now, overdue: (r) => r.status !== 'done' && new Date(r.dueAt) < now, done: (r) => r.status === 'done' };
    const items = page.items.filter(pick[tab]);
    const subject = (r) => (r.subjectType === 'complaint' ? `#/complaints/${encodeURIComponent(r.subjectId)}` : `#/customers/${encodeURIComponent(r.customerId || r.subjectId)}`);
    mount(el, h('h1', null, t('reminders')),
      h('p', { class: 'bar' }, ['due', 'overdue', 'done'].map((k) => h('a', { href: `#/reminders?tab=${k}`, 'aria-current': tab === k ? 'page' : null }, `${t(k)} (${page.items.filter(pick[k]).length})`))),
      h('table', { id: 'reminder-list' }, h('thead', null, h('tr', null, [t('kind'), t('due'), t('status'), ''].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, items.map((r) => {
          const btn = r.status === 'done' ? null : h('button', { type: 'button', 'data-reminder': r.id }, t('markDone'));
          btn?.addEventListener('click', async () => { await api('POST', `/reminders/${encodeURIComponent(r.id)}/done`); toast(t('done')); dispatchEvent(new HashChangeEvent('hashchange')); });
          return h('tr', null, h('td', null, r.kind), h('td', null, fmtDate(r.dueAt)), h('td', null, t(`st.${r.status}`)),
            h('td', null, h('a', { href: subject(r) }, t('subjectLink')), ' ', btn));
        }))));
  },
};
