/* The job list: imports and exports in one list, newest first, paged by
 * the server (GET /v1/jobs), filtered by kind, status and resource (kept
 * in the hash: #/jobs/kind=…&status=…), refreshed while it is shown. */
import { API, api, localPath } from './api.js';
import { announce, append, clear, el, field, select, thead } from './dom.js';
import { actions, active, bytes, duration, eta, fileTotal, num, pct, percentOf, secs, state, when,
         writeMode } from './format.js';
import { RESOURCES, STATUSES } from './model.js';
import { outcome, progressBar } from './bars.js';
import { jobHref, poll } from './router.js';

const PAGE = 20;
/* with no job running, the list is read again every IDLE_TICKS polls */
const IDLE_TICKS = 5;
const COLUMNS = ['Job', 'Resource', 'Status', 'Progress / outcome', ['Succeeded', 'num'],
                 ['Failed', 'num'], ['Total', 'num'], 'Speed / time', 'Created'];

export function jobsList(view, rest) {
  const params = new URLSearchParams(rest);
  const kind = params.get('kind') || '';
  const status = params.get('status') || '';
  const resource = params.get('resource') || '';
  const fKind = select('kind', [['imports', 'imports'], ['exports', 'exports']], kind, 'imports and exports');
  const fStatus = select('status', STATUSES, status, 'any status');
  const fRes = select('resource', RESOURCES, resource, 'any resource');
  const apply = () => {
    const q = new URLSearchParams();
    if (fKind.value) q.set('kind', fKind.value);
    if (fStatus.value) q.set('status', fStatus.value);
    if (fRes.value) q.set('resource', fRes.value);
    location.hash = '#/jobs/' + q.toString();
  };
  [fKind, fStatus, fRes].forEach(s => s.addEventListener('change', apply));

  const tbody = el('tbody', { id: 'jobs-body' });
  const msg = el('p', { class: 'error', role: 'alert' });
  const more = el('button', { type: 'button', class: 'secondary', id: 'more', hidden: true }, 'Older jobs');
  const count = el('span', { class: 'muted', id: 'jobs-count', 'aria-live': 'polite' });
  view.appendChild(el('div', { class: 'card' },
    el('h1', null, 'Jobs'),
    el('div', { class: 'row' },
       field('Kind', fKind), field('Status', fStatus), field('Resource', fRes)),
    msg));
  view.appendChild(el('div', { class: 'table-box' }, el('table', { id: 'jobs', class: 'cards' },
    thead(...COLUMNS), tbody)));
  view.appendChild(el('div', { class: 'pager' }, more, count));

  /* One list across kinds, newest first, paged by the server (GET
   * /v1/jobs): the pages loaded so far, the next page's link, the total.
   * While the list is shown its first page is read again (every second
   * while a listed job runs, else every IDLE_TICKS seconds): new jobs
   * appear on top, running ones move on, and the total follows. */
  const jobs = new Map();
  let order = [];
  let next = null;
  let total = null;

  function query(limit) {
    const q = new URLSearchParams({ limit: String(limit || PAGE) });
    if (kind === 'imports') q.set('kind', 'import');
    if (kind === 'exports') q.set('kind', 'export');
    if (status) q.set('status', status);
    if (resource) q.set('resource', resource);
    return q.toString();
  }

  const keyOf = j => j.kind + ':' + j.job_id;

  /* merge a page's items (fresh: the first page, ahead of what is known) */
  function merge(items, fresh) {
    const keys = [];
    for (const item of items) {
      const k = keyOf(item);
      const old = jobs.get(k);
      const st = state(item).label;
      if (old && state(old).label !== st) announce(item.kind + ' ' + String(item.job_id).slice(0, 8) + ': ' + st);
      jobs.set(k, item);
      keys.push(k);
    }
    const rest = order.filter(k => !keys.includes(k));
    order = (fresh ? keys.concat(rest) : rest.concat(keys));
    const t = k => Date.parse(jobs.get(k).createdAt) || 0;
    order.sort((a, b) => t(b) - t(a));
  }

  async function loadPage() {
    more.disabled = true;
    try {
      const doc = await api('GET', next ? next.slice(API.length) : '/jobs?' + query());
      merge((doc && doc.items) || [], false);
      next = doc && doc.next ? localPath(doc.next) : null;
      if (doc && typeof doc.total === 'number') total = doc.total;
      msg.textContent = '';
    } catch (e) {
      msg.textContent = 'The job list cannot be read: ' + e.message;
    }
    render();
    more.disabled = false;
    more.hidden = !next;
  }

  /* The first page again, and any running job loaded from further down.
   * When the first page still holds the newest job known, what is loaded
   * stays contiguous (and next still continues after it); when it does
   * not, more jobs came than a page holds: the list starts again from the
   * first page, with its own next link. */
  async function refreshTop() {
    const doc = await api('GET', '/jobs?' + query());
    const items = (doc && doc.items) || [];
    if (order.length && !items.some(j => keyOf(j) === order[0])) {
      jobs.clear();
      order = [];
      next = doc.next ? localPath(doc.next) : null;
    }
    merge(items, true);
    if (typeof doc.total === 'number') total = doc.total;
    const seen = new Set(items.map(keyOf));
    const live = order.filter(k => !seen.has(k) && active(jobs.get(k))).map(k => jobs.get(k));
    await Promise.all(live.map(async j => {
      const d = await api('GET', '/' + j.kind + 's/' + encodeURIComponent(j.job_id));
      delete d.errors;
      d.kind = j.kind;
      merge([d], false);
    }));
    msg.textContent = '';
    render();
    more.hidden = !next;
  }

  function render() {
    clear(tbody);
    for (const k of order) tbody.appendChild(jobRow(jobs.get(k)));
    if (!order.length) {
      tbody.appendChild(el('tr', null, el('td', { colspan: COLUMNS.length, class: 'empty' }, 'No jobs yet.')));
    }
    const n = total === null ? order.length : total;
    count.textContent = num(n) + (n === 1 ? ' job' : ' jobs')
      + (order.length < n ? ', ' + num(order.length) + ' shown' : '');
  }

  more.addEventListener('click', loadPage);
  let ticks = 0;
  loadPage().then(() => poll(async () => {
    ticks++;
    if (!order.some(k => active(jobs.get(k))) && ticks % IDLE_TICKS) return true;
    await refreshTop();
    return true;
  }));
}

/* An import's progress or outcome cell, and its speed or run time. */
function importCells(j, cell) {
  if (active(j)) {
      const done = percentOf(j);
    cell.appendChild(el('div', { class: 'live' },
                        progressBar(done, false, false, null, 'Progress of import ' + String(j.job_id).slice(0, 8)),
                        el('span', { class: 'pct' }, pct(done))));
    return eta(j);
  }
  if (j.successCount || j.errorCount) cell.appendChild(outcome(j));
  if (j.status === 'canceled') {
    cell.appendChild(el('div', { class: 'muted small' }, 'canceled at ' + pct(percentOf(j))));
  }
  return 'took ' + secs(duration(j));
}

/* An export's: its file, or a bar while it runs. */
function exportCells(j, cell) {
  if (j.status === 'completed') {
    cell.appendChild(el('span', { class: 'muted' },
      bytes(j.fileSize) + (j.expiresAt ? ', until ' + when(j.expiresAt) : '')));
    return 'took ' + secs(duration(j));
  }
  if (active(j)) {
    cell.appendChild(progressBar(j.status === 'running' ? 50 : 0, false, false, null,
                                 'Progress of export ' + String(j.job_id).slice(0, 8)));
  }
  return '';
}

function jobRow(j) {
  const imp = j.kind === 'import';
  const st = state(j);
  const tr = el('tr', { class: 'job ' + st.cls, 'data-job': j.job_id, 'data-kind': j.kind });
  const link = el('a', { href: jobHref(j.kind, j.job_id), class: 'mono', title: j.job_id },
                  j.kind + ' ' + String(j.job_id).slice(0, 8));
  const cell = el('td', { class: 'outcome-cell' });
  const speed = imp ? importCells(j, cell) : exportCells(j, cell);
  if (imp && (actions(j) || writeMode(j))) {
    cell.appendChild(el('div', { class: 'muted small write' },
                        [actions(j), writeMode(j)].filter(Boolean).join(' · ')));
  }
  if (j.reason) cell.appendChild(el('div', { class: 'error' }, j.reason));
  const cells = [
    el('td', { class: 'nowrap' }, link),
    el('td', null, j.resource),
    el('td', null, el('span', { class: 'badge ' + st.cls }, st.label)),
    cell,
    el('td', { class: 'num ok-count' }, imp ? num(j.successCount) : ''),
    el('td', { class: 'num err-count' }, imp ? num(j.errorCount) : ''),
    el('td', { class: 'num total' }, fileTotal(j)),
    el('td', { class: 'speed' }, speed),
    el('td', { class: 'created' }, when(j.createdAt)),
  ];
  /* the column's title, for the narrow layout (a card per job) */
  cells.forEach((c, i) => c.setAttribute('data-label', [].concat(COLUMNS[i])[0]));
  append(tr, cells);
  return tr;
}
