use strict;
use warnings FATAL => 'all';

# A URL import naming an address of one of the server's own interfaces:
# the test makes a network namespace (unshare -n) with a veth interface
# holding 11.22.33.44 (a public address, so no address class refuses it)
# and a listener on 11.22.33.44:80, starts a second httpd with the module
# inside it (its own database, spool and logs, so the test server's worker
# never sees the job), and imports http://11.22.33.44/users.ndjson. The job
# must fail with the reason naming BulkIOURLAllow and neither the address
# nor its class, the listener must see no connection, and the interface
# must send no packet: nothing leaves loopback. A plain connect from inside
# the namespace afterwards shows the listener was there all along.
# Needs root (unshare -n, ip link add) as scripts/apache-test.sh runs here;
# skipped elsewhere.
use Apache::Test qw(-withtestmore);
use File::Path qw(rmtree);
use lib 't/lib';
use BulkIO::Test;

my $vars = Apache::Test::vars();
plan skip_all => 'needs root for unshare -n and ip link add'
    unless $> == 0 && system('unshare -n ip link add v0 type veth peer name v1 '
                             . '>/dev/null 2>&1') == 0;

my $top = $vars->{top_dir};
my $dir = "$vars->{t_logs}/netns";
rmtree($dir);
mkdir $dir or die "$dir: $!";
chmod 0755, $dir;

# a database of its own, migrated
my $conn = $ENV{BULKIO_TEST_DBD_PARAMS};
(my $admin = $conn) =~ s/dbname=\S+/dbname=postgres/;
(my $nsdb = $conn) =~ s/dbname=\S+/dbname=bulkio_netns/;
system('psql', $admin, '-XAtq', '-c', 'DROP DATABASE IF EXISTS bulkio_netns') == 0
    or die 'drop database';
system('psql', $admin, '-XAtq', '-c', 'CREATE DATABASE bulkio_netns') == 0
    or die 'create database';
system("$top/scripts/bulkio-migrate --sql-dir $top/sql '$nsdb' >/dev/null") == 0
    or die 'migrate';

my $lib = $ENV{BULKIO_TEST_LIBEXECDIR};
my $port = $vars->{port};
open my $fh, '>', "$dir/httpd.conf" or die $!;
print $fh <<"CONF";
ServerRoot "$dir"
ServerName localhost
DefaultRuntimeDir "$dir"
LoadModule mpm_event_module "$lib/mod_mpm_event.so"
LoadModule authz_core_module "$lib/mod_authz_core.so"
LoadModule authz_host_module "$lib/mod_authz_host.so"
LoadModule dbd_module "$lib/mod_dbd.so"
LoadModule bulkio_module "$ENV{BULKIO_TEST_MODULE}"
User $vars->{user}
Group $vars->{group}
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel info
Define BULKIO_DBD_PARAMS "$nsdb"
Define BULKIO_SPOOL_DIR "$dir/spool"
Define BULKIO_JWT_SECRET "$ENV{BULKIO_TEST_SECRET}"
Include "$top/conf/bulkio.conf"
BulkIOPollInterval 200ms
BulkIOFetchConnectTimeout 2s
CONF
close $fh;

# the listener: counts the connections it accepts
open $fh, '>', "$dir/listen.pl" or die $!;
print $fh <<'PL';
use IO::Socket::INET;
my ($file) = @ARGV;
my $s = IO::Socket::INET->new(LocalAddr => '11.22.33.44', LocalPort => 80,
                              Listen => 5, ReuseAddr => 1) or die "listen: $!";
my $n = 0;
open my $f, '>', $file or die $!; print $f "0\n"; close $f;
while (my $c = $s->accept) {
    ++$n;
    open my $f, '>', $file or die $!; print $f "$n\n"; close $f;
    print $c "HTTP/1.0 200 OK\r\nContent-Type: application/x-ndjson\r\n\r\n"
             . qq({"email":"leak\@example.com"}\n);
    close $c;
}
PL
close $fh;

# inside the namespace
my $token = token(sub => 'netns');
open $fh, '>', "$dir/inside.sh" or die $!;
print $fh <<"SH";
set -u
ip link set lo up
ip link add v0 type veth peer name v1
ip link set v0 addrgenmode none
ip link set v1 addrgenmode none
ip addr add 11.22.33.44/24 dev v0
ip link set v0 up
ip link set v1 up
echo "addr=\$(ip -o -4 addr show dev v0 | awk '{print \$4}')"
echo "tx_before=\$(ip -s -j link show v0)"
perl "$dir/listen.pl" "$dir/accepted" & lpid=\$!
"$vars->{httpd}" -f "$dir/httpd.conf" -k start
for i in \$(seq 1 100); do
    curl -fs -o /dev/null http://127.0.0.1:$port/v1/health && break
    sleep 0.2
done
job=\$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \\
      -d '{"url":"http://11.22.33.44/users.ndjson"}' \\
      "http://127.0.0.1:$port/v1/imports?resource=users" \\
      | sed -n 's/.*"job_id":"\\([^"]*\\)".*/\\1/p')
echo "job=\$job"
doc=
for i in \$(seq 1 300); do
    doc=\$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/imports/\$job")
    case "\$doc" in *'"status":"failed"'*|*'"status":"completed"'*) break ;; esac
    sleep 0.2
done
echo "doc=\$doc"
echo "accepted=\$(cat "$dir/accepted")"
echo "tx_after=\$(ip -s -j link show v0)"
curl -s -m 5 -o /dev/null http://11.22.33.44/users.ndjson
echo "control=\$(cat "$dir/accepted")"
"$vars->{httpd}" -f "$dir/httpd.conf" -k stop
kill \$lpid
for i in \$(seq 1 50); do [ -e "$dir/httpd.pid" ] || break; sleep 0.2; done
SH
close $fh;

my $out = `unshare -n sh $dir/inside.sh 2>&1`;
my %r = $out =~ /^(\w+)=(.*)$/mg;
diag($out) unless ($r{doc} // '') =~ /"status":"failed"/;

is($r{addr}, '11.22.33.44/24', 'the namespace has an interface holding 11.22.33.44');
like($r{job} // '', qr/^[0-9a-f-]{36}$/, 'the URL import was accepted');
my $doc = eval { json_decode($r{doc}) } // {};
is($doc->{status}, 'failed', 'the job failed');
is($doc->{reason}, 'cannot fetch the URL: the host is not allowed '
                   . '(BulkIOURLAllow would allow it)',
   'the reason names the directive');
unlike($doc->{reason} // '', qr/11\.22|own|interface|public/,
       'and neither the address nor its class');
is($r{accepted}, 0, 'nothing connected to the listener');
sub tx {
    my $l = eval { json_decode($_[0] // '') } // [];
    return $l->[0]{stats64}{tx}{packets} // 'unknown';
}
is(tx($r{tx_before}), 0, 'the interface had sent no packet before');
is(tx($r{tx_after}), 0, 'nor after the import: nothing left loopback');
is($r{control}, 1, 'a plain connect from the namespace reaches the listener');
my $rows = `psql '$nsdb' -XAtq -c "SELECT count(*) FROM users"`;
chomp $rows;
is($rows, 0, 'nothing was imported');
my $log = do { local (@ARGV, $/) = "$dir/error_log"; <> } // '';
like($log, qr/its URL was refused: address 11\.22\.33\.44 \(own interface\)/,
     "the server's log says what was refused");
system('psql', $admin, '-XAtq', '-c', 'DROP DATABASE IF EXISTS bulkio_netns');

done_testing();
