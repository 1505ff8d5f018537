/* A job's page: its state, counters and progress, its actions (cancel,
 * error reports, the export's file), an import's outcome and first
 * errors; refreshed until the job ends. */
import { API, api, download, ownPath } from './api.js';
import { el, replace, thead } from './dom.js';
import { active, bytes, duration, num, percentOf, secs, when, writeMode } from './format.js';
import { meter, outcome } from './bars.js';
import { ACTIONS } from './model.js';
import { poll } from './router.js';

export function jobPage(view, kind, id) {
  const body = el('div', { class: 'card', id: 'job' }, el('p', { class: 'muted' }, 'Loading…'));
  view.appendChild(body);
  const path = '/' + kind + 's/' + encodeURIComponent(id);

  async function refresh() {
    let j;
    try {
      j = await api('GET', path);
    } catch (e) {
      replace(body, el('p', { class: 'error' }, e.status === 404
        ? 'No such job (or it belongs to someone else).' : e.message));
      return false;
    }
    const imp = kind === 'import';
    replace(body,
      el('h1', null, (imp ? 'Import ' : 'Export ') + j.resource + ' ',
         el('span', { class: 'badge ' + j.status, id: 'job-status' }, j.status)),
      el('p', { class: 'mono muted' }, 'job ' + j.job_id + ', format ' + (j.format || '–')),
      imp && j.mode ? el('p', { id: 'job-mode' }, writeMode(j, true)) : null,
      j.reason ? el('p', { class: 'error' }, j.reason) : null,
      imp ? meter('Progress', { pct: 'job-pct' }, percentOf(j), !active(j)) : null,
      el('div', { class: 'counters' }, imp ? importCounters(j) : exportCounters(j)),
      el('p', { class: 'muted times' },
         'created ' + when(j.createdAt),
         j.startedAt ? ' · started ' + when(j.startedAt) : '',
         ' · finished ' + when(j.completedAt)),
      el('div', { class: 'actions' }, imp ? importActions(j, path, refresh) : exportActions(j)),
      imp && (j.successCount || j.errorCount)
        ? [el('h2', null, 'Outcome'), outcome(j, true, { id: 'outcome' })] : null,
      imp ? firstErrors(j) : null,
      el('p', null, el('a', { href: '#/jobs' }, '← all jobs')));
    return active(j);
  }

  refresh().then(again => { if (again) poll(refresh); });
}

function counter(k, v, cls, id) {
  return el('div', { class: 'counter' + (cls ? ' ' + cls : '') },
            el('div', { class: 'k' }, k), el('div', { class: 'v', id: id }, v));
}

function importCounters(j) {
  const p = j.progress || {};
  return [
    counter('Records', num(j.totalRecords), null, 'c-total'),
    counter('Processed', num(p.processedRecords), null, 'c-processed'),
    counter('Succeeded', num(j.successCount), 'good', 'c-success'),
    counter('Failed', num(j.errorCount), 'bad', 'c-errors'),
    ACTIONS.filter(a => Number(j[a + 'Count'])).map(a =>
      counter(a[0].toUpperCase() + a.slice(1),
              num(j[a + 'Count']), null, 'c-' + a)),
    active(j) ? [
      counter('Bytes read (of ' + bytes(p.bytesTotal) + ')', bytes(p.bytesProcessed)),
      counter('Records/s', num(Math.round(p.rowsPerSecond || 0)), null, 'c-rate'),
      counter('ETA', secs(p.etaSeconds), null, 'c-eta'),
    ] : [
      counter('Bytes', bytes(p.bytesTotal || p.bytesProcessed)),
      counter('Duration', secs(duration(j)), null, 'c-duration'),
    ],
  ];
}

function exportCounters(j) {
  return [counter('Records', num(j.totalRecords), null, 'c-total'),
          counter('File size', bytes(j.fileSize))];
}

/* A button that downloads path (with the token), its outcome beside it. */
function downloadButton(label, path, filename) {
  const note = el('span', { class: 'muted' });
  const b = el('button', { type: 'button', class: 'secondary',
                           onclick: () => download(path, filename, note) }, label);
  return el('span', null, b, ' ', note);
}

/* Cancel while it runs; its errors as NDJSON and CSV. */
function importActions(j, path, refresh) {
  const out = [];
  if (active(j)) {
    const note = el('span', { class: 'muted' });
    out.push(el('button', { type: 'button', class: 'danger', id: 'cancel',
      onclick: async ev => {
        ev.target.disabled = true;
        try {
          await api('DELETE', path);
          note.textContent = 'Cancel requested.';
          refresh();
        } catch (e) {
          note.textContent = 'Cannot cancel: ' + e.message;
          ev.target.disabled = false;
        }
      } }, 'Cancel job'), note);
  }
  if (j.errorCount) {
    const eu = ownPath(j.errorsUrl) || API + path + '/errors';
    out.push(downloadButton('Errors (NDJSON)', eu, 'errors-' + j.job_id + '.ndjson'),
             downloadButton('Errors (CSV)', eu + '?format=csv', 'errors-' + j.job_id + '.csv'));
  }
  return out;
}

/* A finished export's file, until it expires. */
function exportActions(j) {
  if (j.status !== 'completed') return null;
  const du = ownPath(j.downloadUrl);
  const expired = j.expiresAt && Date.parse(j.expiresAt) < Date.now();
  return [
    du && !expired ? downloadButton('Download ' + (j.format || '') + ' file', du,
                                    j.resource + '-' + j.job_id + '.' + (j.format || 'ndjson'))
                   : null,
    el('span', { class: 'muted', id: 'expiry' },
       expired ? 'The file expired at ' + when(j.expiresAt) + '.'
               : 'Downloadable until ' + when(j.expiresAt) + '.'),
  ];
}

/* The first errors the job document carries, in record order. */
function firstErrors(j) {
  if (!Array.isArray(j.errors) || !j.errors.length) return null;
  return [
    el('h2', null, 'First errors',
       el('span', { class: 'muted' }, ' (' + j.errors.length + ' of ' + num(j.errorCount) + ', in record order)')),
    el('table', { id: 'errors' },
       thead(['Line', 'num'], ['Record', 'num'], 'Field', 'Type', 'Message', 'Record as sent'),
       el('tbody', null, j.errors.map(e => el('tr', { class: 'error-row' },
         el('td', { class: 'num' }, num(e.line)),
         el('td', { class: 'num' }, num(e.recordIndex)),
         el('td', { class: 'mono' }, e.field || '–'),
         el('td', null, el('span', { class: 'mono' }, e.errorType)),
         el('td', { class: 'message' }, e.errorMessage),
         el('td', null, el('pre', { class: 'record' },
                          e.recordData === null || e.recordData === undefined ? '' : String(e.recordData))))))),
  ];
}
