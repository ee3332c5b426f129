// Triage: complaints a machine client filed with a contact that matched no
// customer. An agent finds the customer (name or company, phone, email)
// and links the complaint to them; it then leaves this list.
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors, toast } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { startCountdown } from './complaints.js';

export const triage = {
  id: 'triage', nav: 'tri.title', roles: ['admin', 'service'],
  async render(el, { query, relabel }) {
    const cursor = query.get('cursor') || '';
    const page = await api('GET', `/complaints${qs({ unlinked: 'true', limit: 25, cursor })}`);
    // The notice shows on the render after the link and on a relabel of it.
    if (linked?.shown && !relabel) linked = null;
    if (linked) linked.shown = true;
    const done = h('div', { 'aria-live': 'polite', id: 'triage-done' }, linked
      ? h('p', { class: 'success', role: 'status' }, `${t('tri.linked')}: ${linked.subject} → `,
        h('a', { href: `#/customers/${encodeURIComponent(linked.customerId)}`, id: 'linked-customer' }, linked.name))
      : null);
    const panel = h('section', { 'aria-labelledby': 'tri-link-h', id: 'triage-link', hidden: true });
    const rows = page.items.map((c) => {
      const btn = h('button', { type: 'button', 'data-link': c.id, 'aria-controls': 'triage-link' }, t('tri.link'));
      btn.addEventListener('click', () => openLink(panel, c));
      return h('tr', { 'data-complaint': c.id },
        h('td', null, h('a', { href: `#/complaints/${encodeURIComponent(c.id)}` }, c.subject)),
        h('td', { class: 'any' }, [c.contact?.phone, c.contact?.email].filter(Boolean).join(' · ')),
        h('td', { class: 'hide-sm' }, `${c.channel} · ${c.category}`), h('td', { class: 'hide-sm' }, c.severity),
        h('td', { class: 'hide-sm' }, fmtDate(c.createdAt)),
        h('td', { class: 'hide-sm' }, h('span', { 'data-due': c.slaDueAt, title: fmtDate(c.slaDueAt) })), h('td', null, btn));
    });
    const paging = h('p', { class: 'bar' },
      cursor ? h('a', { href: '#/triage' }, t('first')) : null,
      page.nextCursor ? h('a', { href: `#/triage${qs({ cursor: page.nextCursor })}`, rel: 'next' }, t('next')) : null);
    mount(el, h('h1', null, t('tri.title')), h('p', { class: 'muted' }, t('tri.intro')), done,
      page.items.length
        ? h('div', { class: 'wrap' }, h('table', { id: 'triage-list' }, h('thead', null, h('tr', null,
          [t('subject'), t('tri.contact'), t('channel'), t('severity'), t('tri.filed'), t('slaDue'), ''].map((x, i) => h('th', { scope: 'col', class: i >= 2 && i <= 5 ? 'hide-sm' : null }, x)))),
        h('tbody', null, rows)))
        : h('p', { id: 'triage-empty' }, t('tri.empty')),
      paging, panel);
    startCountdown(el);
    // A language switch keeps the link panel open on its complaint.
    const still = relabel && page.items.find((c) => c.id === openFor);
    if (still) await openLink(panel, still, false);
    else openFor = null;
  },
};

// linked is the complaint just linked, for the notice on the next render;
// openFor the one whose link panel is open.
let linked = null;
let openFor = null;
// searched is the last customer search in that panel.
let searched = null;

// openLink shows, for one complaint, the customer search and the link form.
async function openLink(panel, c, focus = true) {
  if (openFor !== c.id) searched = null;
  openFor = c.id;
  const summary = h('div', { 'aria-live': 'polite' });
  const results = h('div', { 'aria-live': 'polite', id: 'triage-results' });
  const search = h('form', { class: 'bar', role: 'search', id: 'triage-search', novalidate: true },
    field(t('search'), 'q', { type: 'search' }), field(t('phone'), 'phone', { type: 'tel', value: c.contact?.phone || '' }),
    field(t('email'), 'email', { type: 'email', value: c.contact?.email || '' }), h('button', { type: 'submit' }, t('tri.find')));
  const form = h('form', { class: 'bar', id: 'link-form', novalidate: true },
    field(t('customerId'), 'customerId', { required: true }), h('button', { class: 'primary', type: 'submit' }, t('tri.link')));
  const link = async (customerId, name) => {
    form.customerId.value = customerId;
    try {
      await api('POST', `/complaints/${encodeURIComponent(c.id)}/link`, { body: { customerId } });
      toast(t('tri.linked'));
      // The list re-renders without the complaint; the notice of where it
      // went shows above it once.
      linked = { subject: c.subject, customerId, name: name || customerId };
      dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // 404 names customerId; 409 says it is linked already.
      mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t(e.status === 409 ? 'error' : 'fixErrors')));
      showErrors(form, e.status === 404 && !e.problem?.errors ? { errors: [{ field: 'customerId', message: t('notFound') }] } : e.problem, summary.firstChild);
    }
  };
  const find = async (by) => {
    searched = by;
    try {
      const found = await api('GET', `/customers${qs({ ...by, limit: 10 })}`);
      mount(results, found.items.length
        ? h('div', { class: 'wrap' }, h('table', { id: 'triage-matches' }, h('caption', { class: 'sr' }, t('tri.matches')),
          h('thead', null, h('tr', null, [t('name'), t('phone'), t('email'), t('company'), ''].map((x, i) => h('th', { scope: 'col', class: i === 1 || i === 3 ? 'hide-sm' : null }, x)))),
          h('tbody', null, found.items.map((m) => {
            const b = h('button', { type: 'button', 'data-customer': m.id }, `${t('tri.link')}: ${m.name}`);
            b.addEventListener('click', () => link(m.id, m.name));
            return h('tr', null, h('td', null, m.name), h('td', { class: 'hide-sm' }, m.phone || ''), h('td', { class: 'any' }, m.email || ''),
              h('td', { class: 'hide-sm' }, m.company || ''), h('td', null, b));
          }))))
        : h('p', { id: 'triage-nomatch' }, t('tri.noMatch')));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      mount(results, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('fixErrors')));
      showErrors(search, e.problem, results.firstChild);
    }
  };
  search.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = { q: search.q.value.trim(), phone: search.phone.value.trim(), email: search.email.value.trim() };
    showErrors(search, null);
    // One criterion at a time: phone and email are exact matches, the
    // name a prefix; the first one given is used.
    find(q.phone ? { phone: q.phone } : q.email ? { email: q.email } : { q: q.q });
  });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); link(form.customerId.value.trim()); });
  mount(panel, h('h2', { id: 'tri-link-h', tabindex: '-1' }, `${t('tri.linkTitle')}: ${c.subject}`), summary, search, results, form);
  panel.hidden = false;
  if (focus) panel.querySelector('h2').focus();
  // A relabel shows the last search's results again.
  else if (searched) await find(searched);
}
