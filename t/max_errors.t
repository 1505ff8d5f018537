use strict;
use warnings FATAL => 'all';

# max_errors=N (docs/rules.md, "Error limit"): once an import's failed
# records pass N, the batch in which they did is committed with those
# before it and the job ends failed, saying so; later batches are not
# written.
use Apache::Test;
use Apache::TestRequest qw(POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 18;

# 3,000 users (three batches of 1,000): five bad emails in the second
sub users_file {
    my $csv = "id,email,name\n";
    for my $i (0 .. 2999) {
        my $id = sprintf '00000000-0000-4000-8000-%012d', $i;
        my $bad = $i >= 1000 && $i < 1005;
        $csv .= "$id," . ($bad ? 'not-an-email' : "u$i\@example.com")
                . ",U$i\n";
    }
    return $csv;
}

sub post {
    my ($query) = @_;
    return POST "/v1/imports?resource=users&$query", auth(),
        'Content-Type' => 'text/csv', content => users_file();
}

reset_data();
my $res = post('max_errors=3');
ok t_cmp($res->code, 202, 'max_errors=3 accepted');
my $d = wait_job(json_decode($res->content)->{job_id});
ok t_cmp($d->{status}, 'failed', 'the job ends failed');
ok t_cmp($d->{reason}, qr/^stopped: 5 failed records passed max_errors=3/,
         'its reason says so');
ok t_cmp($d->{maxErrors}, 3, 'the status document shows maxErrors');
ok t_cmp("$d->{totalRecords}/$d->{successCount}/$d->{insertedCount}/"
         . "$d->{errorCount}", '2000/1995/1995/5',
         'counts: the first two batches');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 1995,
         'the batch that passed it and those before are applied');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'u2000\@example.com'"),
         0, 'the third batch is not');
ok t_cmp(sql_value('SELECT count(*) FROM bulkio_job_errors e'
                   . ' JOIN bulkio_jobs j ON j.id = e.job_id'
                   . " WHERE j.public_id = '$d->{job_id}'"), 5,
         'five error entries');

# not passed: the job completes
reset_data();
$d = wait_job(json_decode(post('max_errors=5')->content)->{job_id});
ok t_cmp("$d->{status} $d->{successCount}/$d->{errorCount}",
         'completed 2995/5', 'max_errors=5: five errors do not pass it');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 2995, 'every valid row');

$res = post('max_errors=-1');
ok t_cmp($res->code, 400, 'max_errors=-1: 400');
ok t_cmp(json_decode($res->content)->{detail},
         qr/max_errors must be a whole number/, 'says why');

# SIGKILL of the worker mid-job, then takeover: the rows, counts and error
# entries are exactly those of an uninterrupted run
my $dir = Apache::Test::vars('t_dir') . '/logs';
gendata("$dir/max_errors.ndjson", resource => 'users', format => 'ndjson',
        count => 100_000, profile => 'invalid5');
my $rows = "SELECT count(*) || ' ' || md5(string_agg(external_id || email"
           . " || coalesce(name, ''), ',' ORDER BY external_id)) FROM users";
sub outcome {
    my $d = shift;
    my $errs = sql_value('SELECT count(*) FROM bulkio_job_errors e'
        . " JOIN bulkio_jobs j ON j.id = e.job_id WHERE j.public_id = '$d->{job_id}'");
    return "$d->{status} $d->{totalRecords}/$d->{successCount}/"
           . "$d->{errorCount} entries $errs";
}
reset_data();
my $plain = wait_job(upload("$dir/max_errors.ndjson",
                            'resource=users&max_errors=2000',
                            'application/x-ndjson'));
my $plain_rows = sql_value($rows);
ok t_cmp($plain->{status}, 'failed', 'uninterrupted: stops at max_errors');

reset_data();
my $id = upload("$dir/max_errors.ndjson", 'resource=users&max_errors=2000',
                'application/x-ndjson');
my ($owner, $done, $status) = ('', 0, '');
for (1 .. 600) {
    ($owner, $done, $status) = split /\|/, sql_value(
        "SELECT coalesce(lease_owner, ''), checkpoint_records, status"
        . " FROM bulkio_jobs WHERE public_id = '$id'");
    last if ($owner && $done > 0) || $status =~ /^(completed|failed)$/;
    sleep 0.05;
}
my ($pid) = $owner =~ m{/(\d+)/\d+$};
ok t_cmp(defined $pid && $status eq 'running' ? 1 : 0, 1,
         "running in pid " . ($pid // '?') . ", $done records in");
ok t_cmp($pid ? kill('KILL', $pid) : 0, 1, 'SIGKILL sent');
my $taken = wait_job($id, 'alice', 180);
ok t_cmp(outcome($taken), outcome($plain),
         'after the takeover: the same status, counts and error entries');
ok t_cmp($taken->{reason}, $plain->{reason}, 'the same reason');
ok t_cmp(sql_value($rows), $plain_rows, 'the same rows');
