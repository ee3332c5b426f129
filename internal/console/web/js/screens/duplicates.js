// Likely duplicates: each pair side by side with its score and reasons;
// an admin may merge a pair, choosing the record to keep and, field by
// field, which side's value survives, and may undo the merge.
import { api, ApiError } from '../api.js';
import { h, mount, showErrors } from '../dom.js';
import { t, fmtPct } from '../i18n.js';
import { isMasked, duplicateNotice } from './customerform.js';

// The fields a merge may take from either side (`prefer`), as the API
// names them, with the label each has on the customer screen.
const MERGEABLE = [['name', 'name'], ['phone', 'phone'], ['email', 'email'], ['company', 'company'], ['segment', 'segment'],
  ['address', 'line1'], ['nationalId', 'nationalId'], ['billing', 'bankAccount'], ['ownerId', 'ownerId'], ['consent', 'consentLabel']];

const PAGE = 20;

export const duplicates = {
  id: 'duplicates', nav: 'duplicates', roles: ['admin', 'service'],
  async render(el, { me, query }) {
    const list = await api('GET', '/customers/duplicates');
    const pairs = list.items || [];
    // Both customers of every shown pair are read, each read of sensitive
    // fields being on record: a page at a time, not the whole list.
    const pageNo = Math.max(0, Number(query.get('page')) || 0);
    const onPage = pairs.slice(pageNo * PAGE, (pageNo + 1) * PAGE);
    const ids = [...new Set(onPage.flatMap((p) => [p.a, p.b]))];
    // A customer that is gone (erased) leaves its pair out rather than the
    // whole screen; a merged-away one answers as its survivor, and a pair
    // of a customer with itself is no pair.
    const got = await Promise.all(ids.map((id) => api('GET', `/customers/${encodeURIComponent(id)}`).catch(() => null)));
    const byId = Object.fromEntries(ids.map((id, i) => [id, got[i]?.id === id ? got[i] : null]));
    const admin = me.roles.includes('admin');
    const shown = onPage.filter((p) => byId[p.a] && byId[p.b]);
    mount(el, h('h1', null, t('duplicates')), h('p', { class: 'muted' }, t('dupIntro')),
      shown.length ? h('ul', { class: 'plain', id: 'duplicate-list' }, shown.map((p, i) => pair(p, i, byId[p.a], byId[p.b], admin)))
        : h('p', { id: 'duplicate-list' }, t('noDuplicates')),
      h('p', { class: 'bar' },
        pageNo > 0 ? h('a', { href: '#/duplicates' }, t('first')) : null,
        pairs.length > (pageNo + 1) * PAGE ? h('a', { href: `#/duplicates?page=${pageNo + 1}` }, t('next')) : null));
  },
};

const show = (c, f) => {
  const v = f === 'consent' ? c.consent || {} : c[f];
  if (v == null || v === '') return '—';
  if (f === 'address') return ['line1', 'line2', 'city', 'region', 'postalCode', 'country'].map((k) => v[k]).filter(Boolean).join(', ');
  if (f === 'billing') return [v.bankAccount, v.taxId].filter(Boolean).join(' · ');
  if (f === 'consent') return ['reminders', 'marketing'].map((k) => `${t(`cp.${k}`)}: ${t(v[k] ? 'yes' : 'no')}`).join(', ');
  return String(v);
};

function pair(p, i, a, b, admin) {
  const hid = `dup-${i}`;
  const rows = MERGEABLE.filter(([f]) => show(a, f) !== '—' || show(b, f) !== '—');
  return h('li', { class: 'panel', 'aria-labelledby': hid, 'data-pair': `${p.a} ${p.b}` },
    h('h2', { id: hid }, `${a.name} · ${b.name}`),
    h('p', null, h('strong', null, `${t('score')}: `), h('span', { 'data-score': p.score }, fmtPct(p.score)), ' · ', h('strong', null, `${t('reasons')}: `),
      h('span', { class: 'reasons' }, p.reasons.map((r) => h('span', { class: 'tag', 'data-reason': r }, t(`rs.${r}`))))),
    h('div', { class: 'wrap' }, h('table', { class: 'side-by-side' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('field')),
        [a, b].map((c) => h('th', { scope: 'col' }, h('a', { href: `#/customers/${encodeURIComponent(c.id)}` }, c.name))))),
      h('tbody', null, rows.map(([f, label]) => h('tr', null, h('th', { scope: 'row' }, t(label)),
        [a, b].map((c) => h('td', { class: isMasked(show(c, f)) ? 'masked' : null }, show(c, f), isMasked(show(c, f)) ? ` (${t('masked')})` : ''))))))),
    admin ? mergeForm(a, b, rows, hid) : null);
}

// mergeForm: the survivor keeps its own value of a field unless the
// merged-away side is chosen for it; only fields where the two differ
// offer the choice.
function mergeForm(a, b, rows, hid) {
  const result = h('div', { 'aria-live': 'polite', class: 'merge-result' });
  const uid = hid.replace('dup-', 'm');
  const form = h('form', { class: 'merge', novalidate: true, 'aria-label': `${t('mergeTitle')}: ${a.name} · ${b.name}` });
  const choices = h('div', { class: 'choices' });
  const redraw = () => {
    const keep = form.survivor.value === b.id ? b : a;
    const other = keep === a ? b : a;
    // An empty field takes the other side's value anyway, and an empty
    // value never replaces one, so only two different values are a choice.
    mount(choices, rows.filter(([f]) => show(a, f) !== show(b, f) && show(a, f) !== '—' && show(b, f) !== '—').map(([f, label]) => {
      const name = `prefer.${f}`;
      return h('fieldset', { class: 'choice' }, h('legend', null, t(label)),
        [['', keep, 'thisSide'], ['from', other, 'otherSide']].map(([v, c, side]) => {
          const id = `${uid}-${f}-${v || 'keep'}`;
          return h('label', { for: id, class: 'radio' }, h('input', { type: 'radio', id, name, value: v, checked: v === '' }), ` ${show(c, f)} (${t(side)})`);
        }),
        h('span', { class: 'err', 'data-error-for': name }));
    }));
  };
  form.append(
    h('fieldset', null, h('legend', null, t('survivor')),
      [a, b].map((c, k) => h('label', { for: `${uid}-s${k}`, class: 'radio' },
        h('input', { type: 'radio', id: `${uid}-s${k}`, name: 'survivor', value: c.id, checked: k === 0, onchange: redraw }), ` ${c.name} (${c.id})`)),
      h('span', { class: 'err', 'data-error-for': 'from' })),
    choices,
    h('div', null, h('button', { type: 'submit', class: 'primary' }, t('mergeBtn'))),
    result);
  redraw();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const keep = form.survivor.value;
    const from = keep === a.id ? b.id : a.id;
    const prefer = {};
    for (const r of form.querySelectorAll('input[type=radio][name^="prefer."]:checked')) if (r.value) prefer[r.name.slice(7)] = r.value;
    try {
      const r = await api('POST', `/customers/${encodeURIComponent(keep)}/merge`, { body: Object.keys(prefer).length ? { from, prefer } : { from }, raw: true });
      if (r.status === 202) { mount(result, h('p', { class: 'success', role: 'status', id: 'merge-pending' }, t('mergePending'))); return; }
      form.querySelector('button[type=submit]').disabled = true;
      // An undone merge leaves the pair as it was: it may be merged again.
      merged(result, r.data, () => { form.querySelector('button[type=submit]').disabled = false; });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // prefer's errors name prefer.<field>, the form's radio groups.
      // A value the survivor would take may be a third customer's: name it.
      const msg = e.status === 403 ? t('forbidden') : e.status === 409 && e.problem?.duplicateOf ? duplicateNotice(e.problem) : e.problem?.detail || t('error');
      mount(result, h('p', { class: 'alert', role: 'alert', 'data-status': e.status }, msg));
      showErrors(form, e.problem, result.firstChild);
    }
  });
  return h('details', null, h('summary', null, t('merge')), form);
}

function merged(el, m, onUndone) {
  const undo = h('button', { type: 'button', class: 'undo' }, t('undo'));
  const out = h('div', { 'aria-live': 'polite' });
  undo.addEventListener('click', async () => {
    try {
      await api('POST', `/merges/${encodeURIComponent(m.mergeId)}/undo`);
      undo.disabled = true;
      mount(out, h('p', { class: 'success', role: 'status', id: 'undo-done' }, t('undone')));
      onUndone();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // A 409 names the fields edited since the merge when that is why;
      // undone already, or merged on since, it explains itself.
      const fields = (e.problem?.fields || []).join(', ');
      const msg = e.status === 409 && fields ? `${t('undoEdited')} ${fields}` : e.status === 410 ? t('undoGone') : e.status === 403 ? t('forbidden') : e.problem?.detail || t('error');
      mount(out, h('p', { class: 'alert', role: 'alert', 'data-status': e.status }, msg));
    }
  });
  mount(el, h('p', { class: 'success', role: 'status', id: 'merge-done', 'data-merge': m.mergeId }, t('merged'), ' ',
    h('a', { href: `#/customers/${encodeURIComponent(m.customer.id)}` }, `${t('open2')}: ${m.customer.name}`)), undo, out);
}
