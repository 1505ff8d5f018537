#!/usr/bin/env python3
"""mod_bulkio's benchmark: imports and exports through the HTTP API against
PostgreSQL's own COPY (and, for users, pgloader) on the same data, in one
run. Run by `make bench`, which starts a dedicated local installation
(BULKIO_RUN_DIR=.bench).

    bench/bench.py [--rows N] [--runs 3] [--big N] [--out bench/results.md]

The data is scripts/gendata.pl's, seeded, with --ids random: v4 UUIDs,
emails and slugs in no key order, as real clients send them; the users
import is measured once more with sequential ids, as a second figure.

How a figure is taken. Each row is --runs (3) interleaved rounds: a round
runs ours, then the baseline (psql \\copy of the rows our import left into
an identical scratch schema, bench_copy, with the same indexes and
foreign keys; for exports COPY (the same SELECT) TO STDOUT), and for the
users import pgloader on the same CSV file into an empty copy of the table
(bench_pgl.users). Before each run its target table is emptied
(TRUNCATE ... RESTART IDENTITY CASCADE, the same for every tool; a
re-import's table is restored to the imported rows instead) and a
CHECKPOINT is taken. An import's time runs from the start of the upload
(curl started) to the job's end, its completedAt (set by the worker's
final UPDATE, after the last batch committed, on this machine's clock);
an export job's from its POST to its completedAt; \\copy, COPY TO,
pgloader and the streamed exports are the wall time of their process. The
ratio is the median of the rounds' ratios (ours / the baseline of the same
round), the spread their minimum and maximum. rows/CPU-s is rows per CPU
second of httpd (all its processes), the PostgreSQL cluster (all its
processes: backends, WAL writer, checkpointer, autovacuum) and the client
(curl, psql, pgloader): the rate per fully busy core.

Rows: users, articles, comments, valid and with 5 % invalid records; a dry
run of the users file (at most 1.2 times the import); the users file
re-imported with every row unchanged, every name changed, and as a file of
only `id,name` (a partial update of every name), the last two once more
with users at fillfactor 70 (migration 014's bulkio_set_fillfactor(), the
operator's choice for a table re-imported often; the default is 100) as a
second figure against the same \\copy; each resource exported,
streamed and as an export job, plain and gzip (with the file sizes); the
users import on the database spool against the file spool (the server
restarted between); httpd's peak resident memory for N and 5N users on a
warm server; ab on GET /v1/imports/{id} while three imports run (and the
server's own time for those requests, from the access log); the users
import with per-record results (BulkIOImportResults On, the default)
against the same import without them (Off), the server restarted before
each run (at most 1.1 times).

    bench/bench.py --only results,spools   those sections alone (imports,
    exports, spools, results, invalid, memory, latency); the table is
    printed and bench/results.md left alone
"""
import argparse
import calendar
import collections
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rss  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TOP, 'bench', 'data')
MB = 1024.0 * 1024.0
RESOURCES = ('users', 'articles', 'comments')
# issue 26's targets: time against \copy (COPY TO) in the same round
TARGET = {('users', 'valid'): 1.15, ('articles', 'valid'): 1.1,
          ('comments', 'valid'): 1.0, ('users', 'invalid5'): 1.25,
          ('articles', 'invalid5'): 1.25, ('comments', 'invalid5'): 1.25}
UNCHANGED_TARGET = 1.3    # re-import, every row unchanged
CHANGED_TARGET = 2.0      # re-import, every row changed
PARTIAL_TARGET = 2.0      # re-import of id,name only
FILLFACTOR = 70           # users' in the second figure of those two
STREAM_TARGET = 1.0       # GET /v1/exports against COPY TO
EXPORT_JOB_TARGET = 1.05  # POST /v1/exports, file in the spool
DB_SPOOL_TARGET = 1.15    # the users import, database spool against file
RESULTS_TARGET = 1.10     # the users import with results, against without
P99_TARGET = 20           # ms, GET /v1/imports/{id} while 3 imports run
IDS = 'random'            # gendata.pl --ids of every file but one row
FORMAT = {'users': 'csv', 'articles': 'ndjson', 'comments': 'ndjson'}
CTYPE = {'csv': 'text/csv', 'ndjson': 'application/x-ndjson'}
FIELDS = ('id', 'email', 'name', 'role', 'active', 'created_at',
          'updated_at')
COLUMNS = ('external_id',) + FIELDS[1:]

# One timed run: seconds, CPU seconds (httpd, PostgreSQL, client), httpd's
# peak RSS and its growth (MB), and what the run returned.
Run = collections.namedtuple('Run', 'secs cpu mem result')


def bulkio(*args):
    return subprocess.run([os.path.join(TOP, 'scripts', 'bulkio.sh')]
                          + list(args), check=True, capture_output=True,
                          text=True).stdout.strip()


def epoch(ts):
    """A job document's time (2026-12-07T02:21:38.436Z) as Unix seconds."""
    return calendar.timegm(time.strptime(ts[:19], '%Y-%m-%dT%H:%M:%S')) \
        + float('0' + ts[19:].rstrip('Z') or 0)


def as_runs(x, mem=None):
    """A list of runs, from a list of runs or one time in seconds."""
    if x is None or isinstance(x, list):
        return x
    return [Run(x, None, mem, None)]


def spread(values):
    return statistics.median(values), min(values), max(values)


class Bench:
    def __init__(self, rows, port, runs):
        self.rows = rows
        self.runs = runs
        self.base = 'http://127.0.0.1:%d' % port
        self.db = bulkio('conninfo')
        os.environ['PGOPTIONS'] = '-c client_min_messages=warning'
        self.token = bulkio('token')
        run_dir = os.environ['BULKIO_RUN_DIR']
        self.pidfile = os.path.join(run_dir, 'httpd.pid')
        self.pg_pidfile = os.path.join(run_dir, 'pgdata', 'postmaster.pid')
        self.spool = os.path.join(run_dir, 'spool')
        self.table = []
        self.modes = []     # the dry run and the partial re-import, said
        self.spool_notes = []
        self.notes = []     # pgloader and the sequential ids, said
        self.started = time.monotonic()

    def psql(self, sql, out=None):
        return subprocess.run(['psql', self.db, '-v', 'ON_ERROR_STOP=1',
                               '-Atqc', sql], check=True, text=True,
                              stdout=out or subprocess.PIPE).stdout

    def count(self, sql):
        return int(self.psql('SELECT count(*) FROM ' + sql))

    def api(self, path, body=None):
        headers = {'Authorization': 'Bearer ' + self.token}
        if body is not None:
            body = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(self.base + path, data=body,
                                     headers=headers)
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)

    # ---- one run, and runs in rounds ----------------------------------

    def cpu(self):
        """CPU seconds so far of httpd's processes, the PostgreSQL cluster's
        and this script's finished children (curl, psql, pgloader)."""
        pg = 0.0
        if os.path.exists(self.pg_pidfile):
            with open(self.pg_pidfile) as f:
                pg = rss.cpu(int(f.readline()))
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (rss.cpu(int(open(self.pidfile).read())), pg,
                ch.ru_utime + ch.ru_stime)

    def run(self, fn, prepare=None, check=None):
        """One run: prepare (not timed: empty the target), CHECKPOINT, then
        fn, timed to its return or, when it returns a job document, to the
        job's completedAt; httpd's RSS sampled meanwhile; then check(the
        result), not timed."""
        if prepare:
            prepare()
        self.psql('CHECKPOINT')
        parent = int(open(self.pidfile).read())
        base = rss.rss(rss.children(parent))
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss.rss(rss.children(parent)))
                time.sleep(0.05)
        t = threading.Thread(target=sample)
        t.start()
        cpu = self.cpu()
        start = time.time()
        try:
            result = fn()
        finally:
            stop = time.time()
            done.set()
            t.join()
        cpu = tuple(b - a for a, b in zip(cpu, self.cpu()))
        if isinstance(result, dict) and result.get('completedAt'):
            stop = epoch(result['completedAt'])
        if check:
            check(result)
        return Run(stop - start, cpu, (peak[0] / MB, (peak[0] - base) / MB),
                   result)

    def measure(self, fn):
        """One run of fn: its seconds, httpd's peak RSS and its growth
        (MB), its result."""
        r = self.run(fn)
        return r.secs, r.mem, r.result

    def rounds(self, *steps):
        """Each step (name, prepare, fn[, check]) run self.runs times,
        interleaved: every step once in order, then again; {name: runs}."""
        out = collections.OrderedDict((s[0], []) for s in steps)
        for _ in range(self.runs):
            for name, prepare, fn, *check in steps:
                out[name].append(self.run(fn, prepare, *check))
        return out

    # ---- the steps ------------------------------------------------------

    def datafile(self, resource, profile, count, ids=IDS):
        path = os.path.join(DATA, '%s-%s-%s-%d.%s'
                            % (resource, profile, ids, count,
                               FORMAT[resource]))
        if not os.path.exists(path):
            os.makedirs(DATA, exist_ok=True)
            with open(path + '.tmp', 'w') as f:
                subprocess.run(['perl', os.path.join(TOP, 'scripts',
                                                     'gendata.pl'),
                                '--resource', resource,
                                '--format', FORMAT[resource],
                                '--count', str(count), '--users', str(count),
                                '--articles', str(count),
                                '--profile', profile, '--ids', ids],
                               check=True, stdout=f)
            os.rename(path + '.tmp', path)
        return path

    def changed(self, path):
        """The users file with every name changed."""
        out = path.replace('.csv', '-changed.csv')
        if not os.path.exists(out):
            with open(path) as f, open(out + '.tmp', 'w') as g:
                for line in f:
                    g.write(line.replace(',User ', ',Renamed User ', 1))
            os.rename(out + '.tmp', out)
        return out

    def partial(self, path):
        """The users file as id,name only, every name changed again."""
        out = path.replace('.csv', '-partial.csv')
        if not os.path.exists(out):
            with open(path) as f, open(out + '.tmp', 'w') as g:
                g.write('id,name\n')
                next(f)
                for line in f:
                    cells = line.split(',', 3)
                    g.write('%s,Partial %s\n' % (cells[0], cells[2]))
            os.rename(out + '.tmp', out)
        return out

    def upload(self, resource, path, query=''):
        out = subprocess.run(
            ['curl', '-sS', '--fail-with-body', '-X', 'POST', '-T', path,
             '-H', 'Authorization: Bearer ' + self.token,
             '-H', 'Content-Type: ' + CTYPE[FORMAT[resource]],
             '%s/v1/imports?resource=%s%s' % (self.base, resource, query)],
            check=True, capture_output=True, text=True).stdout
        return json.loads(out)['job_id']

    def wait(self, job, kind='imports'):
        while True:
            doc = self.api('/v1/%s/%s' % (kind, job))
            if doc['status'] in ('completed', 'failed', 'canceled'):
                if doc['status'] != 'completed':
                    sys.exit('bench: job %s ended %s: %s'
                             % (job, doc['status'], doc.get('reason')))
                return doc
            time.sleep(0.25)

    def ours(self, resource, path, query=''):
        """The import through the API: its job document when it is done,
        with the upload's seconds (the POST until its 202) as _upload."""
        def fn():
            start = time.time()
            job = self.upload(resource, path, query)
            upload = time.time() - start
            doc = self.wait(job)
            doc['_upload'] = upload
            return doc
        return fn

    def export_job(self, res, fmt, compression=None):
        body = {'resource': res, 'format': fmt}
        if compression:
            body['compression'] = compression
        return lambda: self.wait(self.api('/v1/exports', body)['job_id'],
                                 'exports')

    def empty(self, schema, res):
        """Empty a target table, the same way for every tool."""
        def fn():
            self.psql('TRUNCATE %s.%s RESTART IDENTITY CASCADE'
                      % (schema, res))
            self.clean_spool()
        return fn

    def dump_then_empty(self, res, dump):
        """The \\copy baseline's input: the rows our import left (once),
        then bench_copy's table emptied."""
        def fn():
            if not os.path.exists(dump):
                self.psql('\\copy public.%s TO %s (FORMAT csv)' % (res, dump))
            self.empty('bench_copy', res)()
        return fn

    def copy_in(self, res, dump):
        return lambda: self.psql('\\copy bench_copy.%s FROM %s (FORMAT csv)'
                                 % (res, dump))

    def pgloader(self, path):
        """pgloader (Debian's package, its defaults) loading the users CSV
        into bench_pgl.users, a copy of the table with its indexes."""
        kv = dict(w.split('=', 1) for w in self.db.split())
        host = kv.get('host', 'localhost')
        where = ('unix:%s:%s' % (host, kv.get('port', '5432'))
                 if host.startswith('/') else
                 '%s:%s' % (host, kv.get('port', '5432')))
        root = os.path.join(DATA, 'pgloader')
        os.makedirs(root, exist_ok=True)
        load = os.path.join(root, 'users.load')
        with open(load, 'w') as f:
            f.write("LOAD CSV FROM '%s' (%s)\n"
                    "  INTO postgresql://%s@%s/%s?bench_pgl.users (%s)\n"
                    "  WITH skip header = 1, fields terminated by ',',\n"
                    "       fields optionally enclosed by '\"';\n"
                    % (path, ', '.join(COLUMNS), kv.get('user', 'bulkio'),
                       where, kv.get('dbname', 'bulkio'), ', '.join(COLUMNS)))
        return lambda: subprocess.run(
            ['pgloader', '--root-dir', root, '--logfile',
             os.path.join(root, 'pgloader.log'), load], check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def reset(self):
        self.psql('TRUNCATE comments, articles, users, bulkio_jobs,'
                  ' bulkio_idempotency_keys RESTART IDENTITY CASCADE;'
                  ' DROP SCHEMA IF EXISTS bench_copy CASCADE;'
                  ' CREATE SCHEMA bench_copy;'
                  ' DROP SCHEMA IF EXISTS bench_pgl CASCADE;'
                  ' CREATE SCHEMA bench_pgl;'
                  ' CREATE TABLE bench_pgl.users'
                  ' (LIKE public.users INCLUDING ALL)')
        for res in RESOURCES:
            self.psql('CREATE TABLE bench_copy.%s (LIKE public.%s'
                      ' INCLUDING ALL)' % (res, res))
        fks = self.psql("SELECT conrelid::regclass, conname,"
                        " pg_get_constraintdef(oid) FROM pg_constraint"
                        " WHERE contype = 'f' AND connamespace ="
                        " 'public'::regnamespace"
                        " AND conrelid::regclass::text IN"
                        " ('articles', 'comments')")
        for line in fks.splitlines():
            table, name, cdef = line.split('|')
            self.psql('SET search_path = bench_copy; ALTER TABLE %s'
                      ' ADD CONSTRAINT %s %s' % (table, name, cdef))
        self.clean_spool()

    def mirror(self, res):
        """bench_copy's copy of a referenced table made the same as ours,
        so that the \\copy of the rows that refer to it finds them."""
        self.psql('TRUNCATE bench_copy.%s RESTART IDENTITY CASCADE;'
                  ' INSERT INTO bench_copy.%s OVERRIDING SYSTEM VALUE'
                  ' SELECT * FROM public.%s' % (res, res, res))

    def clean_spool(self):
        for name in os.listdir(self.spool):
            path = os.path.join(self.spool, name)
            if os.path.isfile(path):
                os.unlink(path)

    # ---- the table ----------------------------------------------------

    def add(self, what, rows, ours, base=None, target=None, mem=None):
        """One row: ours and base are the runs (paired by round) or one
        time in seconds each; mem, when given, replaces the runs' RSS."""
        ours, base = as_runs(ours, mem), as_runs(base)
        ratio = spread([o.secs / b.secs for o, b in zip(ours, base)]) \
            if base else None
        row = {'what': what, 'rows': rows,
               'secs': statistics.median(r.secs for r in ours),
               'cpu': self.per_cpu(rows, ours),
               'base': statistics.median(r.secs for r in base)
               if base else None,
               'base_cpu': self.per_cpu(rows, base), 'ratio': ratio,
               'target': target,
               'mem': mem or (max(r.mem[0] for r in ours),
                              max(r.mem[1] for r in ours))}
        self.table.append(row)
        print('%-44s %8d rows %7.2f s %8.0f rows/s %s  baseline %s  ratio %s'
              '  RSS %.1f MB (+%.1f)'
              % (what, rows, row['secs'], rows / row['secs'],
                 '%.0f rows/CPU-s' % row['cpu'] if row['cpu'] else '',
                 '%.2f s' % row['base'] if base else '-',
                 '%.2f (%.2f-%.2f)' % ratio if ratio else '-',
                 *row['mem']), flush=True)
        return row

    @staticmethod
    def per_cpu(rows, runs):
        if not runs or any(r.cpu is None for r in runs):
            return None
        return rows / statistics.median(sum(r.cpu) for r in runs)

    # ---- imports ------------------------------------------------------

    def import_check(self, res, profile):
        def check(doc):
            if doc['totalRecords'] != self.rows or (
                    profile == 'valid' and doc['errorCount']):
                sys.exit('bench: %s import gave %s' % (res, doc))
        return check

    def imports(self, profile):
        self.reset()
        for res in RESOURCES:
            if res == 'users' and profile == 'valid':
                self.sequential()
            if res != 'users':
                self.mirror({'articles': 'users',
                             'comments': 'articles'}[res])
            path = self.datafile(res, profile, self.rows)
            dump = os.path.join(DATA, 'copy-%s.csv' % res)
            main = res == 'users' and profile == 'valid'
            steps = [('ours', self.empty('public', res),
                      self.ours(res, path), self.import_check(res, profile)),
                     ('copy', self.dump_then_empty(res, dump),
                      self.copy_in(res, dump))]
            if main:
                # first a dry run of the same file (nothing changes), last
                # pgloader on the same file
                def dry_check(doc):
                    if not doc['dryRun'] or self.count('users'):
                        sys.exit('bench: users dry run gave %s' % doc)
                steps.insert(0, ('dry', self.empty('public', res),
                                 self.ours(res, path, '&dry_run=true'),
                                 dry_check))
                def pgl_check(_):
                    n = self.count('bench_pgl.users')
                    if n != self.rows:
                        sys.exit('bench: pgloader loaded %d rows' % n)
                steps.append(('pgloader', self.empty('bench_pgl', res),
                              self.pgloader(path), pgl_check))
            r = self.rounds(*steps)
            rows = self.count(res)
            last = r['ours'][-1].result
            self.add('import %s %s (%s)' % (res, profile, FORMAT[res]),
                     last['totalRecords'], r['ours'], r['copy'],
                     TARGET[(res, profile)])
            print('    %d rows, %d failed records' % (rows,
                                                       last['errorCount']))
            if main:
                self.pgloader_row(r)
                self.dry_row(r)
                self.reimports(path, rows, dump)
            os.unlink(dump)

    def pgloader_row(self, r):
        row = self.add('pgloader users valid (csv), the same file',
                       self.rows, r['pgloader'], r['copy'])
        ours = [o.secs / p.secs for o, p in zip(r['ours'], r['pgloader'])]
        self.notes.append(
            'pgloader (Debian\'s package with its defaults, the table\'s'
            ' indexes kept) loaded the same'
            ' users CSV into an empty copy of the table in %.2f s, %.2f×'
            ' `\\copy` (%.2f–%.2f); ours took %.2f× pgloader\'s time'
            ' (%.2f–%.2f)' % ((row['secs'],) + row['ratio']
                              + spread(ours)))

    def dry_row(self, r):
        counts = ('totalRecords', 'successCount', 'insertedCount',
                  'updatedCount', 'errorCount')
        for dry, imp in zip(r['dry'], r['ours']):
            if [dry.result[k] for k in counts] != \
                    [imp.result[k] for k in counts]:
                sys.exit('bench: the dry run counted %s, the import %s'
                         % (dry.result, imp.result))
        # its target against COPY: 1.2 times the import's
        self.add('dry run users valid (csv)', self.rows, r['dry'], r['copy'],
                 1.2 * TARGET[('users', 'valid')])
        self.modes.append('the dry run of the users file took %.2f×'
                          ' the import (%.2f–%.2f; target ≤ 1.2×)'
                          % spread([d.secs / i.secs for d, i
                                    in zip(r['dry'], r['ours'])]))

    def sequential(self):
        """The users import with sequential ids (the bench's data before
        issue 26): a second figure beside the random ids'."""
        path = self.datafile('users', 'valid', self.rows, 'sequential')
        dump = os.path.join(DATA, 'copy-users-sequential.csv')
        r = self.rounds(('ours', self.empty('public', 'users'),
                         self.ours('users', path),
                         self.import_check('users', 'valid')),
                        ('copy', self.dump_then_empty('users', dump),
                         self.copy_in('users', dump)))
        os.unlink(dump)
        self.add('import users valid (csv), sequential ids', self.rows,
                 r['ours'], r['copy'])

    def restore(self, fillfactor=100):
        """users as the import left it (copied to bench_copy.users_snap
        once), at fillfactor: a re-import starts from the same table each
        round."""
        self.psql("SELECT bulkio_set_fillfactor('users', %d);"
                  ' TRUNCATE public.users CASCADE;'
                  ' INSERT INTO public.users OVERRIDING SYSTEM VALUE'
                  ' SELECT * FROM bench_copy.users_snap ORDER BY id'
                  % fillfactor)
        self.psql('VACUUM (ANALYZE) public.users')
        self.clean_spool()

    def reimports(self, path, rows, dump):
        """The users file again (every row unchanged), with every name
        changed, and as id,name only; each round from the imported table,
        against \\copy into an empty one."""
        self.psql('CREATE TABLE bench_copy.users_snap AS'
                  ' SELECT * FROM public.users')

        def at(fillfactor):
            return lambda: self.restore(fillfactor)

        def check(what, n, sql):
            def fn(doc):
                if doc['successCount'] != rows or doc[what] != rows or \
                        (sql and self.count(sql) != rows) or \
                        self.count('users') != rows:
                    sys.exit('bench: users re-import gave %s' % doc)
            return fn
        renamed = check('updatedCount', rows,
                        "users WHERE name LIKE 'Renamed User %'")
        # a partial update keeps the columns the file does not carry
        partial = check('updatedCount', rows,
                        "users WHERE name LIKE 'Partial User %'"
                        " AND email LIKE '%@example.com'")
        r = self.rounds(
            ('unchanged', self.restore, self.ours('users', path),
             check('unchangedCount', rows, None)),
            ('copy', self.dump_then_empty('users', dump),
             self.copy_in('users', dump)),
            ('changed', self.restore, self.ours('users', self.changed(path)),
             renamed),
            ('partial', self.restore, self.ours('users', self.partial(path)),
             partial),
            ('changed_ff', at(FILLFACTOR),
             self.ours('users', self.changed(path)), renamed),
            ('partial_ff', at(FILLFACTOR),
             self.ours('users', self.partial(path)), partial))
        self.add('re-import users valid (csv), all unchanged', rows,
                 r['unchanged'], r['copy'], UNCHANGED_TARGET)
        self.add('re-import users valid (csv), all changed', rows,
                 r['changed'], r['copy'], CHANGED_TARGET)
        self.add('re-import users (csv id,name), partial, all changed', rows,
                 r['partial'], r['copy'], PARTIAL_TARGET)
        self.add('re-import users valid (csv), all changed, fillfactor %d'
                 % FILLFACTOR, rows, r['changed_ff'], r['copy'],
                 CHANGED_TARGET)
        self.add('re-import users (csv id,name), partial, fillfactor %d'
                 % FILLFACTOR, rows, r['partial_ff'], r['copy'],
                 PARTIAL_TARGET)
        self.modes.append('the partial re-import (id,name) took %.2f× the'
                          ' full re-import with every name changed'
                          ' (%.2f–%.2f; target ≤ 1×)'
                          % spread([p.secs / c.secs for p, c
                                    in zip(r['partial'], r['changed'])]))
        self.restore()

    # ---- spools -------------------------------------------------------

    def restart(self, spool, results='on'):
        """Restart the installation with BulkIOSpool spool and
        BulkIOImportResults results."""
        conf = os.path.join(os.environ['BULKIO_RUN_DIR'], 'bench-spool.conf')
        with open(conf, 'w') as f:
            f.write('BulkIOSpool %s\nBulkIOImportResults %s\n'
                    % (spool, results))
        os.environ['BULKIO_EXTRA_CONF'] = conf
        bulkio('stop')
        bulkio('start')
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base + '/v1/health', timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        sys.exit('bench: the server did not come back')

    def spools(self):
        """The users import through the file spool, then the database
        spool, the server restarted before each run: the upload's
        throughput and the whole import's time."""
        self.reset()
        path = self.datafile('users', 'valid', self.rows)
        size = os.path.getsize(path)
        objects = []

        def step(spool):
            def prepare():
                self.restart(spool)
                self.empty('public', 'users')()

            def check(doc):
                if doc['successCount'] != self.rows:
                    sys.exit('bench: users import (%s spool) gave %s'
                             % (spool, doc))
                if spool == 'database':
                    objects.append(self.count('pg_largeobject_metadata'))
            return (spool, prepare, self.ours('users', path), check)
        r = self.rounds(step('file'), step('database'))
        for spool in ('file', 'database'):
            up = statistics.median(x.result['_upload'] for x in r[spool])
            self.spool_notes.append(
                'upload of %d users (%.1f MB), %s spool: %.2f s, %.0f MB/s'
                ' (median)' % (self.rows, size / MB, spool, up, size / MB / up))
            print('    ' + self.spool_notes[-1], flush=True)
        self.spool_notes[-1] += ('; large objects left after each import:'
                                 ' %s' % ', '.join(map(str, objects)))
        self.add('import users valid (csv), database spool'
                 ' (baseline: file spool)', self.rows, r['database'],
                 r['file'], DB_SPOOL_TARGET)
        self.restart('file')

    def results(self):
        """The users import with per-record results against the same
        import without them (BulkIOImportResults Off), the server restarted
        before each run."""
        self.reset()
        path = self.datafile('users', 'valid', self.rows)

        def step(results):
            def prepare():
                self.restart('file', results)
                self.empty('public', 'users')()

            def check(doc):
                stored = int(self.psql(
                    'SELECT coalesce(sum(records), 0) FROM bulkio_job_results'
                    ' r JOIN bulkio_jobs j ON j.id = r.job_id'
                    " WHERE j.public_id = '%s'" % doc['job_id']))
                if doc['successCount'] != self.rows or stored != (
                        self.rows if results == 'on' else 0):
                    sys.exit('bench: users import (results %s) gave %s,'
                             ' %d entries' % (results, doc, stored))
            return (results, prepare, self.ours('users', path), check)
        r = self.rounds(step('off'), step('on'))
        size = int(self.psql(
            "SELECT pg_total_relation_size('bulkio_job_results')"))
        row = self.add('import users valid (csv), per-record results'
                       ' (baseline: without)', self.rows, r['on'], r['off'],
                       RESULTS_TARGET)
        self.modes.append('per-record results of the users import: %.2f×'
                          ' the same import without them (%.2f–%.2f; target'
                          ' ≤ 1.1×), %.1f MB in bulkio_job_results after %d'
                          ' imports with them'
                          % (row['ratio'] + (size / MB, self.runs)))
        print('    ' + self.modes[-1], flush=True)
        self.restart('file')

    # ---- exports ------------------------------------------------------

    def exports(self):
        """Each resource and format streamed, as an export job, and both
        gzip-compressed, interleaved with COPY (the same SELECT) TO STDOUT;
        the gzip rows are labelled with the file sizes. The tables are
        vacuumed first, as autovacuum would leave them: otherwise its run
        after the imports races the first rounds for the 2 cores, and the
        first reader of each fresh row sets its hint bits."""
        for res in RESOURCES:
            self.psql('VACUUM (ANALYZE) public.%s' % res)
        for res in RESOURCES:
            rows = self.count(res)
            sql = subprocess.run([os.path.join(TOP, 'build', 'bench',
                                               'export_sql'), res],
                                 check=True, capture_output=True,
                                 text=True).stdout.strip()
            for fmt in ('ndjson', 'csv'):
                url = '%s/v1/exports?resource=%s&format=%s' % (self.base,
                                                               res, fmt)
                wire = os.path.join(DATA, 'wire.gz')

                def copy_to():
                    with open(os.devnull, 'w') as null:
                        self.psql('COPY (%s) TO STDOUT (FORMAT csv)' % sql,
                                  out=null)

                def stream(gzip=False):
                    def fn():
                        subprocess.run(
                            ['curl', '-sS', '--fail', '-o',
                             wire if gzip else '/dev/null', '-H',
                             'Authorization: Bearer ' + self.token]
                            + (['-H', 'Accept-Encoding: gzip'] if gzip
                               else []) + [url], check=True)
                        return os.path.getsize(wire) if gzip else None
                    return fn
                r = self.rounds(
                    ('copy', None, copy_to),
                    ('stream', None, stream()),
                    ('job', self.clean_spool, self.export_job(res, fmt)),
                    ('gzstream', None, stream(True)),
                    ('gzjob', self.clean_spool,
                     self.export_job(res, fmt, 'gzip')))
                os.unlink(wire)
                self.clean_spool()
                plain = r['job'][-1].result['fileSize']
                packed = r['gzjob'][-1].result['fileSize']
                self.add('export %s %s' % (res, fmt), rows, r['stream'],
                         r['copy'], STREAM_TARGET)
                self.add('export job %s %s' % (res, fmt), rows, r['job'],
                         r['copy'], EXPORT_JOB_TARGET)
                self.add('export %s %s, gzip stream (%.1f MB)'
                         % (res, fmt, r['gzstream'][-1].result / MB), rows,
                         r['gzstream'], r['copy'])
                self.add('export job %s %s gzip (%.1f MB of %.1f MB, %.0f%%)'
                         % (res, fmt, packed / MB, plain / MB,
                            100.0 * packed / plain), rows, r['gzjob'],
                         r['copy'])

    # ---- memory and status latency ------------------------------------

    def memory(self, count):
        """Peak RSS of a warm server importing N users, then 5N users."""
        self.big_rows = count
        self.mem = []
        self.reset()
        for n in (self.rows, count):
            path = self.datafile('users', 'valid', n)
            r = self.run(self.ours('users', path),
                         self.empty('public', 'users'),
                         lambda doc, n=n: doc['successCount'] == n
                         or sys.exit('bench: memory run gave %s' % doc))
            self.add('import users valid (csv), memory run', n, [r])
            self.mem.append(r.mem)

    def latency(self):
        self.reset()
        path = self.datafile('users', 'valid', self.rows)
        jobs = [self.upload('users', path)]
        for res in ('articles', 'comments'):
            jobs.append(self.upload(res, self.datafile(res, 'valid',
                                                       self.rows)))
        log = os.path.join(os.environ['BULKIO_RUN_DIR'], 'logs',
                           'access_log')
        seen = os.path.getsize(log)
        out = subprocess.run(
            ['ab', '-q', '-n', '2000', '-c', '4', '-H',
             'Authorization: Bearer ' + self.token,
             '%s/v1/imports/%s' % (self.base, jobs[0])],
            check=True, capture_output=True, text=True).stdout
        running = self.api('/v1/imports/' + jobs[2])['status']
        # the server's own time for each of ab's requests (%D, the last
        # field of the access log: from reading the request to the end of
        # the response), without ab's waits for the CPU it shares
        with open(log) as f:
            f.seek(seen)
            served = sorted(int(line.split()[-1]) for line in f
                            if ' /v1/imports/%s HTTP/1.0" ' % jobs[0]
                            in line)
        for job in jobs:
            self.wait(job)
        self.clean_spool()
        pct = dict(re.findall(r'^\s+(\d+)%\s+(\d+)', out, re.M))
        failed = re.search(r'Non-2xx responses:\s+(\d+)', out)
        return int(pct['50']), int(pct['99']), running, \
            int(failed.group(1)) if failed else 0, \
            [served[int(len(served) * q)] / 1000.0 for q in (0.5, 0.99)]

    # ---- report -------------------------------------------------------

    def report(self, p50, p99, running, failed, served, out):
        head = ('| run | rows | seconds | rows/s | rows/CPU-s | baseline s'
                ' | baseline rows/CPU-s | ratio | spread | target'
                ' | peak httpd RSS | growth |\n'
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n')

        def opt(fmt, v):
            return fmt % v if v else '-'
        lines = []
        for t in self.table:
            ratio = t['ratio']
            lines.append('| %s | %d | %.2f | %.0f | %s | %s | %s | %s | %s'
                         ' | %s | %.1f MB | %.1f MB |'
                         % (t['what'], t['rows'], t['secs'],
                            t['rows'] / t['secs'], opt('%.0f', t['cpu']),
                            opt('%.2f', t['base']),
                            opt('%.0f', t['base_cpu']),
                            opt('%.2f×', ratio and ratio[0]),
                            opt('%.2f–%.2f', ratio and ratio[1:]),
                            opt('≤ %.2f×', t['target']), *t['mem']))
        small, big = self.mem
        flat = ('Peak httpd RSS importing %d users: %.1f MB (growth %.1f MB);'
                ' %d users: %.1f MB (growth %.1f MB), %+.1f%% (target'
                ' within 10%%, growth ≤ 64 MB).'
                % (self.rows, small[0], small[1], self.big_rows, big[0],
                   big[1], 100.0 * (big[0] - small[0]) / small[0]))
        lat = ('GET /v1/imports/{id} while three imports run (ab -n 2000'
               ' -c 4): p50 %d ms, p99 %d ms (target p99 ≤ %d ms); %d'
               ' non-2xx; the third import was %s when ab finished. The'
               ' server\'s own time for the same requests (the access'
               ' log\'s %%D, without ab\'s waits for the CPU it shares with'
               ' the imports): p50 %.1f ms, p99 %.1f ms.'
               % (p50, p99, P99_TARGET, failed, running, *served))
        cpu = subprocess.run(['nproc'], capture_output=True,
                             text=True).stdout.strip()
        modes = 'Modes: %s.' % '; '.join(self.modes) if self.modes else ''
        notes = ''.join('- %s.\n' % n for n in self.notes)
        minutes = (time.monotonic() - self.started) / 60
        text = ('# mod_bulkio benchmark\n\n%s, %s cores, %d rows per'
                ' resource, %d interleaved rounds per row, %.0f minutes in'
                ' all. Ratios are ours against `psql \\copy` of the same'
                ' rows (exports: `COPY (the same SELECT) TO STDOUT`), the'
                ' median of the rounds\' ratios, with their spread (min–max);'
                ' an import is timed from the start of its upload to its'
                ' job\'s `completedAt`, after a `CHECKPOINT`, into an'
                ' emptied table; rows/CPU-s counts the CPU time of httpd,'
                ' the PostgreSQL cluster and the client (bench/bench.py'
                ' says how). Ids are random v4 UUIDs, emails and slugs in'
                ' no key order (`gendata.pl --ids random`).\n\n%s%s\n\n%s%s'
                '\n\n%s\n\n%s\n'
                % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), cpu,
                   self.rows, self.runs, minutes, head, '\n'.join(lines),
                   notes + '\n' if notes else '', modes, flat, lat))
        if self.spool_notes:
            text += '\n' + '\n'.join('- ' + n for n in self.spool_notes) \
                    + '\n'

        print('\n' + text)
        with open(out, 'w') as f:
            f.write(text)
        self.chart(os.path.splitext(out)[0] + '.png', cpu)

    def chart(self, png, cpu):
        """The ratios as horizontal bars (gnuplot) with their spread as
        whiskers and their target as a black mark: ours green where the
        target is met, red where not, slate where it has none; pgloader
        blue; psql \\copy grey, the baseline at 1."""
        rows = []
        for t in self.table:
            if not t['ratio']:
                continue
            mid, lo, hi = t['ratio']
            colour = (0x3a6ea5 if t['what'].startswith('pgloader')
                      else 0x7a8a99 if not t['target']
                      else 0x2e8b57 if mid <= t['target'] else 0xcd3333)
            rows.append((t['what'], mid, lo, hi, t['target'] or 0, colour))
            if t['what'] == 'import users valid (csv)':
                rows.append(('psql \\\\copy, the same rows (the baseline)',
                             1.0, 1.0, 1.0, 0, 0xaaaaaa))
        data = png + '.dat'
        with open(data, 'w', encoding='utf-8') as f:
            for i, r in enumerate(reversed(rows)):
                # the label as the table writes the ratio (gnuplot would
                # round the three decimals here a second time)
                f.write('%d "%s" %.3f %.3f %.3f %.3f %d "%.2f×"\n'
                        % ((i,) + tuple(r) + (r[1],)))
        top = max(max(r[3], r[4]) for r in rows)
        script = """
set terminal pngcairo noenhanced size 1300,%d font 'DejaVu Sans,11'
set output '%s'
set title "mod_bulkio against psql \\\\copy (exports: COPY TO) and pgloader\\n%d rows per resource, median of %d rounds, %s cores (%s)"
set xlabel "time as a multiple of psql \\\\copy (exports: COPY TO) in the same round (lower is better)\\nwhiskers: min-max of the rounds; black mark: the target"
set xrange [0:%.2f]
set yrange [-0.7:%.1f]
set ytics nomirror
set xtics nomirror %s
set grid xtics lc rgb '#dddddd'
set style fill solid 0.85 noborder
set key bottom right vertical opaque box
set arrow from 1,-0.7 to 1,%.1f nohead lc rgb '#444444' dt 2
set label '\\copy = 1' at 1,%.1f center offset 0,0.5 tc rgb '#444444'
plot '%s' using (($3)/2):1:(($3)/2):(0.35):7:ytic(2) \\
       with boxxyerror lc rgb variable notitle, \\
     '' using 3:1:4:5 with xerrorbars ps 0 lc rgb '#333333' notitle, \\
     '' using ($6 > 0 ? $6 : 1/0):1:(0.012):(0.45) with boxxyerror \\
       lc rgb 'black' notitle, \\
     '' using (($5 > $6 ? $5 : $6)+0.03):1:8 \\
       with labels left font ',9' notitle, \\
     NaN with boxes lc rgb '#2e8b57' title 'mod_bulkio, target met', \\
     NaN with boxes lc rgb '#cd3333' title 'missed', \\
     NaN with boxes lc rgb '#7a8a99' title 'no target', \\
     NaN with boxes lc rgb '#3a6ea5' title 'pgloader', \\
     NaN with boxes lc rgb '#aaaaaa' title 'psql \\copy (baseline)'
""" % (200 + 30 * len(rows), png, self.rows, self.runs, cpu,
            getattr(self, 'stamp', None)
            or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
            top * 1.15 + 0.1, len(rows) + 0.3,
            0.25 if top < 3 else 0.5 if top < 6 else 1, len(rows) + 0.3,
            len(rows) - 0.2, data)
        subprocess.run(['gnuplot'], input=script, text=True, check=True)
        os.unlink(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=1000000)
    ap.add_argument('--runs', type=int, default=3,
                    help='interleaved rounds per row (default 3)')
    ap.add_argument('--big', type=int, default=0,
                    help='users for the memory run (default 5 × rows)')
    ap.add_argument('--port', type=int, default=8095)
    ap.add_argument('--out', default=os.path.join(TOP, 'bench',
                                                  'results.md'))
    ap.add_argument('--only', default='',
                    help='comma-separated sections to run alone (imports,'
                    ' exports, spools, results, invalid, memory, latency);'
                    ' the report is printed, not written')
    a = ap.parse_args()
    b = Bench(a.rows, a.port, a.runs)
    only = set(filter(None, a.only.split(',')))
    sections = (('imports', lambda: b.imports('valid')),
                ('exports', b.exports), ('spools', b.spools),
                ('results', b.results),
                ('invalid', lambda: b.imports('invalid5')),
                ('memory', lambda: b.memory(a.big or 5 * a.rows)))
    for name, run in sections:
        if not only or name in only:
            run()
    if not only:
        b.report(*b.latency(), a.out)
    elif 'latency' in only:
        p50, p99, running, failed, served = b.latency()
        print('status while three imports run: ab p50 %d ms, p99 %d ms;'
              ' %d non-2xx; the third import %s; the server\'s own p50'
              ' %.1f ms, p99 %.1f ms' % (p50, p99, failed, running, *served))


if __name__ == '__main__':
    main()
