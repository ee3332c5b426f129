// api calls the HTTP API with the session's token; an answer other than
// 2xx becomes an ApiError carrying the problem document.
import { session, loadConfig } from './auth.js';

export class ApiError extends Error {
  constructor(status, problem, headers) { super(problem?.title || `HTTP ${status}`); this.status = status; this.problem = problem; this.headers = headers; }
}

// A file (an import) is sent as it is, with its own content type.
export async function api(method, path, { body, etag, headers = {}, raw, file } = {}) {
  const c = await loadConfig();
  const h = { ...headers };
  const s = session();
  if (s?.token && !path.startsWith('/portal/')) h.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) h['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  if (file) h['Content-Type'] = file.type;
  if (etag) h['If-Match'] = etag;
  if (method === 'POST' && !h['Idempotency-Key']) h['Idempotency-Key'] = crypto.randomUUID();
  const r = await fetch((c.apiUrl || '') + path, { method, headers: h, body: file || (body === undefined ? undefined : JSON.stringify(body)), cache: 'no-store', redirect: 'follow' });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new ApiError(r.status, data, r.headers);
  return raw ? { data, headers: r.headers, status: r.status } : data;
}

export const qs = (o) => { const p = new URLSearchParams(); for (const [k, v] of Object.entries(o)) if (v !== '' && v != null && v !== false) p.set(k, v); const s = p.toString(); return s ? `?${s}` : ''; };
