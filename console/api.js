/* The module's public API: where it is, who calls it (a token kept in
 * this tab, or httpd's own authentication), and its problem+json errors. */
import { clickLink } from './dom.js';
import { bytes } from './format.js';

/* The API is mounted where the console is: <Location>/console/ */
export const API = location.pathname.replace(/\/console(\/.*)?$/, '');

/* Who is signed in: mode 'token' (this tab only) or 'httpd' (the browser
 * sends its credentials itself); null when nobody is. */
export const session = { token: null, mode: null };

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

/* The server stopped accepting the session (a 401): the sign-in form
 * listens (onSessionEnd). */
let ended = () => {};

export function onSessionEnd(fn) { ended = fn; }

export function endSession() { if (session.mode) ended(); }

function bearer(token) { return token ? { Authorization: 'Bearer ' + token } : {}; }

/* Headers h (or new ones) with the session's token, if any. */
export function authHeaders(h) {
  return Object.assign(h || {}, session.mode === 'token' ? bearer(session.token) : {});
}

/* fetch, never from the cache, with this site's credentials */
function request(url, opts) {
  return fetch(url, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, opts));
}

/* GET of a full path with the session's token: the Response. */
export function authedFetch(path) {
  return request(path, { headers: authHeaders() });
}

async function problemOf(res) {
  let detail = res.status + ' ' + res.statusText;
  try {
    const doc = await res.json();
    if (doc && doc.detail) detail = doc.detail;
  } catch (e) { /* not JSON */ }
  return new ApiError(res.status, detail);
}

/* A JSON call below the API: its answer's document, or an ApiError with
 * the problem's detail. */
export async function api(method, path, body, extra) {
  const opts = { method: method, headers: authHeaders(extra || {}) };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await request(API + path, opts);
  if (res.status === 401 && session.mode) {
    endSession();
    throw new ApiError(401, 'not signed in');
  }
  if (!res.ok) throw await problemOf(res);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/* Whether the server accepts these credentials (a token, or none: httpd's
 * own): any answer but 401. */
export async function probe(token) {
  const res = await request(API + '/imports?limit=1', { headers: bearer(token) });
  return res.status !== 401;
}

/* A path from the server (downloadUrl, errorsUrl) is used only when it is
 * one of this server's own absolute paths as the browser reads it: its URL
 * parser drops tabs and newlines, trims controls and spaces, and takes a
 * backslash for a slash, so "/\t/evil.example" is "//evil.example", another
 * host. The path returned is the normalized one; anything else is null. */
export function ownPath(p) {
  if (typeof p !== 'string') return null;
  const n = p.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '')
    .replace(/\\/g, '/');
  if (!/^\/[^/]/.test(n)) return null;
  try {
    const u = new URL(n, location.href);
    return u.origin === location.origin ? u.pathname + u.search + u.hash : null;
  } catch (e) { return null; }
}

/* A next link (a path or a URL) as a path below the API, or null. */
export function localPath(p) {
  try {
    const u = new URL(p, location.href);
    const path = u.pathname + u.search;
    return u.origin === location.origin && path.startsWith(API + '/') ? path : null;
  } catch (e) { return null; }
}

/* Download with the token: fetch, then save the blob; statusEl tells how
 * it went. With httpd's authentication a plain link does (the browser
 * streams it to disk). */
export async function download(path, filename, statusEl) {
  if (session.mode !== 'token') {
    clickLink(path, filename || '');
    return;
  }
  if (statusEl) statusEl.textContent = 'Downloading…';
  try {
    const res = await authedFetch(path);
    if (!res.ok) throw await problemOf(res);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    clickLink(url, filename || 'download');
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    if (statusEl) statusEl.textContent = 'Saved ' + bytes(blob.size) + '.';
  } catch (e) {
    if (statusEl) statusEl.textContent = 'Download failed: ' + e.message;
  }
}

/* An Idempotency-Key: a random UUID. crypto.randomUUID needs a secure
 * context; getRandomValues does not. */
export function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-'
         + h.slice(16, 20) + '-' + h.slice(20);
}
