#!/usr/bin/env bash
# Run the Apache::Test suite against a throwaway PostgreSQL cluster, then
# fail on crash, sanitizer or assertion lines in the server's error log.
#   scripts/apache-test.sh [t/TEST arguments, e.g. t/imports.t]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tmp=$(mktemp -d /tmp/bulkio-test.XXXXXX)
chmod 755 "$tmp"
export BULKIO_RUN_DIR=$tmp
unset BULKIO_DATABASE_URL

cleanup() {
    t/TEST -stop-httpd >/dev/null 2>&1 || true
    scripts/bulkio.sh pg-stop || true
    rm -rf "$tmp"
}
trap cleanup EXIT

scripts/bulkio.sh pg-start
scripts/bulkio.sh migrate >/dev/null
export BULKIO_TEST_DBD_PARAMS=$(scripts/bulkio.sh conninfo)
export BULKIO_TEST_SECRET=$(openssl rand -hex 32)
export BULKIO_TEST_LIBEXECDIR=$(apxs -q LIBEXECDIR)
export BULKIO_TEST_IMPORT_CONNECTIONS=${BULKIO_TEST_IMPORT_CONNECTIONS:-2}
export BULKIO_TEST_SPOOL=${BULKIO_TEST_SPOOL:-file}
# the module under test (make test-asan: an ASan/UBSan build)
export BULKIO_TEST_MODULE=${BULKIO_TEST_MODULE:-$top/.libs/mod_bulkio.so}

rm -rf t/logs t/spool
# Apache::Test keeps the configuration it generated from t/conf/*.in, and
# a virtual host added there would be missing until t/TEST -clean
rm -f t/conf/extra.conf t/conf/httpd.conf t/conf/apache_test_config.pm
mkdir -p t/htdocs t/logs
# sanitizer reports (make test-asan: log_path=t/logs/asan/report), written
# by httpd children that run as nobody
mkdir -m 1777 t/logs/asan
perl -MApache::TestMM -e 'Apache::TestMM::generate_script("t/TEST")' >/dev/null
rc=0
t/TEST -apxs "$(command -v apxs)" "$@" || rc=$?

log=t/logs/error_log
if [ -f "$log" ]; then
    bad=$( { grep -E 'Segmentation fault|AddressSanitizer|runtime error:|Assertion|exit signal' "$log";
             grep -E ':(error|crit|alert|emerg)\] ' "$log" | grep -vE 'AH[0-9]{5}|BULKIO[0-9]+'; } || true)
    if [ -n "$bad" ]; then
        echo "error_log of the test server shows crashes or untagged errors:" >&2
        printf '%s\n' "$bad" | head -n 20 >&2
        rc=1
    fi
fi
for f in t/logs/asan/*; do
    if [ -s "$f" ]; then
        echo "sanitizer report in $f:" >&2
        head -n 30 "$f" >&2
        rc=1
    fi
done
exit $rc
