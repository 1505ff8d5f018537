/* The new-import form: a file (chosen or dropped) or a URL the server
 * fetches; the upload's progress, then the job's until it ends. */
import { API, api, authHeaders, endSession, newKey } from './api.js';
import { announce, el, field, replace, select } from './dom.js';
import { actions, active, bytes, duration, eta, num, percentOf, secs, state } from './format.js';
import { FORMATS, MODES, RESOURCES } from './model.js';
import { meter } from './bars.js';
import { jobHref, poll } from './router.js';

/* what each mode does, under the form */
const MODE_HELP = {
  upsert: 'A new key inserts; an existing key updates only the fields the record carries.',
  insert: 'New keys only: an existing key fails (DUPLICATE_ERROR).',
  update: 'Existing keys only: a key that names no row fails (NOT_FOUND_ERROR).',
  replace: 'A new key inserts; an existing row is replaced whole (a missing field takes its default).',
  delete: 'Each record names a row (id, or email / slug) that is deleted.',
};

export function newImport(view) {
  const fRes = select('resource', RESOURCES, 'users');
  const fFmt = select('format', FORMATS, '', 'from the file');
  const fileIn = el('input', { type: 'file', id: 'file', name: 'file',
                               accept: '.ndjson,.jsonl,.json,.csv,.gz,text/csv,application/json,application/x-ndjson' });
  const fMode = select('mode', MODES.map(m => [m, m === 'upsert' ? 'upsert (default)' : m]), 'upsert');
  const fMax = el('input', { type: 'number', id: 'f-max-errors', name: 'max_errors', min: 0, step: 1,
                             placeholder: 'no limit', size: 8 });
  const fDry = el('input', { type: 'checkbox', id: 'f-dry-run', name: 'dry_run' });
  const fAtomic = el('input', { type: 'checkbox', id: 'f-atomic', name: 'atomic' });
  const modeHelp = el('p', { class: 'muted small', id: 'mode-help' }, MODE_HELP.upsert);
  fMode.addEventListener('change', () => { modeHelp.textContent = MODE_HELP[fMode.value]; });
  const urlIn = el('input', { type: 'url', id: 'url', name: 'url', placeholder: 'https://…', size: 50 });
  const drop = el('div', { class: 'drop', id: 'drop' }, 'Drop a file here, or ', fileIn);
  const chosen = el('p', { class: 'muted', id: 'chosen', 'aria-live': 'polite' });
  const go = el('button', { type: 'submit', id: 'upload' }, 'Upload');
  const msg = el('p', { class: 'error', role: 'alert', id: 'import-error' });
  fileIn.setAttribute('aria-describedby', 'chosen');
  const upBox = el('div', { id: 'upload-progress', hidden: true });
  const jobBox = el('div', { id: 'import-job', hidden: true });
  let file = null;
  /* One key per file and options: a second click (a retry after a
   * network error, or after a success) sends the same key, and the server
   * answers with the same job instead of making a second one. Choosing
   * another file or changing an option makes a new key. */
  let key = null;

  function choose(f) {
    file = f;
    key = null;
    chosen.textContent = f ? f.name + ' (' + bytes(f.size) + ')' : '';
  }
  fileIn.addEventListener('change', () => choose(fileIn.files[0] || null));
  urlIn.addEventListener('input', () => { key = null; });
  fRes.addEventListener('change', () => { key = null; });
  [fFmt, fMode, fMax, fDry, fAtomic].forEach(f => f.addEventListener('change', () => { key = null; }));
  drop.addEventListener('dragover', ev => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', ev => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files.length) choose(ev.dataTransfer.files[0]);
  });

  const form = el('form', { id: 'import-form' },
    el('h1', null, 'New import'),
    el('div', { class: 'row' }, field('Resource', fRes), field('Format', fFmt)),
    el('div', { class: 'row', id: 'write-options' }, field('Mode', fMode), field('Max errors', fMax),
       el('label', { id: 'dry-run-label' }, fDry, ' Dry run (check every record, change nothing)'),
       el('label', { id: 'atomic-label' }, fAtomic, ' Atomic (all or nothing)')),
    modeHelp,
    el('label', { for: 'file' }, 'File'), drop, chosen,
    el('label', { for: 'url' }, 'or a URL the server fetches'), urlIn,
    el('div', { class: 'actions' }, go), msg, upBox, jobBox);
  view.appendChild(el('div', { class: 'card' }, form));

  form.addEventListener('submit', ev => {
    ev.preventDefault();
    msg.textContent = '';
    const url = urlIn.value.trim();
    if (!file && !url) { msg.textContent = 'Choose a file or give a URL.'; return; }
    if (!key) key = newKey();
    const q = new URLSearchParams({ resource: fRes.value });
    if (fFmt.value) q.set('format', fFmt.value);
    const max = fMax.value.trim();
    if (max && !/^\d+$/.test(max)) { msg.textContent = 'Max errors is a number from 0.'; return; }
    /* only what differs from the server's defaults: an older server
     * (no modes) answers 400 to a parameter it does not know */
    if (fMode.value !== 'upsert') q.set('mode', fMode.value);
    if (max) q.set('max_errors', max);
    if (fDry.checked) q.set('dry_run', 'true');
    if (fAtomic.checked) q.set('atomic', 'true');
    go.disabled = true;
    go.setAttribute('aria-busy', 'true');
    upload(API + '/imports?' + q.toString(), key, file, url, upBox, (status, doc, statusText) => {
      go.disabled = false;
      go.removeAttribute('aria-busy');
      if ((status === 202 || status === 200) && doc && doc.job_id) {
        followJob(jobBox, doc.job_id);
        return;
      }
      if (status === 401) endSession(doc && doc.detail);
      msg.textContent = status
        ? 'The upload was refused (' + status + '): ' + ((doc && doc.detail) || statusText)
        : 'The upload failed (network). Upload again: the same '
          + 'Idempotency-Key makes sure that only one job is created.';
    });
  });
}

/* POST the file (multipart) or the URL (JSON) to target with an XHR, for
 * its upload progress, shown in box; done(status, doc, statusText) with
 * status 0 when the network failed. */
function upload(target, key, file, url, box, done) {
  const xhr = new XMLHttpRequest();
  xhr.open('POST', target);
  const h = authHeaders({ 'Idempotency-Key': key });
  for (const k of Object.keys(h)) xhr.setRequestHeader(k, h[k]);
  let body;
  if (file) {
    body = new FormData();
    body.append('file', file, file.name);
  }
  else {
    xhr.setRequestHeader('Content-Type', 'application/json');
    body = JSON.stringify({ url: url });
  }
  const t0 = performance.now();
  const total = file ? file.size : 0;
  const sent = el('span', { id: 'upload-bytes' }, file ? '0 B of ' + bytes(total) : 'sending the URL');
  const bar = meter(['Upload: ', sent], { pct: 'upload-pct', bar: 'upload-bar' }, 0, false,
                    'Upload progress');
  replace(box, bar);
  box.hidden = false;
  xhr.upload.addEventListener('progress', e => {
    const all = e.lengthComputable ? e.total : total;
    const s = (performance.now() - t0) / 1000;
    bar.set(all ? 100 * e.loaded / all : 0);
    sent.textContent = bytes(e.loaded) + ' of ' + bytes(all) + ', '
                       + bytes(s > 0 ? Math.round(e.loaded / s) : 0) + '/s';
  });
  xhr.addEventListener('load', () => {
    let doc = null;
    try { doc = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if ((xhr.status === 202 || xhr.status === 200) && doc && doc.job_id) bar.set(100);
    done(xhr.status, doc, xhr.statusText);
  });
  xhr.addEventListener('error', () => done(0, null, ''));
  xhr.send(body);
}

/* After an upload: the job's own progress, until it ends; a failed job's
 * reason (a refused URL) is shown here, where the import was started. */
function followJob(box, id) {
  const status = el('span', { class: 'badge pending', id: 'job-status' }, 'pending');
  const bar = meter(['Job ', el('a', { href: jobHref('import', id), class: 'mono', id: 'job-link' }, id),
                     ' ', status], { pct: 'job-pct', bar: 'job-bar' }, 0, false, 'Job progress');
  const counts = el('p', { id: 'job-counts', class: 'muted' });
  const acts = el('p', { id: 'job-actions', class: 'muted' });
  const reason = el('p', { id: 'job-reason', class: 'error', role: 'alert' });
  replace(box, bar, counts, acts, reason);
  box.hidden = false;
  let said = '';
  const refresh = async () => {
    const j = await api('GET', '/imports/' + encodeURIComponent(id));
    const pr = j.progress || {};
    const st = state(j);
    bar.set(percentOf(j));
    status.textContent = st.label;
    status.className = 'badge ' + st.cls;
    if (said !== st.label) announce('Import ' + id.slice(0, 8) + ': ' + st.label);
    said = st.label;
    counts.textContent = num(pr.processedRecords) + ' processed, ' + num(j.successCount)
      + ' succeeded, ' + num(j.errorCount) + ' failed'
      + (active(j) ? ', ' + eta(j) : ', took ' + secs(duration(j)));
    acts.textContent = (j.dryRun ? 'Dry run, nothing was changed' + (actions(j) ? ': would be ' : '.') : '')
                       + actions(j);
    reason.textContent = j.reason ? 'The job failed: ' + j.reason : '';
    return active(j);
  };
  refresh().then(again => { if (again) poll(refresh); }).catch(() => poll(refresh));
}
