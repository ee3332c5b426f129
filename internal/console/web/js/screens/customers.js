// Customers: search, filters, cursor paging, and the create form.
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors } from '../dom.js';
import { t, fmtPct, fmtDate } from '../i18n.js';
import { customerForm, readForm, duplicateNotice } from './customerform.js';

export const customers = {
  id: 'customers', nav: 'customers', roles: ['admin', 'sales', 'service', 'finance', 'auditor'],
  async render(el, { query, me }) {
    const f = { q: query.get('q') || '', owner: query.get('owner') || '', segment: query.get('segment') || '', tag: query.get('tag') || '', stale: query.get('stale') === 'true', cursor: query.get('cursor') || '' };
    const filters = h('form', { class: 'bar', role: 'search', id: 'customer-filters' },
      field(t('search'), 'q', { value: f.q, type: 'search' }), field(t('owner'), 'owner', { value: f.owner }),
      field(t('segment'), 'segment', { value: f.segment }), field(t('tag'), 'tag', { value: f.tag }),
      field(t('stale'), 'stale', { type: 'checkbox', checked: f.stale }), h('button', { type: 'submit' }, t('apply')));
    filters.addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.hash = `#/customers${qs({ q: filters.q.value.trim(), owner: filters.owner.value.trim(), segment: filters.segment.value.trim(), tag: filters.tag.value.trim(), stale: filters.stale.checked ? 'true' : '' })}`;
    });
    const page = await api('GET', `/customers${qs({ ...f, stale: f.stale ? 'true' : '', limit: 25 })}`);
    const rows = page.items.map((c) => h('tr', null,
      h('td', null, h('a', { href: `#/customers/${encodeURIComponent(c.id)}` }, c.name)),
      h('td', null, c.phone || ''), h('td', { class: 'hide-sm' }, c.email || ''), h('td', { class: 'hide-sm' }, c.company || ''),
      h('td', { class: 'hide-sm' }, c.segment || ''), h('td', null, fmtPct(c.completeness || 0)), h('td', { class: 'hide-sm' }, fmtDate(c.reviewDueAt))));
    // An admin filtering by owner may move that whole book to another rep.
    const book = f.owner && me.roles.includes('admin') ? h('p', null, h('a', { href: `#/reassign${qs({ from: f.owner })}`, id: 'reassign-book' }, `${t('ra.book')} (${f.owner})`)) : null;
    const paging = h('p', { class: 'bar' },
      f.cursor ? h('a', { href: `#/customers${qs({ ...f, cursor: '', stale: f.stale ? 'true' : '' })}` }, t('first')) : null,
      page.nextCursor ? h('a', { href: `#/customers${qs({ ...f, cursor: page.nextCursor, stale: f.stale ? 'true' : '' })}`, rel: 'next' }, t('next')) : null);
    const canCreate = ['admin', 'sales', 'service'].some((r) => me.roles.includes(r));
    mount(el, h('h1', null, t('customers')), filters,
      h('div', { class: 'wrap' }, h('table', { id: 'customer-list' }, h('thead', null, h('tr', null,
        [t('name'), t('phone'), t('email'), t('company'), t('segment'), t('completeness'), t('reviewDue')].map((x, i) => h('th', { scope: 'col', class: i >= 2 && i !== 5 ? 'hide-sm' : null }, x)))),
      h('tbody', null, rows))), paging, book,
      canCreate ? createSection(me) : null);
  },
};

function createSection(me) {
  const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'customer-create' });
  const form = customerForm({}, me, 'create');
  form.append(h('div', null, h('button', { class: 'primary', type: 'submit' }, t('create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const c = await api('POST', '/customers', { body: readForm(form, null) });
      location.hash = `#/customers/${encodeURIComponent(c.id)}`;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.status === 409 ? duplicateNotice(e.problem) : (e.problem?.detail || t('fixErrors'))));
      showErrors(form, e.problem, summary.firstChild);
    }
  });
  return h('section', { 'aria-labelledby': 'new-customer' }, h('h2', { id: 'new-customer' }, t('newCustomer')), summary, form);
}
