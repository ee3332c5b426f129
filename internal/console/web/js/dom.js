// h builds an element without ever parsing HTML, so data shown on a page
// can never become markup.
export function h(tag, attrs, ...kids) {
  const svg = ['svg', 'rect', 'line', 'text', 'polyline', 'g', 'title', 'circle'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    // The default too, so keepState can tell what the user changed.
    else if (k === 'value' && !svg) { el.value = v; if (tag === 'input') el.defaultValue = v; }
    else if (k === 'checked') { el.checked = !!v; el.defaultChecked = !!v; }
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export function mount(el, ...kids) { el.replaceChildren(...kids.flat(Infinity).filter((k) => k != null && k !== false)); }

let seq = 0;
// field is a labelled input with its error slot; errs maps field names to
// messages from a problem's errors[].
export function field(label, name, opts = {}) {
  const id = `f${++seq}`;
  const errId = `${id}-err`;
  const tag = opts.type === 'textarea' ? 'textarea' : opts.options ? 'select' : 'input';
  const attrs = { id, name, 'aria-describedby': errId, required: opts.required, readonly: opts.readonly, 'aria-readonly': opts.readonly ? 'true' : null };
  if (tag === 'input') Object.assign(attrs, { type: opts.type || 'text', autocomplete: opts.autocomplete || 'off', value: opts.value ?? '', checked: opts.checked });
  const input = tag === 'select'
    ? h('select', attrs, opts.options.map(([v, l]) => h('option', { value: v, selected: v === opts.value ? true : null }, l)))
    : h(tag, attrs);
  if (tag === 'textarea') input.defaultValue = input.value = opts.value ?? '';
  const err = h('span', { id: errId, class: 'err', 'data-error-for': name });
  const wrap = opts.type === 'checkbox'
    ? h('div', { class: 'field check' }, h('label', { for: id }, input, ' ', label), err)
    : h('div', { class: 'field' }, h('label', { for: id }, label), input, err);
  return wrap;
}

// showErrors puts each problem error beside its field; errors of fields the
// form does not have are appended to the summary as a list.
export function showErrors(form, problem, summary) {
  for (const e of form.querySelectorAll('[data-error-for]')) e.textContent = '';
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  const rest = [];
  for (const fe of problem?.errors || []) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(fe.field)}"]`);
    if (slot) {
      slot.textContent = fe.message;
      const input = form.querySelector(`[name="${CSS.escape(fe.field)}"]`);
      if (input) input.setAttribute('aria-invalid', 'true');
    } else rest.push(`${fe.field}: ${fe.message}`);
  }
  if (summary) {
    summary.querySelector('ul.rest')?.remove();
    if (rest.length) summary.append(h('ul', { class: 'rest' }, rest.map((r) => h('li', null, r))));
  }
  const first = form.querySelector('[aria-invalid=true]');
  if (first) first.focus();
}

export function toast(msg) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = msg;
  setTimeout(() => { if (el.textContent === msg) el.textContent = ''; }, 4000);
}

// keepState notes what a re-render of root would lose: in each form with an
// id, the fields the user changed and the errors shown beside them; and the
// messages in [data-keep] containers (a field-error summary, a secret shown
// once). The language switch re-renders a screen with keepState before and
// restoreState after, so a half-filled form survives it.
export function keepState(root) {
  const dirty = (e) => (e.type === 'checkbox' ? e.checked !== e.defaultChecked
    : e.tagName === 'SELECT' ? e.selectedIndex !== Math.max(0, [...e.options].findIndex((o) => o.defaultSelected)) : e.value !== e.defaultValue);
  const forms = [...root.querySelectorAll('form[id]')].map((f) => ({
    id: f.id,
    values: [...f.elements].filter((e) => e.name && !e.readOnly && dirty(e)).map((e) => [e.name, e.type === 'checkbox' ? e.checked : e.value]),
    errors: [...f.querySelectorAll('[data-error-for]')].filter((e) => e.textContent).map((e) => [e.dataset.errorFor, e.textContent]),
  }));
  const notes = [...root.querySelectorAll('[data-keep]')].map((e) => [e.dataset.keep, [...e.childNodes].map((n) => n.cloneNode(true))]);
  return { forms, notes, focus: document.activeElement?.form?.id ? [document.activeElement.form.id, document.activeElement.name] : null };
}

// restoreState puts back what keepState noted, where the new render has the
// same form and field; a select's change listeners run, as if the user had
// picked the value again.
export function restoreState(root, kept) {
  if (!kept) return;
  const byName = (f, n) => f.querySelector(`[name="${CSS.escape(n)}"]`);
  for (const k of kept.forms) {
    const f = root.querySelector(`form#${CSS.escape(k.id)}`);
    if (!f) continue;
    for (const [n, v] of k.values) {
      const e = byName(f, n);
      if (!e || e.readOnly) continue;
      if (e.type === 'checkbox') e.checked = v; else e.value = v;
      if (e.tagName === 'SELECT') e.dispatchEvent(new Event('change'));
    }
    for (const [n, msg] of k.errors) {
      const slot = f.querySelector(`[data-error-for="${CSS.escape(n)}"]`);
      if (slot) slot.textContent = msg;
      byName(f, n)?.setAttribute('aria-invalid', 'true');
    }
  }
  for (const [key, kids] of kept.notes) {
    const box = root.querySelector(`[data-keep="${CSS.escape(key)}"]`);
    if (box && kids.length) box.replaceChildren(...kids);
  }
  if (kept.focus) {
    const f = root.querySelector(`form#${CSS.escape(kept.focus[0])}`);
    (kept.focus[1] && f ? byName(f, kept.focus[1]) : null)?.focus();
  }
}
