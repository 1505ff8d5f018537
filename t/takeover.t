use strict;
use warnings FATAL => 'all';

# SIGKILL of the process running an import: the job is taken over once its
# lease expires and ends exactly as an uninterrupted run would.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 13;

my $dir = Apache::Test::vars('t_dir') . '/logs';
my $n = 300_000;

reset_data();
my $want = gendata("$dir/takeover.ndjson", resource => 'users',
                   format => 'ndjson', count => $n, profile => 'invalid5');
my $id = upload("$dir/takeover.ndjson", 'resource=users',
                'application/x-ndjson');

# wait for the first committed batch, then kill the process holding the job
my ($pid, $done) = running_job($id);
ok t_cmp(defined $pid && $done < $n, 1, "job running in pid $pid, $done records in");
ok t_cmp(kill('KILL', $pid), 1, 'SIGKILL sent');

my $doc = wait_job($id, 'alice', 180);
ok t_cmp($doc->{status}, 'completed', 'taken over and completed');
ok t_cmp($doc->{totalRecords}, $n, 'every record counted once');
ok t_cmp($doc->{successCount}, $want->{success}, 'success as an uninterrupted run');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $want->{rows},
         'rows: none lost, none twice');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors e JOIN bulkio_jobs j"
                   . " ON j.id = e.job_id WHERE j.public_id = '$id'"),
         $want->{total} - $want->{success}, 'error entries: exactly one each');
ok t_cmp(sql_value("SELECT attempts FROM bulkio_jobs WHERE public_id = '$id'") >= 2,
         1, 'it took a second attempt');

# a graceful restart mid-import: the job goes back to the queue at a batch
# boundary and the next generation of children finishes it
reset_data();
$id = upload("$dir/takeover.ndjson", 'resource=users', 'application/x-ndjson');
for (1 .. 600) {
    last if sql_value("SELECT checkpoint_records FROM bulkio_jobs"
                      . " WHERE public_id = '$id'") > 0;
    sleep 0.05;
}
open my $pf, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
my $parent = <$pf>;
chomp $parent;
ok t_cmp(kill('USR1', $parent), 1, 'graceful restart (SIGUSR1) mid-import');
$doc = wait_job($id, 'alice', 180);
ok t_cmp($doc->{status}, 'completed', 'completed after the restart');
ok t_cmp($doc->{successCount}, $want->{success}, 'the same successes');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $want->{rows},
         'the same rows');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors e JOIN bulkio_jobs j"
                   . " ON j.id = e.job_id WHERE j.public_id = '$id'"),
         $want->{total} - $want->{success}, 'the same error entries');
