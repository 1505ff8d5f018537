#!/usr/bin/perl
# docker/ without a Docker engine: the Dockerfile builds with the project's
# own make targets on debian:bookworm and enables the module the Debian way,
# docker-compose.yml runs PostgreSQL 15 and httpd with healthchecks, a spool
# volume and settings (no secret literals) from the environment, and the
# container's settings file really resolves those environment variables in
# httpd (apache2 -t -D DUMP_CONFIG with mod_info, when the module is built).
# Needs no server: make test runs it with prove; Apache::Test's harness
# runs it too.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use YAML::XS ();

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');

sub slurp {
    my $f = "$top/$_[0]";
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

# --- Dockerfile -----------------------------------------------------------
my $df = slurp('docker/Dockerfile');
$df =~ s/\\\n/ /g;                                   # join continued lines
my @lines = grep { /\S/ && !/^\s*#/ } split /\n/, $df;
my @from = map { /^\s*FROM\s+(\S+)/i ? $1 : () } @lines;
is_deeply(\@from, ['debian:bookworm'], 'one stage, FROM debian:bookworm');

my @run = map { /^\s*RUN\s+(.*)$/i ? $1 : () } @lines;
my @cmds = map { s/^\s+|\s+$//gr } map { split /&&|;/ } @run;
my @make = map { /^make(?:\s+(\S+))?$/ ? ($1 // 'all') : () } @cmds;
is_deeply(\@make, [qw(deps all install)],
          'the build is make deps, make, make install, in that order');
my @builds = grep { /\b(?:gcc|cc|apxs|configure|cmake|libtool)\b/ } @cmds;
ok(!@builds, 'no build step besides the make targets') or diag("@builds");
my @apt = grep { /apt-get\s+install/ } @cmds;
is(scalar @apt, 1, 'apt-get install only to bootstrap make');
like($apt[0] // '', qr/install\s+-y\s+--no-install-recommends\s+make\s+ca-certificates$/,
     'which installs make (and CA certificates), the rest is make deps');

my $makefile = slurp('Makefile');
for my $t (grep { $_ ne 'all' } @make) {
    like($makefile, qr/^\Q$t\E:/m, "make $t is a target of the Makefile");
}
ok((grep { /^a2enmod bulkio$/ } @cmds), 'the module is enabled with a2enmod bulkio');
ok((grep { /^a2enconf bulkio-docker$/ } @cmds), 'the settings with a2enconf bulkio-docker');
my ($conf_copy) = grep { m{^cp docker/bulkio-docker\.conf /etc/apache2/conf-available/$} } @cmds;
ok($conf_copy, 'docker/bulkio-docker.conf goes to conf-available');
ok(-f "$top/docker/bulkio-docker.conf", 'docker/bulkio-docker.conf exists');
my ($entry) = $df =~ /^\s*ENTRYPOINT\s+\["([^"]+)"\]/m;
ok($entry && -x "$top/$entry", "the entrypoint $entry is an executable file of the checkout");
like(slurp($entry // 'docker/entrypoint.sh'), qr{scripts/bulkio\.sh migrate}m,
     'the entrypoint applies the migrations with scripts/bulkio.sh');
like($df, qr/^\s*HEALTHCHECK\b.*\/v1\/health/m, 'the image has a healthcheck on /v1/health');
like($df, qr/^\s*VOLUME\s+\/var\/lib\/bulkio\s*$/m, 'the spool directory is a volume');
like($df, qr/^\s*ENV\s+BULKIO_SPOOL_DIR=\/var\/lib\/bulkio\s*$/m,
     'and BULKIO_SPOOL_DIR points to it');
unlike($df, qr/(?:SECRET|PASSWORD)\S*=/i, 'no secret or password in the image');

# --- docker-compose.yml ---------------------------------------------------
my $compose = eval { YAML::XS::LoadFile("$top/docker/docker-compose.yml") };
ok($compose, 'docker-compose.yml parses') or diag($@);
my $svc = $compose->{services} || {};
my ($db) = grep { ($_->{image} // '') =~ /^postgres:/ } values %$svc;
like($db->{image} // '', qr/^postgres:15(?:[.-]|$)/, 'PostgreSQL 15');
my ($httpd) = grep { $_->{build} } values %$svc;
is($httpd->{build}{dockerfile}, 'docker/Dockerfile', 'httpd is built from docker/Dockerfile');
is($httpd->{build}{context}, '..', 'with the checkout as its context');
ok($db->{healthcheck} && $db->{healthcheck}{test}, 'the database has a healthcheck');
ok($httpd->{healthcheck} && grep({ m{/v1/health} } @{ $httpd->{healthcheck}{test} || [] }),
   'httpd has a healthcheck on /v1/health');
my ($db_name) = grep { $svc->{$_} == $db } keys %$svc;
is($httpd->{depends_on}{$db_name}{condition}, 'service_healthy',
   'httpd starts once the database is healthy');
my %env = %{ $httpd->{environment} || {} };
like($env{BULKIO_JWT_SECRET} // '', qr/^\$\{BULKIO_JWT_SECRET:\?[^}]*\}$/,
     'the JWT secret comes from the environment, required');
like($env{BULKIO_DBD_PARAMS} // '', qr/^host=\S+ dbname=\S+ user=\S+ password=\$\{\w+:\?[^}]*\}$/,
     'DBDParams from the environment, the password not written down');
my @literal;
for my $s (values %$svc) {
    my $e = $s->{environment} || {};
    for my $k (keys %$e) {
        my $v = $e->{$k} // '';
        push @literal, $k if $k =~ /SECRET|PASSWORD/ && $v !~ /^\$\{\w+:\?[^}]*\}$/;
        push @literal, $k if $v =~ /password=(?!\$\{)/;
    }
}
ok(!@literal, 'no secret literal in the compose file') or diag("@literal");
my $spool = $env{BULKIO_SPOOL_DIR} // '';
is($spool, '/var/lib/bulkio', 'BULKIO_SPOOL_DIR /var/lib/bulkio');
my @vol = grep { m{^(\w+):\Q$spool\E$} && exists $compose->{volumes}{$1} }
          @{ $httpd->{volumes} || [] };
ok(@vol, 'a named volume holds the spool directory');

# --- the settings file, resolved by httpd ----------------------------------
SKIP: {
    my $apache2 = `sh -c 'command -v apache2'` =~ s/\s+$//r;
    my $mods = `apxs -q LIBEXECDIR 2>/dev/null` =~ s/\s+$//r;
    skip 'apache2, mod_info or the built module missing', 4
        unless $apache2 && -f "$mods/mod_info.so" && -f "$top/.libs/mod_bulkio.so";
    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/httpd.conf" or die;
    print $fh <<"CONF";
ServerRoot "$dir"
Listen 127.0.0.1:1
PidFile "$dir/pid"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule info_module $mods/mod_info.so
LoadModule dbd_module $mods/mod_dbd.so
LoadModule bulkio_module "$top/.libs/mod_bulkio.so"
# what the image has: mods-enabled/bulkio.conf, then conf-enabled/
Include "$top/conf/bulkio.conf"
Include "$top/docker/bulkio-docker.conf"
CONF
    close $fh;
    local $ENV{BULKIO_DBD_PARAMS} = 'host=db dbname=bulkio user=bulkio password=from-env';
    local $ENV{BULKIO_JWT_SECRET} = 'j' x 48;
    local $ENV{BULKIO_SPOOL_DIR} = "$dir/spool";
    my $out = `$apache2 -f $dir/httpd.conf -t -D DUMP_CONFIG 2>&1`;
    like($out, qr/^Syntax OK$/m, 'httpd accepts the container configuration')
        or diag($out);
    my %last;
    while ($out =~ /^\s*(DBDParams|BulkIOJWTSecret|BulkIOSpoolDir)\s+"([^"]*)"\s*$/mg) {
        $last{$1} = $2;
    }
    is($last{DBDParams}, $ENV{BULKIO_DBD_PARAMS}, 'DBDParams from the environment');
    is($last{BulkIOJWTSecret}, $ENV{BULKIO_JWT_SECRET}, 'BulkIOJWTSecret from the environment');
    is($last{BulkIOSpoolDir}, $ENV{BULKIO_SPOOL_DIR}, 'BulkIOSpoolDir from the environment');
}

done_testing();
