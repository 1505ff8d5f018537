use strict;
use warnings FATAL => 'all';

# Bounded error storage (issue 29; docs/api.md, "Stored error entries"):
# an import stores the entries of its failed records up to
# BulkIOMaxErrorRows entries and BulkIOMaxErrorBytes bytes of record data;
# past them, failed records are counted exactly but not stored, and the job
# document and the error report say from which record on. The caps hold
# across a worker's death and a take-over: what a job stored is read from
# the database, not kept in memory.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT vhost_hostport import_at);

plan tests => 38;

# the virtual host bulkio_errcap: BulkIOMaxErrorRows 10, BulkIOMaxErrorBytes 1K
my $hp = vhost_hostport('bulkio_errcap');
sub post_capped { return import_at($hp, 'resource=users', shift) }
sub stored {
    my ($id, $what) = @_;
    return sql_value("SELECT $what FROM bulkio_job_errors e JOIN bulkio_jobs j"
                     . " ON j.id = e.job_id WHERE j.public_id = '$id'");
}
sub report {
    my ($id, $format) = @_;
    return GET("/v1/imports/$id/errors?format=$format", auth())->content;
}

# 40 lines: a valid user, then a line that is not JSON, and so on
reset_data();
my $body = join '', map {
    $_ % 2 ? sprintf('{"email": "cap%d@example.com"}' . "\n", $_) : "x\n"
} 1 .. 40;
my $id = post_capped($body);
my $d = wait_job($id);
ok t_cmp("$d->{status} $d->{successCount}/$d->{errorCount}", 'completed 20/20',
         'capped job: every record applied or counted');
ok t_cmp($d->{errorsStored}, 10, 'errorsStored: the cap');
ok t_cmp($d->{errorsTruncated}, JSON::PP::true(), 'errorsTruncated: true');
ok t_cmp($d->{errorsTruncatedAt}{line} // -1, 22,
         'errorsTruncatedAt: the eleventh failed record (line 22)');
ok t_cmp($d->{errorsTruncatedAt}{recordIndex} // -1, 21,
         '... and its record index');
ok t_cmp(stored($id, 'count(*)'), 10, 'ten entries in bulkio_job_errors');
ok t_cmp(stored($id, 'max(line)'), 20, 'those of the first ten failed records');
ok t_cmp(sql_value("SELECT error_count || ' ' || parse_errors FROM bulkio_jobs"
                   . " WHERE public_id = '$id'"), '20 20',
         'the job row counts every failed record, by type too');
ok t_cmp(scalar @{ $d->{errors} }, 10, 'the status document lists the ten');

my @lines = split /\n/, report($id, 'ndjson');
ok t_cmp(scalar @lines, 11, 'NDJSON report: ten entries and one more');
my $last = json_decode($lines[-1]) // {};
ok t_cmp($last->{errorType}, 'ERRORS_TRUNCATED', 'the last says ERRORS_TRUNCATED');
ok t_cmp("$last->{recordIndex}/$last->{line}", '21/22', 'at the first left out');
ok t_cmp($last->{errorMessage},
         qr/^error entries truncated: 10 entries stored of 20 failed records \(BulkIOMaxErrorRows, BulkIOMaxErrorBytes\); this failed record and those after it were counted, not stored$/,
         'its message says what was stored and what was not');
ok t_cmp(json_decode($lines[9])->{line}, 20, 'the entry before it: line 20');

my $csv = report($id, 'csv');
@lines = split /\r\n/, $csv;
ok t_cmp(scalar @lines, 12, 'CSV report: header, ten rows and one more');
ok t_cmp($lines[-1], qr/^21,22,,ERRORS_TRUNCATED,"?error entries truncated: 10 entries stored of 20 failed records/,
         'the last row says ERRORS_TRUNCATED');

# the byte cap: 5 records of 400 bytes, 1 KiB holds two of them
my $long = 'n' x 360;
$body = join '', map { qq({"email": "bad$_", "name": "$long"}\n) } 1 .. 5;
$id = post_capped($body);
$d = wait_job($id);
ok t_cmp("$d->{status} $d->{errorCount}", 'completed 5', 'byte cap: five failed');
ok t_cmp("$d->{errorsStored} $d->{errorsTruncatedAt}{line}", '2 3',
         'two stored; truncated at line 3');
ok t_cmp(stored($id, 'count(*)') . ' ' . (stored($id, 'sum(octet_length(record_data))') <= 1024 ? 'ok' : 'over'),
         '2 ok', 'two entries, within 1 KiB of record data');
ok t_cmp(sql_value("SELECT validation_errors FROM bulkio_jobs WHERE public_id = '$id'"),
         5, 'all five counted as VALIDATION_ERROR');

# a job within the caps says so too, and its report has no extra entry
$id = post_capped("x\nx\n");
$d = wait_job($id);
ok t_cmp($d->{errorsTruncated}, JSON::PP::false(), 'under the caps: errorsTruncated false');
ok t_cmp(exists $d->{errorsTruncatedAt} && !defined $d->{errorsTruncatedAt}, 1,
         'errorsTruncatedAt: null');
ok t_cmp($d->{errorsStored}, 2, 'errorsStored 2');
ok t_cmp(scalar(() = report($id, 'ndjson') =~ /\n/g), 2, 'its report: two lines');

# a take-over: the job stored 8 entries in an earlier run (its row says so);
# this run stores 2 more, not 10
my $spool = Apache::Test::vars('serverroot') . '/spool';
my $file = "$spool/error-caps-takeover.ndjson";
open my $fh, '>', $file or die "$file: $!";
print $fh "x\n" x 20;
close $fh;
chmod 0644, $file;
my ($jid, $pid) = split /\|/, sql_value(
    "INSERT INTO bulkio_jobs (kind, resource, format, principal, source_path,"
    . " bytes_total, mode, max_error_rows, max_error_bytes, error_rows_stored,"
    . " error_bytes_stored, status)"
    . " VALUES ('import', 'users', 'ndjson', 'alice', '$file', 40, 'upsert',"
    . " 10, 1024, 8, 8, 'canceled') RETURNING id || '|' || public_id");
sql("INSERT INTO bulkio_job_errors (job_id, record_index, line, error_type,"
    . " error_message, record_data) SELECT $jid, -i, 0, 'PARSE_ERROR',"
    . " 'earlier run', 'x' FROM generate_series(1, 8) i");
sql("UPDATE bulkio_jobs SET status = 'pending' WHERE id = $jid");
$d = wait_job($pid);
ok t_cmp("$d->{status} $d->{errorCount}", 'completed 20', 'taken-over job completed');
ok t_cmp(stored($pid, 'count(*)'), 10,
         'entries: 8 of before and 2 of this run, never past the cap');
ok t_cmp("$d->{errorsStored} $d->{errorsTruncatedAt}{line}", '10 3',
         'errorsStored 10; truncated at line 3');
unlink $file;   # not a name of the server's: the spool checks of later tests

# 5,000,000 failing lines through the main server (its default caps:
# 100000 entries, 64M): at most the cap is stored, the table grows by no
# more than that, every line is counted (the take-over above shows that
# the caps hold across runs; t/takeover.t kills a worker mid-job)
reset_data();
sql('VACUUM bulkio_job_errors');
my $size = 'SELECT pg_total_relation_size(\'bulkio_job_errors\')';
my $before = sql_value($size);
my $n = 5_000_000;
my $t0 = time;
my $res = POST('/v1/imports?resource=users&format=ndjson', auth(),
               'Content-Type' => 'application/x-ndjson', content => "x\n" x $n);
ok t_cmp($res->code, 202, '5,000,000 lines of x: 202');
$id = json_decode($res->content)->{job_id};
$d = wait_job($id, 'alice', 120);
my $took = time - $t0;
ok t_cmp($d->{status}, 'completed', 'completed');
ok t_cmp("$d->{totalRecords} $d->{errorCount} $d->{successCount}",
         "$n $n 0", 'every line counted once, as failed');
ok t_cmp(sql_value("SELECT parse_errors FROM bulkio_jobs WHERE public_id = '$id'"),
         $n, 'per type too');
ok t_cmp(stored($id, 'count(*)'), 100_000, 'exactly the cap is stored');
ok t_cmp(stored($id, 'max(line)'), 100_000, 'the first 100000 failed records');
ok t_cmp("$d->{errorsStored} $d->{errorsTruncated}", '100000 1', 'the document says so');
ok t_cmp($d->{errorsTruncatedAt}{line}, 100_001, 'truncated at line 100001');
my $grew = sql_value($size) - $before;
printf "# bulkio_job_errors grew by %.1f MB (%.0f bytes an entry); the job took %.1f s\n",
    $grew / 1e6, $grew / 100_000, $took;
# an entry of this job takes about 150 bytes with its index; 5,000,000
# of them would take 750 MB
ok t_cmp($grew <= 100_000 * 300 ? 1 : 0, 1,
         'the table grew by no more than the cap\'s entries');

# the report of that job streams the cap and the closing entry
my $t1 = time;
my $nd = report($id, 'ndjson');
printf "# its report of %d bytes took %.1f s; the file so far %.1f s\n",
    length $nd, time - $t1, time - $^T;
ok t_cmp(scalar(() = $nd =~ /\n/g), 100_001, 'its report: 100000 entries and one more');
my ($closing) = $nd =~ /\n([^\n]*)\n\z/;
ok t_cmp($closing // '', qr/^\{"recordIndex":100000,"line":100001,"field":null,"errorType":"ERRORS_TRUNCATED","errorMessage":"error entries truncated: 100000 entries stored of 5000000 failed records/,
         'which says so in its last line');

