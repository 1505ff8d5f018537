use strict;
use warnings FATAL => 'all';

use Apache::Test;
use IO::Select;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use HTTP::Request::Common ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT database_spool);

plan tests => 65;

my $spool = Apache::Test::vars('serverroot') . '/spool';
my @alice = auth('alice');
my $ndjson = qq({"email":"a\@example.com","name":"A"}\n{"email":"b\@example.com"}\n);
my $csv = "email,name\r\nc\@example.com,C\r\n";
my $json = qq([{"email":"d\@example.com"}]);

sub jobs { sql_value('SELECT count(*) FROM bulkio_jobs') }

sub post_raw {
    my ($query, $ctype, $body, @hdr) = @_;
    return POST "/v1/imports$query", @alice, @hdr,
        ($ctype ? ('Content-Type' => $ctype) : ()), content => $body;
}

sub accepted {
    my ($res, $name) = @_;
    my $doc = json_decode($res->content) // {};
    ok t_cmp($res->code, 202, "$name: 202");
    ok t_cmp($doc->{status}, 'accepted', "$name: accepted");
    ok t_cmp($res->header('Location'), "/v1/imports/$doc->{job_id}",
             "$name: Location");
    return $doc->{job_id};
}

# raw bodies: the format comes from the parameter or the Content-Type
my $id = accepted(post_raw('?resource=users', 'application/x-ndjson', $ndjson),
                  'raw ndjson');
my @row = split /\|/, sql_value("SELECT status, resource, format, principal,"
    . " bytes_total, source_path FROM bulkio_jobs WHERE public_id = '$id'");
ok t_cmp("@row[0..4]", qr/^(pending|running|completed) users ndjson alice \Q@{[length $ndjson]}\E$/,
         'job row (pending until the worker takes it) with the upload size');
# (a finished import's file is removed at once: the job may be that quick)
my $done = sub {
    sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$id'")
        eq 'completed';
};
if (database_spool()) {
    # stored packed (zstd): the object is there until the job ends, which
    # unlinks it and clears its name
    my $n = ($row[5] // '') =~ /^lo:(\d+)$/
            ? sql_value("SELECT count(*) FROM pg_largeobject_metadata"
                        . " WHERE oid = $1") : 0;
    ok t_cmp($n || $done->() ? 1 : 0, 1,
             'the upload is stored in a large object');
}
else {
    my $stored;
    if (open my $fh, '<', $row[5]) {
        $stored = do { local $/; <$fh> };
    }
    else {
        $stored = $done->() ? $ndjson : "$row[5]: $!";
    }
    ok t_cmp($stored, $ndjson, 'the spool file holds the upload byte for byte');
}

my $res = GET "/v1/imports/$id", @alice;
ok t_cmp($res->code, 200, 'status document');
my $doc = json_decode($res->content);
ok t_cmp($doc->{status}, qr/^(pending|running|completed)$/, 'a live status');
$doc = wait_job($id, 'alice');
ok t_cmp(join(',', map { $doc->{$_} } qw(job_id status resource format
                                         totalRecords successCount errorCount)),
         "$id,completed,users,ndjson,2,2,0", 'processed: counters');
ok t_cmp(scalar @{$doc->{errors}}, 0, 'no errors');
ok t_cmp($doc->{progress}{bytesTotal}, length($ndjson), 'bytesTotal');
ok t_cmp($doc->{createdAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
         'createdAt is RFC 3339 UTC');
ok t_cmp($doc->{errorsUrl}, "/v1/imports/$id/errors", 'errorsUrl');

$id = accepted(post_raw('?resource=users', 'text/csv', $csv), 'raw csv');
ok t_cmp(sql_value("SELECT format FROM bulkio_jobs WHERE public_id = '$id'"),
         'csv', 'csv by Content-Type');
$id = accepted(post_raw('?resource=articles', 'application/json', $json),
               'raw json array');
ok t_cmp(sql_value("SELECT format FROM bulkio_jobs WHERE public_id = '$id'"),
         'json', 'json by Content-Type');
$id = accepted(post_raw('?resource=users', 'application/octet-stream', $csv),
               'generic type, sniffed');
ok t_cmp(sql_value("SELECT format FROM bulkio_jobs WHERE public_id = '$id'"),
         'csv', 'csv by sniffing');
$id = accepted(post_raw('?resource=users&format=ndjson', 'text/plain', $ndjson),
               'format parameter');

# multipart: the part's type, else the file name
$res = POST '/v1/imports?resource=comments', @alice,
    Content_Type => 'form-data',
    Content => [ note => 'ignored',
                 file => [ undef, 'comments.ndjson', Content => $ndjson,
                           'Content-Type' => 'application/octet-stream' ] ];
$id = accepted($res, 'multipart');
@row = split /\|/, sql_value("SELECT resource, format, bytes_total"
    . " FROM bulkio_jobs WHERE public_id = '$id'");
ok t_cmp("@row", 'comments ndjson ' . length($ndjson),
         'multipart: format from the file name, only the file part stored');

# URL imports store the URL for the worker
$res = post_raw('?resource=users', 'application/json',
                '{"url": "https://example.com/users.csv"}');
$id = accepted($res, 'url');
ok t_cmp(sql_value("SELECT source_url FROM bulkio_jobs WHERE public_id = '$id'"),
         'https://example.com/users.csv', 'url stored on the job');

# 400, 413, 415 — and nothing created
my $before = jobs();
# files of jobs still at work may go meanwhile: what counts is that no new
# one stays
my %files = map { $_ => 1 } glob("$spool/*");
sub new_files { grep { !$files{$_} } glob("$spool/*") }
my @bad = (
    [ 400, 'no resource', post_raw('', 'text/csv', $csv) ],
    [ 400, 'unknown resource', post_raw('?resource=posts', 'text/csv', $csv) ],
    [ 400, 'unknown format', post_raw('?resource=users&format=xml', 'text/csv', $csv) ],
    [ 400, 'ftp URL', post_raw('?resource=users', 'application/json',
                               '{"url": "ftp://example.com/x.csv"}') ],
    [ 400, 'relative URL', post_raw('?resource=users', 'application/json',
                                    '{"url": "/etc/passwd"}') ],
    [ 400, 'object without url', post_raw('?resource=users', 'application/json',
                                          '{"file": 1}') ],
    [ 400, 'no file part', POST('/v1/imports?resource=users', @alice,
                                Content_Type => 'form-data',
                                Content => [ other => 'x' ]) ],
    [ 400, 'multipart without boundary',
      post_raw('?resource=users', 'multipart/form-data', "--x\r\n") ],
    [ 400, 'undetectable format', post_raw('?resource=users', 'application/octet-stream', "\x01\x02") ],
    [ 415, 'unsupported type', post_raw('?resource=users', 'image/png', $csv) ],
    [ 415, 'unsupported part type', POST('/v1/imports?resource=users', @alice,
        Content_Type => 'form-data',
        Content => [ file => [ undef, 'x.csv', Content => $csv,
                               'Content-Type' => 'application/pdf' ] ]) ],
    [ 400, 'empty body', post_raw('?resource=users', 'text/csv', '') ],
);
for my $b (@bad) {
    my ($code, $name, $r) = @$b;
    ok t_cmp($r->code, $code, "$name: $code");
    ok t_cmp($r->header('Content-Type'), 'application/problem+json',
             "$name: problem+json");
}
# a Content-Length over BulkIOMaxUploadSize (64M here) is refused at once
my ($st, $h) = raw_request(
    "POST /v1/imports?resource=users HTTP/1.1\r\nHost: localhost\r\n"
    . "Authorization: Bearer " . token() . "\r\nContent-Type: text/csv\r\n"
    . "Content-Length: " . (64 * 1024 * 1024 + 1) . "\r\n\r\n$csv");
ok t_cmp($st, 413, 'Content-Length over the limit: 413');
ok t_cmp($h->{'content-type'}, 'application/problem+json', 'problem+json');
ok t_cmp(jobs(), $before, 'refused uploads create no job');
ok t_cmp(scalar(new_files()), 0, 'refused uploads leave no spool file');

# a chunked upload that grows past BulkIOMaxUploadSize (64M here)
my $chunk = ('x' x 65535) . "\n";
($st) = raw_request(
    "POST /v1/imports?resource=users&format=csv HTTP/1.1\r\n"
    . "Host: localhost\r\nAuthorization: Bearer " . token() . "\r\n"
    . "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n",
    sub {
        my $s = shift;
        my $sel = IO::Select->new($s);
        local $SIG{PIPE} = 'IGNORE';
        # stop sending once the answer is there: writing on until httpd
        # gives up lingering would turn its close into a reset that
        # discards the answer
        for (1 .. 1100) {
            last if $sel->can_read(0);
            print $s sprintf("%x\r\n", length $chunk), $chunk, "\r\n" or last;
        }
        print $s "0\r\n\r\n" unless $sel->can_read(0);
    });
ok t_cmp($st, 413, 'chunked upload over the limit: 413');
# the file is removed with the request's pool, after the answer
for (1 .. 50) {
    last if !new_files();
    select undef, undef, undef, 0.1;
}
print "# left in the spool: $_\n" for new_files();
ok t_cmp(scalar(new_files()), 0, 'and its spool file is gone');
