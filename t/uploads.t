use strict;
use warnings FATAL => 'all';

# Uploads over raw sockets: bodies split at awkward places, disconnects,
# other principals.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 14;

my $spool = Apache::Test::vars('serverroot') . '/spool';
my $boundary = 'bulkio-test-boundary-0123456789';
my $file = join '', map { qq({"email":"u$_\@example.com"}\r\n) } 1 .. 50;
$file .= "\r\n--" . substr($boundary, 0, -1) . "X\r\n";   # a near-boundary
my $body = "preamble\r\n--$boundary\r\n"
    . qq(Content-Disposition: form-data; name="file"; filename="u.ndjson"\r\n)
    . "Content-Type: application/x-ndjson\r\n\r\n"
    . $file . "\r\n--$boundary--\r\n";

sub head {
    my ($len, %h) = @_;
    my $tok = $h{token} // token();
    return "POST /v1/imports?resource=users HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: Bearer $tok\r\n"
        . "Content-Type: multipart/form-data; boundary=$boundary\r\n"
        . "Content-Length: $len\r\nConnection: close\r\n\r\n";
}

# the spool file of job $id; an ended import lets go of its file at once
# (it may go between the query and the open), so once it is gone only the
# size recorded by the completed job can be compared
sub stored {
    my ($id, $want) = @_;
    my $path = sql_value("SELECT source_path FROM bulkio_jobs"
                         . " WHERE public_id = '$id'");
    if (defined $path && open my $fh, '<', $path) {
        local $/;
        return <$fh>;
    }
    my $doc = wait_job($id);
    my $size = sql_value("SELECT bytes_total FROM bulkio_jobs WHERE public_id = '$id'");
    return $doc->{status} eq 'completed' && $size == length $want ? $want : '';
}

# the body sent in pieces that cut the boundary, the headers and CRLFs
my $cut = index($body, "--$boundary--") + 5;
for my $split ([ 3, 12, 60 ], [ index($body, "\r\n\r\n") + 1, $cut ],
               [ length($body) - 3 ]) {
    my @pieces;
    my $at = 0;
    for my $s (@$split, length $body) {
        push @pieces, substr($body, $at, $s - $at), sub { sleep 0.05 };
        $at = $s;
    }
    my ($st, $h, $resp) = raw_request(head(length $body), @pieces);
    my $doc = json_decode($resp) // {};
    ok t_cmp($st, 202, "split at @$split: 202") or print "# $resp\n";
    ok t_cmp(stored($doc->{job_id}, $file), $file, "split at @$split: file intact");
}

# a client that disconnects mid-upload leaves no job and no file (the jobs
# before it done, so that none removes its file meanwhile)
wait_idle();
my $jobs = sql_value('SELECT count(*) FROM bulkio_jobs');
my @files = glob("$spool/*");
raw_request(head(1_000_000), substr($body, 0, 400), sub { sleep 0.2; close shift });
sleep 0.5;
ok t_cmp(sql_value('SELECT count(*) FROM bulkio_jobs'), $jobs,
         'disconnect mid-upload: no job');
my @after = glob("$spool/*");
ok t_cmp(scalar @after, scalar @files, 'disconnect mid-upload: no file left');

# a multipart body without its closing boundary
my $open = substr($body, 0, index($body, "\r\n--$boundary--"));
my ($st, $h, $resp) = raw_request(head(length $open), $open);
ok t_cmp($st, 400, 'missing closing boundary: 400');
ok t_cmp($h->{'content-type'}, 'application/problem+json', 'problem+json');

# jobs of another principal, unknown and malformed ids are 404
($st, $h, $resp) = raw_request(head(length $body), $body);
my $id = (json_decode($resp) // {})->{job_id};
my $res = GET "/v1/imports/$id", auth('alice');
ok t_cmp($res->code, 200, 'owner sees the job');
$res = GET "/v1/imports/$id", auth('bob');
ok t_cmp($res->code, 404, 'another principal gets 404');
$res = GET '/v1/imports/00000000-0000-4000-8000-000000000000', auth('alice');
ok t_cmp($res->code, 404, 'unknown id: 404');
$res = GET "/v1/imports/1'%20OR%20'1'='1", auth('alice');
ok t_cmp($res->code, 404, 'malformed id: 404');
