use strict;
use warnings FATAL => 'all';

# The conformance file of the original assignment, through the worker.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 19;

my $top = Apache::Test::vars('top_dir');
my $huge = "$top/t/data/users_huge.csv";

reset_data();
my $id = upload($huge, 'resource=users', 'text/csv');
my $doc = wait_job($id);
ok t_cmp($doc->{status}, 'completed', 'users_huge.csv: completed');
ok t_cmp($doc->{totalRecords}, 10000, 'totalRecords 10000');
ok t_cmp($doc->{successCount}, 9700, 'successCount 9700');
ok t_cmp($doc->{errorCount}, 300, 'errorCount 300');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 9667, '9,667 users');
ok t_cmp(scalar @{$doc->{errors}}, 100, 'the first 100 errors');
my $e = $doc->{errors}[0];
ok t_cmp("$e->{recordIndex} $e->{line} $e->{field} $e->{errorType}",
         '0 2 email VALIDATION_ERROR', 'the first error: record 0, line 2');
ok t_cmp($e->{recordData}, qr/^,foo\@bar,User 0,manager,/, 'with its record');
my @idx = map { $_->{recordIndex} } @{$doc->{errors}};
ok t_cmp("@idx", join(' ', sort { $a <=> $b } @idx), 'in record order');
ok t_cmp($doc->{progress}{percent}, 100, 'progress 100%');
ok t_cmp($doc->{progress}{processedRecords}, 10000, 'processedRecords');
ok t_cmp($doc->{completedAt}, qr/Z$/, 'completedAt');

# every error, streamed
my $res = GET "/v1/imports/$id/errors", auth();
my @lines = split /\n/, $res->content;
ok t_cmp(scalar @lines, 300, 'errors stream: 300 NDJSON lines');
ok t_cmp($res->header('Content-Type'), 'application/x-ndjson', 'as NDJSON');
my %types;
$types{json_decode($_)->{errorType}}++ for @lines;
ok t_cmp(join(',', map { "$_=$types{$_}" } sort keys %types),
         'VALIDATION_ERROR=300', 'all 300 are validation errors');
$res = GET "/v1/imports/$id/errors?format=csv", auth();
@lines = split /\r\n/, $res->content;
ok t_cmp(scalar @lines, 301, 'errors as CSV: header and 300 rows');
ok t_cmp($lines[1], qr/^0,2,email,VALIDATION_ERROR,/, 'first CSV error row');
$res = GET "/v1/imports/$id/errors", auth('bob');
ok t_cmp($res->code, 404, "another principal cannot read the errors");

# the progress log line, in the documented form
open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die;
my @log = grep { /Job \Q$id\E progress: \d+ records, \d+ success, \d+ errors, error_rate: \d+\.\d\d%, \d+ rows\/sec, \d+MB heap/ } <$fh>;
ok t_cmp(scalar(@log) >= 1, 1, 'progress line in the error log');
