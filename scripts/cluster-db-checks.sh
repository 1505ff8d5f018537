# Sourced by scripts/cluster-test.sh for CLUSTER_SPOOL=database, after its
# common checks: what only sharing nothing but PostgreSQL has to show.
# Uses its db, auth, port_a, port_b, tmp, a, b, deadline, check, field.

# an export job made on A, downloaded from B with a range
range_code=$(curl -s -H "$auth" -r 100-4195 -o "$tmp/range-b" -w '%{http_code}' \
                  "http://127.0.0.1:$port_b/v1/exports/$eid/download")
check "range of the export made on A, from B: 206" "$range_code" 206
check "the range's bytes are the file's" "$(cmp -s "$tmp/range-b" \
      <(tail -c +101 "$tmp/from-a" | head -c 4096) && echo same)" same
etag_a=$(curl -sI -H "$auth" "http://127.0.0.1:$port_a/v1/exports/$eid/download" \
         | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
etag_b=$(curl -sI -H "$auth" "http://127.0.0.1:$port_b/v1/exports/$eid/download" \
         | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
check "one ETag from A and B" "$([ -n "$etag_a" ] && [ "$etag_a" = "$etag_b" ] && echo same)" same
check "the export file is a large object" \
    "$(psql "$db" -XAtq -c "SELECT source_path LIKE 'lo:%' FROM bulkio_jobs WHERE public_id = '$eid'")" t
check "no file in either spool directory" \
    "$(find "$a/spool" "$b/spool" -type f 2>/dev/null | wc -l)" 0

# an upload to A, A killed before it claims the job: B runs it.  The
# test holds A's claim lock (the advisory lock every claim of A's takes
# first), so A's workers wait in their claim instead of racing the kill.
kill_n=3000
perl scripts/gendata.pl --resource users --format ndjson --profile valid \
    --count $kill_n | sed -e 's/-8000-/-9000-/' -e 's/"email":"user/"email":"killed/' \
    > "$tmp/kill.ndjson"
apid=$(cat "$a/httpd.pid")
a_server=$(awk '{print $1}' "$tmp/samples" | grep -m1 ":$port_a\$" || true)
check "A's server id seen in the samples" "$([ -n "$a_server" ] && echo yes)" yes
mkfifo "$tmp/lock"
psql "$db" -XAtq < "$tmp/lock" > "$tmp/lock.out" 2>&1 &
locker=$!
exec 9> "$tmp/lock"
echo "SELECT pg_advisory_lock(hashtext('bulkio-claim:' || '$a_server'));
      \\echo held" >&9
while ! grep -q held "$tmp/lock.out"; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
last=$(psql "$db" -XAtq -c "SELECT coalesce(max(id), 0) FROM bulkio_jobs")
curl -s -o /dev/null -H "$auth" -H 'Content-Type: application/x-ndjson' \
     --data-binary @"$tmp/kill.ndjson" \
     "http://127.0.0.1:$port_a/v1/imports?resource=users" &
upload=$!
while [ "$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs WHERE id > $last")" = 0 ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
pkill -KILL -P "$apid" || true
kill -KILL "$apid" 2>/dev/null || true
wait "$upload" 2>/dev/null || true
# the backends of A's dead workers still wait for the lock: end them
# before letting go of it, so none claims for a client that is gone
echo "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted;" >&9
exec 9>&-
wait "$locker" 2>/dev/null || true
kid=$(psql "$db" -XAtq -c "SELECT public_id FROM bulkio_jobs WHERE id > $last")
check "A's claim lock was held through the upload and the kill" \
    "$(grep -c held "$tmp/lock.out")" 1
check "the upload to A made its job before A died" "$([ -n "$kid" ] && echo yes)" yes
while :; do
    st=$(curl -s -H "$auth" "http://127.0.0.1:$port_b/v1/imports/$kid" | field status)
    case "$st" in completed|failed|canceled) break ;; esac
    [ $SECONDS -lt $deadline ] || { echo "not ok - job $kid timed out"; break; }
    sleep 0.5
done
check "the job of the killed server completed on B" "$st" completed
check "its rows, each once" \
    "$(psql "$db" -XAtq -c "SELECT count(*) || '/' || count(DISTINCT external_id)
                              FROM users WHERE email LIKE 'killed%'")" "$kill_n/$kill_n"
check "finished by B" "$(grep -c "Job $kid finished" "$b/logs/error_log")" 1
check "claimed once (by B: A never started it)" \
    "$(psql "$db" -XAtq -c "SELECT attempts FROM bulkio_jobs WHERE public_id = '$kid'")" 1
check "never started by A" "$(grep -c "Job $kid started" "$a/logs/error_log" || true)" 0
check "not finished by A" "$(grep -c "Job $kid finished" "$a/logs/error_log" || true)" 0

# cancels, a failed job, an upload cut off midway: no object left behind
c1=$(curl -s -H "$auth" -H 'Content-Type: application/x-ndjson' \
          --data-binary @"$tmp/kill.ndjson" \
          "http://127.0.0.1:$port_b/v1/imports?resource=users&mode=insert" | field job_id)
curl -s -o /dev/null -X DELETE -H "$auth" "http://127.0.0.1:$port_b/v1/imports/$c1"
c2=$(curl -s -H "$auth" -H 'Content-Type: application/json' \
          -d '{"resource": "users", "format": "csv"}' \
          "http://127.0.0.1:$port_b/v1/exports" | field job_id)
curl -s -o /dev/null -X DELETE -H "$auth" "http://127.0.0.1:$port_b/v1/exports/$c2"
printf '{"email":"not-an-email"}\n%.0s' $(seq 1 50) > "$tmp/bad.ndjson"
f1=$(curl -s -H "$auth" -H 'Content-Type: application/x-ndjson' \
          --data-binary @"$tmp/bad.ndjson" \
          "http://127.0.0.1:$port_b/v1/imports?resource=users&max_errors=0" | field job_id)
head -c 3000000 /dev/zero | tr '\0' 'x' > "$tmp/cut.bin"
curl -s -o /dev/null -H "$auth" -H 'Content-Type: application/x-ndjson' \
     --limit-rate 200k --max-time 2 --data-binary @"$tmp/cut.bin" \
     "http://127.0.0.1:$port_b/v1/imports?resource=users" || true
while [ "$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs
                                 WHERE status IN ('pending', 'running')")" != 0 ]; do
    [ $SECONDS -lt $deadline ] || { echo "not ok - jobs still running"; break; }
    sleep 0.5
done
check "the failed import ended failed" \
    "$(psql "$db" -XAtq -c "SELECT status FROM bulkio_jobs WHERE public_id = '$f1'")" failed
echo "# canceled: import $(psql "$db" -XAtq -c "SELECT status FROM bulkio_jobs WHERE public_id = '$c1'"), export $(psql "$db" -XAtq -c "SELECT status FROM bulkio_jobs WHERE public_id = '$c2'")"
orphans() {
    psql "$db" -XAtq -c "SELECT count(*) FROM pg_largeobject_metadata m
                          WHERE NOT EXISTS (SELECT 1 FROM bulkio_jobs j
                                             WHERE j.source_path = 'lo:' || m.oid)"
}
objects() { psql "$db" -XAtq -c "SELECT count(*) FROM pg_largeobject_metadata"; }
live=$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs WHERE source_path LIKE 'lo:%'")
echo "# large objects: $(objects), named by live jobs: $live, orphaned: $(orphans)"
check "no orphaned large object after cancels and failures" "$(orphans)" 0
check "every large object is a live job's" "$(objects)" "$live"
check "no ended import holds its upload" \
    "$(psql "$db" -XAtq -c "SELECT count(*) FROM bulkio_jobs
                             WHERE kind = 'import' AND source_path IS NOT NULL")" 0
# an export past its TTL lets go of its file (what the housekeeping
# does): the trigger unlinks the object in that transaction
before=$(objects)
psql "$db" -XAtq -c "UPDATE bulkio_jobs SET source_path = NULL WHERE public_id = '$eid'" >/dev/null
check "an expired export's object is unlinked with it" "$(objects)/$(orphans)" "$((before - 1))/0"
