#!/usr/bin/env bash
# The Debian layout, for real: make install, a2enmod bulkio (which enables
# dbd through "# Depends: dbd"), the settings in a conf-available file as the
# README documents, then the system apache2 as a separate instance on port
# BULKIO_SYSTEM_TEST_PORT against a throwaway PostgreSQL
# (scripts/apache2-instance.sh). It must answer 200 on /v1/health, 401
# without a token, and export a row of the test database with a token
# signed with the configured secret. Then everything installed is removed
# and the test fails unless /etc/apache2, /var/lib/apache2 and the module
# directory are exactly as before. A system apache2 that may be running
# (on port 80) is neither used nor restarted. scripts/deb-test.sh does the
# same with the Debian packages.
#
#   scripts/system-test.sh          (make test-system; make test runs it)
#
# Environment: BULKIO_SYSTEM_TEST_PORT (default 8090).
# Skipped, with a message, unless run as root on a Debian-style apache2.
set -euo pipefail

. "$(dirname "$0")/apache2-instance.sh" \
    test-system "${BULKIO_SYSTEM_TEST_PORT:-8090}" bulkio-system-test

a2i_require
[ -f .libs/mod_bulkio.so ] || fail "module not built (make)"
a2i_begin
mkdir -p "$tmp/backup"
# make install installs the client too
installed="$etc/mods-available/bulkio.load $etc/mods-available/bulkio.conf
$mods/mod_bulkio.so /usr/local/bin/bulkio"
for f in $installed; do
    [ -e "$f" ] && cp -p "$f" "$tmp/backup/"
done

# what make install installed goes again, files it replaced come back
uninstall() {
    local f
    [ -d "$tmp/backup" ] || return 0
    a2dismod -q -p bulkio >/dev/null 2>&1
    for f in $installed; do
        if [ -e "$tmp/backup/$(basename "$f")" ]; then
            cp -p "$tmp/backup/$(basename "$f")" "$f"
        else
            rm -f "$f"
        fi
    done
}

# --- install the Debian way -----------------------------------------------
make -s install >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log" >&2; fail "make install"; }
[ -f "$mods/mod_bulkio.so" ] || fail "make install did not install $mods/mod_bulkio.so"
for f in bulkio.load bulkio.conf; do
    cmp -s "conf/$f" "$etc/mods-available/$f" \
        || fail "make install did not install $etc/mods-available/$f"
done
say "make install: $mods/mod_bulkio.so, $etc/mods-available/bulkio.{load,conf}"

a2enmod bulkio >"$tmp/a2enmod.log" 2>&1 \
    || { cat "$tmp/a2enmod.log" >&2; fail "a2enmod bulkio"; }
[ -L "$etc/mods-enabled/bulkio.load" ] && [ -L "$etc/mods-enabled/bulkio.conf" ] \
    || fail "a2enmod bulkio did not enable bulkio.load and bulkio.conf"
[ -e "$etc/mods-enabled/dbd.load" ] || fail "a2enmod bulkio did not enable dbd"
say "a2enmod bulkio: $(tr '\n' ' ' <"$tmp/a2enmod.log" | sed 's/To activate.*//')"

# --- a throwaway database, the settings as the README documents them -------
a2i_database
BULKIO_RUN_DIR=$tmp scripts/bulkio.sh migrate >/dev/null
mkdir -p "$tmp/spool"
a2i_settings "$tmp/spool"

# --- the system apache2 as a separate instance on a loopback port ---------
a2i_start

code=$(curl -s -o /dev/null -w '%{http_code}' \
       "http://127.0.0.1:$port/v1/imports/00000000-0000-4000-8000-000000000000")
[ "$code" = 401 ] || fail "GET /v1/imports/{id} without a token answered $code, not 401"
say "GET /v1/imports/{id} without a token: 401"

# the token and the database are the ones of the conf-available file
psql "$conninfo" -qc "INSERT INTO users (external_id, email, name)
    VALUES ('6f0c1f1e-4b6e-4f49-9a39-3f6a7b0c2d11', 'system-test@example.org', 'System Test')" \
    >/dev/null
token=$(BULKIO_RUN_DIR=$tmp SUB=system-test scripts/bulkio.sh token)
code=$(curl -s -o "$tmp/export" -w '%{http_code}' -H "Authorization: Bearer $token" \
       "http://127.0.0.1:$port/v1/exports?resource=users&fields=id,email")
[ "$code" = 200 ] || fail "GET /v1/exports with a token answered $code: $(cat "$tmp/export")"
grep -q '"email":"system-test@example.org"' "$tmp/export" \
    || fail "the export does not hold the test row: $(cat "$tmp/export")"
say "GET /v1/exports?resource=users with a token: 200 $(cat "$tmp/export")"

a2i_stop
