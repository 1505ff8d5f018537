use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest qw(POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 17;

my $csv = "email\r\nidem\@example.com\r\n";

sub post {
    my ($key, $sub, $body, $query) = @_;
    return POST '/v1/imports' . ($query // '?resource=users'), auth($sub),
        'Content-Type' => 'text/csv', 'Idempotency-Key' => $key,
        content => $body;
}
sub jobs { sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = '$_[0]'") }

my $n = jobs('alice');
my $r1 = post('key-1', 'alice', $csv);
ok t_cmp($r1->code, 202, 'first request: 202');
my $r2 = post('key-1', 'alice', $csv);
ok t_cmp($r2->code, 202, 'replay: 202');
ok t_cmp($r2->content, $r1->content, 'replay: the same body, same job_id');
ok t_cmp($r2->header('Location'), $r1->header('Location'), 'replay: Location');
ok t_cmp(jobs('alice'), $n + 1, 'replay created no second job');

my $r3 = post('key-1', 'alice', $csv . "other\@example.com\r\n");
ok t_cmp($r3->code, 422, 'same key, different body: 422');
my $r4 = post('key-1', 'alice', $csv, '?resource=articles');
ok t_cmp($r4->code, 422, 'same key, different resource: 422');
my $r5 = post('key-1', 'alice', $csv, '');
ok t_cmp($r5->code, 422, 'same key, invalid request: 422 (key looked up first)');
ok t_cmp(jobs('alice'), $n + 1, 'no job from 422s');

# keys are scoped to the principal
my $b1 = post('key-1', 'bob', $csv);
ok t_cmp($b1->code, 202, "bob's key-1 is not alice's");
ok json_decode($b1->content)->{job_id} ne json_decode($r1->content)->{job_id};

# 409 while the first request with the key is still being received
my $tok = token(sub => 'carol');
my $slow = "POST /v1/imports?resource=users&format=csv HTTP/1.1\r\n"
    . "Host: localhost\r\nAuthorization: Bearer $tok\r\n"
    . "Idempotency-Key: slow-key\r\nContent-Type: text/csv\r\n"
    . "Content-Length: " . length($csv) . "\r\nConnection: close\r\n\r\n";
my ($st, $h, $body) = raw_request($slow, substr($csv, 0, 5), sub {
    sleep 0.3;
    my $busy = post('slow-key', 'carol', $csv);
    ok t_cmp($busy->code, 409, 'same key while the first is uploading: 409');
}, substr($csv, 5));
ok t_cmp($st, 202, 'the slow first request completes: 202');

# N identical requests at once: exactly one job
my $m = jobs('dave');
my @pids;
for (1 .. 8) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = post('burst', 'dave', $csv);
        exit($r->code == 202 ? 0 : $r->code == 409 ? 9 : 1);
    }
    push @pids, $pid;
}
my %codes;
for (@pids) { waitpid $_, 0; $codes{$? >> 8}++ }
ok t_cmp(jobs('dave'), $m + 1, '8 concurrent identical requests: one job');
ok t_cmp(($codes{1} // 0), 0, 'each got 202 or 409');

# a key is at most 255 printable characters
my $long = post('k' x 256, 'alice', $csv);
ok t_cmp($long->code, 400, 'overlong key: 400');
my $ctl = post("bad\x01key", 'alice', $csv);
ok t_cmp($ctl->code, 400, 'control character in key: 400');
