#!/usr/bin/env python3
"""How long a new job waits before the worker starts it.

usage: bench/start_latency.py [--port 8080] [--jobs 20] [--kind import]

Against a running installation (make start; BULKIO_RUN_DIR as for it):
posts small jobs one after another (a random pause between them, so that
they fall at every phase of the worker's poll), and for each one prints the
time from the POST's answer to the first GET that shows it running or
ended and to the one that shows it ended (GET every 5 ms), and the
database's created_at -> started_at.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bulkio(*args):
    return subprocess.run([os.path.join(TOP, 'scripts', 'bulkio.sh')]
                          + list(args), check=True, capture_output=True,
                          text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int,
                    default=int(os.environ.get('BULKIO_PORT', '8080')))
    ap.add_argument('--jobs', type=int, default=20)
    ap.add_argument('--kind', choices=('import', 'export'), default='import')
    a = ap.parse_args()
    base = 'http://127.0.0.1:%d' % a.port
    token = bulkio('token')
    db = bulkio('conninfo')

    def call(path, body=None, ctype=None):
        headers = {'Authorization': 'Bearer ' + token}
        if ctype:
            headers['Content-Type'] = ctype
        req = urllib.request.Request(base + path, data=body, headers=headers)
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)

    waits, ends, db_waits = [], [], []
    for n in range(a.jobs):
        time.sleep(random.uniform(0.1, 1.3))
        if a.kind == 'import':
            body = ''.join('{"email":"lat-%d-%d@example.com","name":"N"}\n'
                           % (n, i) for i in range(10)).encode()
            path = '/v1/imports'
            doc = call(path + '?resource=users', body, 'application/x-ndjson')
        else:
            path = '/v1/exports'
            doc = call(path, b'{"resource": "users", "format": "ndjson"}',
                       'application/json')
        posted = time.monotonic()
        job = doc['job_id']
        while True:
            status = call('%s/%s' % (path, job))['status']
            if status != 'pending':
                break
            time.sleep(0.005)
        waits.append(time.monotonic() - posted)
        while status in ('pending', 'running'):
            time.sleep(0.005)
            status = call('%s/%s' % (path, job))['status']
        ends.append(time.monotonic() - posted)
        db_waits.append(float(subprocess.run(
            ['psql', db, '-Atqc', "SELECT extract(epoch FROM started_at"
             " - created_at) FROM bulkio_jobs WHERE public_id = '%s'" % job],
            check=True, capture_output=True, text=True).stdout))
        print('%2d %s POST answer -> started %6.3f s, -> %s %6.3f s;'
              ' created -> started %6.3f s' % (n + 1, job, waits[-1], status,
                                               ends[-1], db_waits[-1]))
    for name, v in (('POST answer -> running', waits),
                    ('POST answer -> ended', ends),
                    ('created_at -> started_at', db_waits)):
        print('%-25s min %.3f  median %.3f  mean %.3f  max %.3f s'
              % (name, min(v), statistics.median(v), statistics.mean(v),
                 max(v)))


if __name__ == '__main__':
    main()
