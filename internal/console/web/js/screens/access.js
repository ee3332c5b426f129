// Access report: per user and day, refused requests, probes and sensitive
// reads; users over the threshold flagged.
import { api, qs } from '../api.js';
import { h, mount } from '../dom.js';
import { t, fmtNum } from '../i18n.js';

export const access = {
  id: 'access', nav: 'access', roles: ['admin', 'auditor'],
  async render(el) {
    const to = new Date(), from = new Date(to - 30 * 864e5);
    const r = await api('GET', `/reports/access${qs({ from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) })}`);
    mount(el, h('h1', null, t('access')),
      h('p', null, `${t('flagged')}: ${(r.flaggedUsers || []).join(', ') || t('none')} · threshold ${fmtNum(r.threshold)}`),
      h('div', { class: 'wrap' }, h('table', { id: 'access-list' }, h('thead', null, h('tr', null, [t('user'), t('day'), t('refused'), t('probes'), t('sensitiveReads'), t('flagged')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, (r.items || []).map((d) => h('tr', null, h('td', null, d.user), h('td', null, d.day), h('td', null, fmtNum(d.refused)),
          h('td', null, fmtNum(d.probes + d.duplicateProbes)), h('td', null, fmtNum(d.sensitiveReads)), h('td', null, d.flagged ? '⚑' : '')))))));
  },
};
