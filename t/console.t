use strict;
use warnings FATAL => 'all';

# The web console's files as the module serves them (no browser here; the
# browser scenarios are t/browser/console.t, make test-browser).
use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use lib 't/lib';
use BulkIO::Test;

my $top = Apache::Test::vars('top_dir');
my $csp = "default-src 'self'; frame-ancestors 'none'";
# the console's JavaScript: app.js, the entry, and the modules it imports
my @modules = qw(app.js api.js bars.js dom.js export.js format.js import.js
                 job.js jobs.js model.js router.js signin.js);
is_deeply([sort map { (split m{/})[-1] } glob("$top/console/*.js")], [sort @modules],
          'every script of console/ is checked here');

for my $f (['/v1/console/', 'index.html', 'text/html; charset=utf-8'],
           ['/v1/console/index.html', 'index.html', 'text/html; charset=utf-8'],
           (map { ["/v1/console/$_", $_, 'text/javascript; charset=utf-8'] } @modules),
           ['/v1/console/style.css', 'style.css', 'text/css; charset=utf-8'],
           ['/v1/console/favicon.svg', 'favicon.svg', 'image/svg+xml']) {
    my ($path, $file, $type) = @$f;
    my $res = GET $path;
    is($res->code, 200, "$path without a token: 200");
    is($res->header('Content-Type'), $type, "$path: $type");
    open my $fh, '<:raw', "$top/console/$file" or die "$file: $!";
    my $want = do { local $/; <$fh> };
    ok($res->content eq $want, "$path: the bytes of console/$file");
    is($res->header('Content-Security-Policy'), $csp, "$path: CSP");
    is($res->header('X-Content-Type-Options'), 'nosniff', "$path: nosniff");
    is($res->header('Referrer-Policy'), 'no-referrer', "$path: no-referrer");
    is($res->header('Cache-Control'), 'no-cache', "$path: revalidated");
    my $etag = $res->header('ETag') // '';
    like($etag, qr/^"[0-9a-f]{20}"$/, "$path: an ETag");
    $res = GET $path, 'If-None-Match' => $etag;
    is($res->code, 304, "$path: If-None-Match with its ETag: 304");
    is($res->content, '', "$path: 304 without a body");
}

# the page loads no script or style but its own files, none inline
my $html = GET('/v1/console/')->content;
unlike($html, qr/<script(?![^>]*\bsrc=)/i, 'no inline script');
unlike($html, qr/<style|\sstyle=|\son\w+=/i, 'no inline style or event handler');
unlike($html, qr{(?:src|href)="(?:https?:)?//}i, 'nothing from another site');
for my $m (@modules) {
    my $code = GET("/v1/console/$m")->content;
    unlike($code, qr/\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(/,
           "$m never parses strings as HTML or code");
    unlike($code, qr/localStorage\.setItem/, "$m keeps nothing in localStorage");
}
my $js = GET('/v1/console/app.js')->content;

my ($st, $h) = raw_request("GET /v1/console HTTP/1.1\r\nHost: " . hostport()
                           . "\r\nConnection: close\r\n\r\n");
is($st, 301, '/v1/console: 301');
like($h->{location} // '', qr{/v1/console/$}, 'to /v1/console/');
# under another mount (t/conf/extra.conf.in: <Location /api/bulk/v1>)
($st, $h) = raw_request("GET /api/bulk/v1/console HTTP/1.1\r\nHost: " . hostport()
                        . "\r\nConnection: close\r\n\r\n");
is($st, 301, '/api/bulk/v1/console: 301');
like($h->{location} // '', qr{/api/bulk/v1/console/$}, 'to /api/bulk/v1/console/');
is(GET('/api/bulk/v1/console/app.js')->content, $js, 'the console under /api/bulk/v1 too');

my $res = GET '/v1/console/nope.js';
is($res->code, 404, 'an unknown console file: 404');
is($res->header('Content-Type'), 'application/problem+json', 'as problem+json');
$res = POST '/v1/console/', content => 'x';
is($res->code, 405, 'POST to the console: 405');
is($res->header('Allow'), 'GET, HEAD', 'Allow: GET, HEAD');

done_testing();
