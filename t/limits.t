use strict;
use warnings FATAL => 'all';

# At most BulkIOMaxJobs (3) imports run at once on a server; the rest wait
# in the queue and all finish.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 4;

my $dir = Apache::Test::vars('t_dir') . '/logs';
reset_data();
gendata("$dir/limits.ndjson", resource => 'users', format => 'ndjson',
        count => 60_000, profile => 'valid');
my @ids = map { upload("$dir/limits.ndjson", 'resource=users') } 1 .. 5;
my ($max, $seen_queue) = (0, 0);
while (1) {
    my ($running, $pending) = split /\|/, sql_value(
        "SELECT count(*) FILTER (WHERE status = 'running'),"
        . " count(*) FILTER (WHERE status = 'pending') FROM bulkio_jobs");
    $max = $running if $running > $max;
    $seen_queue = 1 if $pending && $running == 3;
    last if !$running && !$pending;
    sleep 0.02;
}
ok t_cmp($max, 3, 'three jobs ran at once, never more');
ok t_cmp($seen_queue, 1, 'while the others waited in the queue');
my @done = grep { wait_job($_)->{status} eq 'completed' } @ids;
ok t_cmp(scalar @done, 5, 'all five completed');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 60_000,
         'the same file five times: the same 60,000 users');
