use strict;
use warnings FATAL => 'all';

# GET /v1/metrics: well-formed Prometheus text whose figures follow the
# database (a known import, a pending job, running jobs).
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Sys::Hostname qw(hostname);
use lib 't/lib';
use BulkIO::Test;

plan tests => 40;

# Parse the exposition format; dies naming the first malformed line.
# Returns { samples => { "name{sorted labels}" => value }, families =>
# { name => type }, list => [ [name, {labels}, value], ... ] }.
sub parse_metrics {
    my $text = shift;
    my (%type, %help, %samples, @list, %seen_sample);
    die "no final newline\n" unless $text =~ /\n\z/;
    for my $line (split /\n/, $text) {
        if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/) {
            die "HELP of $1 after its samples\n" if $seen_sample{$1};
            die "second HELP of $1\n" if $help{$1}++;
            next;
        }
        if ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/) {
            die "TYPE of $1 after its samples\n" if $seen_sample{$1};
            die "second TYPE of $1\n" if $type{$1};
            die "TYPE of $1 before its HELP\n" unless $help{$1};
            $type{$1} = $2;
            next;
        }
        die "comment line: $line\n" if $line =~ /^#/;
        $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
            or die "malformed sample: $line\n";
        my ($name, $labels, $value) = ($1, $2 // '', $3);
        $value =~ /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[-+]Inf)$/
            or die "bad value: $line\n";
        my %l;
        while (length $labels) {
            $labels =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)//
                or die "bad labels: $line\n";
            my ($k, $v) = ($1, $2);
            $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
            die "label $k twice: $line\n" if exists $l{$k};
            $l{$k} = $v;
        }
        (my $family = $name) =~ s/_(bucket|sum|count)$//;
        $family = $name unless ($type{$family} // '') eq 'histogram';
        die "sample of $name before its TYPE\n" unless $type{$family};
        $seen_sample{$family} = 1;
        my $key = $name . '{' . join(',', map { "$_=$l{$_}" } sort keys %l) . '}';
        die "sample $key twice\n" if exists $samples{$key};
        $samples{$key} = $value;
        push @list, [$name, \%l, $value];
    }
    return { samples => \%samples, families => \%type, list => \@list };
}

# Histograms: buckets ascending, cumulative, +Inf last and equal to _count.
sub check_histograms {
    my $m = shift;
    my %series;
    for my $s (@{ $m->{list} }) {
        my ($name, $l, $v) = @$s;
        next unless $name =~ /^(.*)_bucket$/;
        my %rest = %$l;
        my $le = delete $rest{le} // die "bucket without le\n";
        my $key = $1 . '{' . join(',', map { "$_=$rest{$_}" } sort keys %rest) . '}';
        push @{ $series{$key} }, [$le, $v];
    }
    die "no histogram\n" unless %series;
    for my $key (sort keys %series) {
        my @b = @{ $series{$key} };
        die "$key: last bucket is not +Inf\n" unless $b[-1][0] eq '+Inf';
        for my $i (1 .. $#b) {
            die "$key: le not ascending\n"
                unless $b[$i][0] eq '+Inf' || $b[$i][0] > $b[$i - 1][0];
            die "$key: buckets not cumulative\n" if $b[$i][1] < $b[$i - 1][1];
        }
        (my $count = $key) =~ s/^(\w+)\{/$1_count{/;
        die "$key: +Inf != _count\n"
            unless defined $m->{samples}{$count}
                   && $m->{samples}{$count} == $b[-1][1];
    }
    return scalar keys %series;
}

sub metrics {
    my $res = GET '/v1/metrics';
    die 'GET /v1/metrics: ' . $res->code . "\n" unless $res->code == 200;
    return parse_metrics($res->content);
}

sub val {
    my ($m, $key) = @_;
    return $m->{samples}{$key} // die "no sample $key\n";
}

# a first look: format, headers, no token needed
my $res = GET '/v1/metrics';
ok t_cmp($res->code, 200, 'GET /v1/metrics without a token: 200');
ok t_cmp($res->header('Content-Type'),
         'text/plain; version=0.0.4; charset=utf-8', 'Prometheus text type');
my $m0 = eval { parse_metrics($res->content) };
ok t_cmp($@, '', 'every line parses, HELP and TYPE before samples');
ok t_cmp(eval { check_histograms($m0) } // $@, 2,
         'duration histograms (import, export): cumulative, +Inf == _count');
ok t_cmp(join(',', map { "$_=$m0->{families}{$_}" } sort keys %{ $m0->{families} }),
         join(',', 'bulkio_job_duration_seconds=histogram',
              'bulkio_job_processed_records=gauge',
              'bulkio_job_rows_per_second=gauge', 'bulkio_jobs=gauge',
              'bulkio_queue_depth=gauge',
              'bulkio_queue_oldest_pending_age_seconds=gauge',
              'bulkio_records_failed_total=counter',
              'bulkio_records_processed_total=counter',
              'bulkio_records_succeeded_total=counter'),
         'the families and their types');
$res = POST '/v1/metrics', content => '';
ok t_cmp($res->code, 405, 'POST: 405');

# a known import moves the figures by exactly its counts
reset_data();
my $dir = Apache::Test::vars('t_dir') . '/logs';
my $expect = gendata("$dir/metrics-users.ndjson", resource => 'users',
                     format => 'ndjson', count => 600, profile => 'rules');
my $before = metrics();
my $id = upload("$dir/metrics-users.ndjson", 'resource=users',
                'application/x-ndjson');
my $doc = wait_job($id);
ok t_cmp($doc->{status}, 'completed', 'the import completes');
my $after = metrics();

my $d = sub { val($after, $_[0]) - val($before, $_[0]) };
ok t_cmp($d->('bulkio_jobs{kind=import,status=completed}'), 1,
         'completed imports: one more');
ok t_cmp($d->('bulkio_jobs{kind=import,status=pending}')
         + $d->('bulkio_jobs{kind=import,status=running}'), 0,
         'none left pending or running');
ok t_cmp($d->('bulkio_records_processed_total{kind=import,resource=users}'),
         600, 'records processed: +600 for users');
ok t_cmp($d->('bulkio_records_succeeded_total{kind=import,resource=users}'),
         $expect->{success}, "records succeeded: +$expect->{success}");
ok t_cmp($d->('bulkio_records_processed_total{kind=import,resource=articles}'),
         0, 'articles untouched');
my $failed = 0;
for my $type (qw(PARSE_ERROR VALIDATION_ERROR FOREIGN_KEY_ERROR DUPLICATE_ERROR)) {
    my $want = $expect->{errors}{$type} // 0;
    my $got = $d->("bulkio_records_failed_total{error_type=$type,resource=users}");
    ok t_cmp($got, $want, "failed users records, $type: +$want");
    $failed += $got;
}
ok t_cmp($failed, $doc->{errorCount}, 'failed by type add up to errorCount');
ok t_cmp($failed > 0, 1, 'and there are some');

# the histogram counted the job once, in the right buckets
my $secs = sql_value("SELECT extract(epoch FROM completed_at - started_at)"
                     . " FROM bulkio_jobs WHERE public_id = '$id'");
ok t_cmp($d->('bulkio_job_duration_seconds_count{kind=import}'), 1,
         'duration histogram: count +1');
ok t_cmp(abs($d->('bulkio_job_duration_seconds_sum{kind=import}') - $secs)
         < 0.001, 1, "sum + the job's duration ($secs s)");
my ($right, $buckets) = (0, 0);
for my $s (@{ $after->{list} }) {
    my ($name, $l) = @$s;
    next unless $name eq 'bulkio_job_duration_seconds_bucket'
                && $l->{kind} eq 'import';
    ++$buckets;
    my $key = "bulkio_job_duration_seconds_bucket{kind=import,le=$l->{le}}";
    my $want = ($l->{le} eq '+Inf' || $secs <= $l->{le}) ? 1 : 0;
    ++$right if $d->($key) == $want;
}
ok t_cmp($right, $buckets, "each bucket moved by 1 exactly when le >= $secs");
ok t_cmp($d->('bulkio_job_duration_seconds_count{kind=export}'), 0,
         'export histogram unchanged');

# the queue: a pending job 90 s old, with this server full of running jobs
# (more than any BulkIOMaxJobs here, so the scheduler claims nothing), and
# one running elsewhere whose server name needs escaping
wait_idle();
my $server = hostname() . '/' . Apache::Test::vars('servername') . ':'
           . Apache::Test::vars('port');
my $odd = qq(odd "server"\\x\nline);
sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
    . " lease_server, lease_owner, lease_expires_at, started_at,"
    . " checkpoint_records)"
    . " SELECT 'import', 'comments', 'csv', 'running', 'metrics-test',"
    . " '$server', '$server/0/' || i, now() + interval '1 hour',"
    . " now() - interval '10 seconds', 1000"
    . "   FROM generate_series(1, 8) i");
sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
    . " lease_server, lease_owner, lease_expires_at, started_at,"
    . " checkpoint_records)"
    . " VALUES ('export', 'articles', 'csv', 'running', 'metrics-test',"
    . " E'" . join('', map { sprintf '\\x%02x', ord } split //, $odd) . "',"
    . " 'elsewhere/1/0', now() + interval '1 hour',"
    . " now() - interval '20 seconds', 500)");
sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
    . " created_at) VALUES ('import', 'users', 'csv', 'pending',"
    . " 'metrics-test', now() - interval '90 seconds')");
sleep 1;   # several scheduler ticks: nothing may be claimed
my $q = metrics();
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE principal = 'metrics-test'"
                   . " AND lease_server IS NULL"), 'pending',
         'the pending job stays pending');
ok t_cmp(val($q, 'bulkio_queue_depth{}'), 1, 'queue depth 1');
my $age = val($q, 'bulkio_queue_oldest_pending_age_seconds{}');
ok t_cmp($age >= 90 && $age < 120, 1, "oldest pending: ${age}s (90 s old)");
ok t_cmp(val($q, 'bulkio_jobs{kind=import,status=pending}'), 1,
         'jobs: one import pending');
ok t_cmp(val($q, 'bulkio_jobs{kind=import,status=running}'), 8,
         'jobs: eight imports running');
ok t_cmp(val($q, 'bulkio_jobs{kind=export,status=running}'), 1,
         'jobs: one export running');
my @rates = grep { $_->[0] eq 'bulkio_job_rows_per_second' } @{ $q->{list} };
ok t_cmp(scalar @rates, 9, 'rows/s of the nine running jobs');
my @ours = grep { $_->[1]{server} eq $server } @rates;
# started 10 s before the insert: 1000 records in 10 s and a little more
ok t_cmp(scalar(grep { $_->[2] > 1000 / 30 && $_->[2] <= 100 } @ours), 8,
         '1000 records in 10+ s: at most 100 rows/s each');
my ($other) = grep { $_->[1]{server} ne $server } @rates;
ok t_cmp($other && $other->[1]{server}, $odd,
         'a label value with quote, backslash and newline reads back');
ok t_cmp($other && $other->[2] > 500 / 40 && $other->[2] <= 25 ? 1 : 0, 1,
         '500 records in 20+ s: at most 25 rows/s');
ok t_cmp(scalar(grep { /server="odd \\"server\\"\\\\x\\nline"/ }
                split /\n/, GET('/v1/metrics')->content), 2,
         'escaped as \\" \\\\ \\n on the wire (rows/s and processed)');
ok t_cmp(val($q, "bulkio_job_processed_records{job_id="
             . sql_value("SELECT public_id FROM bulkio_jobs WHERE lease_owner"
                         . " = 'elsewhere/1/0'")
             . ",kind=export,resource=articles,server=$odd}"), 500,
         'processed records of a running job');

# back to an empty queue
sql("DELETE FROM bulkio_jobs WHERE principal = 'metrics-test'"
    . " AND status = 'pending'");
sql("DELETE FROM bulkio_jobs WHERE principal = 'metrics-test'");
my $e = metrics();
ok t_cmp(val($e, 'bulkio_queue_depth{}'), 0, 'queue depth 0 again');
ok t_cmp(val($e, 'bulkio_queue_oldest_pending_age_seconds{}'), 0,
         'oldest pending age 0 without pending jobs');
ok t_cmp(scalar(grep { $_->[0] eq 'bulkio_job_rows_per_second' } @{ $e->{list} }),
         0, 'no running job, no rows/s sample');

# a database that fails answers 503 as problem+json, not a partial page
sql('ALTER TABLE bulkio_record_totals RENAME TO bulkio_record_totals_away');
$res = GET '/v1/metrics';
sql('ALTER TABLE bulkio_record_totals_away RENAME TO bulkio_record_totals');
ok t_cmp($res->code, 503, 'a failing query: 503');
ok t_cmp($res->header('Content-Type'), 'application/problem+json',
         'as problem+json');
my $errlog = Apache::Test::vars('t_dir') . '/logs/error_log';
my ($logged) = grep { /BULKIO700: cannot read the metrics: .*bulkio_record_totals/ }
               do { open my $el, '<', $errlog or die $!; <$el> };
ok t_cmp(defined $logged ? 1 : 0, 1,
         "the cause goes to the error log with PostgreSQL's message");
