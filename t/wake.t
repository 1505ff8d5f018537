use strict;
use warnings FATAL => 'all';

# A job created on a server starts at once, not at its worker's next
# BulkIOPollInterval: the request wakes the scheduler, and so does a job
# thread that frees a slot for a job queued behind BulkIOMaxJobs. The test
# server polls every 200 ms, too often to tell; so a second httpd on the
# same database polls every 10 s with one slot (scripts/bulkio.sh start),
# while rows holding a live lease of the test server fill its slots, so
# that only the second server's worker can take the jobs.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use Sys::Hostname qw(hostname);
use HTTP::Request;
use IO::Socket::INET;
use lib 't/lib';
use BulkIO::Test;

plan tests => 12, need_module 'status';

my $vars = Apache::Test::vars();
my $top = $vars->{top_dir};
my $run = "$vars->{t_dir}/logs/wake";
# a free port of loopback's (the test server's virtual hosts take those
# after its own)
my $port = IO::Socket::INET->new(LocalAddr => '127.0.0.1', Listen => 1)
    ->sockport;
my $poll = 10;      # the second server's BulkIOPollInterval, seconds
# the test server's id and BulkIOMaxJobs (t/conf sets none: the default)
my $main = hostname() . '/' . $vars->{servername} . ':' . $vars->{port};
my $main_slots = 3;

reset_data();
system('rm', '-rf', $run);
mkdir $run or die "$run: $!";
open my $fh, '>', "$run/jwt.secret" or die;
print $fh "$ENV{BULKIO_TEST_SECRET}\n";
close $fh;
open $fh, '>', "$run/extra.conf" or die;
print $fh <<"CONF";
BulkIOPollInterval ${poll}s
BulkIOMaxJobs 1
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
CONF
close $fh;
my %env = (BULKIO_RUN_DIR => $run, BULKIO_PORT => $port,
           BULKIO_DATABASE_URL => $ENV{BULKIO_TEST_DBD_PARAMS},
           BULKIO_EXTRA_CONF => "$run/extra.conf",
           BULKIO_MODULE => $ENV{BULKIO_TEST_MODULE},
           HTTPD => $vars->{httpd});
sub bulkio_sh {
    local @ENV{keys %env} = values %env;
    return system("$top/scripts/bulkio.sh @_ >>$run/bulkio.sh.log 2>&1");
}

my $blocked = 0;
END {
    sql("DELETE FROM bulkio_jobs WHERE principal = 'wake-block'") if $blocked;
    bulkio_sh('stop') if $run && -f "$run/httpd.conf";
}
for my $i (1 .. $main_slots) {
    sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
        . " lease_server, lease_owner, lease_expires_at, started_at)"
        . " VALUES ('import', 'users', 'ndjson', 'running', 'wake-block',"
        . " '$main', '$main/block/0/$i', now() + interval '1 hour', now())");
}
$blocked = 1;

ok t_cmp(bulkio_sh('start'), 0, "a second server on port $port "
         . "(BulkIOPollInterval ${poll}s, BulkIOMaxJobs 1)");

my $ua = Apache::TestRequest::user_agent();
sub at {
    my ($method, $path, $ctype, $body) = @_;
    my @h = ('Authorization' => 'Bearer ' . token(sub => 'wake'));
    push @h, 'Content-Type' => $ctype if $ctype;
    return $ua->request(HTTP::Request->new($method,
                        "http://127.0.0.1:$port$path", \@h, $body));
}
sub polls {
    my $res = at(GET => '/server-status?auto');
    return $res->content =~ /^BulkIOPolls: (\d+)$/m ? $1 : -1;
}
sub post_import {
    my ($tag, $n) = @_;
    my $body = join '', map { qq({"email":"$tag-$_\@example.com","name":"N"}\n) }
                        1 .. $n;
    my $res = at(POST => '/v1/imports?resource=users',
                 'application/x-ndjson', $body);
    die 'import: ' . $res->code . ' ' . $res->content unless $res->code == 202;
    return json_decode($res->content)->{job_id};
}
sub status_of {
    my $doc = json_decode(at(GET => "/v1/imports/$_[0]")->content) // {};
    return $doc->{status} // '';
}
sub wait_end {
    my $id = shift;
    my $until = time + 60;
    my $st = '';
    while (time < $until) {
        last if ($st = status_of($id)) =~ /^(completed|failed|canceled)$/;
        sleep 0.05;
    }
    return $st;
}
sub epoch {
    my ($id, $col) = @_;
    return sql_value("SELECT extract(epoch FROM $col) FROM bulkio_jobs"
                     . " WHERE public_id = '$id'");
}

# the scheduler polls once when it starts, then not before its interval:
# the ticks between polls are not counted as polls
my ($p0, $begin) = (-1, time);
for (1 .. 100) {
    last if ($p0 = polls()) >= 1;
    sleep 0.05;
}
ok t_cmp($p0 >= 1 ? 1 : 0, 1, "its scheduler polled at start ($p0 polls)");
sleep 0.5;
my $p1 = polls();
ok t_cmp($p1, $p0, 'no poll counted while nothing wakes it');

# a job posted here starts at once
my $a = post_import('wake-a', 10);
my $posted = time;
my $st = '';
for (1 .. 2000) {
    last if ($st = status_of($a)) ne 'pending';
    sleep 0.01;
}
my $wait = time - $posted;
printf "# POST answer -> %s after %.3f s (poll interval %d s)\n", $st, $wait,
    $poll;
ok t_cmp($st =~ /^(running|completed)$/ ? 1 : 0, 1, "the job started ($st)");
ok t_cmp($wait < 1 ? 1 : 0, 1, sprintf('%.3f s after the POST answered', $wait));
ok t_cmp(wait_end($a), 'completed', 'and completed');

# a job queued behind the one slot starts as soon as the slot frees
my $c = post_import('wake-c', 20000);
my $d = post_import('wake-d', 10);
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$d'"),
         'pending', 'a second job waits behind BulkIOMaxJobs 1');
ok t_cmp(wait_end($c) . ' ' . wait_end($d), 'completed completed',
         'both completed');
my ($freed, $started) = (epoch($c, 'completed_at'), epoch($d, 'started_at'));
my $gap = $started - $freed;
printf "# slot freed %.3f, queued job started %.3f: %.3f s later\n", $freed,
    $started, $gap;
ok t_cmp($gap >= 0 && $gap < 1 ? 1 : 0, 1,
         sprintf('the queued job started %.3f s after the slot freed', $gap));

# the second server ran them (the test server's slots are full)
open $fh, '<', "$run/logs/error_log" or die;
my $log = do { local $/; <$fh> };
close $fh;
ok t_cmp(scalar(grep { $log =~ /job \Q$_\E finished/i } $a, $c, $d), 3,
         'the second server ran the three jobs');

# polls: the start, one per wake-up (3 jobs created, 3 slots freed), and
# one per interval elapsed
my $p2 = polls();
my $most = 1 + 6 + 1 + int((time - $begin) / $poll);
printf "# polls: %d at start, %d after %.1f s (at most %d)\n", $p0, $p2,
    time - $begin, $most;
ok t_cmp($p2 > $p1 && $p2 <= $most ? 1 : 0, 1,
         "polls count real polls ($p1 -> $p2), not the ticks");

# and its error log shows no crash and no untagged error
my @bad = grep { /Segmentation fault|AddressSanitizer|exit signal/
                 || (/:(error|crit|alert|emerg)\] / && !/AH\d{5}|BULKIO\d+/) }
          split /\n/, $log;
print map { "# $_\n" } @bad;
ok t_cmp(scalar(@bad), 0, "the second server's error log is clean");
