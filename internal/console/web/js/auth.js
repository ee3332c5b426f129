// Sign-in. Locally a local-only page mints a token for a chosen role and
// user; on AWS the Cognito hosted UI with the authorization code grant and
// PKCE, refreshed silently before the token expires.
let config;
export async function loadConfig() {
  if (!config) config = await (await fetch('/config.json', { cache: 'no-store' })).json();
  return config;
}

const KEY = 'clientele.session';
export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}
function save(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); }

export function claims(token) {
  try {
    const b = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b), (c) => c.charCodeAt(0))));
  } catch { return {}; }
}

export function setLocalToken(token) { save({ token }); }

const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const redirectUri = () => `${location.origin}/`;

async function cognitoStart(c) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({ response_type: 'code', client_id: c.clientId, redirect_uri: redirectUri(), scope: 'openid email profile',
    code_challenge: challenge, code_challenge_method: 'S256', state });
  location.assign(`https://${c.domain}/oauth2/authorize?${q}`);
}

async function tokenRequest(c, body) {
  const r = await fetch(`https://${c.domain}/oauth2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  if (!r.ok) throw new Error('token');
  const j = await r.json();
  const prev = session() || {};
  // The API's JWT authorizer checks the access token's client; the ID
  // token carries the groups the same way.
  save({ token: j.access_token, refresh: j.refresh_token || prev.refresh, exp: Date.now() + j.expires_in * 1000 });
}

let timer;
function scheduleRefresh(c) {
  const s = session();
  if (!s?.refresh || !s.exp) return;
  clearTimeout(timer);
  timer = setTimeout(() => tokenRequest(c, { grant_type: 'refresh_token', client_id: c.clientId, refresh_token: s.refresh })
    .then(() => scheduleRefresh(c), () => cognitoStart(c)), Math.max(5e3, s.exp - Date.now() - 60e3));
}

// ensureSignedIn returns the session's token, or leaves the page for the
// sign-in and returns null.
export async function ensureSignedIn() {
  const c = await loadConfig();
  if (c.mode === 'cognito') {
    const q = new URLSearchParams(location.search);
    const p = JSON.parse(sessionStorage.getItem('pkce') || 'null');
    if (q.get('code') && p && q.get('state') === p.state) {
      sessionStorage.removeItem('pkce');
      await tokenRequest(c, { grant_type: 'authorization_code', client_id: c.clientId, code: q.get('code'), redirect_uri: redirectUri(), code_verifier: p.verifier });
      history.replaceState(null, '', '/' + location.hash);
    }
    const s = session();
    if (!s?.token || (s.exp && s.exp < Date.now())) { await cognitoStart(c); return null; }
    scheduleRefresh(c);
    return s.token;
  }
  const s = session();
  if (!s?.token || (claims(s.token).exp || 0) * 1000 < Date.now()) { location.assign(c.signIn || '/local/sign-in'); return null; }
  return s.token;
}

export async function signOut() {
  const c = await loadConfig();
  sessionStorage.removeItem(KEY);
  if (c.mode === 'cognito') location.assign(`https://${c.domain}/logout?${new URLSearchParams({ client_id: c.clientId, logout_uri: redirectUri() })}`);
  else location.assign(c.signIn || '/local/sign-in');
}
