/* Numbers, sizes, times and a job's state, as the page shows them. */
import { ACTIONS } from './model.js';

export function num(n) {
  return (n === null || n === undefined) ? '–' : Number(n).toLocaleString('en-US');
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  n = Number(n);
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + u[i];
}

/* A duration: "0.4 s" and "7.5 s" below 10 s, then whole seconds. */
export function secs(s) {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  s = Math.max(0, s);
  if (s < 10) return (s > 0 && s < 0.05 ? '< 0.1' : s.toFixed(1)) + ' s';
  s = Math.round(s);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

/* A time as the API gives it, in UTC with the zone written out:
 * "2026-12-06 18:44:02 UTC" (whatever the browser's own zone). */
export function when(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const p = n => String(n).padStart(2, '0');
  return d.getUTCFullYear() + '-' + p(d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) + ' '
         + p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ':' + p(d.getUTCSeconds()) + ' UTC';
}

export function pct(p) { return p.toFixed(1) + ' %'; }

/* A finished job's run time in seconds, or null. */
export function duration(job) {
  const a = Date.parse(job.startedAt || job.createdAt);
  const b = Date.parse(job.completedAt);
  if (isNaN(a) || isNaN(b)) return null;
  return Math.max(0, (b - a) / 1000);
}

/* An import's counts by action that are not 0: "4 inserted, 5 updated";
 * '' when there are none (or the server does not count them). */
export function actions(job) {
  return ACTIONS.filter(a => Number(job[a + 'Count']))
    .map(a => num(job[a + 'Count']) + ' ' + a).join(', ');
}

/* How an import writes: "dry run · mode update · atomic · at most 5
 * failed"; the mode upsert (the default) only when all is set; '' when
 * there is nothing to say (or the server is older than modes). */
export function writeMode(job, all) {
  const parts = [];
  if (job.dryRun) parts.push('dry run');
  if (job.mode && (all || job.mode !== 'upsert')) parts.push('mode ' + job.mode);
  if (job.atomic) parts.push('atomic');
  if (typeof job.maxErrors === 'number') parts.push('at most ' + num(job.maxErrors) + ' failed');
  return parts.join(' · ');
}

/* A job's state as shown: a completed job with failed records is
 * "completed with errors" (its own colour, class completed-errors). */
export function state(job) {
  if (job.status === 'completed' && Number(job.errorCount) > 0) {
    return { cls: 'completed-errors', label: 'completed with errors' };
  }
  return { cls: job.status, label: job.status };
}

/* The file's records: known once a job has read its file to the end (a
 * completed job); before that, or when it stopped early, unknown. */
export function fileTotal(job) {
  if (job.status === 'completed' && job.totalRecords !== null && job.totalRecords !== undefined) {
    return num(job.totalRecords);
  }
  return 'unknown';
}

/* A running job's speed and time left; a pending one has neither. */
export function eta(job) {
  const p = job.progress || {};
  if (job.status === 'pending') return 'waiting for a worker';
  if (!p.processedRecords || !p.etaSeconds) return num(Math.round(p.rowsPerSecond || 0)) + ' records/s';
  return num(Math.round(p.rowsPerSecond || 0)) + ' records/s, ETA ' + secs(p.etaSeconds);
}

export function active(job) { return job.status === 'pending' || job.status === 'running'; }

export function percentOf(job) {
  const p = job.progress;
  if (p && typeof p.percent === 'number') return Math.max(0, Math.min(100, p.percent));
  if (job.status === 'completed') return 100;
  return 0;
}

