// The customer's self-service page. The token is in the URL fragment, which
// the browser never sends to a server; the page calls GET and PUT
// /portal/{token}.
import { t, bindSwitch } from './i18n.js';
import { h, mount, field, showErrors, keepState, restoreState } from './dom.js';

const main = document.getElementById('main');
const token = decodeURIComponent(location.hash.slice(1));
let data;
let done = false;
let last;

async function call(method, body) {
  const r = await fetch(`/portal/${encodeURIComponent(token)}`, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined, cache: 'no-store', referrerPolicy: 'no-referrer' });
  const j = await r.json().catch(() => null);
  return { status: r.status, j };
}

function render(state) {
  last = state;
  if (state === 'expired') return mount(main, h('h1', null, t('ssTitle')), h('p', { class: 'alert', role: 'alert', id: 'ss-expired' }, t('ssExpired')));
  if (state === 'notoken') return mount(main, h('h1', null, t('ssTitle')), h('p', { class: 'alert', role: 'alert' }, t('ssNoToken')));
  if (state === 'error') return mount(main, h('h1', null, t('ssTitle')), h('p', { class: 'alert', role: 'alert' }, t('error')));
  if (done) return mount(main, h('h1', null, t('ssTitle')), h('p', { class: 'success', role: 'status', id: 'ss-saved' }, t('ssSaved')));
  const a = data.address || {};
  const consent = { reminders: !!data.consent?.reminders, marketing: !!data.consent?.marketing };
  const summary = h('div', { 'aria-live': 'polite', 'data-keep': 'ss' });
  const form = h('form', { id: 'ss-form', novalidate: true },
    h('p', null, data.name), h('p', { class: 'muted' }, t('ssIntro')),
    field(t('phone'), 'phone', { value: data.phone || '', type: 'tel', autocomplete: 'tel' }),
    field(t('email'), 'email', { value: data.email || '', type: 'email', autocomplete: 'email' }),
    ['line1', 'line2', 'city', 'region', 'postalCode', 'country'].map((k) => field(t(k), `address.${k}`, { value: a[k] || '' })),
    h('fieldset', { id: 'ss-consent' }, h('legend', null, t('ssConsent')),
      field(t('consentReminders'), 'consent.reminders', { type: 'checkbox', checked: consent.reminders }),
      field(t('consentMarketing'), 'consent.marketing', { type: 'checkbox', checked: consent.marketing })),
    h('p', null, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = (n) => form[n].value.trim();
    const body = {};
    // The API reads null as "leave it" and "" as "remove it".
    if (v('phone') !== (data.phone || '')) body.phone = v('phone');
    if (v('email') !== (data.email || '')) body.email = v('email');
    const addr = Object.fromEntries(['line1', 'line2', 'city', 'region', 'postalCode', 'country'].map((k) => [k, v(`address.${k}`)]).filter(([, x]) => x));
    if (JSON.stringify(addr) !== JSON.stringify(Object.fromEntries(Object.entries(a).filter(([, x]) => x)))) body.address = Object.keys(addr).length ? addr : null;
    // Consent is sent whole, and only when the customer changed it, so
    // that a correction of an address does not record a consent change.
    const now = { reminders: form['consent.reminders'].checked, marketing: form['consent.marketing'].checked };
    if (now.reminders !== consent.reminders || now.marketing !== consent.marketing) body.consent = now;
    const r = await call('PUT', body);
    if (r.status === 200) { done = true; return render(); }
    if (r.status === 404 || r.status === 410) return render('expired');
    if (r.status === 400) { mount(summary, h('div', { class: 'alert', role: 'alert' }, r.j?.detail || t('error'))); showErrors(form, r.j, summary.firstChild); return; }
    mount(summary, h('div', { class: 'alert', role: 'alert' }, t('error')));
  });
  mount(main, h('h1', null, t('ssTitle')), summary, form);
}

async function start() {
  if (!token) return render('notoken');
  const r = await call('GET');
  if (r.status === 200) { data = r.j; render(); } else render(r.status === 404 || r.status === 410 ? 'expired' : 'error');
  document.body.dataset.ready = '1';
}

// A language switch keeps what the customer typed and the errors shown.
bindSwitch(() => { const kept = keepState(main); render(last); restoreState(main, kept); });
start();
