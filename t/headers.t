use strict;
use warnings FATAL => 'all';

# Every API answer carries X-Content-Type-Options: nosniff (errors too,
# httpd's own included), and a principal's job documents, error reports,
# per-record results, lists and exported data carry Cache-Control: no-store.
use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use lib 't/lib';
use BulkIO::Test;

reset_data();
my $csv = "email,name\nhdr1\@example.com,H\nnot-an-email,X\n";
my $res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'text/csv', content => $csv;
is($res->code, 202, 'an import: 202');
my $id = json_decode($res->content)->{job_id};
wait_job($id);
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource":"users"}';
is($res->code, 202, 'an export job: 202');
my $eid = json_decode($res->content)->{job_id};
my $edoc;
for (1 .. 300) {
    $edoc = json_decode(GET("/v1/exports/$eid", auth())->content);
    last if $edoc->{status} =~ /^(completed|failed)$/;
    select undef, undef, undef, 0.2;
}
is($edoc->{status}, 'completed', 'the export job completed');

my @private = (
    [ 'POST /v1/imports (202)', $res ],
    [ 'a job document', GET("/v1/imports/$id", auth()) ],
    [ 'its error report (NDJSON)', GET("/v1/imports/$id/errors", auth()) ],
    [ 'its error report (CSV)', GET("/v1/imports/$id/errors?format=csv", auth()) ],
    [ 'its per-record results', GET("/v1/imports/$id/results", auth()) ],
    [ 'the list of imports', GET('/v1/imports', auth()) ],
    [ 'the list of export jobs', GET('/v1/exports/jobs', auth()) ],
    [ 'a streamed export', GET('/v1/exports?resource=users', auth()) ],
    [ 'an export job document', GET("/v1/exports/$eid", auth()) ],
    [ 'an export download', GET("/v1/exports/$eid/download", auth()) ],
    [ 'an unknown job (404)', GET('/v1/imports/00000000-0000-4000-8000-000000000000', auth()) ],
    [ 'no token (401)', GET("/v1/imports/$id") ],
    [ 'a bad parameter (400)', GET('/v1/exports?resource=nope', auth()) ],
    [ 'a path below /v1/imports with no route (404)', GET('/v1/imports/x/y/z', auth()) ],
);
for my $c (@private) {
    my ($what, $r) = @$c;
    is($r->header('X-Content-Type-Options'), 'nosniff', "$what: nosniff");
    is($r->header('Cache-Control'), 'no-store', "$what: no-store");
}
ok($private[2][1]->content =~ /not-an-email/, 'the error report holds the failed record');

# public answers and httpd's own errors under /v1: nosniff
for my $c ([ '/v1/health', 200 ], [ '/v1/openapi.yaml', 200 ],
           [ '/v1/no-such-thing', 404 ], [ '/v1/imports/%zz', 400 ]) {
    my ($path, $code) = @$c;
    my $r = GET $path, auth();
    is($r->code, $code, "$path: $code");
    is($r->header('X-Content-Type-Options'), 'nosniff', "$path: nosniff");
}
my $r = GET '/v1/imports/%zz', auth();
is($r->header('Content-Type'), 'application/problem+json',
   "httpd's own 400 is problem+json");

done_testing();
