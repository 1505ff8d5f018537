use strict;
use warnings FATAL => 'all';

# atomic=true (docs/rules.md, "Atomic imports"): all or nothing. The rows
# appear at once at the end, only when the failed records are at most
# max_errors (0 by default); else the job fails, saying so, and no row
# changes. SIGKILL of the worker mid-job leaves nothing applied, and the
# job taken over starts again from its first record: the rows, counts and
# error entries are those of an uninterrupted run.
use Apache::Test;
use Apache::TestRequest qw(POST GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT wait_accepted);

plan tests => 31;

# 3,000 users (three batches of 1,000); bad emails at the indexes given
sub users_file {
    my %bad = map { $_ => 1 } @_;
    return "id,email,name\n" . join '', map {
        sprintf("00000000-0000-4000-8000-%012d,%s,U%d\n", $_,
                $bad{$_} ? 'not-an-email' : "u$_\@example.com", $_)
    } 0 .. 2999;
}

sub post {
    my ($query, $content) = @_;
    return POST "/v1/imports?resource=users&$query", auth(),
        'Content-Type' => 'text/csv', content => $content;
}

sub run { return wait_accepted(post(@_)) }

sub users_md5 {
    return sql_value("SELECT count(*) || ':' || coalesce(md5(string_agg("
                     . "u::text, ',' ORDER BY u.id)), '') FROM users u");
}

sub entries {
    my $d = shift;
    return sql_value('SELECT count(*) FROM bulkio_job_errors e'
        . " JOIN bulkio_jobs j ON j.id = e.job_id WHERE j.public_id = '$d->{job_id}'");
}

sub counts {
    my $d = shift;
    return "$d->{status} " . join '/', map { $d->{$_} // 'undef' }
        qw(totalRecords successCount insertedCount updatedCount errorCount);
}

# ---- success: every row at once ----
reset_data();
my $d = run('atomic=true', users_file());
ok t_cmp(counts($d), 'completed 3000/3000/3000/0/0', 'atomic, no error');
ok t_cmp(($d->{atomic} ? 'atomic' : 'not') . " $d->{maxErrors}",
         'atomic 0', 'the document says atomic, maxErrors 0 by default');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 3000, 'every row');

# ---- failure: one bad record in the last batch, nothing changes ----
sql("UPDATE users SET name = 'before'");
my $before = users_md5();
my $totals = "SELECT string_agg(counter || '=' || value, ',' ORDER BY counter)"
             . " FROM bulkio_record_totals WHERE kind = 'import'";
my $totals_before = sql_value($totals);
$d = run('atomic=true', users_file(2500) =~ s/,U(\d+)\n/,New$1\n/gr);
ok t_cmp($d->{status}, 'failed', 'one failed record: the job fails');
ok t_cmp($d->{reason}, qr/^atomic import failed: 1 failed records passed max_errors=0 \(at record 3000\); nothing was applied, no row changed$/,
         'its reason says so');
ok t_cmp(users_md5(), $before, 'no row changed');
ok t_cmp(entries($d) . ' ' . ($d->{errors}[0]{recordIndex} // ''), '1 2500',
         'the error entry is kept');
ok t_cmp(sql_value($totals), $totals_before,
         'the running totals count nothing of it');

# the first batch already passes it: the job stops there
$d = run('atomic=true', users_file(5) =~ s/,U(\d+)\n/,New$1\n/gr);
ok t_cmp($d->{reason}, qr/passed max_errors=0 \(at record 1000\)/,
         'stops at the batch that passes max_errors');
ok t_cmp(users_md5(), $before, 'no row changed');

# ---- max_errors: at most that many failures are applied ----
$d = run('atomic=true&max_errors=2', users_file(10, 2500) =~ s/,U(\d+)\n/,New$1\n/gr);
ok t_cmp(counts($d), 'completed 3000/2998/0/2998/2',
         'atomic, max_errors=2: two failures, applied');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE name LIKE 'New%'"),
         2998, 'every valid record applied');

# ---- dry run of an atomic import ----
$before = users_md5();
$d = run('atomic=true&dry_run=true', users_file(7) =~ s/,U(\d+)\n/,Dry$1\n/gr);
ok t_cmp("$d->{status} $d->{dryRun}", 'failed 1', 'an atomic dry run fails as the import would');
ok t_cmp($d->{reason}, qr/^dry run, atomic import failed: 1 failed records/,
         'saying so');
ok t_cmp(users_md5(), $before, 'and changes nothing');

$d = post('atomic=yes', users_file());
ok t_cmp($d->code, 400, 'atomic=yes: 400');

# atomic and max_errors in the Idempotency-Key fingerprint
my $res = POST '/v1/imports?resource=users&atomic=true', auth(),
    'Idempotency-Key' => 'atomic-key', 'Content-Type' => 'text/csv',
    content => users_file();
ok t_cmp($res->code, 202, 'atomic with a key');
wait_job(json_decode($res->content)->{job_id});
$res = POST '/v1/imports?resource=users&atomic=true&max_errors=0', auth(),
    'Idempotency-Key' => 'atomic-key', 'Content-Type' => 'text/csv',
    content => users_file();
ok t_cmp($res->code, 202, 'max_errors=0 is atomic\'s default: the same request');
$res = POST '/v1/imports?resource=users', auth(),
    'Idempotency-Key' => 'atomic-key', 'Content-Type' => 'text/csv',
    content => users_file();
ok t_cmp($res->code, 422, 'without atomic: 422');

# ---- SIGKILL mid-job, then takeover ----
my $dir = Apache::Test::vars('t_dir') . '/logs';
gendata("$dir/atomic.ndjson", resource => 'users', format => 'ndjson',
        count => 100_000, profile => 'invalid5');
my $rows = "SELECT count(*) || ' ' || md5(string_agg(external_id || email"
           . " || coalesce(name, ''), ',' ORDER BY external_id)) FROM users";
sub outcome {
    my $d = shift;
    return join ' ', counts($d), "deleted $d->{deletedCount}",
        "unchanged $d->{unchangedCount}", 'entries', entries($d),
        sql_value('SELECT count(DISTINCT record_index) FROM bulkio_job_errors e'
            . " JOIN bulkio_jobs j ON j.id = e.job_id WHERE j.public_id = '$d->{job_id}'");
}
my $query = 'resource=users&atomic=true&max_errors=10000';
reset_data();
my $plain = wait_job(upload("$dir/atomic.ndjson", $query,
                            'application/x-ndjson'));
my $plain_rows = sql_value($rows);
ok t_cmp($plain->{status}, 'completed', 'uninterrupted: completed');

reset_data();
my $id = upload("$dir/atomic.ndjson", $query, 'application/x-ndjson');
my ($owner, $done, $status) = ('', 0, '');
for (1 .. 600) {
    ($owner, $done, $status) = split /\|/, sql_value(
        "SELECT coalesce(lease_owner, ''), checkpoint_records, status"
        . " FROM bulkio_jobs WHERE public_id = '$id'");
    last if ($owner && $done >= 20_000) || $status =~ /^(completed|failed)$/;
    sleep 0.05;
}
my ($pid) = $owner =~ m{/(\d+)/\d+$};
ok t_cmp(defined $pid && $status eq 'running' ? 1 : 0, 1,
         "running in pid " . ($pid // '?') . ", $done records in");
ok t_cmp($pid ? kill('KILL', $pid) : 0, 1, 'SIGKILL sent');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 0,
         'the killed run left nothing applied');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors e JOIN bulkio_jobs j"
                   . " ON j.id = e.job_id WHERE j.public_id = '$id'") > 0
         ? 1 : 0, 1, 'its error entries so far are there');
my $taken = wait_job($id, 'alice', 180);
ok t_cmp(sql_value("SELECT attempts FROM bulkio_jobs WHERE public_id = '$id'")
         > 1 ? 1 : 0, 1, 'taken over');
ok t_cmp(outcome($taken), outcome($plain),
         'after the takeover: the same status, counts and error entries, none twice');
ok t_cmp(sql_value($rows), $plain_rows, 'the same rows');

# ---- a worker that died after the commit, before recording the end ----
# (simulated: the job made running again under a dead owner, its lease
# expired): the takeover sees it applied and only finishes it, applying
# nothing twice. A URL import, so that the file can be fetched again.
my $vars = Apache::Test::vars();
mkdir "$vars->{documentroot}/atomic";
open my $fh, '>', "$vars->{documentroot}/atomic/users.csv" or die $!;
print $fh users_file(7);
close $fh;
reset_data();
$res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'application/json',
    content => qq({"url": "http://127.0.0.1:$vars->{port}/atomic/users.csv",)
               . qq( "atomic": true, "max_errors": 1});
$d = wait_job(json_decode($res->content)->{job_id});
my $applied = users_md5();
ok t_cmp(counts($d) . ' entries ' . entries($d),
         'completed 3000/2999/2999/0/1 entries 1', 'an atomic URL import');
sql("UPDATE bulkio_jobs SET status = 'running', completed_at = NULL,"
    . " source_path = NULL, lease_owner = 'dead/1/1',"
    . " lease_expires_at = now() - interval '1 second'"
    . " WHERE public_id = '$d->{job_id}'");
my $again;
for (1 .. 300) {
    $again = wait_job($d->{job_id});
    last if sql_value("SELECT attempts FROM bulkio_jobs"
                      . " WHERE public_id = '$d->{job_id}'") > 1;
    sleep 0.1;
}
ok t_cmp(sql_value("SELECT attempts FROM bulkio_jobs WHERE public_id = '$d->{job_id}'"),
         2, 'taken over');
ok t_cmp(counts($again) . ' entries ' . entries($again),
         'completed 3000/2999/2999/0/1 entries 1',
         'the same counts and error entries');
ok t_cmp(users_md5(), $applied, 'no row applied twice or changed');
