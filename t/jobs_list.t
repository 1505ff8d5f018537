use strict;
use warnings FATAL => 'all';

# GET /v1/jobs: the caller's imports and exports in one list, newest first
# across kinds, paged by the server, with the total; what job documents
# say (source, createdBy, errorCounts, an export's filters, fields and
# startedAt); DELETE /v1/exports/{id}; an unknown query parameter on every
# endpoint.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT spool_listing);

plan tests => 64;

my $who = 'jl-order';
my $me = 'jl';
# the jobs made in SQL go (the jobs made through HTTP stay, with their
# files: t/hostile_http.t checks every spool file has its job)
sub clean { sql("DELETE FROM bulkio_jobs WHERE principal IN ('jl-order', 'jl-other')") }
END { clean() }
clean();

sub get_json {
    my ($path, $principal) = @_;
    my $res = GET $path, auth($principal // $who);
    return ($res, json_decode($res->content) // {});
}

# every page of a list, following "next": (items, pages, totals seen)
sub collect {
    my ($path, $principal) = @_;
    my (@items, $pages, %totals);
    while ($path) {
        my ($res, $doc) = get_json($path, $principal);
        die "$path: " . $res->code . ' ' . $res->content unless $res->code == 200;
        push @items, @{ $doc->{items} };
        ++$pages;
        $totals{ $doc->{total} // 'none' } = 1;
        my $link = $res->header('Link');
        die "Link and next differ\n"
            if ($doc->{next} // '') ne (($link // '') =~ /^<([^>]+)>; rel="next"$/ ? $1 : '');
        $path = $doc->{next};
    }
    return (\@items, $pages, join ',', sort keys %totals);
}

# --- order across kinds ------------------------------------------------------
# 60 jobs a second apart, the kinds interleaved irregularly (every third
# and every fifth an export), and pairs created at the same instant (the
# row id decides); another principal's jobs in between
sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
    . " created_at, completed_at)"
    . " SELECT CASE WHEN i % 3 = 0 OR i % 5 = 0 THEN 'export' ELSE 'import' END,"
    . " 'users', 'csv', 'completed', p,"
    . " timestamptz '2025-03-01T00:00:00Z' - (i / 2) * interval '1 second', now()"
    . " FROM generate_series(1, 60) AS i, (VALUES ('$who'), ('jl-other')) AS w(p)");
my @want = sql("SELECT public_id || ' ' || kind FROM bulkio_jobs"
               . " WHERE principal = '$who' ORDER BY created_at DESC, id DESC");
my ($items, $pages, $totals) = collect('/v1/jobs?limit=7');
ok t_cmp(join("\n", map { "$_->{job_id} $_->{kind}" } @$items), join("\n", @want),
         'GET /v1/jobs: every job once, newest first across kinds, as SQL orders them');
ok t_cmp($pages, 9, 'in pages of 7');
ok t_cmp($totals, '60', 'total 60 on every page');
my %kinds;
$kinds{ $_->{kind} }++ for @$items;
ok t_cmp("$kinds{import}/$kinds{export}", '32/28', '32 imports and 28 exports');
ok t_cmp(scalar(grep { ($_->{kind} eq 'import') != exists $_->{errorsUrl} } @$items), 0,
         "each item is its kind's document");

($items, $pages, $totals) = collect('/v1/jobs?kind=export&limit=10');
ok t_cmp(join("\n", map { $_->{job_id} } @$items),
         join("\n", map { /^(\S+) export$/ ? $1 : () } @want),
         'kind=export: the exports alone, in order');
ok t_cmp($totals, '28', 'total 28');
my (undef, $doc) = get_json('/v1/jobs?kind=import&limit=5');
ok t_cmp($doc->{next} =~ /kind=import/ ? 1 : 0, 1, 'kind=import carries over');
(undef, $doc) = get_json($doc->{next});
ok t_cmp(scalar(grep { $_->{kind} ne 'import' } @{ $doc->{items} }), 0,
         'and the next page is imports only');
(undef, $doc) = get_json('/v1/jobs?created_before=2025-02-28T23:59:50Z&limit=1');
ok t_cmp($doc->{total}, sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = '$who'"
                                  . " AND created_at < '2025-02-28T23:59:50Z'"),
         'total follows the filters');

# a job id's first characters
my $some = (split ' ', $want[17])[0];
(undef, $doc) = get_json('/v1/jobs?id_prefix=' . uc substr($some, 0, 8));
ok t_cmp(scalar(grep { $_->{job_id} eq $some } @{ $doc->{items} }), 1,
         'id_prefix (any case) finds the job');
ok t_cmp(scalar(grep { index($_->{job_id}, substr($some, 0, 8)) } @{ $doc->{items} }), 0,
         'and only jobs whose id starts so');
ok t_cmp($doc->{total}, scalar @{ $doc->{items} }, 'total counts them');
(undef, $doc) = get_json("/v1/imports?id_prefix=$some");
ok t_cmp(scalar @{ $doc->{items} }, $want[17] =~ /import$/ ? 1 : 0,
         'id_prefix on a list of one kind');

for my $bad (
    [ 'kind=imports', 'unknown kind; allowed: import, export' ],
    [ 'id_prefix=xyz', 'id_prefix must be the start of a job id: 1 to 36 hex digits and dashes' ],
    [ 'sort=asc', "unknown parameter 'sort'; allowed: status, resource, created_after,"
                  . " created_before, limit, cursor, id_prefix, kind" ],
) {
    my ($res, $d) = get_json("/v1/jobs?$bad->[0]");
    ok t_cmp($res->code . ' ' . ($res->header('Content-Type') // '') . ' ' . ($d->{detail} // ''),
             "400 application/problem+json $bad->[1]", "400 for $bad->[0]");
}
my ($res) = get_json('/v1/imports?kind=import');
ok t_cmp($res->code, 400, 'kind is not a parameter of /v1/imports');
($res) = GET '/v1/jobs';
ok t_cmp($res->code, 401, 'no token: 401');

# a table this small is read more cheaply whole, or through the index on
# principal and a sort: the planner is told not to, to show which index
# serves the list in its order (t/lists.t shows the choice by cost on
# thousands of rows)
sql('ANALYZE bulkio_jobs');
my $plan = join "\n", sql("SET enable_seqscan = off; SET enable_sort = off;"
    . " SET enable_bitmapscan = off; EXPLAIN SELECT id FROM bulkio_jobs WHERE principal = '$who'"
    . " AND (created_at, id) < (now(), 1000000)"
    . " ORDER BY created_at DESC, id DESC LIMIT 51");
ok t_cmp($plan, qr/\A(?!.*Sort).*Index (Only )?Scan using bulkio_jobs_all_idx/s,
         'the list across kinds is a range scan of its index');

# --- documents: source, createdBy, errorCounts --------------------------------
reset_data();
my $dup = '6f1c2a3b-0000-4000-8000-00000000abcd';
my $body = join '', map { "$_\n" } '{"email":"ok1@example.com"}', '{"email":"bad"}',
    'not json', '{"email":"bad2@"}', qq({"id":"$dup","email":"OK1\@example.com"}),
    '{"email":"ok2@example.com"}';
$res = POST '/v1/imports?resource=users', auth($me), Content_Type => 'form-data',
    Content => [ file => [ undef, "day 1 \xc3\xa9t\xc3\xa9.ndjson",
                           'Content-Type' => 'application/x-ndjson',
                           Content => $body ] ];
ok t_cmp($res->code, 202, 'multipart import: 202');
my $imp = json_decode($res->content)->{job_id};
my $idoc = wait_job($imp, $me);
my $counts = '{"DUPLICATE_ERROR":1,"FOREIGN_KEY_ERROR":0,"NOT_FOUND_ERROR":0,'
           . '"PARSE_ERROR":1,"VALIDATION_ERROR":2}';
ok t_cmp(JSON::PP->new->canonical->encode($idoc->{errorCounts}), $counts,
         'errorCounts: every type, as counted');
ok t_cmp($idoc->{errorCount}, 4, 'summing to errorCount');
ok t_cmp($idoc->{source}, "day 1 \xc3\xa9t\xc3\xa9.ndjson", 'source: the part\'s file name');
ok t_cmp($idoc->{createdBy}, $me, 'createdBy: the principal');
(undef, $doc) = get_json('/v1/jobs', $me);
my ($item) = grep { $_->{job_id} eq $imp } @{ $doc->{items} };
ok t_cmp(JSON::PP->new->canonical->encode($item->{errorCounts} // {}), $counts,
         'the list item carries the same errorCounts');
ok t_cmp(($item->{source} // '') . ' ' . ($item->{createdBy} // ''),
         "day 1 \xc3\xa9t\xc3\xa9.ndjson $me", 'and source, createdBy');
# counts straight from the job row
sql("UPDATE bulkio_jobs SET foreign_key_errors = 7, not_found_errors = 3"
    . " WHERE public_id = '$imp'");
(undef, $doc) = get_json("/v1/imports/$imp", $me);
ok t_cmp("$doc->{errorCounts}{FOREIGN_KEY_ERROR}/$doc->{errorCounts}{NOT_FOUND_ERROR}",
         '7/3', 'errorCounts are the job row\'s per-type counts');

# a raw upload has no file name; a URL import's source is its URL
$res = POST '/v1/imports?resource=users', auth($me),
    'Content-Type' => 'application/x-ndjson', content => qq({"email":"r\@example.com"}\n);
my $raw = json_decode($res->content)->{job_id};
(undef, $doc) = get_json("/v1/imports/$raw", $me);
ok t_cmp(exists $doc->{source} && !defined $doc->{source} ? 1 : 0, 1,
         'a raw upload: source null');
my $url = 'http://' . hostport() . '/nowhere/users.ndjson';
$res = POST '/v1/imports?resource=users', auth($me),
    'Content-Type' => 'application/json', content => qq({"url":"$url"});
ok t_cmp($res->code, 202, 'URL import: 202');
(undef, $doc) = get_json('/v1/imports/' . json_decode($res->content)->{job_id}, $me);
ok t_cmp($doc->{source}, $url, 'a URL import: source is the URL');
wait_idle();

# --- an export job's document -------------------------------------------------
sub post_export {
    my ($spec, $principal) = @_;
    my $res = POST '/v1/exports', auth($principal // $me),
        'Content-Type' => 'application/json', content => $spec;
    die 'POST /v1/exports: ' . $res->code . ' ' . $res->content unless $res->code == 202;
    return json_decode($res->content)->{job_id};
}
sub wait_export {
    my ($id) = @_;
    for (1 .. 600) {
        my (undef, $d) = get_json("/v1/exports/$id", $me);
        return $d if ($d->{status} // '') =~ /^(completed|failed|canceled)$/;
        sleep 0.1;
    }
    die "export $id did not end\n";
}
my $exp = post_export('{"resource":"users","format":"csv","filters":{"role":"reader",'
                      . '"created_after":"2020-01-01T00:00:00Z"},"fields":["email","id"]}');
my $edoc = wait_export($exp);
ok t_cmp($edoc->{status}, 'completed', 'the export job completes');
ok t_cmp(JSON::PP->new->canonical->encode($edoc->{filters}),
         '{"created_after":"2020-01-01T00:00:00Z","role":"reader"}', 'filters');
ok t_cmp(join(',', @{ $edoc->{fields} }), 'email,id', 'fields, in order');
ok t_cmp($edoc->{startedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'startedAt');
ok t_cmp(($edoc->{createdBy} // '') . ' ' . (defined $edoc->{source} ? 'set' : 'null'),
         "$me null", 'createdBy; no source');
ok t_cmp($edoc->{totalRecords}, 3, 'the three readers imported above');
(undef, $doc) = get_json('/v1/jobs?limit=1', $me);
ok t_cmp(($doc->{items}[0]{job_id} // '') . ' ' . ($doc->{items}[0]{kind} // ''),
         "$exp export", 'the newest job first: the export, after the imports');
ok t_cmp($doc->{total}, sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = '$me'"),
         'total: all the jobs of the caller (3 imports and 1 export)');

# --- DELETE /v1/exports/{id} ----------------------------------------------------
$res = http_delete "/v1/exports/$exp", auth($me);
ok t_cmp($res->code . ' ' . (json_decode($res->content)->{detail} // ''),
         '409 the job has already completed', 'a completed export: 409');
$res = http_delete "/v1/exports/$exp", auth('jl-stranger');
ok t_cmp($res->code, 404, "another principal's export: 404");
$res = http_delete "/v1/exports/$imp", auth($me);
ok t_cmp($res->code, 404, 'an import id under /exports: 404');

# enough rows for an export that runs for seconds (BulkIOLeaseTime 3s: the
# worker looks for a cancel at least every second)
sql("INSERT INTO users (external_id, email, name)"
    . " SELECT gen_random_uuid()::text, 'bulk' || i || '\@example.com', repeat('n', 250)"
    . " FROM generate_series(1, 600000) AS i");
# users is held locked until the DELETE, so the export is claimed and
# running (its query waiting for the lock) when the cancel comes, however
# slow the machine is
my $lock = hold_lock('users');
$exp = post_export('{"resource":"users","format":"json"}');
my $until = time + 60;
while (time < $until) {
    (undef, $doc) = get_json("/v1/exports/$exp", $me);
    last if $doc->{status} ne 'pending';
    sleep 0.05;
}
$res = http_delete "/v1/exports/$exp", auth($me);
release_lock($lock);
my $t0 = time;
ok t_cmp($res->code, 202, 'DELETE of a running export: 202');
ok t_cmp(json_decode($res->content)->{status}, 'running', 'it runs to its next chunk');
$edoc = wait_export($exp);
ok t_cmp($edoc->{status}, 'canceled', 'then ends canceled');
ok t_cmp(time - $t0 < 6 ? 1 : 0, 1,
         'within two lease periods once the lock is gone (BulkIOLeaseTime 3s)');
ok t_cmp($edoc->{downloadUrl}, undef, 'with no download');
ok t_cmp(scalar(grep { /^export-\Q$exp\E/ } spool_listing()), 0,
         'its partial file is removed');
$res = GET "/v1/exports/$exp/download", auth($me);
ok t_cmp($res->code, 409, 'the download: 409');
$res = http_delete "/v1/exports/$exp", auth($me);
ok t_cmp($res->code . ' ' . (json_decode($res->content)->{status} // ''), '200 canceled',
         'DELETE again: 200, canceled');
sql('TRUNCATE users, articles, comments RESTART IDENTITY CASCADE');

# --- an unknown parameter, on every endpoint -------------------------------------------
my $bogus = 'bogus=1';
my $jobs_before = sql_value("SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'canceled')"
                            . " FROM bulkio_jobs WHERE principal = '$me'");
for my $case (
    [ GET => "/v1/health?$bogus", 'none', 0 ],
    [ GET => "/v1/metrics?$bogus", 'none', 0 ],
    [ GET => "/v1/openapi.yaml?$bogus", 'none', 0 ],
    [ GET => "/v1/imports/$imp?$bogus", 'none' ],
    [ HEAD => "/v1/imports/$imp?$bogus", 'none' ],
    [ DELETE => "/v1/imports/$imp?$bogus", 'none' ],
    [ GET => "/v1/imports/$imp/errors?format=csv&$bogus", 'format' ],
    [ GET => "/v1/exports/$exp?$bogus", 'none' ],
    [ DELETE => "/v1/exports/$exp?$bogus", 'none' ],
    [ GET => "/v1/exports/$exp/download?$bogus", 'none' ],
    [ POST => "/v1/exports?$bogus", 'callback_url' ],
    [ POST => "/v1/imports?resource=users&$bogus",
      'resource, format, mode, max_errors, dry_run, atomic, callback_url, delimiter, columns, charset' ],
) {
    my ($method, $path, $allowed, $token) = @$case;
    my @auth = ($token // 1) ? auth($me) : ();
    my $r = $method eq 'DELETE' ? http_delete($path, @auth)
          : $method eq 'POST' ? POST($path, @auth, 'Content-Type' => 'application/json',
                                     content => '{"resource":"users"}')
          : $method eq 'HEAD' ? Apache::TestRequest::HEAD($path, @auth)
          : GET($path, @auth);
    my $d = json_decode($r->content) // {};
    ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // '')
             . ($method eq 'HEAD' ? '' : ' ' . ($d->{detail} // '')),
             "400 application/problem+json"
             . ($method eq 'HEAD' ? '' : " unknown parameter 'bogus'; allowed: $allowed"),
             "$method $path: 400 naming the allowed ones");
}
# the streamed export names its filters
$res = GET "/v1/exports?resource=users&$bogus", auth($me);
ok t_cmp($res->code . ' ' . (json_decode($res->content)->{detail} // ''),
         qr/^400 unknown filter 'bogus'.*role/, 'GET /v1/exports: 400 naming the filters');
# nothing was canceled, nothing created by those requests
ok t_cmp(sql_value("SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'canceled')"
                   . " FROM bulkio_jobs WHERE principal = '$me'"), $jobs_before,
         'the refused requests created and canceled no job');
