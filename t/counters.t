use strict;
use warnings FATAL => 'all';

# Counters that only go up: bulkio_records_*_total are running totals
# written in each batch's transaction (and with an export job's file), the
# job row counts its errors by type, retention leaves the totals alone, and
# a scrape reads no error rows however many there are.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test;

plan tests => 19;

my $top = Apache::Test::vars('top_dir');

sub metrics {
    my %m;
    for (split /\n/, GET('/v1/metrics')->content) {
        next if /^#/;
        my ($name, $labels, $v) = /^(\w+)(?:\{(.*)\})? (\S+)$/ or next;
        my $key = $name . '{' . join(',', sort split /,/, ($labels // '')) . '}';
        $key =~ s/"//g;
        $m{$key} = $v;
    }
    return \%m;
}
sub rec { "bulkio_records_$_[0]_total{$_[1]}" }

reset_data();
my $m0 = metrics();

# 6 valid users, 3 validation errors, 2 parse errors, 1 duplicate
my @lines;
push @lines, qq({"email":"c$_\@example.com","name":"C$_"}) for 1 .. 6;
push @lines, qq({"email":"not-an-address-$_"}) for 1 .. 3;
push @lines, '{"email": broken', 'not json';
push @lines, qq({"id":"5d1e7a52-8d2a-4a4e-9c31-6f0b2a9e0001","email":"c1\@example.com"});
my $res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'application/x-ndjson', content => join("\n", @lines) . "\n";
my $id = json_decode($res->content)->{job_id};
my $doc = wait_job($id);
ok t_cmp("$doc->{status} $doc->{totalRecords} $doc->{successCount} $doc->{errorCount}",
         'completed 12 6 6', 'import: 12 records, 6 applied, 6 failed');

my $row = join ' ', sql("SELECT parse_errors, validation_errors,"
    . " foreign_key_errors, duplicate_errors FROM bulkio_jobs"
    . " WHERE public_id = '$id'");
ok t_cmp($row, '2|3|0|1', 'the job row counts its errors by type');
my $byrows = join ' ', sql("SELECT error_type || '=' || count(*) FROM bulkio_job_errors e"
    . " JOIN bulkio_jobs j ON j.id = e.job_id WHERE j.public_id = '$id'"
    . " GROUP BY error_type ORDER BY error_type");
ok t_cmp($byrows, 'DUPLICATE_ERROR=1 PARSE_ERROR=2 VALIDATION_ERROR=3',
         'as many as its error rows');

my $m1 = metrics();
my %want = (rec('processed', 'kind=import,resource=users') => 12,
            rec('succeeded', 'kind=import,resource=users') => 6,
            rec('failed', 'error_type=PARSE_ERROR,resource=users') => 2,
            rec('failed', 'error_type=VALIDATION_ERROR,resource=users') => 3,
            rec('failed', 'error_type=DUPLICATE_ERROR,resource=users') => 1,
            rec('failed', 'error_type=FOREIGN_KEY_ERROR,resource=users') => 0);
for my $k (sort keys %want) {
    ok t_cmp(($m1->{$k} // -1) - ($m0->{$k} // 0), $want{$k}, "$k grew by $want{$k}");
}

# an export job counts its records once, with its file
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "format": "ndjson"}';
my $eid = json_decode($res->content)->{job_id};
my $until = time + 60;
while (time < $until) {
    last if (json_decode(GET("/v1/exports/$eid", auth())->content)->{status} // '')
            eq 'completed';
    sleep 0.2;
}
my $m2 = metrics();
my $k = rec('processed', 'kind=export,resource=users');
ok t_cmp($m2->{$k} - ($m1->{$k} // 0), 6, 'export job: processed grew by its 6 records');

# retention purges the job and its error rows: the totals stay
sql("UPDATE bulkio_jobs SET completed_at = now() - interval '30 days'"
    . " WHERE public_id IN ('$id', '$eid')");
# a new child sweeps at its first tick: restart gracefully
open my $pf, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
my $parent = <$pf>;
chomp $parent;
close $pf;
kill 'USR1', $parent;
$until = time + 60;
sleep 0.3 while time < $until
    && sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id IN ('$id', '$eid')");
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id IN ('$id', '$eid')"),
         0, 'retention purged both jobs');
my $m3 = metrics();
my @fell = grep { /^bulkio_records_/ && $m3->{$_} < $m2->{$_} } keys %$m2;
ok t_cmp("@fell", '', 'no record counter fell');
ok t_cmp($m3->{rec('processed', 'kind=import,resource=users')},
         $m2->{rec('processed', 'kind=import,resource=users')}, 'processed unchanged');

# 1,000,000 error rows: the scrape's plan reads none of them
sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
    . " completed_at) VALUES ('import', 'users', 'ndjson', 'completed',"
    . " 'counters-test', now())");
my $jid = sql_value("SELECT id FROM bulkio_jobs WHERE principal = 'counters-test'");
sql("INSERT INTO bulkio_job_errors (job_id, record_index, line, field,"
    . " error_type, error_message, record_data)"
    . " SELECT $jid, i, i + 1, 'email', 'VALIDATION_ERROR',"
    . " 'email is not a valid address', '{\"email\":\"x' || i || '\"}'"
    . " FROM generate_series(0, 999999) AS i");
sql('ANALYZE bulkio_job_errors');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors WHERE job_id = $jid"), 1000000,
         '1,000,000 error rows');

# the statements the module runs, from its header
my $inc = "-I$top/src " . `apr-1-config --includes` . ' -I' . `pg_config --includedir`;
$inc =~ s/\s+/ /g;
my @plans;
for my $macro (qw(BULKIO_STORE_RECORDS_SQL BULKIO_STORE_ERRTYPES_SQL)) {
    my $text = `printf '#include "bulkio_store_sql.h"\\n$macro\\n' | cc -E -P $inc -x c - | tail -n 1`;
    my $sql = join '', $text =~ /"((?:[^"\\]|\\.)*)"/g;
    die "$macro not found" unless $sql =~ /^SELECT/;
    push @plans, join "\n", sql("EXPLAIN (ANALYZE, COSTS OFF) $sql");
}
my $plan = join "\n", @plans;
print map { "# plan: $_\n" } split /\n/, $plan;
ok t_cmp($plan =~ /bulkio_record_totals/ ? 1 : 0, 1, 'the plans read the totals');
ok t_cmp($plan =~ /bulkio_job_errors/ ? 1 : 0, 0, 'and no error rows');

# and at run time: a scrape does not touch bulkio_job_errors at all. A
# session holds the table ACCESS EXCLUSIVE meanwhile, so a scrape that
# read it would wait for the lock (the control below: reading a job's
# errors does). Table statistics would say the same only as soon as every
# backend has flushed them, which a loaded machine delays.
sub timed_get {     # (path, seconds, headers...) -> (HTTP code, seconds, curl's exit)
    my ($path, $max, @h) = @_;
    my $out = `curl -s -o /dev/null --max-time $max -w '%{http_code} %{time_total}' @{[
                join ' ', map { "-H '$_'" } @h]} 'http://@{[hostport()]}$path'`;
    return (split(' ', $out), $? >> 8);
}
my $locker = hold_lock('bulkio_job_errors');
my (@ms, @codes);
for (1 .. 10) {
    my ($code, $secs) = timed_get('/v1/metrics', 10);
    push @codes, $code;
    push @ms, $secs * 1000;
}
@ms = sort { $a <=> $b } @ms;
my $median = $ms[$#ms / 2];
printf "# scrape with 1,000,000 error rows: median %.1f ms, max %.1f ms\n",
    $median, $ms[-1];
ok t_cmp(join(',', @codes), join(',', ('200') x 10),
         'ten scrapes answered while bulkio_job_errors is locked');
ok t_cmp($median <= 50 ? 1 : 0, 1, sprintf('median scrape %.1f ms <= 50 ms', $median));
# the control: reading a job's errors waits for the lock
my (undef, undef, $exit) = timed_get('/v1/imports/'
    . sql_value("SELECT public_id FROM bulkio_jobs WHERE id = $jid") . '/errors', 3,
    'Authorization: Bearer ' . token(sub => 'counters-test'));
ok t_cmp($exit, 28, 'while reading the errors waits for the lock (curl timed out)');
release_lock($locker);
sql("DELETE FROM bulkio_jobs WHERE id = $jid");
