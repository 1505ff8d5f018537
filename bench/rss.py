#!/usr/bin/env python3
"""Run a command while sampling the resident memory of httpd's processes.

    bench/rss.py PIDFILE -- command args...

Prints the sum of RSS of the httpd parent's children before the command,
the peak while it ran, and the growth, in MB; exits with the command's code.
"""
import os
import subprocess
import sys
import time


def children(parent):
    pids = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == parent:
                        pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def rss(pids):
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/statm' % pid) as f:
                total += int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
        except OSError:
            pass
    return total


def cpu(parent):
    """CPU seconds (user + system) of a process, its live children, and
    the children it has already waited for: an httpd or a PostgreSQL
    cluster, from its parent process."""
    total = 0
    for pid in [parent] + children(parent):
        try:
            with open('/proc/%d/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields 14-17 of proc(5): utime, stime, cutime, cstime
        total += int(fields[11]) + int(fields[12])
        if pid == parent:
            total += int(fields[13]) + int(fields[14])
    return total / float(os.sysconf('SC_CLK_TCK'))


def main():
    pidfile, cmd = sys.argv[1], sys.argv[3:]
    parent = int(open(pidfile).read())
    base = rss(children(parent))
    peak = base
    proc = subprocess.Popen(cmd)
    while proc.poll() is None:
        peak = max(peak, rss(children(parent)))
        time.sleep(0.1)
    mb = 1024.0 * 1024.0
    print('httpd children RSS: before %.1f MB, peak %.1f MB, growth %.1f MB'
          % (base / mb, peak / mb, (peak - base) / mb), file=sys.stderr)
    sys.exit(proc.returncode)


if __name__ == '__main__':
    main()
