# Sourced by scripts/system-test.sh and scripts/deb-test.sh: the system
# apache2 -- its binary, its mods-enabled/ and conf-enabled/ -- started
# through apache2ctl as a separate instance (its own APACHE_CONFDIR, pid
# file, run/lock/log directories, and Listen 127.0.0.1:$port instead of
# ports.conf and the sites) against a throwaway PostgreSQL, with the
# settings in a conf-available file as the README documents; and the check,
# when the test ends, that /etc/apache2, /var/lib/apache2 and the module
# directory are exactly as before. A system apache2 that may be running
# (on port 80) is neither used nor restarted.
#
#   . scripts/apache2-instance.sh TEST_NAME PORT CONF_NAME
#
# TEST_NAME prefixes the messages, PORT is the instance's, CONF_NAME names
# the settings file in conf-available; the working directory becomes the
# checkout. The caller defines uninstall() (called after the instance
# stopped, before the comparison), then:
#   a2i_require CMD...  skip unless root, Debian's apache2 layout and CMD...
#   a2i_begin           $tmp, the snapshot; the EXIT trap a2i_cleanup
#   a2i_database        PostgreSQL in $tmp (scripts/bulkio.sh pg-start):
#                       $conninfo; the caller applies the migrations
#   a2i_settings [DIR]  DBDParams, a new BulkIOJWTSecret (also in
#                       $tmp/jwt.secret, for scripts/bulkio.sh token) and
#                       BulkIOSpoolDir DIR (else bulkio.conf's default) in
#                       conf-available/$conf_name.conf, a2enconf
#   a2i_start           configtest, start, wait for 200 on /v1/health
#   a2i_stop            stop, wait for the processes to go

test_name=$1 port=$2 conf_name=$3
etc=/etc/apache2
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

say() { printf '%s: %s\n' "$test_name" "$*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }

a2i_require() {
    local c
    [ "$(id -u)" = 0 ] || skip "needs root (installs into $etc and the module directory)"
    [ -d "$etc/mods-available" ] && [ -f "$etc/apache2.conf" ] \
        || skip "no Debian apache2 layout ($etc/mods-available)"
    for c in a2enmod a2dismod a2enconf a2disconf apache2ctl apxs curl psql "$@"; do
        command -v "$c" >/dev/null || skip "$c not found (make deps)"
    done
    [ -e "$etc/mods-enabled/bulkio.load" ] \
        && skip "bulkio is already enabled in $etc: not touching an installation in use"
    [ -e "$etc/conf-available/$conf_name.conf" ] \
        && skip "$etc/conf-available/$conf_name.conf exists (a test still running?)"
    mods=$(apxs -q LIBEXECDIR)
}

# What "left as it was" means: every path, link target and file checksum.
a2i_snapshot() {
    {
        find "$etc" /var/lib/apache2 "$mods" -xdev -printf '%y %p -> %l\n'
        find "$etc" /var/lib/apache2 "$mods" -xdev -type f -print0 \
            | xargs -0 md5sum
    } 2>/dev/null | sort
}

a2i_begin() {
    local d
    tmp=$(mktemp -d "/tmp/bulkio-$test_name.XXXXXX")
    chmod 755 "$tmp"
    inst=$tmp/apache2           # APACHE_CONFDIR of the test instance
    a2i_snapshot >"$tmp/before"
    # a2enmod/a2enconf and the maintainer scripts keep their state under
    # /var/lib/apache2; note which of its directories exist so that the
    # ones they create can go again
    state_dirs=""
    for d in /var/lib/apache2/{module,conf}/{enabled,disabled}_by_{admin,maint}; do
        [ -d "$d" ] || state_dirs="$state_dirs $d"
    done
    dbd_enabled=0
    [ -e "$etc/mods-enabled/dbd.load" ] && dbd_enabled=1
    trap a2i_cleanup EXIT
}

a2i_database() {
    BULKIO_RUN_DIR=$tmp "$top/scripts/bulkio.sh" pg-start
    conninfo=$(BULKIO_RUN_DIR=$tmp "$top/scripts/bulkio.sh" conninfo)
}

a2i_settings() {
    local secret f=$etc/conf-available/$conf_name.conf
    secret=$(openssl rand -hex 32)
    (umask 077; printf '%s\n' "$secret" >"$tmp/jwt.secret")
    (umask 027; {
        printf '# mod_bulkio settings, written by %s (removed when it ends)\n' "$test_name"
        printf 'DBDParams "%s"\nBulkIOJWTSecret "%s"\n' "$conninfo" "$secret"
        [ -z "${1:-}" ] || printf 'BulkIOSpoolDir "%s"\n' "$1"
    } >"$f")
    a2enconf -q "$conf_name" >/dev/null
    say "settings in $f (mode $(stat -c %a "$f")), a2enconf $conf_name"
}

a2i_instance() {
    APACHE_CONFDIR=$inst APACHE_STARTED_BY_SYSTEMD=true apache2ctl "$@"
}

a2i_start() {
    local d code=
    mkdir -p "$inst" "$tmp/run" "$tmp/lock" "$tmp/log"
    for d in mods-available mods-enabled conf-available conf-enabled magic; do
        ln -s "$etc/$d" "$inst/$d"
    done
    printf '. %s/envvars\n' "$etc" >"$inst/envvars"
    for d in PID_FILE=run/apache2.pid RUN_DIR=run LOCK_DIR=lock LOG_DIR=log; do
        printf 'export APACHE_%s\n' "${d%%=*}=$tmp/${d#*=}" >>"$inst/envvars"
    done
    # the system's apache2.conf, with our Listen instead of ports.conf (port
    # 80) and without the sites (virtual hosts for port 80)
    grep -q '^Include ports.conf' "$etc/apache2.conf" \
        || fail "$etc/apache2.conf has no 'Include ports.conf' line"
    sed -e "s|^Include ports.conf|Listen 127.0.0.1:$port\nServerName 127.0.0.1|" \
        -e '/^IncludeOptional sites-enabled/d' \
        "$etc/apache2.conf" >"$inst/apache2.conf"
    echo 'LogLevel warn bulkio:info' >>"$inst/apache2.conf"

    a2i_instance configtest >"$tmp/configtest.log" 2>&1 \
        || { cat "$tmp/configtest.log" >&2; fail "apache2ctl configtest"; }
    a2i_instance start || { tail -n 20 "$tmp/log/error.log" >&2; fail "apache2ctl start"; }
    for _ in $(seq 100); do
        code=$(curl -s -o "$tmp/health" -w '%{http_code}' \
               "http://127.0.0.1:$port/v1/health" || true)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || { tail -n 20 "$tmp/log/error.log" >&2; fail "/v1/health answered $code"; }
    grep -q '"database":"ok"' "$tmp/health" || fail "/v1/health body: $(cat "$tmp/health")"
    say "GET /v1/health: 200 $(cat "$tmp/health")"
}

a2i_stop() {
    local pid
    pid=$(cat "$tmp/run/apache2.pid")
    a2i_instance stop
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "apache2 (pid $pid) did not stop"
    say "apache2ctl stop: stopped"
}

a2i_cleanup() {
    local rc=$? f
    set +e
    if [ -f "$tmp/run/apache2.pid" ]; then
        a2i_instance stop >/dev/null 2>&1
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
    uninstall
    # a2enmod bulkio enabled dbd too ("# Depends: dbd"); disabling bulkio
    # leaves it enabled
    [ "$dbd_enabled" = 1 ] || a2dismod -q -p dbd >/dev/null 2>&1
    for f in $state_dirs; do
        rmdir "$f" 2>/dev/null
    done
    BULKIO_RUN_DIR=$tmp "$top/scripts/bulkio.sh" pg-stop >/dev/null 2>&1
    a2i_snapshot >"$tmp/after"
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
