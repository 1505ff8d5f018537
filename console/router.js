/* Hash routes, #/<name>[/<rest>], each a view built into #view; and the
 * polling that belongs to the view on show (it stops when the view goes). */
import { session } from './api.js';
import { byId, clear } from './dom.js';

const POLL_MS = 1000;

let routes = [];
let pollTimer = null;
let viewSeq = 0;

/* The route table: { name, id, show(view, arg) }. A route with id takes
 * #/<name>/<id> (arg: the id, decoded); one without takes #/<name>/<rest>
 * (arg: the rest as written). What matches none shows the first. */
export function setRoutes(table) {
  routes = table;
  window.addEventListener('hashchange', route);
}

export function jobHref(kind, id) {
  return '#/' + kind + 's/' + encodeURIComponent(id);
}

export function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

/* Call fn every POLL_MS while it resolves true (or fails) and its view is
 * still shown. */
export function poll(fn) {
  stopPolling();
  const seq = viewSeq;
  const tick = async () => {
    if (seq !== viewSeq) return;
    let again = false;
    try { again = await fn(); } catch (e) { again = true; }
    if (again && seq === viewSeq) pollTimer = setTimeout(tick, POLL_MS);
  };
  pollTimer = setTimeout(tick, POLL_MS);
}

/* Show the view of the location's hash (signed in only). */
export function route() {
  if (!session.mode) return;
  stopPolling();
  viewSeq++;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const view = byId('view');
  clear(view);
  view.hidden = false;
  const name = parts[0] || routes[0].name;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.view === name);
  }
  const r = routes.find(r => r.name === name && (!r.id || parts[1])) || routes[0];
  r.show(view, r.id ? decodeURIComponent(parts[1]) : parts.slice(1).join('/'));
}
