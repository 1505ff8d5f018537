use strict;
use warnings FATAL => 'all';

# Faults: PostgreSQL stopped for 10 s and started again mid-import, and
# httpd stopped (apachectl stop) during an export job. Each time the job
# ends exactly as an uninterrupted run would, and the server keeps serving.
# (SIGKILL and graceful restart mid-import are in t/takeover.t.)
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp t_debug);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test;

plan tests => 23, need { 'the throwaway PostgreSQL of scripts/apache-test.sh'
                         => defined $ENV{BULKIO_RUN_DIR} };

my $vars = Apache::Test::vars();
my $top = $vars->{top_dir};
my $dir = "$vars->{t_dir}/logs";
my $spool = "$vars->{t_dir}/spool";
my $n = 300_000;

sub pg {
    my $what = shift;
    system("$top/scripts/bulkio.sh", "pg-$what") == 0
        or die "scripts/bulkio.sh pg-$what failed\n";
}

sub health {
    my $res = GET '/v1/health';
    return ($res->code, $res->header('Content-Type') // '');
}

sub job_row {
    my ($id, $cols) = @_;
    return split /\|/, sql_value("SELECT $cols FROM bulkio_jobs"
                                 . " WHERE public_id = '$id'") // '', -1;
}

# --- PostgreSQL stopped for 10 s mid-import --------------------------------
reset_data();
my $want = gendata("$dir/faults.ndjson", resource => 'users',
                   format => 'ndjson', count => $n, profile => 'invalid5');
my $id = upload("$dir/faults.ndjson", 'resource=users', 'application/x-ndjson');
my $done = 0;
for (1 .. 1200) {
    ($done) = job_row($id, 'checkpoint_records');
    last if $done;
    sleep 0.05;
}
ok t_cmp($done > 0 && $done < $n, 1, "import under way ($done records in)");

pg('stop');
my $stopped = time;
my ($code, $ctype) = health();
ok t_cmp($code, 503, 'database down: /v1/health answers 503');
ok t_cmp($ctype, qr{^application/problem\+json}, 'as problem+json');
my $res = GET "/v1/imports/$id", auth();
ok t_cmp($res->code, 503, 'database down: a status request answers 503');
sleep 0.2 while time - $stopped < 10;
pg('start');

($code) = health();
ok t_cmp($code, 200, 'database back: /v1/health answers 200 at once');
my $doc = wait_job($id, 'alice', 240);
ok t_cmp($doc->{status}, 'completed', 'the import completed after the outage');
ok t_cmp($doc->{totalRecords}, $n, 'every record counted once');
ok t_cmp($doc->{successCount}, $want->{success},
         'successes as an uninterrupted run');
ok t_cmp($doc->{errorCount}, $want->{total} - $want->{success},
         'errors as an uninterrupted run');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $want->{rows},
         'rows: none lost, none twice');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors e JOIN bulkio_jobs j"
                   . " ON j.id = e.job_id WHERE j.public_id = '$id'"),
         $want->{total} - $want->{success}, 'error entries: exactly one each');
my ($attempts) = job_row($id, 'attempts');
t_debug("attempts: $attempts");
ok t_cmp($attempts <= 2, 1, "resumed in place or re-claimed ($attempts attempts)");
ok t_cmp(-e "$spool/import-$id" ? 1 : 0, 0,
         'the finished import left no file in the spool');

# a second job right after the outage runs normally (the worker survived)
reset_data();
gendata("$dir/faults-small.ndjson", resource => 'users', format => 'ndjson',
        count => 2000, profile => 'valid');
$doc = wait_job(upload("$dir/faults-small.ndjson", 'resource=users',
                       'application/x-ndjson'), 'alice', 120);
ok t_cmp("$doc->{status} $doc->{successCount}", 'completed 2000',
         'the worker takes new jobs after the outage');

# --- apachectl stop during an export job ------------------------------------
# the stop hands the job back (its temporary file removed, nothing served);
# after the restart it is done again from the start and completes
reset_data();
$doc = wait_job(upload("$dir/faults.ndjson", 'resource=users',
                       'application/x-ndjson'), 'alice', 240);
my $rows = sql_value('SELECT count(*) FROM users');
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "format": "json"}';
ok t_cmp($res->code, 202, 'export job accepted');
my $eid = json_decode($res->content)->{job_id};
my $status = '';
for (1 .. 2000) {
    ($status) = job_row($eid, 'status');
    last if $status ne 'pending';
    sleep 0.01;
}
ok t_cmp($status, 'running', 'export job running');

open my $pf, '<', $vars->{t_pid_file} or die "pid file: $!";
my $parent = <$pf>;
chomp $parent;
close $pf;
kill 'TERM', $parent;           # what apachectl stop does
my $until = time + 30;
sleep 0.1 while kill(0, $parent) && time < $until;
ok t_cmp(kill(0, $parent) ? 1 : 0, 0, 'httpd stopped');
my ($st, $owner, $path) = job_row($eid, "status, coalesce(lease_owner, ''),"
                                  . " coalesce(source_path, '')");
ok t_cmp("$st|$owner|$path", 'pending||',
         'the export job went back to the queue, no file recorded');
my @left = glob("$spool/export-$eid*");
ok t_cmp(scalar(@left), 0, 'its temporary file was removed');

my $cmd = Apache::Test::config()->server->start_cmd;
system($cmd) == 0 or die "cannot start httpd again: $cmd\n";
for (1 .. 100) {
    ($code) = eval { health() };
    last if ($code // 0) == 200;
    sleep 0.2;
}
ok t_cmp($code, 200, 'httpd serves again after the restart');
$until = time + 120;
my $edoc = {};
while (time < $until) {
    $edoc = json_decode((GET "/v1/exports/$eid", auth())->content) // {};
    last if ($edoc->{status} // '') =~ /^(completed|failed|canceled)$/;
    sleep 0.2;
}
ok t_cmp("$edoc->{status} $edoc->{totalRecords}", "completed $rows",
         'the export was done again and completed with every row');
$res = GET "/v1/exports/$eid/download", auth();
my $list = json_decode($res->content);
ok t_cmp(ref $list eq 'ARRAY' ? scalar(@$list) : -1, $rows,
         'the download is the whole file (a complete JSON array)');
($attempts) = job_row($eid, 'attempts');
ok t_cmp($attempts, 2, 'done in a second attempt');
