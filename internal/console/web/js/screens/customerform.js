// The customer form, shared by create and edit. Masked values are shown
// masked and read-only and are never sent back.
import { h, field } from '../dom.js';
import { t } from '../i18n.js';

export const isMasked = (v) => typeof v === 'string' && v.includes('•');
const get = (o, p) => p.split('.').reduce((d, k) => (d == null ? d : d[k]), o);

export const FIELDS = [
  ['name', 'name'], ['phone', 'phone', 'tel'], ['email', 'email', 'email'], ['company', 'company'], ['segment', 'segment'], ['tags', 'tags'],
  ['nationalId', 'nationalId'], ['address.line1', 'line1'], ['address.line2', 'line2'], ['address.city', 'city'], ['address.region', 'region'],
  ['address.postalCode', 'postalCode'], ['address.country', 'country'], ['billing.bankAccount', 'bankAccount'], ['billing.taxId', 'taxId'], ['ownerId', 'ownerId'],
];

export function customerForm(c, me, mode) {
  const form = h('form', { class: 'grid', novalidate: true, id: `customer-${mode}` });
  const billingVisible = me.roles.includes('admin') || me.roles.includes('finance');
  for (const [name, label, type] of FIELDS) {
    if (name.startsWith('billing.') && !billingVisible) continue;
    if (name === 'ownerId' && mode === 'create' && !me.roles.includes('admin') && me.roles.includes('sales')) continue;
    let v = get(c, name);
    if (name === 'tags') v = (c.tags || []).join(', ');
    const masked = isMasked(v);
    form.append(field(masked ? `${t(label)} (${t('masked')})` : t(label), name, { value: v ?? '', type: type === 'email' || type === 'tel' ? type : 'text', readonly: masked, required: name === 'name' }));
  }
  form.append(field(t('consentReminders'), 'consent.reminders', { type: 'checkbox', checked: c.consent?.reminders }));
  form.append(field(t('consentMarketing'), 'consent.marketing', { type: 'checkbox', checked: c.consent?.marketing }));
  form.dataset.orig = JSON.stringify(c);
  return form;
}

// readForm returns the body to send: everything for a create, a merge
// patch of what changed against orig for an edit.
export function readForm(form, orig) {
  const out = {};
  const set = (p, v) => { const ks = p.split('.'); let o = out; ks.slice(0, -1).forEach((k) => { o = o[k] ??= {}; }); o[ks.at(-1)] = v; };
  for (const el of form.elements) {
    if (!el.name || el.readOnly) continue;
    let v = el.type === 'checkbox' ? el.checked : el.value.trim();
    let was = orig ? get(orig, el.name) : undefined;
    if (el.name === 'tags') { v = v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []; was = orig?.tags || []; }
    if (orig) {
      if (JSON.stringify(v) === JSON.stringify(was ?? (el.type === 'checkbox' ? false : el.name === 'tags' ? [] : ''))) continue;
      if (v === '') v = null;
    } else if (v === '' || (el.name === 'tags' && !v.length)) continue;
    set(el.name, v);
  }
  return out;
}

export function duplicateNotice(p) {
  const fields = (p?.errors || []).map((e) => e.field).join(', ');
  return p?.duplicateOf
    ? [t('duplicate'), ' ', h('a', { href: `#/customers/${encodeURIComponent(p.duplicateOf)}`, id: 'duplicate-link' }, t('openDuplicate')), fields ? ` (${fields})` : '']
    : [t('duplicate'), ' ', fields];
}
