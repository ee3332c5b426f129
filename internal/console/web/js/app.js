// The console's shell: sign-in, navigation and a hash router over screen
// modules. A feature adds a screen by adding one module to screens/index.js.
import { ensureSignedIn, claims, signOut } from './auth.js';
import { t, bindSwitch } from './i18n.js';
import { h, mount, keepState, restoreState } from './dom.js';
import { screens } from './screens/index.js';
import { ApiError } from './api.js';

export const me = { user: '', roles: [] };
const main = document.getElementById('main');

function nav() {
  const here = location.hash.split('?')[0] || '#/customers';
  mount(document.getElementById('nav'), screens.filter((s) => s.nav && s.roles.some((r) => me.roles.includes(r)))
    .map((s) => h('a', { href: `#/${s.id}`, 'aria-current': here === `#/${s.id}` ? 'page' : null }, t(s.nav))));
  document.getElementById('who').textContent = `${me.user} · ${me.roles.join(', ')}`;
}

export function problemView(err) {
  if (err instanceof ApiError) {
    const msg = err.status === 404 ? t('notFound') : err.status === 403 ? t('forbidden') : err.problem?.detail || err.problem?.title || t('error');
    return h('div', { class: 'alert', role: 'alert', 'data-status': err.status }, msg);
  }
  return h('div', { class: 'alert', role: 'alert' }, t('error'));
}

// route renders the screen the hash names, after any render under way:
// screens render into main as their data arrives, so a slow render that
// finished after a newer one would put the old screen back over it. kept,
// from a language switch, is the state of the screen being re-rendered:
// the screen is told it is only being relabelled, and what the user had
// typed is put back.
let rendering = Promise.resolve();
function route(kept) {
  rendering = rendering.then(() => show(kept));
  return rendering;
}

async function show(kept) {
  const hash = location.hash;
  nav();
  const [path, query] = (hash.slice(1) || '/customers').split('?');
  const parts = path.split('/').filter(Boolean);
  const screen = screens.find((s) => s.id === parts[0] && (parts.length > 1 ? s.detail : !s.detail)) || screens[0];
  document.title = `${t(screen.nav || screen.title || 'customers')} — Clientele`;
  // The loading notice would drop a form before keepState's snapshot is
  // restored; a relabel keeps the old screen until the new one is ready.
  if (!kept) mount(main, h('p', { class: 'muted' }, t('loading')));
  try {
    await screen.render(main, { id: parts[1], query: new URLSearchParams(query || ''), me, relabel: !!kept });
    restoreState(main, kept);
  } catch (e) {
    mount(main, problemView(e));
  }
  main.dataset.ready = hash;
}

async function start() {
  const token = await ensureSignedIn();
  if (!token) return;
  const c = claims(token);
  me.user = c.sub;
  me.roles = [].concat(c['cognito:groups'] || []);
  bindSwitch(() => {
    // The menu, the sign-out button and the screen change language; the
    // screen keeps what the user typed.
    document.getElementById('signout').textContent = t('signOut');
    return route(keepState(main));
  });
  const so = document.getElementById('signout');
  so.hidden = false;
  so.textContent = t('signOut');
  so.addEventListener('click', signOut);
  addEventListener('hashchange', () => route());
  if (!location.hash) history.replaceState(null, '', me.roles.includes('auditor') ? '#/dashboards' : '#/customers');
  await route();
  document.body.dataset.ready = '1';
  // The first screen is usable: the browser tests read this mark.
  performance.mark('console-ready');
}

start();
