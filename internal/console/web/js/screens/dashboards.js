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
    const got = {};
    if (has('admin', 'auditor', 'sales')) {
      const dq = got.dq = await api('GET', '/reports/data-quality');
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
      const cr = got.cr = await api('GET', `/reports/complaints${qs({ from: from.toISOString(), to: to.toISOString() })}`);
      parts.push(h('h2', null, t('complaints')),
        h('p', null, `${t('complaints')}: ${fmtNum(cr.complaints)} · SLA ${fmtPct(cr.slaBreachRate || 0)}`),
        grouped(t('complaintTrend'), (cr.weekly || []).map((w) => [w.week, [w.complaints, w.breached]]), { id: 'chart-weekly', series: [t('complaints'), t('breached')] }),
        bars(t('ackResolve'), [[t('st.acknowledged'), (cr.timeToAcknowledge?.meanSeconds || 0) / 3600], [t('st.resolved'), (cr.timeToResolve?.meanSeconds || 0) / 3600]],
          { id: 'chart-times', fmt: (v) => fmtNum(v, { maximumFractionDigits: 1 }) }),
        bars(t('rootCauses'), (cr.topRootCauses || []).map((r) => [r.rootCause, r.count]), { id: 'chart-rootcauses' }));
    }
    if (has('admin', 'auditor')) {
      const gr = got.gr = await api('GET', '/reports/customers');
      const months = Object.keys(gr.newPerMonth || {}).sort();
      parts.push(h('h2', null, t('growth')), bars(t('growth'), months.map((m) => [m, gr.newPerMonth[m]]), { id: 'chart-growth' }));
      if (gr.newPerMonthBySegment) {
        const segs = [...new Set(Object.values(gr.newPerMonthBySegment).flatMap((o) => Object.keys(o)))].sort();
        parts.push(grouped(`${t('growth')} × ${t('segment')}`, months.map((m) => [m, segs.map((s) => gr.newPerMonthBySegment[m]?.[s] || 0)]), { id: 'chart-growth-segment', series: segs }));
      }
      parts.push(bars(t('bySegment'), Object.entries(gr.bySegment || {}).sort(), { id: 'chart-segment' }));
    }
    parts.push(outcomes(got));
    mount(el, parts);
  },
};

// Outcome KPIs: satisfaction (complaint report), self-service, update
// cycle and suspect values (data-quality report), churn beside growth
// (customer report). Each shows its target and whether it is met, in words
// as well as colour; a part is left out when the role may not read its
// report.
function outcomes({ dq, cr, gr }) {
  const hours = (v) => (v < 0 ? t('kpi.beyond') : fmtNum(v, { style: 'unit', unit: 'hour', maximumFractionDigits: 1 }));
  // data-value carries the report's number, which the tests compare.
  const card = (id, raw, label, value, target, met, extra) => h('div', { class: 'panel', 'data-kpi': id, 'data-value': JSON.stringify(raw ?? 0) },
    h('div', null, label), h('strong', { class: met === false ? 'unmet' : met ? 'met' : '' }, value),
    target != null ? h('div', { class: 'muted' }, `${t('target')} ${target} · `, h('span', { 'data-met': String(met) }, t(met ? 'kpi.met' : 'kpi.unmet'))) : null,
    extra ? h('div', { class: 'muted' }, extra) : null);
  const out = [];
  const s = cr?.satisfaction;
  if (s) {
    const by = (o) => Object.entries(o || {}).sort(([a], [b]) => a.localeCompare(b));
    out.push(h('h2', null, t('kpi.satisfaction')), h('div', { class: 'cards', id: 'kpi-satisfaction' },
      card('satisfiedRate', s.satisfiedRate, t('kpi.satisfiedRate'), fmtPct(s.satisfiedRate), `≥ ${fmtPct(s.target)}`, s.met),
      card('responseRate', s.responseRate, t('kpi.responseRate'), fmtPct(s.responseRate), null, null, `${t('kpi.responses')} ${fmtNum(s.responses)} / ${t('kpi.sent')} ${fmtNum(s.sent)}`),
      card('mean', s.mean, t('kpi.mean'), fmtNum(s.mean, { maximumFractionDigits: 2 }), null, null, t('kpi.scale'))),
    h('div', { class: 'charts' }, bars(`${t('kpi.satisfiedRate')} — ${t('category')}`, by(s.byCategory).map(([k, v]) => [k, v.satisfiedRate]), { max: 1, target: s.target, fmt: fmtPct, id: 'chart-csat-category' }),
    bars(`${t('kpi.satisfiedRate')} — ${t('assignee')}`, by(s.byAssignee).map(([k, v]) => [k, v.satisfiedRate]), { max: 1, target: s.target, fmt: fmtPct, id: 'chart-csat-assignee' }),
    grouped(t('kpi.csatWeekly'), (s.weekly || []).map((w) => [w.week.slice(5), [w.sent, w.responses]]), { id: 'chart-csat-weekly', series: [t('kpi.sent'), t('kpi.responses')] })));
  }
  if (dq) {
    const tg = dq.targets || {}, met = dq.met || {}, uc = dq.updateCycle || {};
    out.push(h('h2', null, t('kpi.upkeep')), h('div', { class: 'cards', id: 'kpi-upkeep' },
      card('selfServiceRate', dq.selfServiceRate, t('kpi.selfServiceRate'), fmtPct(dq.selfServiceRate || 0), tg.selfServiceRate != null ? `≥ ${fmtPct(tg.selfServiceRate)}` : null, met.selfServiceRate,
        `${t('kpi.links')} ${fmtNum(dq.selfServiceLinks || 0)}`),
      card('updateCycle', uc.medianHours, t('kpi.updateCycle'), uc.count ? `${hours(uc.medianHours)} (p90 ${hours(uc.p90Hours)})` : '—',
        tg.updateCycleHours != null ? `≤ ${hours(tg.updateCycleHours)}` : null, met.updateCycle, `${t('kpi.cycles')} ${fmtNum(uc.count || 0)}`),
      card('suspectRate', dq.suspectRate, t('kpi.suspectRate'), fmtPct(dq.suspectRate || 0), tg.suspectRate != null ? `≤ ${fmtPct(tg.suspectRate)}` : null, met.suspectRate)));
  }
  const churn = gr?.churn;
  if (churn) {
    const target = dq?.targets?.churnRate ?? null;
    out.push(h('h2', null, t('kpi.churn')), h('div', { class: 'charts' },
      // Months as 25-12: twelve of them fit under the bars on a phone.
      grouped(t('kpi.growthChurn'), churn.map((m) => [m.month.slice(2), [m.new, m.newlyDormant, m.lost, m.reactivated]]),
        { id: 'chart-churn', series: [t('kpi.new'), t('kpi.newlyDormant'), t('kpi.lost'), t('kpi.reactivated')] }),
      bars(t('kpi.churnRate'), churn.map((m) => [m.month.slice(2), m.churnRate]), { fmt: fmtPct, target, id: 'chart-churn-rate' })),
      h('div', { class: 'wrap' }, h('table', { id: 'churn-table' }, h('caption', { class: 'sr' }, t('kpi.churn')),
        h('thead', null, h('tr', null, [t('kpi.month'), t('kpi.new'), t('kpi.active'), t('kpi.newlyDormant'), t('kpi.reactivated'), t('kpi.lost'), t('kpi.churnRate'), t('target')]
          .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, churn.map((m) => h('tr', { 'data-month': m.month },
          h('th', { scope: 'row' }, m.month), [m.new, m.active, m.newlyDormant, m.reactivated, m.lost].map((v) => h('td', null, fmtNum(v))),
          h('td', null, fmtPct(m.churnRate)), h('td', { class: m.met ? 'met' : 'unmet', 'data-met': String(m.met) }, t(m.met ? 'kpi.met' : 'kpi.unmet'))))))));
  }
  return out.length ? h('section', { id: 'outcomes', 'aria-labelledby': 'outcomes-h' }, h('h2', { id: 'outcomes-h', class: 'sr' }, t('kpi.title')), out) : null;
}
