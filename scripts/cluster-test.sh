#!/usr/bin/env bash
# Two httpd servers (own ports, own server roots) on one PostgreSQL, in
# either topology of the README's "Scaling out":
#   CLUSTER_SPOOL=file      one shared spool directory (the default);
#   CLUSTER_SPOOL=database  BulkIOSpool database: the servers share nothing
#                           but PostgreSQL (separate run directories).
# Both:
#   - 12 import jobs posted across both are each processed exactly once
#     (rows in PostgreSQL, one attempt each, one "finished" line in all);
#   - both servers do work, and neither runs more than BulkIOMaxJobs (3)
#     jobs at a time (sampled from lease_server while they run);
#   - either server answers status and download for any job (an export job
#     posted on A is followed and downloaded on B).
# The database topology also:
#   - an upload to A, A killed (SIGKILL) at once, before it claims the
#     job: B processes it exactly once;
#   - an export job made on A is downloaded from B with a range;
#   - after cancels, a failed job and an upload cut off midway, no large
#     object is orphaned (pg_largeobject_metadata against live jobs).
#   scripts/cluster-test.sh      (ports BULKIO_PORT and BULKIO_PORT+1,
#                                 default 8090 and 8091)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port_a=${BULKIO_PORT:-8090}
port_b=$((port_a + 1))
jobs=12
per_job=${CLUSTER_RECORDS:-20000}
max_jobs=3
topology=${CLUSTER_SPOOL:-file}
echo "# topology: $topology"

tmp=$(mktemp -d /tmp/bulkio-cluster.XXXXXX)
chmod 755 "$tmp"
a=$tmp/a
b=$tmp/b
mkdir -p "$a" "$b"
if [ "$topology" = database ]; then
    # nothing shared but PostgreSQL: each server its own spool directory
    # (unused) under its own run directory
    spool_a=$a/spool
    spool_b=$b/spool
    printf 'BulkIOSpool database\nBulkIOLeaseTime 3s\n' > "$tmp/extra.conf"
else
    spool_a=$tmp/spool
    spool_b=$tmp/spool
    : > "$tmp/extra.conf"
fi
export BULKIO_EXTRA_CONF=$tmp/extra.conf
unset BULKIO_DATABASE_URL
. scripts/test-lib.sh
sampler=

cleanup() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
    BULKIO_RUN_DIR=$b BULKIO_DATABASE_URL=${db:-x} scripts/bulkio.sh stop \
        >/dev/null 2>&1 || true
    BULKIO_RUN_DIR=$a scripts/bulkio.sh stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# server A brings up the database; B uses A's database, secret and spool
BULKIO_RUN_DIR=$a BULKIO_PORT=$port_a BULKIO_SPOOL_DIR=$spool_a \
    scripts/bulkio.sh start >/dev/null
db=$(BULKIO_RUN_DIR=$a scripts/bulkio.sh conninfo)
cp "$a/jwt.secret" "$a/webhook.secret" "$a/download.secret" "$b/"
BULKIO_RUN_DIR=$b BULKIO_PORT=$port_b BULKIO_SPOOL_DIR=$spool_b \
    BULKIO_DATABASE_URL=$db scripts/bulkio.sh start >/dev/null
token=$(BULKIO_RUN_DIR=$a SUB=cluster scripts/bulkio.sh token)
auth="Authorization: Bearer $token"
for p in "$port_a" "$port_b"; do
    check "server on port $p is up" \
        "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/v1/health")" 200
done

# 12 files of distinct users (one generated file, split)
perl scripts/gendata.pl --resource users --format ndjson --profile valid \
    --count $((jobs * per_job)) > "$tmp/all.ndjson"
split -l "$per_job" -d -a 2 "$tmp/all.ndjson" "$tmp/part-"

# sample the running jobs per server while the jobs run
(
    while :; do
        psql "$db" -XAtq -c "SELECT lease_server || ' ' || count(*)
                               FROM bulkio_jobs
                              WHERE status = 'running' AND kind = 'import'
                              GROUP BY lease_server" 2>/dev/null || true
        sleep 0.1
    done > "$tmp/samples"
) &
sampler=$!

ids=()
posted_on=()
for i in $(seq 0 $((jobs - 1))); do
    if [ $((i % 2)) = 0 ]; then p=$port_a; else p=$port_b; fi
    f=$(printf '%s/part-%02d' "$tmp" "$i")
    id=$(curl -s -H "$auth" -H 'Content-Type: application/x-ndjson' \
              --data-binary @"$f" "http://127.0.0.1:$p/v1/imports?resource=users" \
         | field job_id)
    [ -n "$id" ] || { echo "not ok - upload $i to port $p"; exit 1; }
    ids+=("$id")
    posted_on+=("$p")
done
check "jobs posted across both servers" "${#ids[@]}" "$jobs"

# wait for every job, asking the server it was NOT posted on
deadline=$((SECONDS + 600))
for i in "${!ids[@]}"; do
    if [ "${posted_on[$i]}" = "$port_a" ]; then p=$port_b; else p=$port_a; fi
    while :; do
        st=$(curl -s -H "$auth" "http://127.0.0.1:$p/v1/imports/${ids[$i]}" | field status)
        case "$st" in completed|failed|canceled) break ;; esac
        [ $SECONDS -lt $deadline ] || { echo "not ok - job ${ids[$i]} timed out"; exit 1; }
        sleep 0.5
    done
done
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=

list=$(printf "'%s'," "${ids[@]}")
list=${list%,}
check "jobs completed (status asked on the other server)" \
    "$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs WHERE public_id IN ($list)
                             AND status = 'completed' AND total_records = $per_job
                             AND success_count = $per_job AND error_count = 0")" "$jobs"
check "each job claimed exactly once (attempts = 1)" \
    "$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs WHERE public_id IN ($list)
                             AND attempts = 1")" "$jobs"
check "users rows: every record applied once" \
    "$(psql "$db" -XAtq -c "SELECT count(*) || '/' || count(DISTINCT external_id) FROM users")" \
    "$((jobs * per_job))/$((jobs * per_job))"
finished=$(cat "$a/logs/error_log" "$b/logs/error_log" \
           | grep -oE 'Job [0-9a-f-]{36} finished' | sort | uniq -c | awk '{print $1}' | sort -u)
check "each job finished once across both servers' logs" "$finished" 1
done_a=$(grep -cE 'Job [0-9a-f-]{36} finished' "$a/logs/error_log" || true)
done_b=$(grep -cE 'Job [0-9a-f-]{36} finished' "$b/logs/error_log" || true)
check "jobs done by A + B" "$((done_a + done_b))" "$jobs"
echo "# jobs done: server A $done_a, server B $done_b"

servers=$(awk '{print $1}' "$tmp/samples" | sort -u | wc -l)
peak=$(awk '{ if ($2 > max) max = $2 } END { print max + 0 }' "$tmp/samples")
echo "# $(wc -l < "$tmp/samples") samples; per server peak:" \
     "$(awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (s in m) printf "%s=%d ", s, m[s] }' "$tmp/samples")"
check "both servers ran jobs (distinct lease_server ids)" "$servers" 2
check "no server ran more than BulkIOMaxJobs at once" "$([ "$peak" -le $max_jobs ] && echo yes || echo "peak $peak")" yes

# an export job posted on A, followed and downloaded on B
eid=$(curl -s -H "$auth" -H 'Content-Type: application/json' \
           -d '{"resource": "users", "format": "ndjson"}' \
           "http://127.0.0.1:$port_a/v1/exports" | field job_id)
while :; do
    st=$(curl -s -H "$auth" "http://127.0.0.1:$port_b/v1/exports/$eid" | field status)
    case "$st" in completed|failed|canceled) break ;; esac
    [ $SECONDS -lt $deadline ] || { echo "not ok - export timed out"; exit 1; }
    sleep 0.5
done
check "export job posted on A, completed, seen on B" "$st" completed
curl -s -H "$auth" -o "$tmp/from-b" "http://127.0.0.1:$port_b/v1/exports/$eid/download"
curl -s -H "$auth" -o "$tmp/from-a" "http://127.0.0.1:$port_a/v1/exports/$eid/download"
check "download from B: every row" "$(wc -l < "$tmp/from-b")" "$((jobs * per_job))"
check "the same bytes from A and B" \
    "$(sha256sum < "$tmp/from-a")" "$(sha256sum < "$tmp/from-b")"

for s in a b; do
    bad=$(grep -E 'Segmentation fault|AddressSanitizer|exit signal' "$tmp/$s/logs/error_log" || true)
    check "server $s error log has no crash" "$bad" ""
done

if [ "$topology" = database ]; then
    . "$top/scripts/cluster-db-checks.sh"
fi

if [ "$failures" -gt 0 ]; then
    echo "cluster test: $failures check(s) failed"
    exit 1
fi
echo "cluster test: all checks passed"
