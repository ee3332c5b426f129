// Audit trail for admins and auditors: filter by entity, actor and time,
// and the latest verification of the chain.
import { api, qs } from '../api.js';
import { h, mount, field } from '../dom.js';
import { t, fmtDate, fmtNum } from '../i18n.js';

export const audit = {
  id: 'audit', nav: 'audit', roles: ['admin', 'auditor'],
  async render(el, { query }) {
    const f = { entityId: query.get('entityId') || '', actor: query.get('actor') || '', from: query.get('from') || '', to: query.get('to') || '' };
    const form = h('form', { class: 'bar', id: 'audit-filters' }, field(t('entity'), 'entityId', { value: f.entityId }), field(t('actor'), 'actor', { value: f.actor }),
      field(t('from'), 'from', { type: 'date', value: f.from.slice(0, 10) }), field(t('to'), 'to', { type: 'date', value: f.to.slice(0, 10) }), h('button', { type: 'submit' }, t('apply')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const d = (v, end) => (v ? new Date(`${v}T${end ? '23:59:59' : '00:00:00'}Z`).toISOString() : '');
      location.hash = `#/audit${qs({ entityId: form.entityId.value.trim(), actor: form.actor.value.trim(), from: d(form.from.value), to: d(form.to.value, true) })}`;
    });
    const [page, verify] = await Promise.all([api('GET', `/audit${qs({ ...f, limit: 100 })}`), verification()]);
    mount(el, h('h1', null, t('audit')), verify, form,
      h('div', { class: 'wrap' }, h('table', { id: 'audit-list' }, h('thead', null, h('tr', null, ['#', t('at'), t('actor'), t('action'), t('entity'), t('fields')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, page.items.map((a) => h('tr', null, h('td', null, a.seq), h('td', null, fmtDate(a.at)), h('td', null, a.actor), h('td', null, a.action),
          h('td', null, `${a.entityType} ${a.entityId}`), h('td', null, (a.changedFields || []).join(', '))))))));
  },
};

async function verification() {
  const v = await api('GET', '/audit/verify');
  if (v.status === 'never') return h('section', { class: 'panel', id: 'audit-verify' }, h('h2', null, t('verifyStatus')), h('p', null, t('neverVerified')));
  const intact = v.status === 'intact';
  return h('section', { class: 'panel', id: 'audit-verify' }, h('h2', null, t('verifyStatus')),
    h('p', null, h('strong', { class: intact ? 'met' : 'unmet' }, intact ? t('intact') : t('broken'))),
    h('dl', { class: 'kv' }, h('dt', null, t('lastVerified')), h('dd', null, fmtDate(v.at)),
      h('dt', null, t('covered')), h('dd', null, `${fmtNum(v.entries)} · ${fmtNum(v.chains)} · ${fmtNum(v.digests)} (${t('entriesChainsDigests')})`),
      v.firstBreak ? [h('dt', null, t('firstBreak')), h('dd', null, v.firstBreak)] : null));
}
