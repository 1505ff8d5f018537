/* mod_bulkio console. Plain JavaScript, no framework, no network but the
 * module's own API. Everything that comes from the server is put into the
 * page as text (textContent, text nodes), never parsed as HTML. */
'use strict';

(function () {
  /* The API is mounted where the console is: <Location>/console/ */
  const API = location.pathname.replace(/\/console(\/.*)?$/, '');
  const TOKEN_KEY = 'bulkio.token';
  const RESOURCES = ['users', 'articles', 'comments'];
  const STATUSES = ['pending', 'running', 'completed', 'failed', 'canceled'];
  const FORMATS = ['ndjson', 'json', 'csv'];
  const ERROR_TYPES = ['PARSE_ERROR', 'VALIDATION_ERROR', 'FOREIGN_KEY_ERROR',
                       'DUPLICATE_ERROR'];
  const FIELDS = {
    users: ['id', 'email', 'name', 'role', 'active', 'created_at', 'updated_at'],
    articles: ['id', 'slug', 'title', 'body', 'author_id', 'tags',
               'published_at', 'status'],
    comments: ['id', 'article_id', 'user_id', 'body', 'created_at'],
  };
  const TIME_FILTERS = ['created_after', 'created_before', 'updated_after'];
  const FILTERS = {
    users: [['role', ['admin', 'author', 'reader']], ['active', ['true', 'false']]],
    articles: [['status', ['draft', 'published']], ['author_id', null]],
    comments: [['article_id', null], ['user_id', null]],
  };
  const PAGE = 20;
  const POLL_MS = 1000;

  /* Who is signed in: a token (this tab only), or httpd's own
   * authentication (the browser sends its credentials itself). */
  const session = { token: null, mode: null };
  let pollTimer = null;
  let viewSeq = 0;

  /* ---- DOM helpers: text only ------------------------------------------ */

  function el(tag, attrs) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'class') e.className = v;
        else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(c => append(parent, c)); return; }
    parent.appendChild(child instanceof Node ? child
                       : document.createTextNode(String(child)));
  }

  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  function $(id) { return document.getElementById(id); }

  /* ---- formatting --------------------------------------------------------- */

  function num(n) {
    return (n === null || n === undefined) ? '–' : Number(n).toLocaleString('en-US');
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    n = Number(n);
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }

  function secs(s) {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  function when(t) {
    if (!t) return '–';
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    const p = n => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' '
           + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function duration(job) {
    const a = Date.parse(job.startedAt || job.createdAt);
    const b = Date.parse(job.completedAt);
    if (isNaN(a) || isNaN(b)) return null;
    return Math.max(0, (b - a) / 1000);
  }

  function active(job) { return job.status === 'pending' || job.status === 'running'; }

  function percentOf(job) {
    const p = job.progress;
    if (p && typeof p.percent === 'number') return Math.max(0, Math.min(100, p.percent));
    if (job.status === 'completed') return 100;
    return 0;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    /* crypto.randomUUID needs a secure context; getRandomValues does not */
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-'
           + h.slice(16, 20) + '-' + h.slice(20);
  }

  /* ---- the API ------------------------------------------------------------ */

  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  function authHeaders(h) {
    h = h || {};
    if (session.mode === 'token' && session.token) h.Authorization = 'Bearer ' + session.token;
    return h;
  }

  async function problemOf(res) {
    let detail = res.status + ' ' + res.statusText;
    try {
      const doc = await res.json();
      if (doc && doc.detail) detail = doc.detail;
    } catch (e) { /* not JSON */ }
    return new ApiError(res.status, detail);
  }

  async function api(method, path, body, extra) {
    const opts = { method: method, headers: authHeaders(extra || {}),
                   credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, opts);
    if (res.status === 401 && session.mode) {
      signOut('Your session has ended: sign in again.');
      throw new ApiError(401, 'not signed in');
    }
    if (!res.ok) throw await problemOf(res);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  /* A path from the server (downloadUrl, errorsUrl) is used only when it is
   * one of this server's own absolute paths. */
  function ownPath(p) {
    return typeof p === 'string' && /^\/[^/\\]/.test(p) ? p : null;
  }

  /* A next link (a path or a URL) as a path below the API, or null. */
  function localPath(p) {
    try {
      const u = new URL(p, location.href);
      const path = u.pathname + u.search;
      return u.origin === location.origin && path.startsWith(API + '/') ? path : null;
    } catch (e) { return null; }
  }

  /* Download with the token: fetch, then save the blob. With httpd's
   * authentication a plain link does (the browser streams it to disk). */
  async function download(path, filename, statusEl) {
    if (session.mode !== 'token') {
      const a = el('a', { href: path, download: filename || '' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      return;
    }
    if (statusEl) statusEl.textContent = 'Downloading…';
    try {
      const res = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
      if (!res.ok) throw await problemOf(res);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: filename || 'download' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      if (statusEl) statusEl.textContent = 'Saved ' + bytes(blob.size) + '.';
    } catch (e) {
      if (statusEl) statusEl.textContent = 'Download failed: ' + e.message;
    }
  }

  function downloadButton(label, path, filename) {
    const note = el('span', { class: 'muted' });
    const b = el('button', { type: 'button', class: 'secondary',
                             onclick: () => download(path, filename, note) }, label);
    return el('span', null, b, ' ', note);
  }

  /* ---- sign-in ------------------------------------------------------------ */

  function tokenSubject(tok) {
    try {
      const part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(part + '==='.slice((part.length + 3) % 4)));
      return typeof claims.sub === 'string' ? claims.sub : null;
    } catch (e) { return null; }
  }

  /* Whether the server accepts this request's credentials: any answer but
   * 401 (an unknown job is 404 to a signed-in principal). */
  async function probe(token) {
    const h = token ? { Authorization: 'Bearer ' + token } : {};
    const res = await fetch(API + '/imports?limit=1', { headers: h,
      credentials: 'same-origin', cache: 'no-store' });
    return res.status !== 401;
  }

  function showSignedIn() {
    $('signin').hidden = true;
    $('nav').hidden = false;
    $('signout').hidden = session.mode !== 'token';
    const who = $('who');
    if (session.mode === 'token') {
      const sub = tokenSubject(session.token);
      who.textContent = sub ? 'signed in as ' + sub : 'signed in with a token';
    }
    else {
      who.textContent = 'signed in through the server';
    }
    route();
  }

  function signOut(message) {
    session.token = null;
    session.mode = null;
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    $('view').hidden = true;
    $('nav').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
    $('signin').hidden = false;
    $('signin-error').textContent = message || '';
  }

  async function start() {
    $('signin-form').addEventListener('submit', async ev => {
      ev.preventDefault();
      const tok = $('token').value.trim().replace(/^(Bearer|Token)\s+/i, '');
      $('signin-error').textContent = '';
      try {
        if (!(await probe(tok))) {
          $('signin-error').textContent = 'The server refused this token.';
          return;
        }
      } catch (e) {
        $('signin-error').textContent = 'The server cannot be reached: ' + e.message;
        return;
      }
      $('token').value = '';
      session.token = tok;
      session.mode = 'token';
      sessionStorage.setItem(TOKEN_KEY, tok);
      showSignedIn();
    });
    $('signout').addEventListener('click', () => signOut());
    window.addEventListener('hashchange', route);

    const saved = sessionStorage.getItem(TOKEN_KEY);
    try {
      if (saved && await probe(saved)) {
        session.token = saved;
        session.mode = 'token';
        return showSignedIn();
      }
      /* BulkIOAuth httpd: the browser's own credentials are enough */
      if (await probe(null)) {
        session.mode = 'httpd';
        return showSignedIn();
      }
    } catch (e) { /* offline: the form says so on submit */ }
    signOut();
  }

  /* ---- routing ------------------------------------------------------------ */

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function poll(fn) {
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

  function route() {
    if (!session.mode) return;
    stopPolling();
    viewSeq++;
    const h = location.hash.replace(/^#\/?/, '');
    const parts = h.split('/');
    const view = $('view');
    clear(view);
    view.hidden = false;
    let name = parts[0] || 'jobs';
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.view === name);
    }
    if (name === 'imports' && parts[1]) return jobPage(view, 'import', decodeURIComponent(parts[1]));
    if (name === 'exports' && parts[1]) return jobPage(view, 'export', decodeURIComponent(parts[1]));
    if (name === 'new-import') return newImport(view);
    if (name === 'new-export') return newExport(view);
    return jobsList(view, new URLSearchParams(parts.slice(1).join('/')));
  }

  function jobHref(kind, id) {
    return '#/' + kind + 's/' + encodeURIComponent(id);
  }

  /* ---- bars --------------------------------------------------------------- */

  function progressBar(pct, big, done) {
    const fill = el('span', { class: done ? 'fill done' : 'fill' });
    fill.style.width = pct.toFixed(1) + '%';
    return el('div', { class: 'bar' + (big ? ' big' : ''), role: 'progressbar',
                       'aria-valuemin': 0, 'aria-valuemax': 100,
                       'aria-valuenow': Math.round(pct) }, fill);
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
   * finished job's errors do not change: kept per job. */
  const typeCache = new Map();
  const TYPE_COUNT_MAX = 20000;

  const typeDone = new Map();

  function errorTypes(job) {
    if (!job.errorCount) return Promise.resolve({});
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
    const res = await fetch(API + '/imports/' + encodeURIComponent(job.job_id) + '/errors',
                            { headers: authHeaders(), cache: 'no-store' });
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

  /* ---- jobs list ---------------------------------------------------------- */

  function select(name, options, value, all) {
    const s = el('select', { name: name, id: 'f-' + name });
    if (all) s.appendChild(el('option', { value: '' }, all));
    for (const o of options) {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      s.appendChild(el('option', { value: v, selected: v === value }, label));
    }
    return s;
  }

  function jobsList(view, params) {
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
        el('div', null, el('label', { for: 'f-kind' }, 'Kind'), fKind),
        el('div', null, el('label', { for: 'f-status' }, 'Status'), fStatus),
        el('div', null, el('label', { for: 'f-resource' }, 'Resource'), fRes)),
      msg));
    view.appendChild(el('table', { id: 'jobs' },
      el('thead', null, el('tr', null,
        el('th', null, 'Job'), el('th', null, 'Resource'), el('th', null, 'Status'),
        el('th', null, 'Progress / outcome'), el('th', { class: 'num' }, 'Succeeded'),
        el('th', { class: 'num' }, 'Failed'), el('th', { class: 'num' }, 'Total'),
        el('th', null, 'Speed / time'), el('th', null, 'Created'))),
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

  function jobRow(j) {
    const tr = el('tr', { class: 'job ' + j.status, 'data-job': j.job_id, 'data-kind': j._kind });
    const link = el('a', { href: jobHref(j._kind, j.job_id), class: 'mono', title: j.job_id },
                    j._kind + ' ' + String(j.job_id).slice(0, 8));
    const outcome = el('td', { class: 'outcome-cell' });
    let speed = '';
    if (j._kind === 'import') {
      if (active(j)) {
        const pct = percentOf(j);
        outcome.appendChild(el('div', { class: 'live' }, progressBar(pct),
                               el('span', { class: 'pct' }, pct.toFixed(1) + ' %')));
        const p = j.progress || {};
        speed = [num(Math.round(p.rowsPerSecond || 0)) + ' records/s,',
                 el('br'), 'ETA ' + secs(p.etaSeconds)];
      }
      else {
        const holder = el('div', null, (j.successCount || j.errorCount)
                          ? outcomeBar(j, typeDone.get(j.job_id) || null) : null);
        outcome.appendChild(holder);
        if (j.status === 'canceled') {
          outcome.appendChild(el('div', { class: 'muted small' }, 'canceled at ' + percentOf(j).toFixed(1) + ' %'));
        }
        if (j.errorCount && j.status !== 'pending' && !typeDone.has(j.job_id)) {
          errorTypes(j).then(t => {
            if (t) { clear(holder); holder.appendChild(outcomeBar(j, t)); }
          }).catch(() => {});
        }
        speed = 'took ' + secs(duration(j));
      }
    }
    else {
      if (j.status === 'completed') {
        outcome.appendChild(el('span', { class: 'muted' },
          bytes(j.fileSize) + (j.expiresAt ? ', until ' + when(j.expiresAt) : '')));
        speed = 'took ' + secs(duration(j));
      }
      else if (active(j)) {
        outcome.appendChild(progressBar(j.status === 'running' ? 50 : 0));
      }
    }
    if (j.reason) outcome.appendChild(el('div', { class: 'error' }, j.reason));
    append(tr, [
      el('td', { class: 'nowrap' }, link),
      el('td', null, j.resource),
      el('td', null, el('span', { class: 'badge ' + j.status }, j.status)),
      outcome,
      el('td', { class: 'num ok-count' }, j._kind === 'import' ? num(j.successCount) : ''),
      el('td', { class: 'num err-count' }, j._kind === 'import' ? num(j.errorCount) : ''),
      el('td', { class: 'num' }, num(j.totalRecords)),
      el('td', { class: 'speed nowrap' }, speed),
      el('td', { class: 'nowrap' }, when(j.createdAt)),
    ]);
    return tr;
  }

  /* ---- a job's page ------------------------------------------------------- */

  function counter(k, v, cls, id) {
    return el('div', { class: 'counter' + (cls ? ' ' + cls : '') },
              el('div', { class: 'k' }, k), el('div', { class: 'v', id: id }, v));
  }

  function jobPage(view, kind, id) {
    const body = el('div', { class: 'card', id: 'job' }, el('p', { class: 'muted' }, 'Loading…'));
    view.appendChild(body);
    const path = '/' + kind + 's/' + encodeURIComponent(id);
    let shownErrors = false;

    async function refresh() {
      let doc;
      try {
        doc = await api('GET', path);
      } catch (e) {
        clear(body);
        body.appendChild(el('p', { class: 'error' }, e.status === 404
          ? 'No such job (or it belongs to someone else).' : e.message));
        return false;
      }
      renderJob(doc);
      return active(doc);
    }

    function renderJob(j) {
      clear(body);
      body.appendChild(el('h1', null, (kind === 'import' ? 'Import ' : 'Export ') + j.resource + ' ',
        el('span', { class: 'badge ' + j.status, id: 'job-status' }, j.status)));
      body.appendChild(el('p', { class: 'mono muted' }, 'job ' + j.job_id + ', format ' + (j.format || '–')));
      if (j.reason) body.appendChild(el('p', { class: 'error' }, j.reason));

      const c = el('div', { class: 'counters' });
      c.appendChild(counter('Records', num(j.totalRecords), null, 'c-total'));
      if (kind === 'import') {
        const p = j.progress || {};
        const pct = percentOf(j);
        body.appendChild(el('div', { class: 'progress-block' },
          el('div', { class: 'label' }, el('span', null, 'Progress'),
             el('span', { id: 'job-pct' }, pct.toFixed(1) + ' %')),
          progressBar(pct, true, !active(j))));
        c.appendChild(counter('Processed', num(p.processedRecords), null, 'c-processed'));
        c.appendChild(counter('Succeeded', num(j.successCount), 'good', 'c-success'));
        c.appendChild(counter('Failed', num(j.errorCount), 'bad', 'c-errors'));
        c.appendChild(active(j) ? counter('Bytes read (of ' + bytes(p.bytesTotal) + ')', bytes(p.bytesProcessed))
                                : counter('Bytes', bytes(p.bytesTotal || p.bytesProcessed)));
        if (active(j)) {
          c.appendChild(counter('Records/s', num(Math.round(p.rowsPerSecond || 0)), null, 'c-rate'));
          c.appendChild(counter('ETA', secs(p.etaSeconds), null, 'c-eta'));
        }
        else {
          c.appendChild(counter('Duration', secs(duration(j)), null, 'c-duration'));
        }
      }
      else {
        c.appendChild(counter('File size', bytes(j.fileSize)));
      }
      body.appendChild(c);
      body.appendChild(el('p', { class: 'muted times' },
        'created ' + when(j.createdAt),
        j.startedAt ? ' · started ' + when(j.startedAt) : '',
        ' · finished ' + when(j.completedAt)));

      const actions = el('div', { class: 'actions' });
      if (active(j) && kind === 'import') {
        const note = el('span', { class: 'muted' });
        actions.appendChild(el('button', { type: 'button', class: 'danger', id: 'cancel',
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
      if (kind === 'import' && j.errorCount) {
        const eu = ownPath(j.errorsUrl) || API + path + '/errors';
        actions.appendChild(downloadButton('Errors (NDJSON)', eu, 'errors-' + j.job_id + '.ndjson'));
        actions.appendChild(downloadButton('Errors (CSV)', eu + '?format=csv', 'errors-' + j.job_id + '.csv'));
      }
      if (kind === 'export' && j.status === 'completed') {
        const du = ownPath(j.downloadUrl);
        const expired = j.expiresAt && Date.parse(j.expiresAt) < Date.now();
        if (du && !expired) {
          actions.appendChild(downloadButton('Download ' + (j.format || '') + ' file', du,
                                             j.resource + '-' + j.job_id + '.' + (j.format || 'ndjson')));
        }
        actions.appendChild(el('span', { class: 'muted', id: 'expiry' },
          expired ? 'The file expired at ' + when(j.expiresAt) + '.'
                  : 'Downloadable until ' + when(j.expiresAt) + '.'));
      }
      body.appendChild(actions);

      if (kind === 'import' && (j.successCount || j.errorCount)) {
        const holder = el('div', { id: 'outcome' }, outcomeBar(j, null, true));
        body.appendChild(el('h2', null, 'Outcome'));
        body.appendChild(holder);
        if (!active(j) && j.errorCount) {
          errorTypes(j).then(t => {
            if (t) { clear(holder); holder.appendChild(outcomeBar(j, t, true)); }
          }).catch(() => {});
        }
      }
      if (kind === 'import' && Array.isArray(j.errors) && j.errors.length) {
        body.appendChild(el('h2', null, 'First errors',
          el('span', { class: 'muted' }, ' (' + j.errors.length + ' of ' + num(j.errorCount) + ', in record order)')));
        const tb = el('tbody');
        for (const e of j.errors) {
          tb.appendChild(el('tr', { class: 'error-row' },
            el('td', { class: 'num' }, num(e.line)),
            el('td', { class: 'num' }, num(e.recordIndex)),
            el('td', { class: 'mono' }, e.field || '–'),
            el('td', null, el('span', { class: 'mono' }, e.errorType)),
            el('td', { class: 'message' }, e.errorMessage),
            el('td', null, el('pre', { class: 'record' }, e.recordData === null || e.recordData === undefined ? '' : String(e.recordData)))));
        }
        body.appendChild(el('table', { id: 'errors' },
          el('thead', null, el('tr', null, el('th', { class: 'num' }, 'Line'),
            el('th', { class: 'num' }, 'Record'), el('th', null, 'Field'), el('th', null, 'Type'),
            el('th', null, 'Message'), el('th', null, 'Record as sent'))), tb));
        shownErrors = true;
      }
      else if (shownErrors) {
        shownErrors = false;
      }
      body.appendChild(el('p', null, el('a', { href: '#/jobs' }, '← all jobs')));
    }

    refresh().then(again => { if (again) poll(refresh); });
  }

  /* ---- new import --------------------------------------------------------- */

  function newImport(view) {
    const fRes = select('resource', RESOURCES, 'users');
    const fFmt = select('format', FORMATS, '', 'from the file');
    const fileIn = el('input', { type: 'file', id: 'file', name: 'file',
                                 accept: '.ndjson,.jsonl,.json,.csv,.gz,text/csv,application/json,application/x-ndjson' });
    const urlIn = el('input', { type: 'url', id: 'url', name: 'url', placeholder: 'https://…', size: 50 });
    const drop = el('div', { class: 'drop', id: 'drop' }, 'Drop a file here, or ', fileIn);
    const chosen = el('p', { class: 'muted', id: 'chosen' });
    const go = el('button', { type: 'submit', id: 'upload' }, 'Upload');
    const msg = el('p', { class: 'error', role: 'alert', id: 'import-error' });
    const upBar = el('div', { class: 'progress-block', id: 'upload-progress', hidden: true });
    const jobBox = el('div', { id: 'import-job', hidden: true });
    let file = null;
    /* one key per upload: a second click (a retry) sends the same one */
    let key = null;

    function choose(f) {
      file = f;
      key = null;
      chosen.textContent = f ? f.name + ' (' + bytes(f.size) + ')' : '';
    }
    fileIn.addEventListener('change', () => choose(fileIn.files[0] || null));
    urlIn.addEventListener('input', () => { key = null; });
    fRes.addEventListener('change', () => { key = null; });
    fFmt.addEventListener('change', () => { key = null; });
    drop.addEventListener('dragover', ev => { ev.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', ev => {
      ev.preventDefault();
      drop.classList.remove('over');
      if (ev.dataTransfer.files.length) choose(ev.dataTransfer.files[0]);
    });

    const form = el('form', { id: 'import-form' },
      el('h1', null, 'New import'),
      el('div', { class: 'row' },
        el('div', null, el('label', { for: 'f-resource' }, 'Resource'), fRes),
        el('div', null, el('label', { for: 'f-format' }, 'Format'), fFmt)),
      el('label', null, 'File'), drop, chosen,
      el('label', { for: 'url' }, 'or a URL the server fetches'), urlIn,
      el('div', { class: 'actions' }, go), msg, upBar, jobBox);
    view.appendChild(el('div', { class: 'card' }, form));

    form.addEventListener('submit', ev => {
      ev.preventDefault();
      msg.textContent = '';
      const url = urlIn.value.trim();
      if (!file && !url) { msg.textContent = 'Choose a file or give a URL.'; return; }
      if (!key) key = uuid();
      const q = new URLSearchParams({ resource: fRes.value });
      if (fFmt.value) q.set('format', fFmt.value);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', API + '/imports?' + q.toString());
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
      const fill = el('span', { class: 'fill' });
      const label = el('span', { id: 'upload-pct' }, '0 %');
      const sent = el('span', { id: 'upload-bytes' }, file ? '0 B of ' + bytes(total) : 'sending the URL');
      clear(upBar);
      upBar.hidden = false;
      upBar.appendChild(el('div', { class: 'label' }, el('span', null, 'Upload: ', sent), label));
      upBar.appendChild(el('div', { class: 'bar big', id: 'upload-bar' }, fill));
      fill.style.width = '0%';
      go.disabled = true;
      xhr.upload.addEventListener('progress', e => {
        const all = e.lengthComputable ? e.total : total;
        const pct = all ? 100 * e.loaded / all : 0;
        const secs = (performance.now() - t0) / 1000;
        fill.style.width = pct.toFixed(1) + '%';
        label.textContent = pct.toFixed(1) + ' %';
        sent.textContent = bytes(e.loaded) + ' of ' + bytes(all) + ', '
                           + bytes(secs > 0 ? e.loaded / secs : 0) + '/s';
      });
      xhr.addEventListener('load', () => {
        go.disabled = false;
        let doc = null;
        try { doc = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 202 && doc && doc.job_id) {
          fill.style.width = '100%';
          label.textContent = '100.0 %';
          key = null;
          followJob(jobBox, doc.job_id);
          return;
        }
        if (xhr.status === 401 && session.mode) signOut('Your session has ended: sign in again.');
        msg.textContent = 'The upload was refused (' + xhr.status + '): '
                          + ((doc && doc.detail) || xhr.statusText);
      });
      xhr.addEventListener('error', () => {
        go.disabled = false;
        msg.textContent = 'The upload failed (network). Upload again: the same '
                          + 'Idempotency-Key makes sure that only one job is created.';
      });
      xhr.send(body);
    });
  }

  /* After an upload: the job's own progress, until it ends. */
  function followJob(box, id) {
    box.hidden = false;
    clear(box);
    const fill = el('span', { class: 'fill' });
    fill.style.width = '0%';
    const pct = el('span', { id: 'job-pct' }, '0 %');
    const status = el('span', { class: 'badge pending', id: 'job-status' }, 'pending');
    const counts = el('p', { id: 'job-counts', class: 'muted' });
    box.appendChild(el('div', { class: 'progress-block' },
      el('div', { class: 'label' }, el('span', null, 'Job ',
        el('a', { href: jobHref('import', id), class: 'mono', id: 'job-link' }, id), ' ', status), pct),
      el('div', { class: 'bar big', id: 'job-bar' }, fill)));
    box.appendChild(counts);
    const refresh = async () => {
      const j = await api('GET', '/imports/' + encodeURIComponent(id));
      const p = percentOf(j);
      fill.style.width = p.toFixed(1) + '%';
      pct.textContent = p.toFixed(1) + ' %';
      status.textContent = j.status;
      status.className = 'badge ' + j.status;
      const pr = j.progress || {};
      counts.textContent = num(pr.processedRecords) + ' processed, ' + num(j.successCount)
        + ' succeeded, ' + num(j.errorCount) + ' failed'
        + (active(j) ? ', ' + num(Math.round(pr.rowsPerSecond || 0)) + ' records/s, ETA ' + secs(pr.etaSeconds)
                     : ', took ' + secs(duration(j)));
      return active(j);
    };
    refresh().then(again => { if (again) poll(refresh); }).catch(() => poll(refresh));
  }

  /* ---- new export --------------------------------------------------------- */

  function newExport(view) {
    const fRes = select('resource', RESOURCES, 'users');
    const fFmt = select('format', FORMATS, 'ndjson');
    const filters = el('div', { class: 'row', id: 'filters' });
    const fields = el('div', { class: 'fields', id: 'fields' });
    const mode = select('mode', [['job', 'an export job (download link)'], ['stream', 'download now (streamed)']], 'job');
    const msg = el('p', { class: 'error', role: 'alert' });
    const note = el('p', { class: 'muted' });

    function build() {
      clear(filters);
      clear(fields);
      const r = fRes.value;
      for (const [name, values] of FILTERS[r]) {
        const input = values ? select('flt-' + name, values, '', 'any')
                             : el('input', { type: 'text', name: 'flt-' + name, id: 'f-flt-' + name,
                                             placeholder: 'id', size: 38 });
        filters.appendChild(el('div', null, el('label', { for: 'f-flt-' + name }, name), input));
      }
      for (const name of TIME_FILTERS) {
        filters.appendChild(el('div', null, el('label', { for: 'f-flt-' + name }, name),
          el('input', { type: 'datetime-local', name: 'flt-' + name, id: 'f-flt-' + name, step: 1 })));
      }
      for (const f of FIELDS[r]) {
        fields.appendChild(el('label', null,
          el('input', { type: 'checkbox', name: 'field', value: f, checked: true }), ' ' + f));
      }
    }
    fRes.addEventListener('change', build);
    build();

    const form = el('form', { id: 'export-form' },
      el('h1', null, 'New export'),
      el('div', { class: 'row' },
        el('div', null, el('label', { for: 'f-resource' }, 'Resource'), fRes),
        el('div', null, el('label', { for: 'f-format' }, 'Format'), fFmt),
        el('div', null, el('label', { for: 'f-mode' }, 'As'), mode)),
      el('h2', null, 'Filters'), filters,
      el('h2', null, 'Fields'), fields,
      el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'export' }, 'Export')),
      msg, note);
    view.appendChild(el('div', { class: 'card' }, form));

    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      msg.textContent = '';
      const flt = {};
      for (const i of form.querySelectorAll('[name^="flt-"]')) {
        if (!i.value) continue;
        const name = i.name.slice(4);
        flt[name] = i.type === 'datetime-local' ? new Date(i.value).toISOString() : i.value;
      }
      const boxes = Array.from(form.querySelectorAll('input[name=field]'));
      const chosen = boxes.filter(b => b.checked).map(b => b.value);
      if (!chosen.length) { msg.textContent = 'Choose at least one field.'; return; }
      const all = chosen.length === boxes.length;
      if (mode.value === 'stream') {
        const q = new URLSearchParams({ resource: fRes.value, format: fFmt.value });
        if (!all) q.set('fields', chosen.join(','));
        for (const k of Object.keys(flt)) q.set(k, flt[k]);
        return download(API + '/exports?' + q.toString(), fRes.value + '.' + fFmt.value, note);
      }
      const body = { resource: fRes.value, format: fFmt.value, filters: flt };
      if (!all) body.fields = chosen;
      try {
        const doc = await api('POST', '/exports', body, { 'Idempotency-Key': uuid() });
        location.hash = jobHref('export', doc.job_id);
      } catch (e) {
        msg.textContent = 'The export was refused: ' + e.message;
      }
    });
  }

  document.addEventListener('DOMContentLoaded', start);
})();
