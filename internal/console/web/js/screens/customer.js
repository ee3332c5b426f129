// One customer: details, edit with If-Match, verification, interactions,
// self-service link, and for admins export and erasure.
import { api, ApiError } from '../api.js';
import { h, mount, field, showErrors, toast } from '../dom.js';
import { t, fmtPct, fmtDate } from '../i18n.js';
import { customerForm, readForm, duplicateNotice, FIELDS } from './customerform.js';

const writers = ['admin', 'sales', 'service'];

export const customer = {
  id: 'customers', detail: true, title: 'customers', roles: ['admin', 'sales', 'service', 'finance', 'auditor'],
  async render(el, { id, me, relabel }) {
    const { data: c, headers } = await api('GET', `/customers/${encodeURIComponent(id)}`, { raw: true });
    const state = { c, etag: headers.get('ETag') };
    const can = (roles) => roles.some((r) => me.roles.includes(r));
    const edit = editSection(state, me);
    mount(el, h('h1', null, c.name), details(c), edit,
      can(writers) ? actions(state) : null,
      can(['admin', 'service', 'sales', 'auditor']) ? await complaintsOf(c) : null,
      can(writers) ? await interactions(c) : null,
      can(['admin', 'sales', 'service', 'auditor']) ? await consentHistory(c) : null,
      can(['admin']) ? adminSection(c) : null);
    // A language switch while the stale-edit view is open shows it again,
    // with the changes the user had made; any other render closes it.
    if (relabel && staleOpen?.id === c.id && edit) await edit.restale();
    else staleOpen = null;
  },
};

// staleOpen is the stale edit on screen: the customer and the user's
// changes, which a re-render would otherwise drop.
let staleOpen = null;

// complaintsOf lists the customer's complaints, newest first, so that one
// linked from triage shows where the customer is.
async function complaintsOf(c) {
  const page = await api('GET', `/complaints?customerId=${encodeURIComponent(c.id)}&limit=20`);
  if (!page.items.length) return null;
  return h('section', { 'aria-labelledby': 'cc-h' }, h('h2', { id: 'cc-h' }, t('complaints')),
    h('ul', { id: 'customer-complaints' }, page.items.map((k) => h('li', null, h('a', { href: `#/complaints/${encodeURIComponent(k.id)}` }, k.subject), ` · ${t(`st.${k.status}`)} · ${fmtDate(k.createdAt)}`))));
}

function details(c) {
  const get = (o, p) => p.split('.').reduce((d, k) => (d == null ? d : d[k]), o);
  const rows = FIELDS.map(([n, l]) => [t(l), n === 'tags' ? (c.tags || []).join(', ') : get(c, n)]).filter(([, v]) => v);
  rows.push([t('completeness'), `${fmtPct(c.completeness || 0)} — ${t('missing')}: ${(c.missingFields || []).join(', ') || t('none')}`]);
  rows.push([t('verified'), fmtDate(c.verifiedAt) || '—'], [t('reviewDue'), fmtDate(c.reviewDueAt)], [t('updated'), fmtDate(c.updatedAt)]);
  return h('dl', { class: 'kv', id: 'customer-details' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function editSection(state, me) {
  if (!['admin', 'sales', 'service', 'finance'].some((r) => me.roles.includes(r))) return null;
  const summary = h('div', { 'aria-live': 'polite' });
  const form = customerForm(state.c, me, 'edit');
  form.append(h('div', null, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  const send = async (base, etag) => {
    try {
      const body = readForm(form, base);
      const r = await api('PATCH', `/customers/${encodeURIComponent(state.c.id)}`, { body, etag, raw: true });
      // A billing change waits for a second person: nothing is saved yet,
      // and the form keeps what the user asked for.
      if (r.status === 202) { mount(summary, h('div', { class: 'alert pending', role: 'status', id: 'approval-pending', 'data-approval': r.data?.approvalId }, t('waitingApproval'))); return; }
      toast(t('saved'));
      dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 412) return stale(base);
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.status === 409 ? duplicateNotice(e.problem) : (e.problem?.detail || t('fixErrors'))));
      showErrors(form, e.problem, summary.firstChild);
    }
  };
  // stale shows the version someone else saved and keeps the user's
  // edits; reapplying sends the same changes against the new version.
  const stale = async (base, kept) => {
    const { data: now, headers } = await api('GET', `/customers/${encodeURIComponent(state.c.id)}`, { raw: true });
    const mine = kept || readForm(form, base);
    staleOpen = { id: state.c.id, base, mine };
    const btn = h('button', { type: 'button', class: 'primary', id: 'reapply' }, t('reapply'));
    btn.addEventListener('click', () => { staleOpen = null; state.c = now; state.etag = headers.get('ETag'); form.dataset.orig = JSON.stringify(now); sendMine(mine); });
    mount(summary, h('div', { class: 'alert', role: 'alert', id: 'stale-edit' }, h('p', null, t('staleEdit')), details(now), btn));
  };
  const sendMine = async (mine) => {
    try {
      const r = await api('PATCH', `/customers/${encodeURIComponent(state.c.id)}`, { body: mine, etag: state.etag, raw: true });
      if (r.status === 202) { mount(summary, h('div', { class: 'alert pending', role: 'status', id: 'approval-pending', 'data-approval': r.data?.approvalId }, t('waitingApproval'))); return; }
      toast(t('saved'));
      dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) return stale(state.c);
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
      showErrors(form, e.problem);
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); send(state.c, state.etag); });
  const section = h('section', { 'aria-labelledby': 'edit-h' }, h('h2', { id: 'edit-h' }, t('edit')), summary, form);
  section.restale = () => stale(staleOpen.base, staleOpen.mine);
  return section;
}

function actions(state) {
  const out = h('div', { 'aria-live': 'polite', id: 'link-result' });
  const verify = h('button', { type: 'button', id: 'verify' }, t('verify'));
  verify.addEventListener('click', async () => { await api('POST', `/customers/${encodeURIComponent(state.c.id)}/verify`); toast(t('verified')); dispatchEvent(new HashChangeEvent('hashchange')); });
  const link = h('button', { type: 'button', id: 'portal-link' }, t('portalLink'));
  link.addEventListener('click', async () => {
    const l = await api('POST', `/customers/${encodeURIComponent(state.c.id)}/portal-links`);
    mount(out, h('p', { class: 'success' }, `${t('linkCreated')} ${fmtDate(l.expiresAt)}: `, h('a', { href: l.url, id: 'portal-url' }, l.url)));
  });
  const revoke = h('button', { type: 'button' }, t('revokeLinks'));
  revoke.addEventListener('click', async () => { await api('DELETE', `/customers/${encodeURIComponent(state.c.id)}/portal-links`); toast(t('saved')); });
  return h('div', { class: 'bar' }, verify, link, revoke, out);
}

async function interactions(c) {
  const page = await api('GET', `/customers/${encodeURIComponent(c.id)}/interactions`);
  const form = h('form', { class: 'grid', id: 'interaction-form' },
    field(t('kind'), 'kind', { options: ['call', 'email', 'meeting', 'note'].map((k) => [k, k]), value: 'call' }),
    field(t('at'), 'at', { type: 'datetime-local' }), field(t('summary'), 'summary', { required: true }),
    field(t('followUp'), 'followUpAt', { type: 'datetime-local' }), h('div', null, h('button', { type: 'submit' }, t('add'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const iso = (v) => (v ? new Date(v).toISOString() : undefined);
    const body = { kind: form.kind.value, at: iso(form.at.value) || new Date().toISOString(), summary: form.summary.value };
    if (form.followUpAt.value) body.followUpAt = iso(form.followUpAt.value);
    try { await api('POST', `/customers/${encodeURIComponent(c.id)}/interactions`, { body }); dispatchEvent(new HashChangeEvent('hashchange')); } catch (e) { showErrors(form, e.problem); }
  });
  return h('section', { 'aria-labelledby': 'int-h' }, h('h2', { id: 'int-h' }, t('interactions')),
    h('ul', null, (page.items || []).map((i) => h('li', null, `${fmtDate(i.at)} · ${i.kind} · ${i.summary}`, i.followUpAt ? ` · ${t('followUp')} ${fmtDate(i.followUpAt)}` : ''))), form);
}

// consentHistory lists every change of the customer's consent, newest
// first, whoever made it: staff, the customer through the self-service
// page, or an import.
async function consentHistory(c) {
  const path = `/customers/${encodeURIComponent(c.id)}/consents`;
  const page = await api('GET', `${path}?limit=50`);
  const items = page.items || [];
  if (!items.length) return h('section', { 'aria-labelledby': 'consent-h' }, h('h2', { id: 'consent-h' }, t('consentHistory')), h('p', { id: 'consent-history' }, t('noConsents')));
  const row = (r) => h('tr', { 'data-source': r.source, 'data-purpose': r.purpose },
    h('td', null, t(`cp.${r.purpose}`)), h('td', null, t(r.granted ? 'yes' : 'no')), h('td', null, fmtDate(r.at)),
    h('td', null, t(`src.${r.source}`)), h('td', null, r.actor));
  const body = h('tbody', null, items.map(row));
  // Older records come a page at a time, appended below the newer ones.
  let cursor = page.nextCursor;
  const more = h('button', { type: 'button', hidden: !cursor }, t('next'));
  more.addEventListener('click', async () => {
    const next = await api('GET', `${path}?limit=50&cursor=${encodeURIComponent(cursor)}`);
    body.append(...(next.items || []).map(row));
    cursor = next.nextCursor;
    more.hidden = !cursor;
  });
  return h('section', { 'aria-labelledby': 'consent-h' }, h('h2', { id: 'consent-h' }, t('consentHistory')),
    h('div', { class: 'wrap' }, h('table', { id: 'consent-history' },
      h('thead', null, h('tr', null, [t('purpose'), t('granted'), t('at'), t('source'), t('actor')].map((x) => h('th', { scope: 'col' }, x)))), body)), more);
}

function adminSection(c) {
  const exp = h('button', { type: 'button' }, t('export'));
  exp.addEventListener('click', async () => {
    const data = await api('GET', `/customers/${encodeURIComponent(c.id)}/export`);
    const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' })), download: `customer-${c.id}.json` });
    a.click();
  });
  const form = h('form', { class: 'bar', id: 'erase-form' }, field(t('eraseConfirm'), 'confirm', {}), h('button', { class: 'danger', type: 'submit' }, t('erase')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.confirm.value.trim() !== c.id) { form.querySelector('[data-error-for=confirm]').textContent = t('eraseConfirm'); return; }
    const r = await api('DELETE', `/customers/${encodeURIComponent(c.id)}`, { raw: true });
    toast(r.status === 202 ? t('waitingApproval') : t('erased'));
    location.hash = '#/customers';
  });
  return h('section', { class: 'panel' }, h('h2', null, 'Admin'), exp, form);
}
