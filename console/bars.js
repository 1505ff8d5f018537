/* Bars: a job's progress, and its outcome (succeeded vs failed records,
 * the failures by error type once counted). */
import { API, authedFetch } from './api.js';
import { el, replace } from './dom.js';
import { active, num, pct } from './format.js';
import { ERROR_TYPES } from './model.js';

const TYPE_COUNT_MAX = 20000;

/* A bar filled to p percent; done: the finished colour. */
export function progressBar(p, big, done, id) {
  const fill = el('span', { class: done ? 'fill done' : 'fill' });
  const bar = el('div', { class: 'bar' + (big ? ' big' : ''), id: id, role: 'progressbar',
                          'aria-valuemin': 0, 'aria-valuemax': 100 }, fill);
  bar.set = q => {
    fill.style.width = q.toFixed(1) + '%';
    bar.setAttribute('aria-valuenow', Math.round(q));
  };
  bar.set(p);
  return bar;
}

/* A big bar under a label line (title on the left, the percentage on the
 * right, with ids.pct); set(p) moves both. */
export function meter(title, ids, p, done) {
  const label = el('span', { id: ids.pct }, pct(p));
  const bar = progressBar(p, true, done, ids.bar);
  const block = el('div', { class: 'progress-block' },
                   el('div', { class: 'label' }, el('span', null, title), label), bar);
  block.set = q => {
    bar.set(q);
    label.textContent = pct(q);
  };
  return block;
}

/* Succeeded vs failed records, the failures by error type where the
 * counts are known (byType), else as one "failed" part. */
function outcomeBar(job, byType, big) {
  const ok = Number(job.successCount) || 0;
  const bad = Number(job.errorCount) || 0;
  const total = ok + bad;
  const bar = el('div', { class: 'bar outcome' + (big ? ' big' : '') });
  const parts = [['ok', 'succeeded', ok]];
  if (byType) {
    let known = 0;
    for (const t of ERROR_TYPES) {
      if (byType[t]) { parts.push([t, t, byType[t]]); known += byType[t]; }
    }
    if (bad > known) parts.push(['failed', 'other failures', bad - known]);
  }
  else if (bad) {
    parts.push(['failed', 'failed', bad]);
  }
  const legend = el('div', { class: 'legend' });
  for (const [cls, label, n] of parts) {
    if (!n) continue;
    const s = el('span', { class: cls, title: label + ': ' + num(n) });
    s.style.width = (total ? 100 * n / total : 0) + '%';
    bar.appendChild(s);
    legend.appendChild(el('span', null, el('i', { class: cls }), label + ' ' + num(n)));
  }
  bar.title = parts.filter(p => p[2]).map(p => p[1] + ': ' + num(p[2])).join(', ');
  return el('div', null, bar, legend);
}

/* Error counts by type, from the job's full error stream (NDJSON). A
 * finished job's errors do not change: kept per job, the promise while it
 * runs (typeCache), the counts once known (typeDone). */
const typeCache = new Map();
const typeDone = new Map();

function errorTypes(job) {
  if (job.errorCount > TYPE_COUNT_MAX) return Promise.resolve(null);
  if (!typeCache.has(job.job_id)) {
    const p = countTypes(job).then(t => {
      if (t) typeDone.set(job.job_id, t);
      else typeCache.delete(job.job_id);
      return t;
    }, () => { typeCache.delete(job.job_id); return null; });
    typeCache.set(job.job_id, p);
  }
  return typeCache.get(job.job_id);
}

async function countTypes(job) {
  const res = await authedFetch(API + '/imports/' + encodeURIComponent(job.job_id) + '/errors');
  if (!res.ok) return null;
  const counts = {};
  for (const line of (await res.text()).split('\n')) {
    if (!line) continue;
    try {
      const t = JSON.parse(line).errorType;
      counts[t] = (counts[t] || 0) + 1;
    } catch (e) { /* skip */ }
  }
  return counts;
}

/* An import's outcome bar in a holder (attrs: the holder's); a finished
 * job's failures are split by type as soon as they are counted. */
export function outcome(job, big, attrs) {
  const holder = el('div', attrs, outcomeBar(job, typeDone.get(job.job_id) || null, big));
  if (!active(job) && job.errorCount && !typeDone.has(job.job_id)) {
    errorTypes(job).then(t => {
      if (t) replace(holder, outcomeBar(job, t, big));
    }).catch(() => {});
  }
  return holder;
}
