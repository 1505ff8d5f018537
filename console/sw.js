/* The console's service worker: it streams a download that needs the
 * tab's token to disk. The page (api.js download) hands it a one-time
 * ticket with the API path and the token, then follows a link to
 * dl/<ticket>; this worker answers that link with the API's own response,
 * fetched with the token: its body streams through as it arrives, under
 * the server's Content-Disposition name, and nothing is held in memory.
 * A ticket is used once, and forgotten after a minute if it is not. It
 * answers nothing else: every other request goes to the network. The link
 * is followed as a navigation (no download attribute): the server's
 * Content-Disposition makes it a download and the page stays. */
'use strict';

const TICKET_MS = 60000;
const tickets = new Map();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', ev => ev.waitUntil(self.clients.claim()));

/* a ticket from a page of this origin: { ticket, path, token } */
self.addEventListener('message', ev => {
  const port = ev.ports && ev.ports[0];
  const d = ev.data || {};
  let ok = false;
  try {
    const u = new URL(d.path, self.location.origin);
    ok = u.origin === self.location.origin && typeof d.ticket === 'string'
         && /^[0-9a-f-]{36}$/.test(d.ticket) && typeof d.token === 'string';
    if (ok) {
      tickets.set(d.ticket, { url: u.href, token: d.token, port: port });
      setTimeout(() => tickets.delete(d.ticket), TICKET_MS);
    }
  } catch (e) { ok = false; }
  if (port) port.postMessage(ok ? 'ok' : 'refused ticket');
});

self.addEventListener('fetch', ev => {
  const u = new URL(ev.request.url);
  const m = /\/console\/dl\/([0-9a-f-]{36})$/.exec(u.pathname);
  if (u.origin !== self.location.origin || !m || ev.request.method !== 'GET') return;
  const t = tickets.get(m[1]);
  tickets.delete(m[1]);
  if (!t) {
    ev.respondWith(new Response('This download link was used or has expired.\n',
                                { status: 410, headers: { 'Content-Type': 'text/plain' } }));
    return;
  }
  /* a refusal (a problem document) is told to the page, which stays (a
   * 204 to the navigation) */
  ev.respondWith(fetch(t.url, { headers: { Authorization: 'Bearer ' + t.token },
                                cache: 'no-store', credentials: 'same-origin' }).then(async res => {
    if (res.ok) return res;
    let detail = res.status + ' ' + res.statusText;
    try {
      const doc = await res.json();
      if (doc && doc.detail) detail = doc.detail;
    } catch (e) { /* not JSON */ }
    if (t.port) t.port.postMessage('failed: ' + detail);
    return new Response(null, { status: 204 });
  }));
});
