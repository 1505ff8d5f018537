#!/usr/bin/env python3
"""mod_bulkio's benchmark: imports and exports through the HTTP API against
PostgreSQL's own COPY on the same data, in one run. Run by `make bench`,
which starts a dedicated local installation (BULKIO_RUN_DIR=.bench).

    bench/bench.py [--rows N] [--big N] [--out bench/results.md]

For each resource (users, articles, comments): N valid records and a
variant with 5% invalid ones are imported end to end (upload until the job
is completed); the rows the import left are loaded again with `psql \\copy`
into an identical scratch schema (same indexes and foreign keys) as the
baseline. Each resource is exported with GET /v1/exports (ndjson, csv)
against `COPY (the same SELECT) TO STDOUT`, and as an export job (POST
/v1/exports, the file written in the spool) against the same; then
compressed: the stream with Accept-Encoding: gzip, and the export job with
"compression": "gzip", whose rows also give the file sizes. The users
file is imported a second time (every row an update that changes nothing),
a third time with every name changed, and a fourth time from a file of
only `id,name` (every row a partial update that changes the name: at most
the time of the full re-import), against the \\copy into an empty table;
before its import, the users file is imported as a dry run (dry_run=true:
at most 1.2 times the import). httpd's peak resident memory
is sampled during every run. The users import runs once more on each
spool backend in turn (BulkIOSpool file, then database, the server
restarted between), the second against the first, with the upload's
throughput (the POST until its 202) of each. Last, a warm server imports
N users, then
--big (5N by default), to show it does not grow with the input. ab
measures GET /v1/imports/{id} while three imports run. The users import
with per-record results (BulkIOImportResults On, the default) runs against
the same import with them Off, twice each in turn, the server restarted
between (the best of each two; at most 1.1 times).

    bench/bench.py --only results   runs that comparison alone (the
    sections: imports, exports, spools, invalid, memory, results); the
    table is printed, bench/results.md left alone
"""
import argparse
import json
import os
import re
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
TARGET = {('users', 'valid'): 1.5, ('articles', 'valid'): 1.6,
          ('comments', 'valid'): 1.5, ('users', 'invalid5'): 1.6,
          ('articles', 'invalid5'): 1.6, ('comments', 'invalid5'): 1.5}
REIMPORT_TARGET = 2.0     # every row an update, against \copy into empty
STREAM_TARGET = 1.1       # GET /v1/exports against COPY TO
EXPORT_JOB_TARGET = 1.25  # POST /v1/exports, file in the spool
DB_SPOOL_TARGET = 1.15    # the users import, database spool against file
RESULTS_TARGET = 1.10     # the users import with results, against without
FORMAT = {'users': 'csv', 'articles': 'ndjson', 'comments': 'ndjson'}
CTYPE = {'csv': 'text/csv', 'ndjson': 'application/x-ndjson'}


def bulkio(*args):
    return subprocess.run([os.path.join(TOP, 'scripts', 'bulkio.sh')]
                          + list(args), check=True, capture_output=True,
                          text=True).stdout.strip()


class Bench:
    def __init__(self, rows, port):
        self.rows = rows
        self.base = 'http://127.0.0.1:%d' % port
        self.db = bulkio('conninfo')
        os.environ['PGOPTIONS'] = '-c client_min_messages=warning'
        self.token = bulkio('token')
        self.pidfile = os.path.join(os.environ['BULKIO_RUN_DIR'], 'httpd.pid')
        self.spool = os.path.join(os.environ['BULKIO_RUN_DIR'], 'spool')
        self.table = []
        self.modes = []     # the dry run and the partial re-import, said
        self.spool_notes = []

    def psql(self, sql, out=None):
        return subprocess.run(['psql', self.db, '-v', 'ON_ERROR_STOP=1',
                               '-Atqc', sql], check=True, text=True,
                              stdout=out or subprocess.PIPE).stdout

    def api(self, path, body=None):
        headers = {'Authorization': 'Bearer ' + self.token}
        if body is not None:
            body = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(self.base + path, data=body,
                                     headers=headers)
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)

    def measure(self, fn):
        """Seconds fn took, and httpd's peak RSS meanwhile (MB) with its
        growth over the RSS before."""
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
        start = time.monotonic()
        try:
            result = fn()
        finally:
            secs = time.monotonic() - start
            done.set()
            t.join()
        return secs, (peak[0] / MB, (peak[0] - base) / MB), result

    def datafile(self, resource, profile, count):
        path = os.path.join(DATA, '%s-%s-%d.%s' % (resource, profile, count,
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
                                '--profile', profile], check=True, stdout=f)
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
            time.sleep(0.1)

    def reset(self):
        self.psql('TRUNCATE comments, articles, users, bulkio_jobs,'
                  ' bulkio_idempotency_keys RESTART IDENTITY CASCADE;'
                  ' DROP SCHEMA IF EXISTS bench_copy CASCADE;'
                  ' CREATE SCHEMA bench_copy;')
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

    def clean_spool(self):
        for name in os.listdir(self.spool):
            path = os.path.join(self.spool, name)
            if os.path.isfile(path):
                os.unlink(path)

    def add(self, what, rows, secs, base_secs, target, mem):
        ratio = secs / base_secs if base_secs else None
        self.table.append((what, rows, secs, rows / secs, base_secs, ratio,
                           target, mem))
        print('%-34s %8d rows %7.2f s %8.0f rows/s  baseline %s  ratio %s'
              '  RSS %.1f MB (+%.1f)' % (what, rows, secs, rows / secs,
                                         '%.2f s' % base_secs
                                         if base_secs else '-',
                                         '%.2f' % ratio if ratio else '-',
                                         mem[0], mem[1]), flush=True)

    def imports(self, profile):
        self.reset()
        for res in RESOURCES:
            path = self.datafile(res, profile, self.rows)
            dry = None
            if res == 'users' and profile == 'valid':
                # first a dry run of the same file: nothing changes
                dry = self.measure(lambda: self.wait(
                    self.upload(res, path, '&dry_run=true')))
                self.clean_spool()
                if not dry[2]['dryRun'] or int(self.psql(
                        'SELECT count(*) FROM users')):
                    sys.exit('bench: users dry run gave %s' % dry[2])
            secs, mem, doc = self.measure(
                lambda: self.wait(self.upload(res, path)))
            self.clean_spool()
            rows = int(self.psql('SELECT count(*) FROM ' + res))
            # the baseline: the same rows, by psql's \copy
            dump = os.path.join(DATA, 'copy-%s.csv' % res)
            self.psql('\\copy public.%s TO %s (FORMAT csv)' % (res, dump))
            start = time.monotonic()
            self.psql('\\copy bench_copy.%s FROM %s (FORMAT csv)'
                      % (res, dump))
            base = time.monotonic() - start
            os.unlink(dump)
            if doc['totalRecords'] != self.rows or (
                    profile == 'valid' and doc['errorCount']):
                sys.exit('bench: %s import gave %s' % (res, doc))
            self.add('import %s %s (%s)' % (res, profile, FORMAT[res]),
                     doc['totalRecords'], secs, base,
                     TARGET[(res, profile)], mem)
            print('    %d rows, %d failed records' % (rows,
                                                       doc['errorCount']))
            if dry:
                counts = ('totalRecords', 'successCount', 'insertedCount',
                          'updatedCount', 'errorCount')
                if [dry[2][k] for k in counts] != [doc[k] for k in counts]:
                    sys.exit('bench: the dry run counted %s, the import %s'
                             % (dry[2], doc))
                # its target against COPY: 1.2 times the import's
                self.add('dry run users valid (csv)', dry[2]['totalRecords'],
                         dry[0], base, 1.2 * TARGET[(res, profile)], dry[1])
                self.modes.append('the dry run of the users file took %.2f s,'
                                  ' %.2f× the import (%.2f s; target ≤ 1.2×)'
                                  % (dry[0], dry[0] / secs, secs))
            if res == 'users' and profile == 'valid':
                # the same file again: every row an update
                secs, mem, doc = self.measure(
                    lambda: self.wait(self.upload(res, path)))
                self.clean_spool()
                if doc['successCount'] != rows or int(self.psql(
                        'SELECT count(*) FROM users')) != rows:
                    sys.exit('bench: users re-import gave %s' % doc)
                self.add('re-import users valid (csv), all unchanged',
                         doc['totalRecords'], secs, base, REIMPORT_TARGET,
                         mem)
                # and with every row changed (each name): real updates
                changed = self.changed(path)
                secs, mem, doc = self.measure(
                    lambda: self.wait(self.upload(res, changed)))
                self.clean_spool()
                if doc['successCount'] != rows or int(self.psql(
                        "SELECT count(*) FROM users WHERE name LIKE"
                        " 'Renamed %'")) != rows:
                    sys.exit('bench: users re-import gave %s' % doc)
                self.add('re-import users valid (csv), all changed',
                         doc['totalRecords'], secs, base, REIMPORT_TARGET,
                         mem)
                # id,name only: every row a partial update of its name
                full = secs
                part = self.partial(path)
                secs, mem, doc = self.measure(
                    lambda: self.wait(self.upload(res, part)))
                self.clean_spool()
                if doc['updatedCount'] != rows or int(self.psql(
                        "SELECT count(*) FROM users WHERE name LIKE"
                        " 'Partial User %' AND email LIKE 'user%'")) != rows:
                    sys.exit('bench: users partial re-import gave %s' % doc)
                self.add('re-import users (csv id,name), partial, all changed',
                         doc['totalRecords'], secs, base, REIMPORT_TARGET,
                         mem)
                self.modes.append('the partial re-import (id,name) took %.2f'
                                  ' s, %.2f× the full re-import with every'
                                  ' name changed (%.2f s; target ≤ 1×)'
                                  % (secs, secs / full, full))

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
        spool, in the same run: the upload's throughput and the whole
        import's time."""
        path = self.datafile('users', 'valid', self.rows)
        size = os.path.getsize(path)
        secs = {}
        for spool in ('file', 'database'):
            self.restart(spool)
            self.reset()
            up = {}

            def run():
                start = time.monotonic()
                job = self.upload('users', path)
                up['secs'] = time.monotonic() - start
                return self.wait(job)
            secs[spool], mem, doc = self.measure(run)
            self.clean_spool()
            if doc['successCount'] != self.rows:
                sys.exit('bench: users import (%s spool) gave %s'
                         % (spool, doc))
            objects = int(self.psql('SELECT count(*) FROM'
                                    ' pg_largeobject_metadata'))
            self.spool_notes.append(
                'upload of %d users (%.1f MB), %s spool: %.2f s, %.0f MB/s;'
                ' large objects left after the import: %d'
                % (self.rows, size / MB, spool, up['secs'],
                   size / MB / up['secs'], objects))
            print('    ' + self.spool_notes[-1], flush=True)
            if spool == 'database':
                self.add('import users valid (csv), database spool'
                         ' (baseline: file spool)', doc['totalRecords'],
                         secs['database'], secs['file'], DB_SPOOL_TARGET,
                         mem)
        self.restart('file')

    def results(self):
        """The users import with per-record results against the same
        import without (BulkIOImportResults Off), in turn, twice each: the
        best of each."""
        path = self.datafile('users', 'valid', self.rows)
        best = {}
        for results in ('off', 'on', 'off', 'on'):
            self.restart('file', results)
            self.reset()
            secs, mem, doc = self.measure(
                lambda: self.wait(self.upload('users', path)))
            self.clean_spool()
            if doc['successCount'] != self.rows:
                sys.exit('bench: users import (results %s) gave %s'
                         % (results, doc))
            stored = int(self.psql('SELECT coalesce(sum(records), 0) FROM'
                                   ' bulkio_job_results'))
            if stored != (self.rows if results == 'on' else 0):
                sys.exit('bench: results %s stored %d entries'
                         % (results, stored))
            print('    users import, results %s: %.2f s' % (results, secs),
                  flush=True)
            if results not in best or secs < best[results][0]:
                best[results] = (secs, mem, doc)
        size = self.psql("SELECT pg_total_relation_size('bulkio_job_results')")
        self.add('import users valid (csv), per-record results'
                 ' (baseline: without)', self.rows, best['on'][0],
                 best['off'][0], RESULTS_TARGET, best['on'][1])
        self.modes.append('per-record results of the users import: %.2f s'
                          ' against %.2f s without (%.2f×; target ≤ 1.1×),'
                          ' stored in %.1f MB (%.0f bytes a record)'
                          % (best['on'][0], best['off'][0],
                             best['on'][0] / best['off'][0],
                             int(size) / MB, int(size) / self.rows))
        print('    ' + self.modes[-1], flush=True)
        self.restart('file')

    def exports(self):
        for res in RESOURCES:
            rows = int(self.psql('SELECT count(*) FROM ' + res))
            sql = subprocess.run([os.path.join(TOP, 'build', 'bench',
                                               'export_sql'), res],
                                 check=True, capture_output=True,
                                 text=True).stdout.strip()
            for fmt in ('ndjson', 'csv'):
                url = '%s/v1/exports?resource=%s&format=%s' % (self.base,
                                                               res, fmt)
                secs, mem, _ = self.measure(lambda: subprocess.run(
                    ['curl', '-sS', '--fail', '-o', '/dev/null', '-H',
                     'Authorization: Bearer ' + self.token, url],
                    check=True))
                start = time.monotonic()
                with open(os.devnull, 'w') as null:
                    self.psql('COPY (%s) TO STDOUT (FORMAT csv)' % sql,
                              out=null)
                base = time.monotonic() - start
                self.add('export %s %s' % (res, fmt), rows, secs, base,
                         STREAM_TARGET, mem)
                secs, mem, doc = self.measure(lambda: self.wait(self.api(
                    '/v1/exports', {'resource': res, 'format': fmt})
                    ['job_id'], 'exports'))
                job = doc['job_id']
                plain = self.api('/v1/exports/%s' % job)['fileSize']
                self.clean_spool()
                self.add('export job %s %s' % (res, fmt), rows, secs, base,
                         EXPORT_JOB_TARGET, mem)
                self.compressed(res, fmt, rows, base, plain)

    def compressed(self, res, fmt, rows, base, plain):
        """The same export gzip-compressed: streamed (Accept-Encoding) and
        as a job ("compression": "gzip"), with the sizes of the files."""
        url = '%s/v1/exports?resource=%s&format=%s' % (self.base, res, fmt)
        wire = os.path.join(DATA, 'wire.gz')
        secs, mem, _ = self.measure(lambda: subprocess.run(
            ['curl', '-sS', '--fail', '-o', wire, '-H', 'Accept-Encoding: gzip',
             '-H', 'Authorization: Bearer ' + self.token, url], check=True))
        size = os.path.getsize(wire)
        os.unlink(wire)
        self.add('export %s %s, gzip stream (%.1f MB)' % (res, fmt, size / MB),
                 rows, secs, base, None, mem)
        secs, mem, job = self.measure(lambda: self.wait(self.api(
            '/v1/exports', {'resource': res, 'format': fmt,
                            'compression': 'gzip'})['job_id'], 'exports'))
        self.clean_spool()
        self.add('export job %s %s gzip (%.1f MB of %.1f MB, %.0f%%)'
                 % (res, fmt, job['fileSize'] / MB, plain / MB,
                    100.0 * job['fileSize'] / plain), rows, secs, base, None,
                 mem)

    def memory(self, count):
        """Peak RSS of a warm server importing N users, then 5N users."""
        self.big_rows = count
        self.mem = []
        for n in (self.rows, count):
            self.reset()
            path = self.datafile('users', 'valid', n)
            secs, mem, doc = self.measure(
                lambda: self.wait(self.upload('users', path)))
            self.clean_spool()
            self.add('import users valid (csv), memory run',
                     doc['totalRecords'], secs, None, None, mem)
            self.mem.append(mem)

    def latency(self):
        self.reset()
        path = self.datafile('users', 'valid', self.rows)
        jobs = [self.upload('users', path)]
        for res in ('articles', 'comments'):
            jobs.append(self.upload(res, self.datafile(res, 'valid',
                                                       self.rows)))
        out = subprocess.run(
            ['ab', '-q', '-n', '2000', '-c', '4', '-H',
             'Authorization: Bearer ' + self.token,
             '%s/v1/imports/%s' % (self.base, jobs[0])],
            check=True, capture_output=True, text=True).stdout
        running = self.api('/v1/imports/' + jobs[2])['status']
        for job in jobs:
            self.wait(job)
        self.clean_spool()
        pct = dict(re.findall(r'^\s+(\d+)%\s+(\d+)', out, re.M))
        failed = re.search(r'Non-2xx responses:\s+(\d+)', out)
        return int(pct['50']), int(pct['99']), running, \
            int(failed.group(1)) if failed else 0

    def report(self, p50, p99, running, failed, out):
        head = ('| run | rows | seconds | rows/s | COPY baseline s | ratio'
                ' | target | peak httpd RSS | growth |\n'
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n')
        lines = []
        for what, rows, secs, rate, base, ratio, target, m in self.table:
            lines.append('| %s | %d | %.2f | %.0f | %s | %s | %s | %.1f MB'
                         ' | %.1f MB |'
                         % (what, rows, secs, rate,
                            '%.2f' % base if base else '-',
                            '%.2f×' % ratio if ratio else '-',
                            '≤ %.2f×' % target if target else '-', *m))
        small, big = self.mem
        flat = ('Peak httpd RSS importing %d users: %.1f MB (growth %.1f MB);'
                ' %d users: %.1f MB (growth %.1f MB), %+.1f%% (target'
                ' within 10%%, growth ≤ 64 MB).'
                % (self.rows, small[0], small[1], self.big_rows, big[0],
                   big[1], 100.0 * (big[0] - small[0]) / small[0]))
        lat = ('GET /v1/imports/{id} while three imports run (ab -n 2000'
               ' -c 4): p50 %d ms, p99 %d ms (target p99 ≤ 50 ms); %d'
               ' non-2xx; the third import was %s when ab finished.'
               % (p50, p99, failed, running))
        cpu = subprocess.run(['nproc'], capture_output=True,
                             text=True).stdout.strip()
        modes = 'Modes: %s.' % '; '.join(self.modes) if self.modes else ''
        text = ('# mod_bulkio benchmark\n\n%s, %s cores, %d rows per'
                ' resource. Ratios are ours against PostgreSQL\'s COPY on'
                ' the same rows in the same run.\n\n%s%s\n\n%s\n\n%s\n\n%s\n'
                % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), cpu,
                   self.rows, head, '\n'.join(lines), modes, flat, lat))
        if self.spool_notes:
            text += '\n' + '\n'.join('- ' + n for n in self.spool_notes) \
                    + '\n'

        print('\n' + text)
        with open(out, 'w') as f:
            f.write(text)
        self.chart(os.path.splitext(out)[0] + '.png', cpu)

    def chart(self, png, cpu):
        """The ratios against their targets as horizontal bars (gnuplot):
        green where the target is met, red where not."""
        rows = [(what, ratio, target) for what, _, _, _, _, ratio, target, _
                in self.table if ratio and target]
        data = png + '.dat'
        with open(data, 'w') as f:
            for i, (what, ratio, target) in enumerate(reversed(rows)):
                f.write('%d "%s" %.3f %.3f %d\n'
                        % (i, what, ratio, target, ratio <= target))
        top = max(max(r[1], r[2]) for r in rows)
        script = """
set terminal pngcairo noenhanced size 1100,%d font 'DejaVu Sans,11'
set output '%s'
set title 'mod_bulkio against PostgreSQL COPY, %d rows per resource, %s cores (%s)'
set xlabel 'time as a multiple of PostgreSQL COPY for the same rows (lower is better); black mark: the target'
set xrange [0:%.2f]
set yrange [-0.7:%.1f]
set ytics nomirror
set xtics nomirror %s
set grid xtics lc rgb '#dddddd'
set style fill solid 0.85 noborder
set key below horizontal
set arrow from 1,-0.7 to 1,%.1f nohead lc rgb '#444444' dt 2
set label 'COPY = 1' at 1,%.1f center offset 0,0.5 tc rgb '#444444'
plot '%s' using (($3)/2):1:(($3)/2):(0.35):($5 > 0 ? 0x2e8b57 : 0xcd3333):ytic(2) \\
       with boxxyerror lc rgb variable title 'mod_bulkio (green: target met, red: missed)', \\
     '' using 4:1:(0.012):(0.45) with boxxyerror lc rgb 'black' notitle, \\
     '' using (($3 > $4 ? $3 : $4)+0.03):1:(sprintf('%%.2f×', $3)) \\
       with labels left font ',9' notitle
""" % (120 + 34 * len(rows), png, self.rows, cpu,
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
    ap.add_argument('--big', type=int, default=0,
                    help='users for the memory run (default 5 × rows)')
    ap.add_argument('--port', type=int, default=8095)
    ap.add_argument('--out', default=os.path.join(TOP, 'bench',
                                                  'results.md'))
    ap.add_argument('--only', default='',
                    help='comma-separated sections to run alone (imports,'
                    ' exports, spools, invalid, memory, results); the'
                    ' report is not written')
    a = ap.parse_args()
    b = Bench(a.rows, a.port)
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


if __name__ == '__main__':
    main()
