// Imports: upload a CSV or JSON file, follow its progress, then page
// through the rejected rows. The API reports rows by number with the
// fields and codes at fault, never their values, and so does this screen.
import { api, qs, ApiError } from '../api.js';
import { h, mount, field, showErrors } from '../dom.js';
import { t, fmtNum } from '../i18n.js';

const POLL_MS = 500;

export const imports = {
  id: 'imports', nav: 'imports', roles: ['admin'],
  async render(el, { query }) {
    const id = query.get('id');
    const summary = h('div', { 'aria-live': 'polite' });
    const form = h('form', { id: 'import-form', class: 'bar', novalidate: true },
      field(t('importFile'), 'file', { type: 'file' }),
      h('div', null, h('button', { class: 'primary', type: 'submit' }, t('upload'))));
    form.file.setAttribute('accept', '.csv,.json,text/csv,application/json');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = form.file.files[0];
      if (!f) { showErrors(form, { errors: [{ field: 'file', message: t('chooseFile') }] }); return; }
      try {
        const a = await api('POST', '/imports', { file: new Blob([f], { type: contentType(f) }) });
        location.hash = `#/imports${qs({ id: a.id })}`;
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        // A file-level problem (bad CSV, unknown column) belongs to the
        // file field; its errors name columns, not form fields.
        mount(summary, h('div', { class: 'alert', role: 'alert' }, e.problem?.detail || t('error')));
        const errs = (e.problem?.errors || []).map((x) => ({ field: 'file', message: `${x.field}: ${x.message}` }));
        showErrors(form, { errors: errs.length ? [{ field: 'file', message: errs.map((x) => x.message).join('; ') }] : [] });
      }
    });
    const progress = h('section', { id: 'import-progress', 'aria-labelledby': 'imp-h' });
    mount(el, h('h1', null, t('imports')), summary, form, id ? progress : null);
    if (id) await follow(progress, id, query.get('cursor') || '');
  },
};

// contentType names the file's media type from its extension when the
// browser gives none, as the API tells CSV from JSON by it.
function contentType(f) {
  if (f.type === 'text/csv' || f.type === 'application/json') return f.type;
  return /\.json$/i.test(f.name) ? 'application/json' : 'text/csv';
}

// follow polls the import until it is done or failed, while the screen
// still shows it, then lists its rejected rows.
async function follow(el, id, cursor) {
  const here = location.hash;
  for (;;) {
    const imp = await api('GET', `/imports/${encodeURIComponent(id)}`);
    draw(el, imp);
    if (imp.status === 'done' || imp.status === 'failed') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (location.hash !== here || !el.isConnected) return;
  }
  const rows = await api('GET', `/imports/${encodeURIComponent(id)}/rows${qs({ status: 'rejected', cursor })}`);
  el.append(rejected(id, rows, cursor));
}

function draw(el, imp) {
  const bar = h('progress', { id: 'import-bar', max: Math.max(imp.rows, 1), value: imp.processed, 'aria-labelledby': 'imp-h' });
  mount(el, h('h2', { id: 'imp-h' }, t('importProgress'), ': ', h('span', { id: 'import-status', 'data-status': imp.status }, t(`is.${imp.status}`))),
    bar,
    h('dl', { class: 'kv', id: 'import-counts' },
      [['rows', imp.rows], ['processed', imp.processed], ['created', imp.created], ['rejectedCount', imp.rejected]]
        .map(([k, v]) => [h('dt', null, t(k)), h('dd', { 'data-count': k }, fmtNum(v))])));
}

function rejected(id, page, cursor) {
  const items = page.items || [];
  const base = `#/imports${qs({ id })}`;
  return h('section', { 'aria-labelledby': 'rej-h' }, h('h2', { id: 'rej-h' }, t('rejectedRows')),
    items.length ? h('div', { class: 'wrap' }, h('table', { id: 'rejected-rows' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('row')), h('th', { scope: 'col' }, t('errors')))),
      h('tbody', null, items.map((r) => h('tr', { 'data-row': r.row },
        h('th', { scope: 'row' }, fmtNum(r.row)),
        h('td', null, h('ul', { class: 'plain' }, (r.errors || []).map((e) => h('li', null, h('code', null, e.field), ' ', e.message))),
          r.duplicateOf ? h('p', null, `${t('duplicateOfRow')} `, h('a', { href: `#/customers/${encodeURIComponent(r.duplicateOf)}` }, r.duplicateOf)) : null))))))
      : h('p', { id: 'rejected-rows' }, t('noRejected')),
    h('p', { class: 'bar' },
      cursor ? h('a', { href: base }, t('first')) : null,
      page.nextCursor ? h('a', { href: `${base}&${qs({ cursor: page.nextCursor }).slice(1)}` }, t('next')) : null));
}
