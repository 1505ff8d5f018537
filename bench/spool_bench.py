#!/usr/bin/env python3
"""Only the spool rows of bench/bench.py: the users import through
BulkIOSpool file, then database, in one run, each upload's throughput and
the database spool's time against the file spool's (target ≤ 1.15×).
Run by `make bench-spool`, on the same dedicated installation as
`make bench`.

    bench/spool_bench.py [--rows N] [--port P] [--rounds R]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--rows', type=int, default=200000)
    ap.add_argument('--port', type=int, default=8095)
    ap.add_argument('--rounds', type=int, default=1)
    a = ap.parse_args()
    b = bench.Bench(a.rows, a.port)
    for _ in range(a.rounds):
        b.spools()
    for what, rows, secs, _, base, ratio, target, _ in b.table:
        print('%s: %d rows, %.2f s against %.2f s: %.2f× (target ≤ %.2f×)'
              % (what, rows, secs, base, ratio, target))
    for note in b.spool_notes:
        print(note)


if __name__ == '__main__':
    main()
