#!/usr/bin/env bash
# Exports from a streaming replica (BulkIOExportReplica), on loopback: a
# project-local primary (scripts/bulkio.sh), a replica made from it with
# pg_basebackup -R (its own directory, 127.0.0.1:BULKIO_PORT+3), one httpd.
#   - an import followed at once by an export shows every imported row,
#     and the export's query is seen on the replica, not on the primary
#     (log_statement = all on both);
#   - an export job reads from the replica too;
#   - /v1/health and /v1/metrics show the replica and its lag;
#   - a replica that lags past BulkIOExportReplicaWait (replay paused), and
#     a replica stopped: exports read from the primary, complete, and the
#     error log says why.
#   scripts/replica-test.sh      (ports BULKIO_PORT, default 8094, and +3)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${BULKIO_PORT:-8094}
rport=$((port + 3))
n=${REPLICA_RECORDS:-5000}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

tmp=$(mktemp -d /tmp/bulkio-replica.XXXXXX)
chmod 755 "$tmp"
a=$tmp/a
r=$tmp/replica
mkdir -p "$a"
unset BULKIO_DATABASE_URL
. scripts/test-lib.sh

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    as_pg "$pg_bin/pg_ctl" -D "$r" -m immediate stop >/dev/null 2>&1 || true
    BULKIO_RUN_DIR=$a scripts/bulkio.sh stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

replica_conninfo="host=127.0.0.1 port=$rport dbname=bulkio user=bulkio"
cat > "$tmp/extra.conf" <<CONF
BulkIOExportReplica "$replica_conninfo"
BulkIOExportReplicaWait 2s
CONF
export BULKIO_EXTRA_CONF=$tmp/extra.conf
BULKIO_RUN_DIR=$a BULKIO_PORT=$port scripts/bulkio.sh start >/dev/null
db=$(BULKIO_RUN_DIR=$a scripts/bulkio.sh conninfo)
psql "$db" -XAtq -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null

# the replica: a base backup of the primary (its socket), streaming
mkdir -p "$r" "$tmp/rsock"
chmod 700 "$r"
[ "$(id -u)" = 0 ] && chown postgres: "$r" "$tmp/rsock" "$tmp"
as_pg "$pg_bin/pg_basebackup" -d "$db" -D "$r" -R -X stream -c fast >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$r" -w -t 60 -l "$tmp/replica.log" \
    -o "-c listen_addresses=127.0.0.1 -p $rport -c unix_socket_directories='$tmp/rsock' -c hot_standby=on" \
    start >/dev/null
check "the replica is in recovery" \
    "$(psql "$replica_conninfo" -XAtq -c 'SELECT pg_is_in_recovery()')" t

token=$(BULKIO_RUN_DIR=$a SUB=replica scripts/bulkio.sh token)
auth="Authorization: Bearer $token"
base=http://127.0.0.1:$port/v1

health=$(curl -s "$base/health")
check "health: the replica is up" "$(echo "$health" | field replica.status)" ok
check "metrics: bulkio_replica_up 1" \
    "$(curl -s "$base/metrics" | awk '$1 == "bulkio_replica_up" { print $2 }')" 1

wait_job() {   # wait_job <kind> <id>: prints the final status
    local st deadline=$((SECONDS + 300))
    while :; do
        st=$(curl -s -H "$auth" "$base/$1s/$2" | field status)
        case "$st" in completed|failed|canceled) echo "$st"; return ;; esac
        [ $SECONDS -lt $deadline ] || { echo timeout; return; }
        sleep 0.2
    done
}

count_export_queries() {   # in a PostgreSQL log, from byte offset $2 on
    tail -c +$(($2 + 1)) "$1" | grep -cE 'FROM users u.*ORDER BY u\.id' || true
}

# an import, then at once a streamed export: every row, from the replica
perl scripts/gendata.pl --resource users --format ndjson --profile valid \
    --count "$n" > "$tmp/users.ndjson"
id=$(curl -s -H "$auth" -H 'Content-Type: application/x-ndjson' \
          --data-binary @"$tmp/users.ndjson" "$base/imports?resource=users" | field job_id)
check "import completed" "$(wait_job import "$id")" completed
p0=$(stat -c %s "$a/logs/postgresql.log")
r0=$(stat -c %s "$tmp/replica.log")
rows=$(curl -s -H "$auth" "$base/exports?resource=users" | wc -l)
check "an export right after the import shows every row" "$rows" "$n"
check "the export's query ran on the replica" \
    "$(count_export_queries "$tmp/replica.log" "$r0")" 1
check "and not on the primary" \
    "$(count_export_queries "$a/logs/postgresql.log" "$p0")" 0
check "finish_lsn recorded at the import's end" \
    "$(psql "$db" -XAtq -c "SELECT finish_lsn IS NOT NULL FROM bulkio_jobs WHERE public_id = '$id'")" t

# an export job reads from the replica as well (its file goes to the primary)
p0=$(stat -c %s "$a/logs/postgresql.log")
r0=$(stat -c %s "$tmp/replica.log")
eid=$(curl -s -H "$auth" -H 'Content-Type: application/json' \
           -d '{"resource": "users", "format": "ndjson"}' "$base/exports" | field job_id)
check "export job completed" "$(wait_job export "$eid")" completed
check "export job: every row" \
    "$(curl -s -H "$auth" "$base/exports/$eid/download" | wc -l)" "$n"
check "the export job's query ran on the replica" \
    "$(count_export_queries "$tmp/replica.log" "$r0")" 1
check "and not on the primary" \
    "$(count_export_queries "$a/logs/postgresql.log" "$p0")" 0

# replay paused: the next import's end never reaches the replica in time
psql "$replica_conninfo" -XAtq -c 'SELECT pg_wal_replay_pause()' >/dev/null
sed -e 's/-8000-/-a000-/' -e 's/"email":"user/"email":"lag/' "$tmp/users.ndjson" > "$tmp/lag.ndjson"
id=$(curl -s -H "$auth" -H 'Content-Type: application/x-ndjson' \
          --data-binary @"$tmp/lag.ndjson" "$base/imports?resource=users" | field job_id)
check "second import completed" "$(wait_job import "$id")" completed
p0=$(stat -c %s "$a/logs/postgresql.log")
rows=$(curl -s -H "$auth" "$base/exports?resource=users" | wc -l)
check "a lagging replica: the export reads the primary, every row" "$rows" "$((2 * n))"
check "the export's query ran on the primary" \
    "$(count_export_queries "$a/logs/postgresql.log" "$p0")" 1
check "the error log says why" \
    "$(grep -c 'reads from the primary: the replica is lagging' "$a/logs/error_log")" 1
lag=$(curl -s "$base/health" | field replica.lagBytes)
check "health shows the lag" "$([ "${lag:-0}" -gt 0 ] && echo lagging)" lagging
psql "$replica_conninfo" -XAtq -c 'SELECT pg_wal_replay_resume()' >/dev/null

# the replica stopped: exports fall back to the primary, cleanly
as_pg "$pg_bin/pg_ctl" -D "$r" -m fast -w stop >/dev/null
rows=$(curl -s -H "$auth" "$base/exports?resource=users" | wc -l)
check "replica down: the export reads the primary, every row" "$rows" "$((2 * n))"
eid=$(curl -s -H "$auth" -H 'Content-Type: application/json' \
           -d '{"resource": "users", "format": "csv"}' "$base/exports" | field job_id)
check "replica down: an export job completes" "$(wait_job export "$eid")" completed
check "the error log says why" \
    "$(grep -c 'reads from the primary: the replica is down' "$a/logs/error_log")" 2
health_code=$(curl -s -o "$tmp/health" -w '%{http_code}' "$base/health")
check "health still 200, replica down" \
    "$health_code $(field replica.status < "$tmp/health")" "200 down"
check "metrics: bulkio_replica_up 0" \
    "$(curl -s "$base/metrics" | awk '$1 == "bulkio_replica_up" { print $2 }')" 0
check "the conninfo is in no log" \
    "$(grep -c "port=$rport dbname" "$a/logs/error_log" || true)" 0
bad=$(grep -E 'Segmentation fault|AddressSanitizer|exit signal' "$a/logs/error_log" || true)
check "error log has no crash" "$bad" ""

if [ "$failures" -gt 0 ]; then
    echo "replica test: $failures check(s) failed"
    exit 1
fi
echo "replica test: all checks passed"
