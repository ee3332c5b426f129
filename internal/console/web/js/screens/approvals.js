// Approvals inbox: the four-eyes requests waiting for a second person.
// The API names the fields a request touches, never their values, so
// that is all this screen can show of what would change.
import { api, qs, ApiError } from '../api.js';
import { h, mount } from '../dom.js';
import { t, fmtDate } from '../i18n.js';

export const approvals = {
  id: 'approvals', nav: 'approvals', roles: ['admin', 'finance'],
  async render(el, { query, me }) {
    const cursor = query.get('cursor') || '';
    const page = await api('GET', `/approvals${qs({ status: 'pending', cursor })}`);
    const items = page.items || [];
    mount(el, h('h1', null, t('approvals')), h('p', { class: 'muted' }, t('approvalsIntro')),
      items.length ? h('ul', { class: 'cards plain', id: 'approval-list' }, items.map((a) => card(a, me))) : h('p', { id: 'approval-list' }, t('noApprovals')),
      h('p', { class: 'bar' },
        cursor ? h('a', { href: '#/approvals' }, t('first')) : null,
        page.nextCursor ? h('a', { href: `#/approvals${qs({ cursor: page.nextCursor })}` }, t('next')) : null));
  },
};

function card(a, me) {
  const hid = `appr-${a.id}`;
  const result = h('div', { 'aria-live': 'polite', class: 'result' });
  const decide = (verb) => async (ev) => {
    const buttons = ev.target.closest('li').querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await api('POST', `/approvals/${encodeURIComponent(a.id)}/${verb}`);
      mount(result, h('p', { class: 'success', role: 'status' }, t(verb === 'approve' ? 'approvedMsg' : 'rejectedMsg')));
      return;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // The API refuses one's own request and a kind one may not decide
      // with the same 403: the requester tells them apart. A 409 is a
      // request decided, expired or stale alike.
      const msg = e.status === 403 && verb === 'approve' && a.requestedBy === me.user ? t('approveOwn')
        : e.status === 403 ? t('forbidden') : e.status === 409 ? t('approvalGone') : e.status === 404 ? t('notFound') : e.problem?.detail || t('error');
      mount(result, h('p', { class: 'alert', role: 'alert', 'data-status': e.status }, msg));
      if (e.status === 403) buttons.forEach((b) => { b.disabled = false; });
    }
  };
  return h('li', { class: 'panel', 'aria-labelledby': hid, 'data-approval': a.id },
    h('h2', { id: hid }, t(`ak.${a.kind}`)),
    h('dl', { class: 'kv' },
      h('dt', null, t('customer')), h('dd', null, h('a', { href: `#/customers/${encodeURIComponent(a.customerId)}` }, a.customerId)),
      h('dt', null, t('fields')), h('dd', null, (a.fields || []).join(', ') || '—'),
      h('dt', null, t('requestedBy')), h('dd', null, a.requestedBy),
      h('dt', null, t('requestedAt')), h('dd', null, fmtDate(a.requestedAt)),
      h('dt', null, t('expiresAt')), h('dd', null, fmtDate(a.expiresAt))),
    h('div', { class: 'bar' },
      h('button', { type: 'button', class: 'primary', 'data-approve': a.id, 'aria-describedby': hid, onclick: decide('approve') }, t('approve')),
      h('button', { type: 'button', 'data-reject': a.id, 'aria-describedby': hid, onclick: decide('reject') }, t('reject'))),
    result);
}

