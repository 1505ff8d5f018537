use strict;
use warnings FATAL => 'all';

# URL imports, fetched from this test server itself (BulkIOURLAllow
# 127.0.0.0/8 in t/conf): the same results as uploads; failures that name
# their cause. No URL here leaves the loopback interface.
use Apache::Test;
use Apache::TestRequest qw(POST);
use Apache::TestUtil qw(t_cmp);
use IO::Socket::INET;
use lib 't/lib';
use BulkIO::Test;

plan tests => 23;

my $vars = Apache::Test::vars();
my $docs = "$vars->{documentroot}/urls";
my $base = 'http://127.0.0.1:' . $vars->{port};
mkdir $docs;

sub url_job {
    my ($url, $query) = @_;
    my $res = POST '/v1/imports?resource=users' . ($query // ''), auth(),
        'Content-Type' => 'application/json', content => qq({"url": "$url"});
    die 'POST: ' . $res->code . ' ' . $res->content unless $res->code == 202;
    return wait_job(json_decode($res->content)->{job_id}, 'alice', 120);
}

my $want;
for my $fmt (qw(ndjson json csv)) {
    $want = gendata("$docs/users.$fmt", resource => 'users', format => $fmt,
                    count => 300);
}
system("gzip -nc $docs/users.csv > $docs/users.csv.gz") == 0 or die;
for my $f (qw(users.ndjson users.json users.csv users.csv.gz)) {
    reset_data();
    my $doc = url_job("$base/urls/$f");
    ok t_cmp("$doc->{status} $doc->{totalRecords} $doc->{successCount}",
             "completed $want->{total} $want->{success}",
             "$f by URL: the counts of an upload");
    ok t_cmp(sql_value('SELECT count(*) FROM users'), $want->{rows},
             "$f by URL: the rows");
}
my $doc = url_job("$base/bulkio-hop-1");
ok t_cmp($doc->{status}, 'completed', 'three redirects are followed');
ok t_cmp($doc->{format}, 'ndjson', 'format from the final URL');

# failures name their cause
$doc = url_job("$base/urls/missing.csv");
ok t_cmp($doc->{status}, 'failed', '404: failed');
ok t_cmp($doc->{reason}, qr/HTTP 404/, 'reason names 404');
$doc = url_job("$base/bulkio-fail");
ok t_cmp($doc->{reason}, qr/HTTP 500/, 'reason names 500 (after retries)');
open my $fh, '>', "$docs/big.ndjson" or die;
print $fh qq({"email":"big$_\@example.com"}\n) for 1 .. 60_000;
close $fh;
$doc = url_job("$base/urls/big.ndjson");
ok t_cmp($doc->{reason}, qr/exceeds the 1048576-byte limit/,
         'too large: names the limit');
$doc = url_job("$base/bulkio-loop-a");
ok t_cmp($doc->{reason}, qr/too many redirects/, 'redirect loop');
$doc = url_job("$base/bulkio-to-v6");
ok t_cmp($doc->{reason}, 'cannot fetch the URL: the host is not allowed '
         . '(BulkIOURLAllow would allow it)',
         'a redirect to a refused address: the directive, not the address');
ok t_cmp($doc->{reason} =~ /::1|loopback/ ? 'named' : 'not named', 'not named',
         'the reason names no address or class');
$doc = url_job("$base/bulkio-to-port-23");
ok t_cmp($doc->{reason}, 'cannot fetch the URL: port 23 is not allowed '
         . '(BulkIOURLPorts would allow it)', 'a redirect to port 23');
ok t_cmp(scalar(grep { /refused: port 23 of 127\.0\.0\.1/ }
                do { open my $l, '<', "$vars->{t_logs}/error_log" or die;
                     <$l> }), 1,
         'the server log tells the operator what was refused');

# a server that sends headers, then nothing
my $slow = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 5, ReuseAddr => 1) or die $!;
my $port = $slow->sockport;
my $pid = fork // die;
if (!$pid) {
    while (my $c = $slow->accept) {
        my $req = '';
        sysread $c, $req, 4096;
        syswrite $c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
                     . "Content-Type: application/x-ndjson\r\n\r\n{\"em";
        sleep 30;
    }
    exit 0;
}
$doc = url_job("http://127.0.0.1:$port/slow.ndjson");
kill 'KILL', $pid;
waitpid $pid, 0;
ok t_cmp($doc->{status}, 'failed', 'a stalled server: failed');
ok t_cmp($doc->{reason}, qr/no data for 2 s/, 'reason names the stall');

# the same URL with the same key is a replay
my @r = map {
    POST '/v1/imports?resource=users', auth(), 'Idempotency-Key' => 'url-1',
        'Content-Type' => 'application/json',
        content => qq({"url": "$base/urls/users.csv"})
} 1 .. 2;
ok t_cmp($r[1]->content, $r[0]->content, 'URL import replayed by key');
my $other = POST '/v1/imports?resource=users', auth(),
    'Idempotency-Key' => 'url-1', 'Content-Type' => 'application/json',
    content => qq({"url": "$base/urls/users.json"});
ok t_cmp($other->code, 422, 'same key, other URL: 422');
wait_job(json_decode($r[0]->content)->{job_id});
