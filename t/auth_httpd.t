use strict;
use warnings FATAL => 'all';

# BulkIOAuth httpd (the bulkio_httpd virtual host of t/conf/extra.conf.in,
# behind mod_auth_basic): the principal is httpd's user, and a POST or
# DELETE must be same-origin (Origin, Sec-Fetch-Site) or it is refused 403.
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_cmp);
use MIME::Base64 qw(encode_base64);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport);

my $dir = Apache::Test::vars('t_dir') . '/logs';
my $vhost = vhost_hostport('bulkio_httpd');
my $password = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 20;
# the password goes in on stdin, never in argv
open my $pw, '|-', 'htpasswd', '-ciB', "$dir/htpasswd", 'carol' or die "htpasswd: $!";
print $pw "$password\n";
close $pw or die "htpasswd failed\n";
my $basic = 'Basic ' . encode_base64("carol:$password", '');

sub request {
    my ($method, $path, %h) = @_;
    my $body = delete $h{body} // '';
    my $extra = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    my ($st, $hd, $b) = raw_request_at($vhost, "$method $path HTTP/1.1\r\n"
        . "Host: $vhost\r\n$extra"
        . ($body ne '' ? "Content-Type: text/csv\r\nContent-Length: " . length($body) . "\r\n" : '')
        . "Connection: close\r\n\r\n$body");
    return ($st, $hd, $b);
}

sub post {
    my ($n, %h) = @_;
    my ($st, undef, $b) = request('POST', '/v1/imports?resource=users',
        Authorization => $basic, body => "email\nh$n\@example.com\n", %h);
    return wantarray ? ($st, $b) : $st;
}

reset_data();
my $before = sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'carol'");
my ($st, $h) = request('GET', '/v1/imports/00000000-0000-4000-8000-000000000000');
is($st, 401, 'no credentials: 401 from mod_auth_basic');
like($h->{'www-authenticate'} // '', qr/^Basic /, 'with its Basic challenge');
($st) = request('GET', '/v1/imports/00000000-0000-4000-8000-000000000000',
                Authorization => 'Bearer ' . token(sub => 'carol'));
is($st, 401, 'a token is no credential here');
($st) = request('GET', '/v1/imports/00000000-0000-4000-8000-000000000000',
                Authorization => $basic);
is($st, 404, "carol's credentials: signed in (an unknown job is 404)");

is(post(1), 202, 'a POST with neither Origin nor Sec-Fetch-Site (curl) is accepted');
is(post(2, Origin => "http://$vhost", 'Sec-Fetch-Site' => 'same-origin'), 202,
   'a same-origin POST is accepted');
is(post(3, 'Sec-Fetch-Site' => 'none'), 202, 'Sec-Fetch-Site none (typed in) is accepted');
my ($st4, $b4) = post(4, Origin => 'http://evil.example');
is($st4, 403, 'a POST from another Origin: 403');
like($b4, qr/"detail":"cross-origin request refused: Origin is not this server's"/,
     'as problem+json saying why');
is(post(5, Origin => "https://$vhost"), 403, 'another scheme is another origin: 403');
is(post(6, Origin => 'null'), 403, 'Origin null: 403');
is(post(7, 'Sec-Fetch-Site' => 'cross-site'), 403, 'Sec-Fetch-Site cross-site: 403');
is(post(8, 'Sec-Fetch-Site' => 'same-site', Origin => "http://$vhost"), 403,
   'Sec-Fetch-Site same-site: 403');
is(sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'carol'"), $before + 3,
   'only the three accepted POSTs made jobs, as carol');
my $id = sql_value("SELECT public_id FROM bulkio_jobs WHERE principal = 'carol'"
                   . " ORDER BY id DESC LIMIT 1");
wait_idle();
is(sql_value("SELECT count(*) FROM users WHERE email IN "
             . "('h1\@example.com', 'h2\@example.com', 'h3\@example.com')"), 3,
   'their users are imported');
is(sql_value("SELECT count(*) FROM users WHERE email LIKE 'h_\@example.com'"
             . " AND email NOT IN ('h1\@example.com', 'h2\@example.com', 'h3\@example.com')"), 0,
   'the refused ones imported nothing');

($st) = request('DELETE', "/v1/imports/$id", Authorization => $basic,
                Origin => 'http://evil.example');
is($st, 403, 'a cross-origin DELETE: 403');
($st) = request('DELETE', "/v1/imports/$id", Authorization => $basic,
                Origin => "http://$vhost");
is($st, 409, 'a same-origin DELETE reaches the job (finished: 409)');
($st) = request('GET', "/v1/imports/$id", Authorization => $basic,
                Origin => 'http://evil.example');
is($st, 200, 'a GET is not state-changing: no origin check');

# BulkIORequireScopes under BulkIOAuth httpd: the bulkio_httpd_scopes host
# splits import, delete and export with httpd's own Require (<If> on the
# method, path and query): carol does all, dave imports, erin exports
my %pw;
for my $u (qw(dave erin)) {
    $pw{$u} = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 20;
    open my $p, '|-', 'htpasswd', '-iB', "$dir/htpasswd", $u or die "htpasswd: $!";
    print $p "$pw{$u}\n";
    close $p or die "htpasswd failed\n";
}
my $split = vhost_hostport('bulkio_httpd_scopes');
sub as {
    my ($user, $method, $path, $body, $ctype) = @_;
    my $cred = encode_base64("$user:" . ($user eq 'carol' ? $password : $pw{$user}), '');
    $body //= '';
    my ($s, undef, $b) = raw_request_at($split, "$method $path HTTP/1.1\r\n"
        . "Host: $split\r\nAuthorization: Basic $cred\r\n"
        . ($method eq 'POST' ? 'Content-Type: ' . ($ctype // 'text/csv')
                               . "\r\nContent-Length: " . length($body) . "\r\n" : '')
        . "Connection: close\r\n\r\n$body");
    return wantarray ? ($s, $b) : $s;
}
sub jobs_of { sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = '$_[0]'") }
my %n0 = map { $_ => jobs_of($_) } qw(carol dave erin);
my $row = "email\nsplit\@example.com\n";
is(as('erin', 'POST', '/v1/imports?resource=users', $row), 403,
   'httpd Require: erin may not import');
is(as('dave', 'POST', '/v1/imports?resource=users', $row), 202, 'dave may import');
is(as('dave', 'POST', '/v1/imports?resource=users&mode=delete', $row), 403,
   'dave may not import with mode=delete');
my ($sd, $bd) = as('dave', 'POST', '/v1/imports?resource=users',
                   qq({"url":"http://127.0.0.1:1/x.csv","mode":"delete"}),
                   'application/json');
is($sd, 403, 'nor hide mode=delete in the body, where <If> cannot see it');
like($bd, qr/give mode=delete in the query/, 'the problem says where it must be');
is(as('carol', 'POST', '/v1/imports?resource=users&mode=delete', $row), 202,
   'carol may delete');
is(as('dave', 'GET', '/v1/exports?resource=users'), 403, 'dave may not export');
is(as('dave', 'POST', '/v1/exports', '{"resource":"users"}', 'application/json'), 403,
   'nor as a job');
is(as('erin', 'GET', '/v1/exports?resource=users'), 200, 'erin may export');
is(as('dave', 'GET', '/v1/imports'), 200, 'everyone signed in may list their jobs');
is_deeply({ map { $_ => jobs_of($_) - $n0{$_} } qw(carol dave erin) },
          { carol => 1, dave => 1, erin => 0 },
          'jobs only from the allowed requests');
wait_idle();

# the main server keeps BulkIOAuth jwt
my $res = Apache::TestRequest::GET("/v1/imports/$id", Authorization => $basic);
is($res->code, 401, 'the main server (jwt) refuses Basic credentials');
$res = Apache::TestRequest::GET("/v1/imports/$id", auth('carol'));
is($res->code, 200, "and finds carol's job with carol's token");

done_testing();
