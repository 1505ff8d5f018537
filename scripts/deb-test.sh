#!/usr/bin/env bash
# The Debian packages, for real: make deb (into build/deb/), then
# dpkg -i libapache2-mod-bulkio and bulkio-client into the machine's
# apache2, which must leave the module disabled; the migrations applied
# with the packaged bulkio-migrate to a throwaway PostgreSQL (twice: the
# second run applies nothing); a2enmod bulkio, the settings in a
# conf-available file, the system apache2 as a separate instance on port
# BULKIO_DEB_TEST_PORT (scripts/apache2-instance.sh, as make test-system);
# /v1/health, the version in server-status and bulkio --version, an import
# of examples/users.csv with the packaged /usr/bin/bulkio and its rows in
# PostgreSQL. Then dpkg --remove (the module disabled, the programs gone,
# the configuration kept) and dpkg --purge, after which nothing of the
# packages may be left: no file, no enabled module, no a2enmod state, no
# configuration, no spool directory; and /etc/apache2, /var/lib/apache2
# and the module directory exactly as before.
#
# While it runs, a policy-rc.d that refuses every action (unless there is
# one already) keeps the maintainer scripts from restarting a system
# apache2 that may be running on port 80.
#
#   scripts/deb-test.sh             (make test-deb; make test runs it)
#
# Environment: BULKIO_DEB_TEST_PORT (default 8091).
# Skipped, with a message, unless run as root on Debian with its apache2.
set -euo pipefail

. "$(dirname "$0")/apache2-instance.sh" \
    test-deb "${BULKIO_DEB_TEST_PORT:-8091}" bulkio-deb-test
pkgs="libapache2-mod-bulkio bulkio-client"
policy=/usr/sbin/policy-rc.d

# installed, config-files, not-installed, ... (dpkg-query forgets purged ones)
pkg_state() {
    dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed
}

[ -f /etc/debian_version ] || skip "not Debian (/etc/debian_version)"
a2i_require dpkg dpkg-deb dpkg-parsechangelog dpkg-buildpackage
for p in $pkgs; do
    [ "$(pkg_state "$p")" = not-installed ] \
        || skip "$p is $(pkg_state "$p"): not touching an installation in use (dpkg --purge $p)"
done
[ -e "$etc/mods-available/bulkio.load" ] \
    && skip "$etc/mods-available/bulkio.load exists (make install?): not replacing it"
version=$(dpkg-parsechangelog -SVersion)
arch=$(dpkg --print-architecture)
debs=""
for p in $pkgs; do
    debs="$debs build/deb/${p}_${version}_$arch.deb"
done
say "make deb"
make --no-print-directory deb || fail "make deb"
for d in $debs; do
    [ -f "$d" ] || fail "make deb did not build $d"
done

a2i_begin
touch "$tmp/paths"
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/deb-test.sh (removed when it ends)\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi

uninstall() {
    local p
    for p in $pkgs; do
        [ "$(pkg_state "$p")" = not-installed ] || dpkg --purge "$p" >/dev/null 2>&1
    done
    [ "$own_policy" = 0 ] || rm -f "$policy"
}

# Every path of the packages that does not exist yet: after the purge,
# none of them may exist.
for d in $debs; do
    dpkg-deb -c "$d" | awk '{ print $6 }' | sed 's|^\.||; s|/$||' | grep . || true
done | sort -u | while read -r f; do
    [ -e "$f" ] || echo "$f"
done >"$tmp/paths"

# --- dpkg -i: installed, not enabled ---------------------------------------
dpkg -i $debs >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log" >&2; fail "dpkg -i$debs"; }
for p in $pkgs; do
    [ "$(pkg_state "$p")" = installed ] || fail "$p: $(pkg_state "$p") after dpkg -i"
done
[ -f "$mods/mod_bulkio.so" ] && [ -f "$etc/mods-available/bulkio.load" ] \
    && [ -f "$etc/mods-available/bulkio.conf" ] \
    || fail "dpkg -i did not install the module and its .load/.conf"
[ -e "$etc/mods-enabled/bulkio.load" ] && fail "installing the package enabled the module"
say "dpkg -i$debs: $(sed -n 's/^Setting up //p' "$tmp/dpkg-i.log" | tr '\n' ' ')(module not enabled)"
got=$(/usr/bin/bulkio --version | cut -d' ' -f1-2)
[ "$got" = "bulkio $version" ] || fail "bulkio --version: $got, not bulkio $version"
say "/usr/bin/bulkio --version: $got"

# --- the schema with the packaged command ----------------------------------
a2i_database
/usr/sbin/bulkio-migrate "$conninfo" >"$tmp/migrate.log" || fail "bulkio-migrate"
grep -q 'applying migration 001_schema' "$tmp/migrate.log" \
    || fail "bulkio-migrate: $(cat "$tmp/migrate.log")"
say "bulkio-migrate: $(grep -c 'applying migration' "$tmp/migrate.log") migrations applied"
/usr/sbin/bulkio-migrate "$conninfo" >"$tmp/migrate2.log" || fail "bulkio-migrate (again)"
[ ! -s "$tmp/migrate2.log" ] || fail "bulkio-migrate again: $(cat "$tmp/migrate2.log")"
say "bulkio-migrate again: nothing to apply"

# --- a2enmod, the settings, the instance ------------------------------------
a2enmod bulkio >"$tmp/a2enmod.log" 2>&1 \
    || { cat "$tmp/a2enmod.log" >&2; fail "a2enmod bulkio"; }
[ -L "$etc/mods-enabled/bulkio.load" ] && [ -e "$etc/mods-enabled/dbd.load" ] \
    || fail "a2enmod bulkio did not enable bulkio and dbd"
say "a2enmod bulkio: $(tr '\n' ' ' <"$tmp/a2enmod.log" | sed 's/To activate.*//')"
# bulkio.conf's default spool, /var/lib/apache2/bulkio: the purge removes it
a2i_settings
a2i_start

if [ -e "$etc/mods-enabled/status.load" ]; then
    got=$(curl -s "http://127.0.0.1:$port/server-status?auto" | sed -n 's/^BulkIOVersion: //p')
    [ "$got" = "$version" ] || fail "server-status: BulkIOVersion '$got', not $version"
    say "GET /server-status?auto: BulkIOVersion: $got"
fi

token=$(BULKIO_RUN_DIR=$tmp SUB=deb-test scripts/bulkio.sh token)
rc=0
BULKIO_URL=http://127.0.0.1:$port BULKIO_TOKEN=$token \
    /usr/bin/bulkio import users examples/users.csv >"$tmp/import.out" 2>"$tmp/import.err" || rc=$?
# examples/users.csv holds 4 records, one of them with an invalid email
[ "$rc" = 1 ] && grep -q '4 records, 3 succeeded (3 inserted), 1 failed' "$tmp/import.err" \
    || fail "bulkio import users examples/users.csv: exit $rc: $(cat "$tmp/import.err")"
say "bulkio import users examples/users.csv: exit 1, $(tail -n 1 "$tmp/import.err")"
rows=$(psql "$conninfo" -Atc "SELECT count(*) FROM users
    WHERE email IN ('ada@example.com', 'alan@example.com', 'grace@example.com')")
[ "$rows" = 3 ] || fail "PostgreSQL holds $rows of the 3 rows imported"
say "PostgreSQL: the 3 rows imported are in users"

a2i_stop
[ -d /var/lib/apache2/bulkio ] || fail "no spool directory /var/lib/apache2/bulkio"

# --- dpkg --remove: disabled, the programs gone, the configuration kept -----
dpkg --remove $pkgs >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg --remove"; }
for f in "$etc/mods-enabled/bulkio.load" "$etc/mods-enabled/bulkio.conf" \
         "$mods/mod_bulkio.so" /usr/bin/bulkio /usr/sbin/bulkio-migrate; do
    [ -e "$f" ] && fail "dpkg --remove left $f"
done
[ -f "$etc/mods-available/bulkio.conf" ] || fail "dpkg --remove removed the configuration"
say "dpkg --remove: module disabled, $mods/mod_bulkio.so and /usr/bin/bulkio gone, $etc/mods-available/bulkio.{load,conf} kept"

# --- dpkg --purge: nothing left ----------------------------------------------
dpkg --purge $pkgs >"$tmp/dpkg-p.log" 2>&1 || { cat "$tmp/dpkg-p.log" >&2; fail "dpkg --purge"; }
for p in $pkgs; do
    [ "$(pkg_state "$p")" = not-installed ] || fail "$p: $(pkg_state "$p") after dpkg --purge"
done
left=$(while read -r f; do [ ! -e "$f" ] || echo "$f"; done <"$tmp/paths")
[ -z "$left" ] || fail "dpkg --purge left: $left"
left=$(ls -d "$etc"/mods-*/bulkio.* /var/lib/apache2/*/*/bulkio /var/lib/apache2/bulkio \
       2>/dev/null || true)
[ -z "$left" ] || fail "dpkg --purge left: $left"
say "dpkg --purge: none of the $(wc -l <"$tmp/paths") paths of the packages, no a2enmod state, no spool left"
