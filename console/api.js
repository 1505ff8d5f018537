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

export function endSession(reason) { if (session.mode) ended(reason); }

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
    const why = await problemOf(res);
    endSession(why.message);
    throw new ApiError(401, 'not signed in: ' + why.message);
  }
  if (!res.ok) throw await problemOf(res);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/* Whether the server accepts these credentials (a token, or none: httpd's
 * own): null for any answer but 401, else the server's reason ("token
 * expired", "bad signature"). */
export async function probe(token) {
  const res = await request(API + '/imports?limit=1', { headers: bearer(token) });
  if (res.status === 401) return (await problemOf(res)).message;
  /* read to its end: an answer left unread stays an open request
   * (no-store answers are not drained into the cache either) */
  await res.arrayBuffer().catch(() => null);
  return null;
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

/* Downloads go to disk as they arrive, under the server's
 * Content-Disposition name: a link the browser follows itself. With
 * httpd's authentication (the browser's own credentials) or a signed URL
 * (signed: no credentials needed) the link is the API's path. With a
 * token, which a link cannot carry, the link is a one-time path below the
 * console (dl/<ticket>) that the console's service worker (sw.js) answers:
 * it fetches the API's path with the token and hands the response's body
 * on as it streams, with the server's headers. The ticket is random,
 * used once and forgotten after a minute; the token never appears in a
 * URL. Without a service worker (a plain-http origin other than
 * localhost) the file is read into memory first, and the note says so. */
export async function download(path, statusEl, signed) {
  const say = t => { if (statusEl) statusEl.textContent = t; };
  if (session.mode !== 'token' || signed) {
    clickLink(signed || path, '');
    say('Download started.');
    return;
  }
  try {
    const worker = await downloadWorker();
    if (worker) {
      const ticket = newKey();
      await new Promise((resolve, reject) => {
        const ch = new MessageChannel();
        ch.port1.onmessage = ev => {
          if (ev.data === 'ok') resolve();
          else if (/^failed: /.test(ev.data)) say('Download failed: ' + ev.data.slice(8));
          else reject(new Error(ev.data));
        };
        worker.postMessage({ ticket: ticket, path: path, token: session.token }, [ch.port2]);
        setTimeout(() => reject(new Error('the download worker does not answer')), 5000);
      });
      clickLink('dl/' + ticket, null);
      say('Download started.');
      return;
    }
    say('Downloading (into memory: this origin has no service worker)…');
    const res = await authedFetch(path);
    if (!res.ok) throw await problemOf(res);
    const cd = res.headers.get('Content-Disposition') || '';
    const m = /filename="([^"]*)"/.exec(cd);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    clickLink(url, m ? m[1] : 'download');
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say('Saved ' + bytes(blob.size) + '.');
  } catch (e) {
    say('Download failed: ' + e.message);
  }
}

/* The service worker that controls this page, registered on first use
 * (null where there is none: not a secure context). */
let workerReady = null;

function downloadWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return Promise.resolve(null);
  if (!workerReady) {
    workerReady = navigator.serviceWorker.register('sw.js').then(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        /* sw.js claims this page on activation */
        await new Promise(res => {
          navigator.serviceWorker.addEventListener('controllerchange', res, { once: true });
          setTimeout(res, 3000);
        });
      }
      return navigator.serviceWorker.controller;
    }).catch(() => null);
    workerReady.then(w => { if (!w) workerReady = null; });
  }
  return workerReady;
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
