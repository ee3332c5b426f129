// Dashboards: data quality against targets, complaints, customer growth.
// Each report is fetched only for the roles that may read it.
import { api, qs } from '../api.js';
import { h, mount } from '../dom.js';
import { t, fmtPct, fmtNum } from '../i18n.js';
import { bars, grouped } from '../charts.js';

const RATES = ['completenessRate', 'timelinessRate', 'duplicateRate', 'invalidRate'];
const TARGET = { completenessRate: 'completeness', timelinessRate: 'timeliness', duplicateRate: 'duplicates', invalidRate: 'invalid' };

export const dashboards = {
  id: 'dashboards', nav: 'dashboards', roles: ['admin', 'auditor', 'sales', 'service'],
  async render(el, { me }) {
    const has = (...r) => r.some((x) => me.roles.includes(x));
    const parts = [h('h1', null, t('dashboards'))];
    if (has('admin', 'auditor', 'sales')) {
      const dq = await api('GET', '/reports/data-quality');
      const targets = dq.targets || {};
      parts.push(h('h2', null, t('dq')), h('div', { class: 'cards', id: 'dq-cards' }, RATES.map((k) => {
        const target = targets[TARGET[k]] ?? targets[k];
        const met = dq.met ? dq.met[k] : undefined;
        return h('div', { class: 'panel', 'data-rate': k }, h('div', null, t(`rates.${k}`)), h('strong', { class: met === false ? 'unmet' : met ? 'met' : '' }, fmtPct(dq[k] || 0)),
          target != null ? h('div', { class: 'muted' }, `${t('target')} ${fmtPct(target)}`) : null);
      })),
      bars(`${t('dq')} — ${t('overall')}`, RATES.map((k) => [t(`rates.${k}`), dq[k] || 0]), { max: 1, fmt: fmtPct, id: 'chart-dq' }),
      grouped(`${t('dq')} — ${t('byOwner')}`, (dq.byOwner || []).map((o) => [o.ownerId, [o.completenessRate, o.timelinessRate]]),
        { max: 1, fmt: fmtPct, id: 'chart-dq-owner', series: [t('rates.completenessRate'), t('rates.timelinessRate')] }));
    }
    if (has('admin', 'auditor', 'service')) {
      const to = new Date(), from = new Date(to - 84 * 864e5);
      const cr = await api('GET', `/reports/complaints${qs({ from: from.toISOString(), to: to.toISOString() })}`);
      parts.push(h('h2', null, t('complaints')),
        h('p', null, `${t('complaints')}: ${fmtNum(cr.complaints)} · SLA ${fmtPct(cr.slaBreachRate || 0)}`),
        grouped(t('complaintTrend'), (cr.weekly || []).map((w) => [w.week, [w.complaints, w.breached]]), { id: 'chart-weekly', series: [t('complaints'), t('breached')] }),
        bars(t('ackResolve'), [[t('st.acknowledged'), (cr.timeToAcknowledge?.meanSeconds || 0) / 3600], [t('st.resolved'), (cr.timeToResolve?.meanSeconds || 0) / 3600]],
          { id: 'chart-times', fmt: (v) => fmtNum(v, { maximumFractionDigits: 1 }) }),
        bars(t('rootCauses'), (cr.topRootCauses || []).map((r) => [r.rootCause, r.count]), { id: 'chart-rootcauses' }));
    }
    if (has('admin', 'auditor')) {
      const gr = await api('GET', '/reports/customers');
      const months = Object.keys(gr.newPerMonth || {}).sort();
      parts.push(h('h2', null, t('growth')), bars(t('growth'), months.map((m) => [m, gr.newPerMonth[m]]), { id: 'chart-growth' }));
      if (gr.newPerMonthBySegment) {
        const segs = [...new Set(Object.values(gr.newPerMonthBySegment).flatMap((o) => Object.keys(o)))].sort();
        parts.push(grouped(`${t('growth')} × ${t('segment')}`, months.map((m) => [m, segs.map((s) => gr.newPerMonthBySegment[m]?.[s] || 0)]), { id: 'chart-growth-segment', series: segs }));
      }
      parts.push(bars(t('bySegment'), Object.entries(gr.bySegment || {}).sort(), { id: 'chart-segment' }));
    }
    mount(el, parts);
  },
};
