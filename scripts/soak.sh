#!/usr/bin/env bash
# make soak [SOAK_MINUTES=30]: a dedicated installation (its own run
# directory and PostgreSQL cluster, .soak in the checkout, port SOAK_PORT),
# mixed load from scripts/soak.py (its JOB_MIX: import rounds, delete-mode,
# max_errors, dry-run and atomic imports, webhooks, export jobs, streams) for SOAK_MINUTES minutes with
# graceful restarts every 2 minutes, PostgreSQL restarts every 10, SIGKILL
# of a random httpd child about every 45 s and pg_terminate_backend() of a
# PostgreSQL backend about every 30 s, then exact checks (no record lost or
# applied twice, no error entry past BulkIOMaxErrorRows) and the
# start-versus-end figures. Exit status 0 when every check held.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
minutes=${SOAK_MINUTES:-30}
export BULKIO_PORT=${SOAK_PORT:-9030}
url_port=${SOAK_URL_PORT:-$((BULKIO_PORT + 1))}
export BULKIO_RUN_DIR=${SOAK_RUN_DIR:-$top/.soak}
unset BULKIO_DATABASE_URL BULKIO_SPOOL_DIR

run=scripts/bulkio.sh
cleanup() {
    "$run" stop >/dev/null 2>&1 || true
    "$run" pg-stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# a fresh installation each time: the checks compare every row with what
# was sent
cleanup
rm -rf "$BULKIO_RUN_DIR"
mkdir -p "$BULKIO_RUN_DIR/urls"
chmod 755 "$BULKIO_RUN_DIR"
# a copy of the module: a rebuild meanwhile does not reach the graceful
# restarts of this run
cp .libs/mod_bulkio.so "$BULKIO_RUN_DIR/mod_bulkio.so"
export BULKIO_MODULE=$BULKIO_RUN_DIR/mod_bulkio.so
export BULKIO_EXTRA_CONF=$BULKIO_RUN_DIR/soak.conf
cat >"$BULKIO_EXTRA_CONF" <<CONF
# URL imports fetch from the soak's own loopback file server, which
# receives the webhooks too (tried again after 1 s, 2 s, ...)
BulkIOURLAllow 127.0.0.0/8
BulkIOURLPorts $url_port
BulkIOWebhookBackoff 1s
BulkIOPollInterval 500ms
BulkIOLeaseTime 10s
BulkIOMaxJobsPerPrincipal 50
# soak.py's max_errors jobs count on batches of 1000 records; a small cap
# on stored error entries, so that many jobs pass it
BulkIOBatchSize 1000
BulkIOMaxErrorRows 40
CONF
"$run" start >/dev/null
conninfo=$("$run" conninfo)
httpd_bin=${HTTPD:-$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)}
echo "soak: $minutes minutes against http://127.0.0.1:$BULKIO_PORT (run directory $BULKIO_RUN_DIR)"
rc=0
python3 scripts/soak.py --minutes "$minutes" --port "$BULKIO_PORT" \
    --url-port "$url_port" --url-dir "$BULKIO_RUN_DIR/urls" \
    --conninfo "$conninfo" --secret-file "$BULKIO_RUN_DIR/jwt.secret" \
    --pid-file "$BULKIO_RUN_DIR/httpd.pid" --spool "$BULKIO_RUN_DIR/spool" \
    --httpd "$httpd_bin" --httpd-conf "$BULKIO_RUN_DIR/httpd.conf" \
    --bulkio-sh "$top/$run" || rc=$?
log=$BULKIO_RUN_DIR/logs/error_log
if grep -E 'Segmentation fault|AddressSanitizer|exit signal' "$log"; then
    echo "soak: the error log shows crashes" >&2
    rc=1
fi
exit $rc
