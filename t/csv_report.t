use strict;
use warnings FATAL => 'all';

# The CSV error report defuses cells that a spreadsheet would run as a
# formula (OWASP CSV injection); the NDJSON report and the data exports
# keep every value as it was sent.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 10;

reset_data();
# rows 0-3 fail (no valid email); row 4 is valid and holds a formula
my $csv = "email,name\r\n"
        . "=HYPERLINK(\"\"http://evil\"\"),a\r\n"
        . "+1,b\r\n"
        . "-2+3,c\r\n"
        . "\@SUM(A1),d\r\n"
        . "ok\@example.com,=1+1\r\n";
my $res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'text/csv', content => $csv;
ok t_cmp($res->code, 202, 'import accepted');
my $id = json_decode($res->content)->{job_id};
my $doc = wait_job($id);
ok t_cmp("$doc->{status} $doc->{successCount} $doc->{errorCount}",
         'completed 1 4', 'one applied, four failed');

$res = GET "/v1/imports/$id/errors?format=csv", auth();
my @rows = split /\r\n/, $res->content;
ok t_cmp(scalar @rows, 5, 'CSV report: header and four rows');
# the record's text is the last cell: prefixed with ' (and quoted when it
# holds a quote or a comma)
ok t_cmp($rows[1], qr/,"'=HYPERLINK\(""""http:\/\/evil""""\),a"$/,
         'a cell starting with = is prefixed');
ok t_cmp($rows[2], qr/,"'\+1,b"$/, 'a cell starting with + is prefixed');
ok t_cmp($rows[3], qr/,"'-2\+3,c"$/, 'a cell starting with - is prefixed');
ok t_cmp($rows[4], qr/,"'\@SUM\(A1\),d"$/, 'a cell starting with @ is prefixed');

# NDJSON report: as sent
$res = GET "/v1/imports/$id/errors", auth();
my @err = map { json_decode($_) } split /\n/, $res->content;
ok t_cmp($err[1]{recordData}, '+1,b', 'the NDJSON report keeps the record as sent');

# data export: lossless for round trips
$res = GET '/v1/exports?resource=users&format=csv&fields=email,name', auth();
ok t_cmp($res->content, qr/\r?\nok\@example\.com,=1\+1\r?\n/,
         'the CSV data export keeps =1+1');
$res = GET '/v1/exports?resource=users&fields=name', auth();
ok t_cmp(json_decode((split /\n/, $res->content)[0])->{name}, '=1+1',
         'and so does NDJSON');
