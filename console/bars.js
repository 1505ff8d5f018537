/* Bars: a job's progress, and its outcome (succeeded vs failed records,
 * the failures by error type). */
import { el } from './dom.js';
import { num, pct } from './format.js';
import { ERROR_TYPES } from './model.js';

/* A bar filled to p percent; done: the finished colour; name: its
 * accessible name ("Upload progress"). */
export function progressBar(p, big, done, id, name) {
  const fill = el('span', { class: done ? 'fill done' : 'fill' });
  const bar = el('div', { class: 'bar' + (big ? ' big' : ''), id: id, role: 'progressbar',
                          'aria-label': name || 'Progress',
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
export function meter(title, ids, p, done, name) {
  const label = el('span', { id: ids.pct }, pct(p));
  const bar = progressBar(p, true, done, ids.bar, name);
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
  const bar = el('div', { class: 'bar outcome' + (big ? ' big' : ''), role: 'img' });
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
  bar.setAttribute('aria-label', 'Outcome: ' + bar.title);
  return el('div', null, bar, legend);
}

/* An import's outcome bar in a holder (attrs: the holder's): the failures
 * split by type from the job's own errorCounts ({TYPE: n}, in the job
 * document and the list items); the error report is never read for it. */
export function outcome(job, big, attrs) {
  const byType = job.errorCounts && typeof job.errorCounts === 'object' ? job.errorCounts : null;
  return el('div', attrs, outcomeBar(job, byType, big));
}
