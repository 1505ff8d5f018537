use strict;
use warnings FATAL => 'all';

# The API mounted at a second <Location> (t/conf/extra.conf.in:
# <Location /api/bulk/v1>): routes are relative to the mount, and the
# links in answers (Location, errorsUrl, downloadUrl) start with it.
use Apache::Test;
use Apache::TestRequest qw(GET POST PUT);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 27;

my $m = '/api/bulk/v1';
reset_data();

my $res = GET "$m/health";
ok t_cmp($res->code, 200, 'health under the second mount');
ok t_cmp(json_decode($res->content)->{database}, 'ok', 'database ok');

$res = GET "$m/nothing-here";
ok t_cmp($res->code, 404, 'unknown route: 404');
ok t_cmp($res->header('Content-Type'), 'application/problem+json',
         'as problem+json');

$res = PUT "$m/health";
ok t_cmp($res->code, 405, 'PUT /health: 405');
ok t_cmp($res->header('Allow'), 'GET, HEAD', 'Allow from the route table');

ok t_cmp(GET("$m/imports/00000000-0000-4000-8000-000000000000")->code, 401,
         'a job without a token: 401');
ok t_cmp(GET("$m/imports/00000000-0000-4000-8000-000000000000", auth())->code,
         404, 'an unknown job with one: 404');

# a prefix of the mount is not the API, nor a path that merely ends in a route
ok t_cmp(GET('/api/bulk/health')->code, 404, 'above the mount: not served');
# the mount is the <Location> that set the handler (a shallower <Location
# /api> merged after it does not move it), never a deeper prefix of the
# path: /v1/x/metrics is not /metrics under a mount /v1/x, which would
# escape <Location /v1/metrics>'s Require local
for my $p ('/v1/x/metrics', "$m/x/metrics", '/v1/x/health', "$m/x/health") {
    ok t_cmp(GET($p)->code, 404, "$p: 404");
}
ok t_cmp(GET('/v1/metrics')->code, 200, '/v1/metrics itself (from 127.0.0.1)');

# a regex or wildcard mount stops httpd at startup (httpd -t) with a clear
# message; a plain one is fine
my $vars = Apache::Test::vars();
my $libexec = $ENV{BULKIO_TEST_LIBEXECDIR};
my $dir = "$vars->{t_logs}/mounts";
mkdir $dir;
for my $c ([ '<LocationMatch "^/rx/v1">', '</LocationMatch>', 1 ],
           [ '<Location ~ "^/rx/v1">', '</Location>', 1 ],
           [ '<Location /rx/v1*>', '</Location>', 1 ],
           [ '<Location /ok/v1>', '</Location>', 0 ]) {
    my ($open, $close, $refused) = @$c;
    open my $fh, '>', "$dir/httpd.conf" or die $!;
    print $fh "ServerRoot $dir\nServerName localhost\n",
        (-e "$libexec/mod_mpm_event.so"
         ? "LoadModule mpm_event_module $libexec/mod_mpm_event.so\n" : ''),
        "LoadModule bulkio_module $ENV{BULKIO_TEST_MODULE}\n",
        "Listen 127.0.0.1:1\nErrorLog $dir/error_log\nPidFile $dir/pid\n",
        "$open\n    <IfModule mod_bulkio.c>\n        SetHandler bulkio\n",
        "    </IfModule>\n$close\n";
    close $fh;
    my $out = `$vars->{httpd} -t -f $dir/httpd.conf 2>&1`;
    my $rc = $? >> 8;
    if ($refused) {
        ok t_cmp($rc != 0 && $out =~ /BULKIO1851: SetHandler bulkio in \Q$open\E.*a regex or wildcard mount is not supported/
                 ? 'refused' : "rc $rc: $out", 'refused', "$open: refused at startup");
    }
    else {
        ok t_cmp($rc, 0, "$open: accepted");
    }
}

my $csv = "email,name\n" . join '', map { "loc$_\@example.com,L $_\n" } 1 .. 20;
$res = POST "$m/imports?resource=users", auth(),
    'Content-Type' => 'text/csv', content => $csv;
ok t_cmp($res->code, 202, 'POST an import under the second mount');
my $id = json_decode($res->content)->{job_id};
ok t_cmp($res->header('Location'), "$m/imports/$id",
         'Location names the job under this mount');

my $doc;
for (1 .. 300) {
    $doc = json_decode(GET("$m/imports/$id", auth())->content);
    last if $doc->{status} =~ /^(completed|failed)$/;
    select undef, undef, undef, 0.1;
}
ok t_cmp($doc->{status}, 'completed', 'the job completes');
ok t_cmp($doc->{errorsUrl}, "$m/imports/$id/errors", 'errorsUrl under the mount');
ok t_cmp($doc->{resultsUrl}, "$m/imports/$id/results", 'resultsUrl too');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE 'loc%'"), 20,
         'its 20 rows are in PostgreSQL');
ok t_cmp(GET("$m/imports/$id/errors", auth())->code, 200, 'errors under the mount');

# the same job through /v1: one API, two mounts
ok t_cmp(json_decode(GET("/v1/imports/$id", auth())->content)->{errorsUrl},
         "/v1/imports/$id/errors", 'through /v1 the links start with /v1');

# TRACE would echo the token back: refused under this mount too
my ($status) = raw_request("TRACE $m/imports HTTP/1.1\r\nHost: localhost\r\n"
                           . "Connection: close\r\n\r\n");
ok t_cmp($status, 405, 'TRACE under the second mount: 405');
