/* A job's page: its state, counters and progress, its actions (cancel,
 * error reports, an import's per-record results, the export's file), an
 * import's outcome and first errors; refreshed until the job ends. */
import { API, api, download, ownPath } from './api.js';
import { announce, el, replace, thead } from './dom.js';
import { active, bytes, duration, fileTotal, num, percentOf, secs, state, when, writeMode } from './format.js';
import { meter, outcome } from './bars.js';
import { ACTIONS } from './model.js';
import { poll } from './router.js';

export function jobPage(view, kind, id) {
  const body = el('div', { class: 'card', id: 'job' }, el('p', { class: 'muted' }, 'Loading…'));
  view.appendChild(body);
  const path = '/' + kind + 's/' + encodeURIComponent(id);
  /* kept across refreshes: whether the cancel question is open */
  const ui = { confirming: false, note: '', said: '' };
  /* The actions (cancel, its question, downloads) are one element kept
   * across refreshes and rebuilt only when what they offer changes: a
   * button rebuilt every second would lose a click that lands while it is
   * swapped, and a download's note. */
  const actionsBox = el('div', { class: 'actions', id: 'job-actions' });
  let actionsKey = null;

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
    const st = state(j);
    if (ui.said !== st.label) {
      if (ui.said) announce((imp ? 'Import ' : 'Export ') + j.job_id.slice(0, 8) + ': ' + st.label);
      ui.said = st.label;
    }
    const key = JSON.stringify([j.status, ui.confirming, ui.note, Number(j.errorCount) > 0,
                                j.downloadUrl, j.signedDownloadUrl, j.expiresAt]);
    if (key !== actionsKey) {
      actionsKey = key;
      replace(actionsBox, cancelAction(j, kind, path, ui, refresh),
              imp ? importActions(j, path) : exportActions(j));
    }
    replace(body,
      el('h1', null, (imp ? 'Import ' : 'Export ') + j.resource + ' ',
         el('span', { class: 'badge ' + st.cls, id: 'job-status' }, st.label)),
      el('p', { class: 'mono muted job-id' }, 'job ' + j.job_id + ', format ' + (j.format || '–')),
      about(j),
      imp && j.mode ? el('p', { id: 'job-mode' }, writeMode(j, true)) : null,
      j.reason ? el('p', { class: 'error', id: 'job-reason' }, j.reason) : null,
      j.status === 'canceled' ? el('p', { id: 'canceled-note' }, imp
        ? 'Canceled. The ' + num(j.successCount) + ' records applied before the cancel stay applied; '
          + 'the rest of the file was not read.'
        : 'Canceled. No file was kept; the table was not changed.') : null,
      imp ? meter('Progress', { pct: 'job-pct' }, percentOf(j), !active(j), 'Job progress') : null,
      el('div', { class: 'counters' }, imp ? importCounters(j) : exportCounters(j)),
      el('p', { class: 'muted times' },
         'created ' + when(j.createdAt),
         j.startedAt ? ' · started ' + when(j.startedAt) : '',
         ' · finished ' + when(j.completedAt)),
      actionsBox,
      imp && (j.successCount || j.errorCount)
        ? [el('h2', null, 'Outcome'), outcome(j, true, { id: 'outcome' })] : null,
      imp ? truncated(j) : null,
      imp ? firstErrors(j) : null,
      webhook(j),
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
    counter('Records in the file', fileTotal(j), null, 'c-total'),
    counter('Processed', num(p.processedRecords), null, 'c-processed'),
    counter('Succeeded', num(j.successCount), 'good', 'c-success'),
    counter('Failed', num(j.errorCount), 'bad', 'c-errors'),
    ACTIONS.filter(a => Number(j[a + 'Count'])).map(a =>
      counter(a[0].toUpperCase() + a.slice(1),
              num(j[a + 'Count']), null, 'c-' + a)),
    active(j) ? [
      counter('Bytes read (of ' + bytes(p.bytesTotal) + ')', bytes(p.bytesProcessed)),
      counter('Records/s', j.status === 'pending' ? '–' : num(Math.round(p.rowsPerSecond || 0)), null, 'c-rate'),
      counter('ETA', j.status === 'pending' || !p.processedRecords ? 'not yet known' : secs(p.etaSeconds),
              null, 'c-eta'),
    ] : [
      counter('Bytes', bytes(p.bytesTotal || p.bytesProcessed)),
      counter('Duration', secs(duration(j)), null, 'c-duration'),
    ],
  ];
}

function exportCounters(j) {
  return [counter(j.status === 'completed' ? 'Records' : 'Records so far', num(j.totalRecords), null, 'c-total'),
          counter('File size', bytes(j.fileSize)),
          j.status === 'completed' ? counter('Duration', secs(duration(j)), null, 'c-duration') : null];
}

/* Where the job's records come from and who started it; an export's
 * filters and fields. */
function about(j) {
  const rows = [];
  if (j.source) {
    const src = typeof j.source === 'object'
      ? (j.source.url || j.source.filename || j.source.name || JSON.stringify(j.source)) : j.source;
    rows.push(['Source', src]);
  }
  if (j.createdBy) rows.push(['Created by', j.createdBy]);
  if (j.filters && typeof j.filters === 'object') {
    const f = Object.keys(j.filters).map(k => k + ' = ' + j.filters[k]).join(', ');
    rows.push(['Filters', f || 'none (every row)']);
  }
  if (Array.isArray(j.fields)) rows.push(['Fields', j.fields.length ? j.fields.join(', ') : 'all']);
  return rows.length ? facts('job-about', rows) : null;
}

/* Pairs of [name, value] as a list of facts. */
function facts(id, rows) {
  return el('dl', { class: 'about', id: id },
            rows.map(([k, v]) => [el('dt', null, k), el('dd', null, String(v))]));
}

/* A button that downloads path (streamed to disk, under the server's
 * file name), its outcome beside it; signed: a URL that needs no token. */
function downloadButton(label, path, signed, id) {
  const note = el('span', { class: 'muted', 'aria-live': 'polite' });
  const b = el('button', { type: 'button', class: 'secondary', id: id,
                           onclick: () => download(path, note, signed) }, label);
  return el('span', null, b, ' ', note);
}

/* Cancel while the job runs, after a question that says what cancel
 * does: nothing applied is undone. */
function cancelAction(j, kind, path, ui, refresh) {
  if (!active(j)) return null;
  const note = el('span', { class: 'muted', id: 'cancel-note', 'aria-live': 'polite' }, ui.note);
  if (!ui.confirming) {
    return [el('button', { type: 'button', class: 'danger', id: 'cancel',
                           onclick: () => { ui.confirming = true; ui.focus = true; refresh(); } }, 'Cancel job…'), note];
  }
  const yes = el('button', { type: 'button', class: 'danger', id: 'cancel-confirm',
    onclick: async () => {
      yes.disabled = true;
      try {
        await api('DELETE', path);
        ui.note = 'Cancel requested.';
      } catch (e) {
        ui.note = 'Cannot cancel: ' + e.message;
      }
      ui.confirming = false;
      refresh();
    } }, 'Yes, cancel the job');
  const no = el('button', { type: 'button', class: 'secondary', id: 'cancel-keep',
                            onclick: () => { ui.confirming = false; refresh(); } },
                kind === 'import' ? 'No, keep importing' : 'No, keep exporting');
  const box = el('div', { class: 'confirm', id: 'cancel-question', role: 'alertdialog',
                          'aria-labelledby': 'cancel-text' },
    el('p', { id: 'cancel-text' }, kind === 'import'
      ? 'Cancel this import? It stops after the batch it is writing. The records applied '
        + 'before that stay applied: cancel undoes nothing.'
      : 'Cancel this export? It stops, and no file is kept. The table is not changed.'),
    el('div', { class: 'actions' }, yes, no));
  if (ui.focus) {
    ui.focus = false;
    setTimeout(() => no.focus(), 0);
  }
  return box;
}

/* An import's errors, and once it has ended what became of each record
 * (its row's id, its action), as NDJSON and CSV files; or why there is no
 * such file (its server keeps none). */
function importActions(j, path) {
  const out = [];
  if (j.errorCount) {
    const eu = ownPath(j.errorsUrl) || API + path + '/errors';
    out.push(downloadButton('Errors (NDJSON)', eu, null, 'errors-ndjson'),
             downloadButton('Errors (CSV)', eu + '?format=csv', null, 'errors-csv'));
  }
  if (active(j) || !(j.successCount || j.errorCount)) return out;
  if (j.resultsUrl === null) {
    out.push(el('span', { class: 'muted', id: 'no-results' },
                'No results per record: the server this import was sent to keeps none '
                + '(BulkIOImportResults Off).'));
  } else {
    const ru = ownPath(j.resultsUrl) || API + path + '/results';
    out.push(downloadButton('Results per record (NDJSON)', ru, null, 'results-ndjson'),
             downloadButton('Results per record (CSV)', ru + '?format=csv', null, 'results-csv'));
  }
  return out;
}

/* A finished export's file, until it expires: by its signed URL when the
 * server gives one, else through the token. */
function exportActions(j) {
  if (j.status !== 'completed') return null;
  const du = ownPath(j.downloadUrl);
  const signed = ownPath(j.signedDownloadUrl);
  const expired = j.expiresAt && Date.parse(j.expiresAt) < Date.now();
  return [
    (du || signed) && !expired ? downloadButton('Download ' + (j.format || '') + ' file', du, signed, 'download')
                   : null,
    el('span', { class: 'muted', id: 'expiry' },
       expired ? 'The file expired at ' + when(j.expiresAt) + '.'
               : 'Downloadable until ' + when(j.expiresAt) + '.'),
  ];
}

/* Where the stored error entries stop: the failed records past the
 * server's caps are counted, not kept. */
function truncated(j) {
  if (!j.errorsTruncated) return null;
  const at = j.errorsTruncatedAt || {};
  return el('p', { class: 'note', id: 'errors-truncated' },
    'Error entries stop at line ' + num(at.line) + ' (record ' + num(at.recordIndex) + '): '
    + num(j.errorsStored) + ' entries kept of ' + num(j.errorCount) + ' failed records. '
    + 'Every failed record is counted; from that one on they have no entry of their own '
    + '(the server\'s error cap).');
}

/* The completion webhook of a job created with callback_url: where it
 * goes and how its delivery stands. */
function webhook(j) {
  const w = j.webhook;
  if (!w || typeof w !== 'object') return null;
  const last = [w.lastStatus ? 'HTTP ' + w.lastStatus : null, w.lastError]
    .filter(Boolean).join(', ');
  const rows = [['URL', w.url], ['State', w.state], ['Tries', num(w.attempts)]];
  if (w.lastAttemptAt) rows.push(['Last try', when(w.lastAttemptAt)]);
  if (last) rows.push(['Last answer', last]);
  if (w.nextAttemptAt && w.state === 'pending') rows.push(['Next try', when(w.nextAttemptAt)]);
  if (w.deliveredAt) rows.push(['Delivered', when(w.deliveredAt)]);
  return [el('h2', null, 'Completion webhook'),
          facts('job-webhook', rows)];
}

/* The first errors the job document carries, in record order. */
function firstErrors(j) {
  if (!Array.isArray(j.errors) || !j.errors.length) return null;
  return [
    el('h2', null, 'First errors',
       el('span', { class: 'muted' }, ' (' + j.errors.length + ' of ' + num(j.errorCount) + ', in record order)')),
    el('div', { class: 'scroll' }, el('table', { id: 'errors' },
       thead(['Line', 'num'], ['Record', 'num'], 'Field', 'Type', 'Message', 'Record as sent'),
       el('tbody', null, j.errors.map(e => el('tr', { class: 'error-row' },
         el('td', { class: 'num' }, num(e.line)),
         el('td', { class: 'num' }, num(e.recordIndex)),
         el('td', { class: 'mono' }, e.field || '–'),
         el('td', null, el('span', { class: 'mono' }, e.errorType)),
         el('td', { class: 'message' }, e.errorMessage),
         el('td', null, el('pre', { class: 'record' },
                          e.recordData === null || e.recordData === undefined ? '' : String(e.recordData)))))))),
  ];
}
