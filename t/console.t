use strict;
use warnings FATAL => 'all';

# The web console's files as the module serves them (no browser here; the
# browser scenarios are t/browser/console.t, make test-browser).
use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use JSON::PP;
use lib 't/lib';
use BulkIO::Test;

my $top = Apache::Test::vars('top_dir');
my $csp = "default-src 'self'; frame-ancestors 'none'";
# the console's JavaScript: app.js, the entry, and the modules it imports
my @modules = qw(app.js api.js bars.js dom.js export.js format.js import.js
                 job.js jobs.js model.js router.js signin.js sw.js);
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
like($h->{location} // '', qr{^(?:http://[^/]+)?/v1/console/$}, 'to /v1/console/');
# under another mount (t/conf/extra.conf.in: <Location /api/bulk/v1>)
($st, $h) = raw_request("GET /api/bulk/v1/console HTTP/1.1\r\nHost: " . hostport()
                        . "\r\nConnection: close\r\n\r\n");
is($st, 301, '/api/bulk/v1/console: 301');
like($h->{location} // '', qr{^(?:http://[^/]+)?/api/bulk/v1/console/$},
     'to /api/bulk/v1/console/ (built from the mount, not the request)');
# a %-encoded path is decoded in r->uri; the Location is the mount's
($st, $h) = raw_request("GET /api/bulk/v1/consol%65 HTTP/1.1\r\nHost: " . hostport()
                        . "\r\nConnection: close\r\n\r\n");
like($h->{location} // '', qr{^(?:http://[^/]+)?/api/bulk/v1/console/$},
     'an encoded request path: to the mount\'s console');
is(GET('/api/bulk/v1/console/app.js')->content, $js, 'the console under /api/bulk/v1 too');

my $res = GET '/v1/console/nope.js';
is($res->code, 404, 'an unknown console file: 404');
is($res->header('Content-Type'), 'application/problem+json', 'as problem+json');
$res = POST '/v1/console/', content => 'x';
is($res->code, 405, 'POST to the console: 405');
is($res->header('Allow'), 'GET, HEAD', 'Allow: GET, HEAD');

# ownPath() (console/api.js), run by node as a browser would read its
# result: only same-origin paths pass, after the URL parser's own
# normalization (tabs and newlines dropped, backslashes as slashes)
SKIP: {
    my $node = `command -v node 2>/dev/null`;
    chomp $node;
    skip 'node is not installed', 2 unless $node;
    my $dir = Apache::Test::vars('t_logs');
    open my $fh, '>', "$dir/ownpath.mjs" or die $!;
    print $fh <<'JS';
import { pathToFileURL } from 'node:url';
globalThis.location = new URL('http://bulk.test/v1/console/');
const { ownPath } = await import(pathToFileURL(process.argv[2] + '/console/api.js'));
const cases = JSON.parse(process.argv[3]);
console.log(JSON.stringify(cases.map((c) => ownPath(c))));
JS
    close $fh;
    my @evil = ("/\t/evil.example/x", "/\n/evil.example/x", "/\r\n/evil.example",
                '//evil.example/x', '/\\evil.example/x', '\\\\evil.example/x',
                ' //evil.example/x', "\x{0}//evil.example", '/\t\\evil.example',
                'https://evil.example/x', 'http://bulk.test/v1/x', 'javascript:alert(1)',
                '', 'v1/relative');
    my @good = ('/v1/imports/abc/errors', '/v1/exports/abc/download?x=1');
    my $json = JSON::PP->new->encode([ @evil, @good ]);
    open my $run, '-|', 'node', '--no-warnings', "$dir/ownpath.mjs", $top, $json
        or die "node: $!";
    my $out = do { local $/; <$run> };
    close $run;
    my $got = eval { JSON::PP->new->decode($out) } // [];
    is_deeply([ @$got[0 .. $#evil] ], [ (undef) x @evil ],
              'ownPath refuses every path another origin hides in');
    is_deeply([ @$got[@evil .. $#$got] ], \@good, 'and keeps its own paths');
}

done_testing();
