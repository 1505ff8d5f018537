#!/usr/bin/env bash
# mod_bulkio local installation: dependencies, a project-local PostgreSQL
# cluster, schema migrations and an httpd that loads the freshly built module.
#
#   scripts/bulkio.sh deps|run|start|stop|migrate|token|pg-start|pg-stop|conf
#
# Environment:
#   BULKIO_RUN_DIR       local installation (default: .run in the checkout)
#   BULKIO_PORT          httpd port on 127.0.0.1 (default 8080)
#   BULKIO_DATABASE_URL  libpq connection string of an existing database;
#                        when set, no local cluster is created or started
#   BULKIO_EXTRA_CONF    a file of directives included after conf/bulkio.conf
#                        (and after $BULKIO_RUN_DIR/local.conf)
#
# $BULKIO_RUN_DIR/local.conf, when it exists, holds this installation's own
# BulkIO* directives (e.g. BulkIOURLAllow 127.0.0.0/8 for URL imports from
# this machine); it is included after conf/bulkio.conf at every start and
# never written by this script.
#   BULKIO_MODULE        the module to load (default: .libs/mod_bulkio.so)
#   BULKIO_SPOOL_DIR     spool directory (default: $BULKIO_RUN_DIR/spool);
#                        servers sharing a database share it too
#   SUB                  token subject for "token" (default: dev)
#   BULKIO_BROWSER_DEPS  0: "deps" leaves out what the browser tests need
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${BULKIO_RUN_DIR:-$top/.run}
port=${BULKIO_PORT:-8080}
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
httpd_bin=${HTTPD:-$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)}
modules_dir=$(apxs -q LIBEXECDIR 2>/dev/null || echo /usr/lib/apache2/modules)

# Debian packages the project needs (build, run, test, make bench's
# pgloader; the last line for make deb and make test-deb: dh_apache2
# comes with apache2-dev).
packages="build-essential apache2 apache2-dev libaprutil1-dbd-pgsql libpq-dev
libjson-c-dev libcurl4-openssl-dev libcmocka-dev libapache2-mod-perl2
zlib1g-dev libzstd-dev zstd libssl-dev openssl postgresql postgresql-client
curl perl libwww-perl gzip python3 apache2-utils libyaml-libyaml-perl
clang libclang-rt-14-dev valgrind gnuplot-nox fonts-dejavu-core pgloader
dpkg-dev debhelper lintian"
# the console's browser tests (make test-browser); BULKIO_BROWSER_DEPS=0
# leaves them out (the Docker image)
browser_packages="nodejs chromium fonts-dejavu-core"

say() { printf '%s\n' "$*"; }
die() { printf 'bulkio: %s\n' "$*" >&2; exit 1; }

# The unprivileged account that owns the PostgreSQL cluster when we are root.
pg_user() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_deps() {
    local missing="" browser=${BULKIO_BROWSER_DEPS:-1} all=$packages
    [ "$browser" = 0 ] || all="$all $browser_packages"
    for p in $all; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || missing="$missing $p"
    done
    # Debian's nodejs leaves npm to a package of its own; other builds of
    # nodejs (NodeSource) bring it along
    if [ "$browser" != 0 ] && ! command -v npm >/dev/null 2>&1 \
       && ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing npm"
    fi
    if [ -n "$missing" ]; then
        install_packages $missing
    fi
    [ "$browser" = 0 ] || npm_deps
}

# The browser tests' driver (package.json, pinned by package-lock.json);
# PUPPETEER_SKIP_DOWNLOAD: the tests use Debian's chromium, nothing downloads
# a browser.
npm_deps() {
    local stamp="$top/node_modules/.package-lock.json"
    if [ -f "$stamp" ] && [ ! "$top/package-lock.json" -nt "$stamp" ]; then
        return 0
    fi
    (cd "$top" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

install_packages() {
    local missing="$*"
    if [ "$(id -u)" != 0 ]; then
        say "bulkio: missing Debian packages; install them with:"
        say "  sudo apt-get install -y $missing"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
}

pg_socket_dir() { echo "$run_dir/pg"; }

# The libpq connection string httpd and psql use.
conninfo() {
    if [ -n "${BULKIO_DATABASE_URL:-}" ]; then
        echo "$BULKIO_DATABASE_URL"
    else
        echo "host=$(pg_socket_dir) port=5432 dbname=bulkio user=bulkio"
    fi
}

cmd_pg_start() {
    [ -n "${BULKIO_DATABASE_URL:-}" ] && return 0
    [ -x "$pg_bin/initdb" ] || die "PostgreSQL server binaries not found (run: make deps)"
    local data="$run_dir/pgdata" sock
    sock=$(pg_socket_dir)
    mkdir -p "$run_dir" "$run_dir/logs"
    chmod 755 "$run_dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data" "$sock"
        chmod 700 "$data"
        chmod 755 "$sock"
        if [ "$(id -u)" = 0 ]; then
            chown postgres: "$data" "$sock" "$run_dir/logs"
            as_pg test -x "$run_dir" \
                || die "user postgres cannot reach $run_dir; set BULKIO_RUN_DIR to a directory it can traverse"
        fi
        as_pg "$pg_bin/initdb" -D "$data" -U bulkio -A trust -E UTF8 \
            --locale=C.UTF-8 >"$run_dir/logs/initdb.log" 2>&1 \
            || { cat "$run_dir/logs/initdb.log" >&2; die "initdb failed"; }
    fi
    if ! as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$pg_bin/pg_ctl" -D "$data" -w -t 60 -l "$run_dir/logs/postgresql.log" \
            -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c unix_socket_permissions=0777 -p 5432" \
            start >/dev/null \
            || { tail -n 20 "$run_dir/logs/postgresql.log" >&2; die "PostgreSQL did not start"; }
    fi
    if ! psql "host=$sock port=5432 dbname=postgres user=bulkio" -Atqc \
            "SELECT 1 FROM pg_database WHERE datname = 'bulkio'" | grep -q 1; then
        psql "host=$sock port=5432 dbname=postgres user=bulkio" -qc "CREATE DATABASE bulkio" >/dev/null
    fi
}

cmd_pg_stop() {
    [ -n "${BULKIO_DATABASE_URL:-}" ] && return 0
    local data="$run_dir/pgdata"
    [ -f "$data/PG_VERSION" ] || return 0
    if as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
}

# Apply the sql/ migrations not yet applied (scripts/bulkio-migrate, which
# the Debian package ships as /usr/sbin/bulkio-migrate).
cmd_migrate() {
    "$top/scripts/bulkio-migrate" --sql-dir "$top/sql" "$(conninfo)"
}

secret_file() { echo "$run_dir/jwt.secret"; }

ensure_secret() {
    local f
    mkdir -p "$run_dir"
    # the JWT secret, and those of webhooks and signed download links
    for f in "$(secret_file)" "$run_dir/webhook.secret" \
             "$run_dir/download.secret"; do
        if [ ! -s "$f" ]; then
            (umask 077; openssl rand -hex 32 >"$f")
        fi
    done
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

cmd_token() {
    ensure_secret
    local sub=${SUB:-dev} header payload sig
    case "$sub" in
        *[!A-Za-z0-9._@-]*|"") die "SUB must match [A-Za-z0-9._@-]+" ;;
    esac
    # TTL: how long it is valid, seconds or with s, m, h or d (12h); SCOPE:
    # its scope claim (BulkIORequireScopes), space-separated
    local ttl=${TTL:-12h} scope=${SCOPE:-} n now extra=""
    case "$ttl" in
        *[!0-9smhd]*|[smhd]*|*[smhd]?*|"") die "TTL must be a number with an optional s, m, h or d" ;;
    esac
    n=${ttl%[smhd]}
    case "$ttl" in
        *m) n=$((n * 60)) ;;
        *h) n=$((n * 3600)) ;;
        *d) n=$((n * 86400)) ;;
    esac
    [ "$n" -gt 0 ] || die "TTL must be more than 0"
    case "$scope" in
        *[!A-Za-z0-9:._\ -]*) die "SCOPE must be space-separated words like bulkio:import" ;;
        ?*) extra=$(printf ',"scope":"%s"' "$scope") ;;
    esac
    now=$(date +%s)
    header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
    payload=$(printf '{"sub":"%s","iat":%s,"exp":%s%s}' "$sub" "$now" \
              "$((now + n))" "$extra" | b64url)
    # HMAC-SHA256 with the secret read from its file: the secret never
    # appears in a command line (openssl -macopt key:... would show it in ps)
    sig=$(printf '%s.%s' "$header" "$payload" \
          | perl -MDigest::SHA=hmac_sha256 -e 'open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!\n";
                chomp(my $k = <$f> // ""); local $/; print hmac_sha256(scalar <STDIN>, $k)' \
              "$(secret_file)" | b64url)
    printf '%s.%s.%s\n' "$header" "$payload" "$sig"
}

cmd_conf() {
    ensure_secret
    local conf="$run_dir/httpd.conf" user_lines="" spool="${BULKIO_SPOOL_DIR:-$run_dir/spool}"
    mkdir -p "$run_dir/logs" "$run_dir/httpd" "$spool"
    if [ "$(id -u)" = 0 ]; then
        user_lines="User www-data
Group www-data"
        chown www-data: "$spool"
    fi
    chmod 700 "$spool"
    (umask 077; cat >"$conf" <<EOF
# Generated by scripts/bulkio.sh; edit conf/bulkio.conf instead.
ServerRoot "$run_dir/httpd"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$run_dir/httpd.pid"
DefaultRuntimeDir "$run_dir/httpd"
ErrorLog "$run_dir/logs/error_log"
LogLevel warn bulkio:info
LogFormat "%h %l %u %t \"%r\" %>s %b %D" bulkio
CustomLog "$run_dir/logs/access_log" bulkio
$user_lines
LoadModule mpm_event_module $modules_dir/mod_mpm_event.so
LoadModule authz_core_module $modules_dir/mod_authz_core.so
LoadModule authz_host_module $modules_dir/mod_authz_host.so
LoadModule dbd_module $modules_dir/mod_dbd.so
LoadModule status_module $modules_dir/mod_status.so
LoadModule bulkio_module "${BULKIO_MODULE:-$top/.libs/mod_bulkio.so}"
Define BULKIO_DBD_PARAMS "$(conninfo)"
Define BULKIO_SPOOL_DIR "$spool"
Define BULKIO_JWT_SECRET "$(cat "$(secret_file)")"
Define BULKIO_WEBHOOK_SECRET "$(cat "$run_dir/webhook.secret")"
Define BULKIO_DOWNLOAD_SECRET "$(cat "$run_dir/download.secret")"
Include "$top/conf/bulkio.conf"
$( [ -f "$run_dir/local.conf" ] && echo "Include \"$run_dir/local.conf\"" )
$( [ -n "${BULKIO_EXTRA_CONF:-}" ] && echo "Include \"$BULKIO_EXTRA_CONF\"" )
EOF
    )
}

httpd_pid() {
    [ -f "$run_dir/httpd.pid" ] && cat "$run_dir/httpd.pid" 2>/dev/null || true
}

print_banner() {
    local token
    token=$(SUB=dev cmd_token)
    # the client's default token (bulkio reads $BULKIO_RUN_DIR/token)
    (umask 077; printf '%s\n' "$token" >"$run_dir/token")
    token=$(cmd_token)
    cat <<EOF

mod_bulkio is running on http://127.0.0.1:$port
  error log: $run_dir/logs/error_log

Token (subject "${SUB:-dev}", valid ${TTL:-12h}; more with: make token SUB=name TTL=1d):
  $token

Directives of this installation (BulkIOURLAllow, ...), kept across runs:
  $run_dir/local.conf (optional; read at start)

Console (paste the token to sign in):
  http://127.0.0.1:$port/v1/console/

Try it (the client reads the token from $run_dir/token):
  BULKIO_URL=http://127.0.0.1:$port client/bulkio import users examples/users.csv
  curl -s http://127.0.0.1:$port/v1/health
  curl -s -H "Authorization: Bearer $token" \\
       -F file=@examples/users.csv \\
       "http://127.0.0.1:$port/v1/imports?resource=users"

EOF
}

prepare() {
    [ -f "$top/.libs/mod_bulkio.so" ] || die "module not built (run: make)"
    cmd_pg_start
    cmd_migrate
    cmd_conf
}

cmd_start() {
    prepare
    local pid
    pid=$(httpd_pid)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        "$httpd_bin" -f "$run_dir/httpd.conf" -k graceful
    else
        "$httpd_bin" -f "$run_dir/httpd.conf" -k start
    fi
    for _ in $(seq 50); do
        curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    print_banner
}

cmd_stop() {
    local pid
    pid=$(httpd_pid)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        "$httpd_bin" -f "$run_dir/httpd.conf" -k stop
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    cmd_pg_stop
}

cmd_run() {
    prepare
    trap 'cmd_stop; exit 0' INT TERM
    "$httpd_bin" -f "$run_dir/httpd.conf" -DFOREGROUND &
    local pid=$!
    for _ in $(seq 50); do
        curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    print_banner
    say "Press Ctrl-C to stop."
    wait "$pid" || true
    cmd_stop
}

case "${1:-}" in
    deps)     cmd_deps ;;
    run)      cmd_run ;;
    start)    cmd_start ;;
    stop)     cmd_stop ;;
    migrate)  cmd_pg_start; cmd_migrate ;;
    token)    cmd_token ;;
    pg-start) cmd_pg_start ;;
    pg-stop)  cmd_pg_stop ;;
    conf)     cmd_conf ;;
    conninfo) conninfo ;;
    *) die "usage: $0 deps|run|start|stop|migrate|token|pg-start|pg-stop|conf|conninfo" ;;
esac
