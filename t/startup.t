use strict;
use warnings FATAL => 'all';

# httpd refuses to start, with a clear message, when mod_dbd is missing;
# errors httpd raises itself leave as problem+json.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 7;

my $vars = Apache::Test::vars();
my $dir = "$vars->{t_dir}/logs/nodbd";
# a port of its own: the test's virtual hosts take those above the main one
my $port = do {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "no free port: $!";
    $s->sockport;
};
mkdir $dir;
my $mods = $ENV{BULKIO_TEST_LIBEXECDIR};
open my $fh, '>', "$dir/httpd.conf" or die;
print $fh <<"CONF";
ServerRoot "$dir"
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule bulkio_module "$ENV{BULKIO_TEST_MODULE}"
BulkIOSpoolDir "$dir/spool"
CONF
close $fh;
my $httpd = $vars->{httpd};
my $rc = system("timeout 20 $httpd -f $dir/httpd.conf -DFOREGROUND >$dir/out 2>&1");
ok t_cmp($rc != 0, 1, 'httpd exits');
open $fh, '<', "$dir/error_log" or die;
my $log = do { local $/; <$fh> };
ok t_cmp($log, qr/BULKIO22: mod_bulkio needs mod_dbd: load it/,
         'and says mod_dbd is missing');

# httpd's own errors under /v1 are problem+json
my $res = GET '/v1/imports/%zz', auth();
ok t_cmp($res->code, 400, 'bad URL encoding: 400');
ok t_cmp($res->header('Content-Type'), 'application/problem+json',
         'as problem+json, not HTML');
my ($st, $h, $body) = raw_request("GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                                  . "Content-Length: abc\r\n\r\n");
ok t_cmp($st, 400, 'bad Content-Length header: 400');
ok t_cmp("$h->{'content-type'} " . (json_decode($body) // {})->{status},
         'application/problem+json 400', 'as problem+json');
$res = GET '/v1/imports/' . ('x' x 9000), auth();
ok t_cmp($res->code, 414, 'overlong URI: 414');
