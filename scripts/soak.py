#!/usr/bin/env python3
"""Soak driver for mod_bulkio (make soak): mixed load against one server for
a while, graceful restarts of httpd and restarts of PostgreSQL meanwhile,
then exact checks and start-versus-end figures.

Load, from several principals at once:
  - import jobs of the kinds in JOB_MIX, picked by weight: rounds (users,
    then articles of those users, then comments on those articles), users
    deleted again with mode=delete, users under max_errors, dry runs,
    atomic imports that apply or fail whole; each file with 5 % invalid
    records, as NDJSON, JSON or CSV, some gzip-compressed, some fetched by
    URL from a loopback server, some with a callback_url whose webhook
    the same server receives (refusing a third of the tries with a 500);
  - streamed exports (GET /v1/exports), export jobs and their downloads;
  - status polls, job lists, health and metrics.
Chaos meanwhile: graceful restarts of httpd, restarts of PostgreSQL,
SIGKILL of a random httpd child, pg_terminate_backend() of a random
PostgreSQL backend (busy ones first).
Every POST carries an Idempotency-Key, so one retried after a restart never
makes a second job. At the end every job must have ended as expected with
exact counts, the tables must hold exactly the valid records sent (none
lost, none twice), and every import must have stored exactly its failed
records' entries up to BulkIOMaxErrorRows, none past it, and every job
with a callback_url must have had its webhook accepted, signed, under one
event id.

Standard library only.
"""

import argparse
import base64
import csv
import gzip
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

ARGS = None
STOP = threading.Event()
LOCK = threading.Lock()
FAILURES = []
STATS = {}
EXPECTED = {'users': 0, 'articles': 0, 'comments': 0}
IMPORTS = []        # (principal, job id, resource, status expected)
EXPORTS = []        # (principal, job id)
HOOK_JOBS = []      # jobs created with a callback_url
HOOKS = {}          # job id: the event ids of its accepted webhooks
TERMINAL = ('completed', 'failed', 'canceled')
BATCH = 1000        # BulkIOBatchSize in soak.sh's configuration


def log(msg):
    sys.stdout.write('[soak %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stdout.flush()


def fail(msg):
    with LOCK:
        FAILURES.append(msg)
    log('FAIL: ' + msg)


def count(name, n=1):
    with LOCK:
        STATS[name] = STATS.get(name, 0) + n


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def token(sub):
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = b64url(json.dumps({'sub': sub,
                              'exp': int(time.time()) + 12 * 3600}).encode())
    signing = (head + '.' + body).encode()
    sig = hmac.new(ARGS.secret.encode(), signing, hashlib.sha256).digest()
    return head + '.' + body + '.' + b64url(sig)


def request(method, path, body=None, headers=None, sub=None, timeout=120):
    """One request; (status, headers, body). Raises on network errors."""
    conn = http.client.HTTPConnection('127.0.0.1', ARGS.port,
                                      timeout=timeout)
    try:
        h = dict(headers or {})
        if sub:
            h['Authorization'] = 'Bearer ' + token(sub)
        conn.request(method, path, body=body, headers=h)
        res = conn.getresponse()
        data = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, data
    finally:
        conn.close()


def retried(method, path, body=None, headers=None, sub=None, ok=(200,),
            patience=300):
    """Retry through restarts: network errors, 502, 503, and 409 (an
    Idempotency-Key whose first request is still being received)."""
    until = time.time() + patience
    last = None
    while True:
        try:
            st, hd, data = request(method, path, body, headers, sub)
            if st in ok:
                return st, hd, data
            last = '%d %s' % (st, data[:200])
            if st not in (409, 429, 502, 503):
                return st, hd, data
            count('retried %d' % st)
        except (OSError, http.client.HTTPException) as e:
            last = repr(e)
            count('retried network error')
        if time.time() > until:
            raise RuntimeError('%s %s: gave up: %s' % (method, path, last))
        time.sleep(1)


def psql(sql):
    out = subprocess.run(['psql', ARGS.conninfo, '-XAtq', '-v',
                          'ON_ERROR_STOP=1', '-c', sql],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError('psql: ' + out.stderr.strip())
    return out.stdout.strip()


def psql_retry(sql, patience=120):
    until = time.time() + patience
    while True:
        try:
            return psql(sql)
        except RuntimeError:
            if time.time() > until:
                raise
            time.sleep(1)


# ---- files -------------------------------------------------------------

FIELDS = {
    'users': ['id', 'email', 'name', 'role', 'active'],
    'articles': ['id', 'slug', 'title', 'body', 'author_id', 'status'],
    'comments': ['id', 'article_id', 'user_id', 'body'],
}
MIME = {'ndjson': 'application/x-ndjson', 'json': 'application/json',
        'csv': 'text/csv'}


def encode(resource, records, fmt):
    if fmt == 'ndjson':
        return ''.join(json.dumps(r) + '\n' for r in records).encode()
    if fmt == 'json':
        return json.dumps(records).encode()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\r\n')
    w.writerow(FIELDS[resource])
    for r in records:
        w.writerow(['' if r.get(f) is None else
                    ('true' if r.get(f) is True else str(r.get(f)))
                    for f in FIELDS[resource]])
    return buf.getvalue().encode()


def make_records(resource, tag, n, refs):
    """n records, 5 % of them invalid (at random places); returns
    (records, valid ones)."""
    bad = set(random.sample(range(n), max(1, n * 5 // 100)))
    recs, good = [], []
    for i in range(n):
        rid = str(uuid.uuid4())
        if resource == 'users':
            r = {'id': rid, 'email': '%s-%d@example.com' % (tag, i),
                 'name': 'Soak %s %d' % (tag, i), 'role': 'author',
                 'active': True}
            if i in bad:
                r['email'] = 'not-an-address-%s-%d' % (tag, i)
        elif resource == 'articles':
            r = {'id': rid, 'slug': '%s-%d' % (tag, i), 'title': 'T %d' % i,
                 'body': 'Body of %s %d' % (tag, i),
                 'author_id': random.choice(refs['users']), 'status': 'draft'}
            if i in bad:
                r['slug'] = 'Not A Slug %d' % i
        else:
            r = {'id': 'cm_' + rid, 'article_id': random.choice(refs['articles']),
                 'user_id': random.choice(refs['users']),
                 'body': 'comment %s %d' % (tag, i)}
            if i in bad:
                r['body'] = '   '
        recs.append(r)
        if i not in bad:
            good.append(r)
    return recs, good


# ---- load --------------------------------------------------------------

def wait_import(sub, job, patience=900):
    until = time.time() + patience
    while time.time() < until:
        st, _, data = retried('GET', '/v1/imports/' + job, sub=sub,
                              ok=(200, 404))
        if st == 200:
            doc = json.loads(data)
            if doc.get('status') in TERMINAL:
                return doc
        time.sleep(0.5)
    raise RuntimeError('import %s did not finish' % job)


def run_import(sub, resource, recs, want, query=''):
    """Post recs as an import (a random format, maybe gzip, maybe by URL)
    with the extra query; wait for its end and compare its status document
    with want (its fields). True when they agree."""
    fmt = random.choice(['ndjson', 'json', 'csv'])
    data = encode(resource, recs, fmt)
    gz = random.random() < 0.3
    if gz:
        data = gzip.compress(data)
    by_url = random.random() < 0.2
    key = str(uuid.uuid4())
    hook = random.random() < 0.3
    if hook:
        query += '&callback_url=http://127.0.0.1:%d/hook' % ARGS.url_port
    path = '/v1/imports?resource=%s&format=%s%s' % (resource, fmt, query)
    if by_url:
        name = '%s.%s%s' % (key, fmt, '.gz' if gz else '')
        with open(os.path.join(ARGS.url_dir, name), 'wb') as f:
            f.write(data)
        body = json.dumps({'url': 'http://127.0.0.1:%d/%s'
                           % (ARGS.url_port, name)}).encode()
        ctype = 'application/json'
    else:
        body = data
        ctype = 'application/octet-stream' if gz else MIME[fmt]
    st, _, res = retried('POST', path, body, {'Content-Type': ctype,
                                              'Idempotency-Key': key},
                         sub=sub, ok=(202,))
    if st != 202:
        fail('POST %s: %d %s' % (path, st, res[:200]))
        return False
    job = json.loads(res)['job_id']
    with LOCK:
        IMPORTS.append((sub, job, resource, want['status']))
        if hook:
            HOOK_JOBS.append(job)
    doc = wait_import(sub, job)
    got = {k: doc.get(k) for k in want}
    kind = '%s%s%s%s' % (fmt, ' gzip' if gz else '', ' url' if by_url else '',
                         query)
    if got != want:
        fail('import %s (%s %s): %s, expected %s' % (job, resource, kind, got,
                                                     want))
        return False
    count('imports %s' % want['status'])
    count('records sent', len(recs))
    return True


def applied(recs, good):
    """What an import of recs of which good are valid ends as."""
    return {'status': 'completed', 'totalRecords': len(recs),
            'successCount': len(good), 'errorCount': len(recs) - len(good)}


# ---- the job mix ---------------------------------------------------------
# A kind is a function (principal, tag) that posts its imports through
# run_import() with what each must end as, and adds the rows it leaves to
# EXPECTED once they are checked.

def kind_round(sub, tag):
    """users, then articles of those users, then comments on them."""
    refs = {}
    for resource, lo, hi in (('users', 300, 1500), ('articles', 200, 1000),
                             ('comments', 300, 2000)):
        recs, good = make_records(resource, tag, random.randint(lo, hi), refs)
        if not run_import(sub, resource, recs, applied(recs, good)):
            return
        with LOCK:
            EXPECTED[resource] += len(good)
        refs[resource] = [r['id'] for r in good]


def kind_delete(sub, tag):
    """users of its own, then mode=delete of half of them and of ids that
    name no user (NOT_FOUND_ERROR)."""
    recs, good = make_records('users', tag, random.randint(200, 1200), {})
    if not run_import(sub, 'users', recs, applied(recs, good)):
        return
    with LOCK:
        EXPECTED['users'] += len(good)
    gone = random.sample(good, len(good) // 2)
    dels = [{'id': u['id']} for u in gone]
    missing = random.randint(1, 20)
    for _ in range(missing):
        dels.insert(random.randint(0, len(dels)), {'id': str(uuid.uuid4())})
    want = {'status': 'completed', 'totalRecords': len(dels),
            'successCount': len(gone), 'deletedCount': len(gone),
            'errorCount': missing}
    if run_import(sub, 'users', dels, want, '&mode=delete'):
        with LOCK:
            EXPECTED['users'] -= len(gone)


def kind_max_errors(sub, tag):
    """users with max_errors: below their failed records (the job stops
    after the batch in which they pass it, which is applied with those
    before it, and ends failed) or at least as many (it completes)."""
    recs, good = make_records('users', tag, random.randint(1500, 4000), {})
    valid = set(id(r) for r in good)
    nbad = len(recs) - len(good)
    if random.random() < 0.7:
        limit = random.randint(0, nbad - 1)
        errs = ok = 0
        for i, r in enumerate(recs):
            if id(r) in valid:
                ok += 1
            else:
                errs += 1
            if errs > limit and ((i + 1) % BATCH == 0 or i + 1 == len(recs)):
                break
        want = {'status': 'failed', 'totalRecords': i + 1,
                'successCount': ok, 'errorCount': errs}
    else:
        limit = random.randint(nbad, nbad + 10)
        ok = len(good)
        want = applied(recs, good)
    if run_import(sub, 'users', recs, want, '&max_errors=%d' % limit):
        with LOCK:
            EXPECTED['users'] += ok


def kind_dry_run(sub, tag):
    """users as a dry run: the counts of the real import, and no row."""
    recs, good = make_records('users', tag, random.randint(300, 1500), {})
    run_import(sub, 'users', recs, dict(applied(recs, good), dryRun=True),
               '&dry_run=true')


def kind_atomic(sub, tag):
    """users all or nothing: max_errors below their failed records (the
    job fails and no row changes) or not below (every valid row)."""
    recs, good = make_records('users', tag, random.randint(300, 3000), {})
    nbad = len(recs) - len(good)
    if random.random() < 0.5:
        limit, ok = random.randint(0, nbad - 1), 0
        want = {'status': 'failed', 'atomic': True}
    else:
        limit, ok = random.randint(nbad, nbad + 10), len(good)
        want = dict(applied(recs, good), atomic=True)
    if run_import(sub, 'users', recs, want,
                  '&atomic=true&max_errors=%d' % limit):
        with LOCK:
            EXPECTED['users'] += ok


# (name, weight, kind): adding a kind is one entry
JOB_MIX = [
    ('round', 6, kind_round),
    ('delete', 2, kind_delete),
    ('max_errors', 2, kind_max_errors),
    ('dry_run', 1, kind_dry_run),
    ('atomic', 2, kind_atomic),
]


def importer(k):
    sub = 'soak-importer-%d' % k
    r = 0
    names = [m[0] for m in JOB_MIX]
    weights = [m[1] for m in JOB_MIX]
    kinds = dict((m[0], m[2]) for m in JOB_MIX)
    while not STOP.is_set():
        r += 1
        name = random.choices(names, weights)[0]
        try:
            kinds[name](sub, 'soak%d-%d' % (k, r))
            count('kind %s' % name)
            STOP.wait(2)
        except Exception as e:   # noqa: BLE001 - a soak reports and goes on
            fail('importer %d (%s): %r' % (k, name, e))
            time.sleep(1)


def streamer():
    sub = 'soak-reader'
    while not STOP.is_set():
        res = random.choice(['users', 'articles', 'comments'])
        fmt = random.choice(['ndjson', 'csv', 'json'])
        try:
            # the records of the last minute: the tables grow all along
            since = time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                  time.gmtime(time.time() - 60))
            st, _, data = request('GET', '/v1/exports?resource=%s&format=%s'
                                  '&created_after=%s' % (res, fmt, since),
                                  sub=sub, timeout=300)
            if st == 200:
                if fmt == 'ndjson':
                    for line in data.decode().splitlines():
                        json.loads(line)
                elif fmt == 'json':
                    json.loads(data)
                count('streamed exports ok')
            elif st in (502, 503):
                count('streamed exports refused (restart)')
            else:
                fail('streamed export %s: %d' % (res, st))
        except (OSError, http.client.HTTPException, ValueError):
            # a restart may cut a stream: counted, not a failure
            count('streamed exports cut (restart)')
        time.sleep(0.5)


def exporter():
    sub = 'soak-exporter'
    while not STOP.is_set():
        res = random.choice(['users', 'articles', 'comments'])
        try:
            since = time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                  time.gmtime(time.time() - 120))
            st, _, data = retried('POST', '/v1/exports', json.dumps(
                {'resource': res, 'format': 'ndjson',
                 'filters': {'created_after': since}}).encode(),
                {'Content-Type': 'application/json',
                 'Idempotency-Key': str(uuid.uuid4())}, sub=sub, ok=(202,))
            if st != 202:
                fail('POST /v1/exports: %d' % st)
                continue
            job = json.loads(data)['job_id']
            with LOCK:
                EXPORTS.append((sub, job))
            until = time.time() + 900
            doc = {}
            while time.time() < until:
                _, _, d = retried('GET', '/v1/exports/' + job, sub=sub)
                doc = json.loads(d)
                if doc.get('status') in TERMINAL:
                    break
                time.sleep(0.5)
            if doc.get('status') != 'completed':
                fail('export job %s: %s' % (job, doc.get('status')))
                continue
            st, _, body = retried('GET', doc['downloadUrl'], sub=sub)
            lines = body.decode().splitlines()
            if st != 200 or len(lines) != doc['totalRecords'] \
                    or len(body) != doc['fileSize']:
                fail('export %s download: %d, %d lines of %d' % (
                    job, st, len(lines), doc['totalRecords']))
                continue
            count('export jobs downloaded')
        except Exception as e:   # noqa: BLE001
            fail('exporter: %r' % e)
            time.sleep(1)
        time.sleep(1)


def poller():
    lists = True
    while not STOP.is_set():
        try:
            with LOCK:
                pick = random.choice(IMPORTS) if IMPORTS else None
            if pick:
                st, _, _ = request('GET', '/v1/imports/' + pick[1],
                                   sub=pick[0])
                count('status polls %d' % st)
                if st not in (200, 502, 503):
                    fail('status poll %s: %d' % (pick[1], st))
                if lists:
                    st, _, _ = request('GET', '/v1/imports?limit=20',
                                       sub=pick[0])
                    if st in (404, 405):
                        lists = False
                        log('GET /v1/imports answers %d: no job lists here,'
                            ' skipped' % st)
                    else:
                        count('job lists %d' % st)
            st, _, _ = request('GET', '/v1/health')
            count('health %d' % st)
            st, _, _ = request('GET', '/v1/metrics')
            count('metrics %d' % st)
        except (OSError, http.client.HTTPException):
            count('polls cut (restart)')
        time.sleep(0.3)


class Quiet(http.server.SimpleHTTPRequestHandler):
    """The files of URL imports (GET), and the webhooks' receiver (POST):
    a signature checked as docs/api.md shows, a third of the tries refused
    with a 500 (so that deliveries are tried again), the event ids of the
    accepted ones kept by job."""
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=ARGS.url_dir, **kw)

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        sig = dict(p.split('=', 1) for p in
                   self.headers.get('BulkIO-Signature', '').split(',')
                   if '=' in p)
        mac = hmac.new(ARGS.hook_secret.encode(),
                       sig.get('t', '').encode() + b'.' + body,
                       hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, sig.get('v1', '')):
            fail('a webhook with a bad signature: %r' % sig)
            code = 400
        elif random.random() < 1 / 3:
            count('webhook tries refused (500)')
            code = 500
        else:
            with LOCK:
                HOOKS.setdefault(json.loads(body).get('job_id'), set()).add(
                    self.headers.get('BulkIO-Event-Id'))
            count('webhooks accepted')
            code = 204
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()


# ---- figures -----------------------------------------------------------

def figures():
    kids = httpd_children()
    rss = fds = 0
    for pid in kids:
        try:
            with open('/proc/%d/status' % pid) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        rss += int(line.split()[1])
            fds += len(os.listdir('/proc/%d/fd' % pid))
        except OSError:
            pass
    return {
        'httpd children': len(kids),
        'httpd children RSS (MB)': round(rss / 1024.0, 1),
        'httpd children open fds': fds,
        'database connections': int(psql_retry(
            "SELECT count(*) FROM pg_stat_activity WHERE datname ="
            " current_database() AND pid <> pg_backend_pid()")),
        'spool files (uploads)': len([f for f in os.listdir(ARGS.spool)
                                      if not f.startswith('export-')]),
        'spool files (export jobs)': len([f for f in os.listdir(ARGS.spool)
                                          if f.startswith('export-')]),
        'rows in bulkio_job_errors': int(psql_retry(
            'SELECT count(*) FROM bulkio_job_errors')),
    }


def restart_httpd():
    log('graceful restart of httpd')
    subprocess.run([ARGS.httpd, '-f', ARGS.httpd_conf, '-k', 'graceful'],
                   check=False)
    count('graceful restarts')


def restart_pg():
    log('restarting PostgreSQL')
    subprocess.run([ARGS.bulkio_sh, 'pg-stop'], check=False)
    time.sleep(3)
    subprocess.run([ARGS.bulkio_sh, 'pg-start'], check=False)
    count('PostgreSQL restarts')


def httpd_children():
    with open(ARGS.pid_file) as f:
        parent = int(f.read().strip())
    kids = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[1]) == parent:
                kids.append(int(d))
        except OSError:
            pass
    return kids


def kill_child():
    """SIGKILL one httpd child at random: its requests break off (the
    clients retry them), its jobs are taken over once their leases end."""
    try:
        kids = httpd_children()
    except (OSError, ValueError):
        return
    if kids:
        pid = random.choice(kids)
        log('SIGKILL of httpd child %d' % pid)
        try:
            os.kill(pid, 9)
            count('httpd children killed')
        except OSError:
            pass


def terminate_backend():
    """pg_terminate_backend() of one PostgreSQL backend of the database,
    one in a transaction or a statement first (a job's, mostly)."""
    try:
        pid = psql("SELECT pid FROM pg_stat_activity"
                   " WHERE datname = current_database()"
                   " AND pid <> pg_backend_pid()"
                   " AND backend_type = 'client backend'"
                   " ORDER BY (state = 'idle' AND xact_start IS NULL),"
                   " random() LIMIT 1")
        if pid and psql('SELECT pg_terminate_backend(%d)' % int(pid)) == 't':
            log('pg_terminate_backend(%s)' % pid)
            count('PostgreSQL backends terminated')
    except (RuntimeError, ValueError):
        pass


def check_errors_stored():
    """Every import stored exactly the entries of its failed records up to
    its cap (BulkIOMaxErrorRows), none past it, and its row says so."""
    rows = psql_retry(
        "SELECT j.public_id || ' ' || j.error_count || ' ' || e.n || ' '"
        "       || j.error_rows_stored || ' '"
        "       || coalesce(j.errors_truncated_at::text, '-')"
        "  FROM bulkio_jobs j"
        "  CROSS JOIN LATERAL (SELECT count(*) AS n FROM bulkio_job_errors x"
        "                       WHERE x.job_id = j.id) e"
        " WHERE j.kind = 'import' AND (e.n <> least(j.error_count,"
        "                                           j.max_error_rows)"
        "       OR j.error_rows_stored <> e.n"
        "       OR (j.errors_truncated_at IS NULL)"
        "          = (j.error_count > j.max_error_rows))")
    for line in filter(None, rows.splitlines()[:20]):
        fail('error entries of job %s (failed, stored, its row says,'
             ' truncated at): %s' % tuple(line.split(' ', 1)))
    capped = psql_retry("SELECT count(*) || ' imports, ' || count(*) FILTER"
                        " (WHERE errors_truncated_at IS NOT NULL)"
                        " || ' of them past the error cap'"
                        " FROM bulkio_jobs WHERE kind = 'import'")
    log('error entries as the caps say: ' + capped)


def check_webhooks():
    """Every job made with a callback_url had its webhook accepted, each
    time under the same event id, and its delivery says delivered."""
    until = time.time() + 300
    while time.time() < until and int(psql_retry(
            "SELECT count(*) FROM bulkio_webhooks"
            " WHERE state NOT IN ('delivered', 'failed')")):
        time.sleep(1)
    state = dict(line.split(' ', 1) for line in psql_retry(
        "SELECT j.public_id || ' ' || w.state FROM bulkio_webhooks w"
        "  JOIN bulkio_jobs j ON j.id = w.job_id").splitlines() if line)
    bad = [job for job in HOOK_JOBS
           if state.get(job) != 'delivered' or len(HOOKS.get(job, ())) != 1]
    for job in bad[:10]:
        fail('webhook of job %s: %s, event ids accepted %s'
             % (job, state.get(job), sorted(HOOKS.get(job, ()))))
    log('webhooks: %d jobs with a callback_url, %d delivered as they should'
        % (len(HOOK_JOBS), len(HOOK_JOBS) - len(bad)))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--minutes', type=float, default=30)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--url-port', type=int, required=True)
    ap.add_argument('--url-dir', required=True)
    ap.add_argument('--conninfo', required=True)
    ap.add_argument('--secret-file', required=True)
    ap.add_argument('--pid-file', required=True)
    ap.add_argument('--spool', required=True)
    ap.add_argument('--httpd', required=True)
    ap.add_argument('--httpd-conf', required=True)
    ap.add_argument('--bulkio-sh', required=True)
    ap.add_argument('--graceful-every', type=float, default=120)
    ap.add_argument('--pg-every', type=float, default=600)
    ap.add_argument('--importers', type=int, default=3)
    ap.add_argument('--kill-every', type=float, default=45,
                    help='seconds between SIGKILLs of an httpd child (on'
                         ' average; 0: none)')
    ap.add_argument('--terminate-every', type=float, default=30,
                    help='seconds between pg_terminate_backend() calls (on'
                         ' average; 0: none)')
    ARGS = ap.parse_args()
    with open(ARGS.secret_file) as f:
        ARGS.secret = f.read().strip()
    with open(os.path.join(os.path.dirname(ARGS.secret_file),
                           'webhook.secret')) as f:
        ARGS.hook_secret = f.read().strip()
    random.seed(17)
    # a run shorter than two PostgreSQL periods restarts it once, halfway
    pg_every = ARGS.pg_every
    if ARGS.minutes * 60 < 2 * pg_every:
        pg_every = ARGS.minutes * 60 / 2

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', ARGS.url_port), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    start = figures()
    log('start: %s' % json.dumps(start))
    threads = [threading.Thread(target=importer, args=(k,))
               for k in range(ARGS.importers)]
    threads += [threading.Thread(target=f) for f in (streamer, exporter,
                                                     poller)]
    for t in threads:
        t.start()
    began = time.time()
    end = began + ARGS.minutes * 60
    next_graceful = began + ARGS.graceful_every
    next_pg = began + pg_every

    def jitter(every):
        return every * random.uniform(0.5, 1.5) if every > 0 else 1e12
    next_kill = began + jitter(ARGS.kill_every)
    next_term = began + jitter(ARGS.terminate_every)
    while time.time() < end:
        time.sleep(1)
        now = time.time()
        if now >= next_pg:
            restart_pg()
            next_pg += pg_every if pg_every == ARGS.pg_every else 1e12
        elif now >= next_graceful:
            restart_httpd()
            next_graceful += ARGS.graceful_every
        elif now >= next_kill:
            kill_child()
            next_kill = now + jitter(ARGS.kill_every)
        elif now >= next_term:
            terminate_backend()
            next_term = now + jitter(ARGS.terminate_every)
    log('load ends; waiting for the jobs in flight')
    STOP.set()
    for t in threads:
        t.join(1200)

    # every job of the run has ended, and as it should
    until = time.time() + 600
    while time.time() < until and int(psql_retry(
            "SELECT count(*) FROM bulkio_jobs"
            " WHERE status IN ('pending', 'running')")):
        time.sleep(1)
    rows = psql_retry("SELECT kind || ' ' || status || ' ' || count(*)"
                      " FROM bulkio_jobs GROUP BY kind, status"
                      " ORDER BY kind, status")
    log('jobs by kind and status: ' + rows.replace('\n', ', '))
    status = dict(line.split(' ', 1) for line in psql_retry(
        "SELECT public_id || ' ' || status FROM bulkio_jobs").splitlines())
    want = dict((job, st) for _, job, _, st in IMPORTS)
    want.update((job, 'completed') for _, job in EXPORTS)
    bad = sorted('%s %s (expected %s)' % (job, status.get(job), st)
                 for job, st in want.items() if status.get(job) != st)
    if bad:
        fail('%d jobs did not end as expected: %s' % (len(bad),
                                                      ', '.join(bad[:5])))
    n_jobs = int(psql_retry('SELECT count(*) FROM bulkio_jobs'))
    if n_jobs != len(IMPORTS) + len(EXPORTS):
        fail('%d jobs in the database, %d posted (a retried POST made a'
             ' second job?)' % (n_jobs, len(IMPORTS) + len(EXPORTS)))
    for res in ('users', 'articles', 'comments'):
        got = int(psql_retry('SELECT count(*) FROM %s' % res))
        log('%s: %d rows, %d valid records sent' % (res, got, EXPECTED[res]))
        if got != EXPECTED[res]:
            fail('%s: %d rows in the table, %d valid records sent'
                 % (res, got, EXPECTED[res]))
    check_errors_stored()
    check_webhooks()
    time.sleep(3)   # let finished requests release their connections
    final = figures()
    srv.shutdown()

    log('figures          start      end')
    for k in start:
        log('  %-28s %10s %10s' % (k, start[k], final[k]))
    for k in sorted(STATS):
        log('  %-40s %d' % (k, STATS[k]))
    log('%d import jobs, %d export jobs, %d failures'
        % (len(IMPORTS), len(EXPORTS), len(FAILURES)))
    for f in FAILURES[:20]:
        log('  ' + f)
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
