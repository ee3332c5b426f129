// Plain SVG charts: bars and grouped bars, each with a text table fallback
// for screen readers (the title and the data-values attribute carry the
// numbers, which the tests read too).
import { h } from './dom.js';
import { fmtNum } from './i18n.js';

const COLORS = ['#0a58ca', '#b3261e', '#1a7f37', '#8a5a00', '#6f42c1', '#0d2340'];

// bars draws one bar per [label, value]; target draws a line at that value.
export function bars(title, data, { max, target, fmt = fmtNum, id } = {}) {
  return grouped(title, data.map(([l, v]) => [l, [v]]), { max, target, fmt, id, series: [title] });
}

// grouped draws, per label, one bar per series.
export function grouped(title, data, { max, target, fmt = fmtNum, id, series = [] } = {}) {
  const W = 480, H = 200, pad = 28, bottom = 40;
  const top = max ?? Math.max(1, target ?? 0, ...data.flatMap(([, vs]) => vs));
  const n = Math.max(1, series.length);
  const slot = (W - pad * 2) / Math.max(1, data.length);
  // Bars keep a readable width when there are only a few of them.
  const bw = Math.min(40, Math.max(2, (slot * 0.8) / n));
  const y = (v) => H - bottom - (v / top) * (H - bottom - 10);
  const kids = [h('title', null, title)];
  kids.push(h('line', { x1: pad, x2: W - pad, y1: H - bottom, y2: H - bottom, stroke: '#57606a' }));
  data.forEach(([label, vs], i) => {
    const x0 = pad + i * slot + (slot - bw * n) / 2;
    vs.forEach((v, j) => {
      kids.push(h('rect', { x: x0 + j * bw, y: y(v), width: bw - 1, height: Math.max(0, H - bottom - y(v)), fill: COLORS[j % COLORS.length] },
        h('title', null, `${label}${series[j] && n > 1 ? ` · ${series[j]}` : ''}: ${fmt(v)}`)));
      // A bar too narrow for its number leaves it to its title.
      if (bw >= 8) kids.push(h('text', { x: x0 + j * bw + bw / 2, y: y(v) - 2, 'text-anchor': 'middle' }, fmt(v)));
    });
    kids.push(h('text', { x: x0 + (bw * n) / 2, y: H - bottom + 14, 'text-anchor': 'middle' }, String(label).slice(0, 12)));
  });
  if (target != null) kids.push(h('line', { x1: pad, x2: W - pad, y1: y(target), y2: y(target), stroke: '#b3261e', 'stroke-dasharray': '4 3' }, h('title', null, `target ${fmt(target)}`)));
  const legend = n > 1 ? h('p', { class: 'muted' }, series.map((s, j) => [h('span', { class: 'tag', 'data-color': COLORS[j] }, `■ ${s}`)])) : null;
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, 'data-values': JSON.stringify(data.map(([l, vs]) => [l, ...vs])) }, kids);
  return h('figure', { class: 'chart panel', id }, h('figcaption', null, h('strong', null, title)), svg, legend);
}
