#!/usr/bin/env bash
# The Debian packaging, for real: make install, a2enmod bulkio (which enables
# dbd through "# Depends: dbd"), the settings in a conf-available file as the
# README documents, then the system apache2 -- its binary, its
# mods-enabled/ and conf-enabled/ -- started through apache2ctl as a
# separate instance (its own APACHE_CONFDIR, pid file, run/lock/log
# directories, and Listen 127.0.0.1:PORT instead of ports.conf and the
# sites) against a throwaway PostgreSQL. It must answer 200 on /v1/health,
# 401 without a token, and export a row of the test database with a token
# signed with the configured secret. Then everything installed is removed
# and the test fails unless /etc/apache2, /var/lib/apache2 and the module
# directory are exactly as before. A system apache2 that may be running
# (on port 80) is neither used nor restarted.
#
#   scripts/system-test.sh          (make test-system; make test runs it)
#
# Environment: BULKIO_SYSTEM_TEST_PORT (default 8090).
# Skipped, with a message, unless run as root on a Debian-style apache2.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${BULKIO_SYSTEM_TEST_PORT:-8090}
etc=/etc/apache2
conf_name=bulkio-system-test

say() { printf 'test-system: %s\n' "$*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (installs into $etc and the module directory)"
[ -d "$etc/mods-available" ] && [ -f "$etc/apache2.conf" ] \
    || skip "no Debian apache2 layout ($etc/mods-available)"
for c in a2enmod a2dismod a2enconf a2disconf apache2ctl apxs curl psql; do
    command -v "$c" >/dev/null || skip "$c not found (make deps)"
done
[ -e "$etc/mods-enabled/bulkio.load" ] \
    && skip "bulkio is already enabled in $etc: not touching an installation in use"
[ -e "$etc/conf-available/$conf_name.conf" ] \
    && skip "$etc/conf-available/$conf_name.conf exists (a test still running?)"
[ -f .libs/mod_bulkio.so ] || fail "module not built (make)"

mods=$(apxs -q LIBEXECDIR)
tmp=$(mktemp -d /tmp/bulkio-system.XXXXXX)
chmod 755 "$tmp"
inst=$tmp/apache2           # APACHE_CONFDIR of the test instance

# What "left as it was" means: every path, link target and file checksum.
snapshot() {
    {
        find "$etc" /var/lib/apache2 "$mods" -xdev -printf '%y %p -> %l\n'
        find "$etc" /var/lib/apache2 "$mods" -xdev -type f -print0 \
            | xargs -0 md5sum
    } 2>/dev/null | sort
}
snapshot >"$tmp/before"

# a2enmod/a2enconf keep their state under /var/lib/apache2; note which of
# its directories exist so that the ones they create can go again
state_dirs=""
for d in /var/lib/apache2/{module,conf}/{enabled,disabled}_by_admin; do
    [ -d "$d" ] || state_dirs="$state_dirs $d"
done
dbd_enabled=0
[ -e "$etc/mods-enabled/dbd.load" ] && dbd_enabled=1
mkdir -p "$tmp/backup"
for f in "$etc/mods-available/bulkio.load" "$etc/mods-available/bulkio.conf" \
         "$mods/mod_bulkio.so"; do
    [ -e "$f" ] && cp -p "$f" "$tmp/backup/"
done

instance() {
    APACHE_CONFDIR=$inst APACHE_STARTED_BY_SYSTEMD=true apache2ctl "$@"
}

cleanup() {
    local rc=$? f
    set +e
    if [ -f "$tmp/run/apache2.pid" ]; then
        instance stop >/dev/null 2>&1
        for _ in $(seq 100); do
            [ -f "$tmp/run/apache2.pid" ] || break
            sleep 0.1
        done
    fi
    if [ -e "$etc/conf-enabled/$conf_name.conf" ] \
       || [ -e "$etc/conf-available/$conf_name.conf" ]; then
        a2disconf -q -p "$conf_name" >/dev/null 2>&1
        rm -f "$etc/conf-available/$conf_name.conf"
    fi
    a2dismod -q -p bulkio >/dev/null 2>&1
    [ "$dbd_enabled" = 1 ] || a2dismod -q -p dbd >/dev/null 2>&1
    for f in "$etc/mods-available/bulkio.load" "$etc/mods-available/bulkio.conf" \
             "$mods/mod_bulkio.so"; do
        if [ -e "$tmp/backup/$(basename "$f")" ]; then
            cp -p "$tmp/backup/$(basename "$f")" "$f"
        else
            rm -f "$f"
        fi
    done
    for f in $state_dirs; do
        rmdir "$f" 2>/dev/null
    done
    BULKIO_RUN_DIR=$tmp scripts/bulkio.sh pg-stop >/dev/null 2>&1
    snapshot >"$tmp/after"
    if ! diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
        say "FAILED: the system apache2 is not left as it was:" >&2
        head -n 40 "$tmp/diff" >&2
        rc=1
    else
        say "removed again: $etc, /var/lib/apache2 and $mods are as before"
    fi
    rm -rf "$tmp"
    if [ "$rc" = 0 ]; then
        say "PASSED"
    fi
    exit "$rc"
}
trap cleanup EXIT

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
BULKIO_RUN_DIR=$tmp scripts/bulkio.sh pg-start
BULKIO_RUN_DIR=$tmp scripts/bulkio.sh migrate >/dev/null
conninfo=$(BULKIO_RUN_DIR=$tmp scripts/bulkio.sh conninfo)
secret=$(openssl rand -hex 32)
(umask 077; printf '%s\n' "$secret" >"$tmp/jwt.secret")
mkdir -p "$tmp/spool"
(umask 027; cat >"$etc/conf-available/$conf_name.conf" <<EOF
# mod_bulkio settings, written by scripts/system-test.sh (removed when it ends)
DBDParams "$conninfo"
BulkIOJWTSecret "$secret"
BulkIOSpoolDir "$tmp/spool"
EOF
)
a2enconf -q "$conf_name" >/dev/null
say "settings in $etc/conf-available/$conf_name.conf (mode $(stat -c %a "$etc/conf-available/$conf_name.conf")), a2enconf $conf_name"

# --- the system apache2 as a separate instance on a loopback port ---------
mkdir -p "$inst" "$tmp/run" "$tmp/lock" "$tmp/log"
for d in mods-available mods-enabled conf-available conf-enabled magic; do
    ln -s "$etc/$d" "$inst/$d"
done
cat >"$inst/envvars" <<EOF
. $etc/envvars
export APACHE_PID_FILE=$tmp/run/apache2.pid
export APACHE_RUN_DIR=$tmp/run
export APACHE_LOCK_DIR=$tmp/lock
export APACHE_LOG_DIR=$tmp/log
EOF
# the system's apache2.conf, with our Listen instead of ports.conf (port 80)
# and without the sites (virtual hosts for port 80)
grep -q '^Include ports.conf' "$etc/apache2.conf" \
    || fail "$etc/apache2.conf has no 'Include ports.conf' line"
sed -e "s|^Include ports.conf|Listen 127.0.0.1:$port\nServerName 127.0.0.1|" \
    -e '/^IncludeOptional sites-enabled/d' \
    "$etc/apache2.conf" >"$inst/apache2.conf"
echo 'LogLevel warn bulkio:info' >>"$inst/apache2.conf"

instance configtest >"$tmp/configtest.log" 2>&1 \
    || { cat "$tmp/configtest.log" >&2; fail "apache2ctl configtest"; }
instance start || { tail -n 20 "$tmp/log/error.log" >&2; fail "apache2ctl start"; }

code=
for _ in $(seq 100); do
    code=$(curl -s -o "$tmp/health" -w '%{http_code}' \
           "http://127.0.0.1:$port/v1/health" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || { tail -n 20 "$tmp/log/error.log" >&2; fail "/v1/health answered $code"; }
grep -q '"database":"ok"' "$tmp/health" || fail "/v1/health body: $(cat "$tmp/health")"
say "GET /v1/health: 200 $(cat "$tmp/health")"

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

pid=$(cat "$tmp/run/apache2.pid")
instance stop
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "apache2 (pid $pid) did not stop"
say "apache2ctl stop: stopped"
