/* The job list: imports and exports, newest first, filtered by kind,
 * status and resource (kept in the hash: #/jobs/kind=…&status=…), paged
 * with "older jobs", running jobs refreshed while the list is shown. */
import { API, api, localPath } from './api.js';
import { append, clear, el, field, select, thead } from './dom.js';
import { actions, active, bytes, duration, num, pct, percentOf, secs, when, writeMode } from './format.js';
import { RESOURCES, STATUSES } from './model.js';
import { outcome, progressBar } from './bars.js';
import { jobHref, poll } from './router.js';

const PAGE = 20;

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
  const count = el('span', { class: 'muted', id: 'jobs-count' });
  view.appendChild(el('div', { class: 'card' },
    el('h1', null, 'Jobs'),
    el('div', { class: 'row' },
       field('Kind', fKind), field('Status', fStatus), field('Resource', fRes)),
    msg));
  view.appendChild(el('table', { id: 'jobs' },
    thead('Job', 'Resource', 'Status', 'Progress / outcome', ['Succeeded', 'num'],
          ['Failed', 'num'], ['Total', 'num'], 'Speed / time', 'Created'),
    tbody));
  view.appendChild(el('div', { class: 'pager' }, more, count));

  /* one keyset cursor per list; "older jobs" pages both further */
  const lists = [];
  if (kind !== 'exports') lists.push({ kind: 'import', path: '/imports', next: null, done: false });
  if (kind !== 'imports') lists.push({ kind: 'export', path: '/exports/jobs', next: null, done: false });
  const jobs = new Map();

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (status) q.set('status', status);
    if (resource) q.set('resource', resource);
    return q.toString();
  }

  async function loadPage() {
    more.disabled = true;
    try {
      await Promise.all(lists.filter(l => !l.done).map(async l => {
        const path = l.next || API + l.path + '?' + query();
        const doc = await api('GET', path.slice(API.length));
        for (const item of (doc && doc.items) || []) {
          item._kind = l.kind;
          jobs.set(l.kind + ':' + item.job_id, item);
        }
        l.next = doc && doc.next ? localPath(doc.next) : null;
        l.done = !l.next;
      }));
      msg.textContent = '';
    } catch (e) {
      msg.textContent = 'The job list cannot be read: ' + e.message;
    }
    render();
    more.disabled = false;
    more.hidden = lists.every(l => l.done);
  }

  function render() {
    clear(tbody);
    const all = Array.from(jobs.values()).sort((a, b) =>
      (Date.parse(b.createdAt) || 0) - (Date.parse(a.createdAt) || 0));
    for (const j of all) tbody.appendChild(jobRow(j));
    if (!all.length) {
      tbody.appendChild(el('tr', null, el('td', { colspan: 9, class: 'empty' }, 'No jobs yet.')));
    }
    count.textContent = all.length + (all.length === 1 ? ' job' : ' jobs');
  }

  more.addEventListener('click', loadPage);
  loadPage().then(() => poll(async () => {
    const live = Array.from(jobs.values()).filter(active);
    await Promise.all(live.map(async j => {
      const doc = await api('GET', '/' + j._kind + 's/' + encodeURIComponent(j.job_id));
      delete doc.errors;
      doc._kind = j._kind;
      jobs.set(j._kind + ':' + j.job_id, doc);
    }));
    if (live.length) render();
    return true;
  }));
}

/* An import's progress or outcome cell, and its speed or run time. */
function importCells(j, cell) {
  if (active(j)) {
    const p = j.progress || {};
    const done = percentOf(j);
    cell.appendChild(el('div', { class: 'live' }, progressBar(done),
                        el('span', { class: 'pct' }, pct(done))));
    return [num(Math.round(p.rowsPerSecond || 0)) + ' records/s,', el('br'), 'ETA ' + secs(p.etaSeconds)];
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
  if (active(j)) cell.appendChild(progressBar(j.status === 'running' ? 50 : 0));
  return '';
}

function jobRow(j) {
  const imp = j._kind === 'import';
  const tr = el('tr', { class: 'job ' + j.status, 'data-job': j.job_id, 'data-kind': j._kind });
  const link = el('a', { href: jobHref(j._kind, j.job_id), class: 'mono', title: j.job_id },
                  j._kind + ' ' + String(j.job_id).slice(0, 8));
  const cell = el('td', { class: 'outcome-cell' });
  const speed = imp ? importCells(j, cell) : exportCells(j, cell);
  if (imp && (actions(j) || writeMode(j))) {
    cell.appendChild(el('div', { class: 'muted small write' },
                        [actions(j), writeMode(j)].filter(Boolean).join(' · ')));
  }
  if (j.reason) cell.appendChild(el('div', { class: 'error' }, j.reason));
  append(tr, [
    el('td', { class: 'nowrap' }, link),
    el('td', null, j.resource),
    el('td', null, el('span', { class: 'badge ' + j.status }, j.status)),
    cell,
    el('td', { class: 'num ok-count' }, imp ? num(j.successCount) : ''),
    el('td', { class: 'num err-count' }, imp ? num(j.errorCount) : ''),
    el('td', { class: 'num' }, num(j.totalRecords)),
    el('td', { class: 'speed nowrap' }, speed),
    el('td', { class: 'nowrap' }, when(j.createdAt)),
  ]);
  return tr;
}
