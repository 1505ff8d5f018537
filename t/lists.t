use strict;
use warnings FATAL => 'all';

# GET /v1/imports and GET /v1/exports/jobs: the caller's jobs, newest first,
# filtered, in pages joined by an opaque cursor. Most job rows go straight
# into PostgreSQL (2,500 of them); some come through POST /v1/imports,
# also while a client pages through the list.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP ();
use lib 't/lib';
use BulkIO::Test;

plan tests => 62;

my $who = 'lister';
END { sql("DELETE FROM bulkio_jobs WHERE principal LIKE 'lister%'") }
sql("DELETE FROM bulkio_jobs WHERE principal LIKE 'lister%'");

# 2,500 jobs of $who one second apart before 2025-01-01, resources and
# states in turn; one in 40 'running' with a lease that holds (no worker
# takes them, and they stay below BulkIOMaxJobsPerPrincipal); the others
# finished now, so that the retention sweep (BulkIOJobRetention) leaves
# them while the test runs
sub insert_jobs {
    my ($principal, $kind, $n, $base) = @_;
    sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
        . " created_at, lease_server, lease_expires_at, completed_at)"
        . " SELECT '$kind', (ARRAY['users','articles','comments'])[1 + i % 3],"
        . " 'csv', CASE WHEN i % 40 = 3 THEN 'running' ELSE"
        . " (ARRAY['completed','failed','canceled'])[1 + i / 3 % 3] END,"
        . " '$principal', timestamptz '$base' - i * interval '1 second',"
        . " 'elsewhere', now() + interval '1 day',"
        . " CASE WHEN i % 40 <> 3 THEN now() END"
        . " FROM generate_series(1, $n) AS i");
}
insert_jobs($who, 'import', 2500, '2025-01-01T00:00:00Z');
insert_jobs('lister2', 'import', 30, '2025-01-01T00:00:00Z');
insert_jobs($who, 'export', 40, '2025-01-01T00:00:00Z');
sql('ANALYZE bulkio_jobs');

my $csv = "email,name\n" . join '', map { "list$_\@example.com,L $_\n" } 1 .. 3;
my $n_http = 0;
sub post_job {
    my $res = POST "/v1/imports?resource=users", auth($who),
        'Content-Type' => 'text/csv', content => $csv;
    die 'POST: ' . $res->code unless $res->code == 202;
    ++$n_http;
    return json_decode($res->content)->{job_id};
}
post_job() for 1 .. 3;
my $http_id = post_job();

sub get_json {
    my ($path, $principal) = @_;
    my $res = GET $path, auth($principal // $who);
    return ($res, json_decode($res->content) // {});
}

# every page of a list, following "next"; between pages, $between->()
sub collect {
    my ($path, $principal, $between) = @_;
    my (@items, $pages);
    while ($path) {
        my ($res, $doc) = get_json($path, $principal);
        die "$path: " . $res->code . ' ' . $res->content unless $res->code == 200;
        push @items, @{ $doc->{items} };
        ++$pages;
        my $link = $res->header('Link');
        die "Link and next differ\n"
            if ($doc->{next} // '') ne (($link // '') =~ /^<([^>]+)>; rel="next"$/ ? $1 : '');
        $path = $doc->{next};
        $between->() if $between && $path;
    }
    return (\@items, $pages);
}

sub count_sql {
    my ($where, $principal) = @_;
    $principal //= $who;
    return sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = '$principal'"
                     . " AND kind = 'import'" . ($where ? " AND $where" : ''));
}

# --- pagination while jobs are being added -------------------------------
my $before = count_sql();
ok t_cmp($before, 2500 + $n_http, '2,500 jobs in SQL and some through HTTP');
my @want = sql("SELECT public_id FROM bulkio_jobs WHERE principal = '$who'"
               . " AND kind = 'import'");
my $added = 0;
my ($items, $pages) = collect('/v1/imports?limit=100', $who, sub {
    # a newer job arrives between two pages: in SQL, and now and then
    # through HTTP
    sql("INSERT INTO bulkio_jobs (kind, resource, status, principal, completed_at)"
        . " VALUES ('import', 'users', 'completed', '$who', now())");
    ++$added;
    post_job() if $added % 10 == 0;
});
my %seen;
my $dups = grep { $seen{ $_->{job_id} }++ } @$items;
ok t_cmp($dups, 0, 'no job twice');
ok t_cmp(scalar(grep { !$seen{$_} } @want), 0, 'no job missed');
ok t_cmp(scalar(@$items), $before, 'exactly the jobs there were when paging began');
ok t_cmp($pages, int(($before + 99) / 100), 'pages of 100');
ok t_cmp($added > 20, 1, 'jobs were added while paging');
my $ordered = 1;
for my $i (1 .. $#$items) {
    $ordered = 0 if $items->[$i]{createdAt} gt $items->[$i - 1]{createdAt};
}
ok t_cmp($ordered, 1, 'newest first');
ok t_cmp(count_sql() > $before, 1, 'and the new ones are in the table');
# the newest are first on a fresh first page
my ($res, $doc) = get_json('/v1/imports?limit=5');
my $newest = sql_value("SELECT public_id FROM bulkio_jobs WHERE principal = '$who'"
                       . " AND kind = 'import' ORDER BY created_at DESC, id DESC LIMIT 1");
ok t_cmp($doc->{items}[0]{job_id}, $newest, 'a fresh first page starts with the newest');

# --- the item --------------------------------------------------------------
wait_job($http_id, $who);
($res, $doc) = get_json("/v1/imports?limit=1000");
my ($item) = grep { $_->{job_id} eq $http_id } @{ $doc->{items} };
my (undef, $status) = get_json("/v1/imports/$http_id");
delete $status->{errors};
ok t_cmp(JSON::PP->new->canonical->encode($item // {}),
         JSON::PP->new->canonical->encode($status),
         'an item is the status document without errors');
ok t_cmp(exists $item->{errors} ? 1 : 0, 0, 'no errors array');
ok t_cmp(scalar @{ $doc->{items} }, 1000, 'limit=1000');
($res, $doc) = get_json('/v1/imports');
ok t_cmp(scalar @{ $doc->{items} }, 50, 'default limit 50');
ok t_cmp($res->header('Link'), qr{^</v1/imports\?cursor=[A-Za-z0-9_-]+>; rel="next"$},
         'Link header, RFC 8288');
ok t_cmp($res->header('Content-Type'), 'application/json', 'JSON');

# --- filters -----------------------------------------------------------------
sub check_filter {
    my ($query, $where, $name, $test) = @_;
    my ($items) = collect("/v1/imports?limit=1000&$query");
    my (undef, $first) = get_json("/v1/imports?limit=3&$query");
    ok t_cmp(scalar @$items, count_sql($where), "$name: the count SQL has");
    ok t_cmp($first->{total}, count_sql($where), "$name: total, on a page of 3");
    ok t_cmp(scalar(grep { !$test->($_) } @$items), 0, "$name: every item fits");
}
check_filter('status=failed', "status = 'failed'", 'status=failed',
             sub { $_[0]{status} eq 'failed' });
check_filter('status=running,canceled', "status IN ('running', 'canceled')",
             'status=running,canceled', sub { $_[0]{status} =~ /^(running|canceled)$/ });
check_filter('resource=articles', "resource = 'articles'", 'resource=articles',
             sub { $_[0]{resource} eq 'articles' });
check_filter('created_after=2024-12-31T23:50:00Z',
             "created_at > '2024-12-31T23:50:00Z'", 'created_after',
             sub { $_[0]{createdAt} gt '2024-12-31T23:50:00' });
check_filter('created_before=2024-12-31T23:50:00Z',
             "created_at < '2024-12-31T23:50:00Z'", 'created_before',
             sub { $_[0]{createdAt} lt '2024-12-31T23:50:00' });
check_filter('created_after=2024-12-31T23:00:00%2B01:00&created_before=2024-12-31T23:50:00Z'
             . '&status=completed&resource=users',
             "created_at > '2024-12-31T22:00:00Z' AND created_at < '2024-12-31T23:50:00Z'"
             . " AND status = 'completed' AND resource = 'users'", 'all filters at once',
             sub { $_[0]{status} eq 'completed' && $_[0]{resource} eq 'users' });
# the filters carry over to the next page
($res, $doc) = get_json('/v1/imports?status=failed&resource=users&limit=7');
like_next($doc->{next});
sub like_next {
    ok t_cmp($_[0], qr{^/v1/imports\?status=failed&resource=users&limit=7&cursor=},
             'next keeps the filters and the limit');
}
($res, my $d2) = get_json($doc->{next});
ok t_cmp(scalar(grep { $_->{status} ne 'failed' || $_->{resource} ne 'users' }
                @{ $d2->{items} }), 0, 'and the second page is filtered too');

# --- 400s --------------------------------------------------------------------
for my $bad (
    [ 'cursor=not*base64', 'the cursor is not one this server gave' ],
    [ 'cursor=' . b64url('12:x'), 'the cursor is not one this server gave' ],
    [ 'cursor=' . b64url('1:2') . 'A', 'the cursor is not one this server gave' ],
    [ 'cursor=', 'the cursor is not one this server gave' ],
    [ 'status=done', "unknown status 'done'; allowed: pending, running, completed, failed, canceled" ],
    [ 'status=failed,,running', 'status must be one or more of pending, running, completed, failed, canceled, separated by commas' ],
    [ 'resource=users%27--', 'unknown resource; allowed: users, articles, comments' ],
    [ 'created_after=2024-13-01T00:00:00Z', 'created_after must be an RFC 3339 timestamp with an offset, e.g. 2024-01-01T00:00:00Z' ],
    [ 'created_before=yesterday', 'created_before must be an RFC 3339 timestamp with an offset, e.g. 2024-01-01T00:00:00Z' ],
    [ 'limit=0', 'limit must be a whole number from 1 to 1000' ],
    [ 'limit=1001', 'limit must be a whole number from 1 to 1000' ],
    [ 'limit=ten', 'limit must be a whole number from 1 to 1000' ],
    [ 'sort=asc', "unknown parameter 'sort'; allowed: status, resource, created_after, created_before, limit, cursor, id_prefix" ],
) {
    my ($q, $detail) = @$bad;
    my ($r, $d) = get_json("/v1/imports?$q");
    ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // '') . ' ' . ($d->{detail} // ''),
             "400 application/problem+json $detail", "400 for $q");
}

# --- isolation ---------------------------------------------------------------
my ($other) = collect('/v1/imports?limit=1000', 'lister2');
ok t_cmp(scalar @$other, 30, "another principal sees its 30 jobs");
ok t_cmp(scalar(grep { $seen{ $_->{job_id} } } @$other), 0, "and none of ${who}'s");
(undef, $doc) = get_json('/v1/imports?limit=3');
my ($cross) = collect($doc->{next}, 'lister2');
ok t_cmp(scalar(grep { $seen{ $_->{job_id} } } @$cross), 0,
         "${who}'s cursor shows another principal only its own jobs");
($res) = GET '/v1/imports';
ok t_cmp($res->code, 401, 'no token: 401');

# --- export jobs ---------------------------------------------------------------
my ($exp) = collect('/v1/exports/jobs?limit=15');
ok t_cmp(scalar @$exp, 40, 'GET /v1/exports/jobs: the 40 export jobs');
ok t_cmp(scalar(grep { !exists $_->{downloadUrl} || exists $_->{errorsUrl} } @$exp), 0,
         'export items are export status documents');
ok t_cmp(scalar(grep { $seen{ $_->{job_id} } } @$exp), 0, 'no import among them');
($res) = POST '/v1/exports/jobs', auth($who), content => '';
ok t_cmp($res->code . ' ' . ($res->header('Allow') // ''), '405 GET, HEAD',
         'POST /v1/exports/jobs: 405 with Allow');
($res) = GET '/v1/imports?status=completed&resource=users&limit=2', auth('nobody-at-all');
ok t_cmp($res->content, qr/^\{"items":\[\],"total":0,"next":null\}$/, 'no jobs: an empty list');
(undef, $doc) = get_json('/v1/exports/jobs?limit=15');
ok t_cmp($doc->{total}, 40, 'GET /v1/exports/jobs: total 40 on a page of 15');

# --- served from the index ---------------------------------------------------
my $plan = join "\n", sql("EXPLAIN SELECT id FROM bulkio_jobs WHERE principal = '$who'"
    . " AND kind = 'import' AND status = ANY ('{failed,running}'::text[])"
    . " AND (created_at, id) < (now(), 1000000)"
    . " ORDER BY created_at DESC, id DESC LIMIT 101");
# the planner picks by cost between the kind's index (003) and the index
# across kinds (009): either is one range scan in the list's order
ok t_cmp(($plan =~ /Index (Only )?Scan using bulkio_jobs_(list|all)_idx/
          && $plan !~ /Sort|Seq Scan/) ? 'an index range scan' : $plan,
         'an index range scan', 'the list query scans an index, no sort');
print map { "# $_\n" } split /\n/, $plan;

# --- the document --------------------------------------------------------------
($res) = GET '/v1/openapi.yaml';
my $file = do {
    open my $fh, '<', Apache::Test::vars('top_dir') . '/docs/openapi.yaml' or die $!;
    local $/; <$fh>
};
ok t_cmp($res->code, 200, 'GET /v1/openapi.yaml without a token: 200');
ok t_cmp($res->header('Content-Type'), 'application/yaml', 'as application/yaml');
ok t_cmp($res->content eq $file ? 1 : 0, 1, 'docs/openapi.yaml byte for byte');
