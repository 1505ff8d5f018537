use strict;
use warnings FATAL => 'all';

# The web console in a real browser: Debian's chromium, headless, driven by
# puppeteer-core (t/browser/console.js). make test-browser runs it
# (BULKIO_BROWSER=1); screenshots go to t/logs/browser, or to
# $BULKIO_SCREENSHOTS (docs/img for the README).
use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport);

plan skip_all => 'browser tests run with make test-browser'
    unless $ENV{BULKIO_BROWSER};

my $top = Apache::Test::vars('top_dir');
my $dir = Apache::Test::vars('t_dir') . '/logs';
my $shots = $ENV{BULKIO_SCREENSHOTS} // "$dir/browser";
my $url = 'http://' . hostport();

die "chromium not found (make deps)\n" unless -x ($ENV{CHROMIUM} // '/usr/bin/chromium');
die "puppeteer-core not installed (make deps: npm ci)\n"
    unless -d "$top/node_modules/puppeteer-core";

# One scenario of console.js; its checks become tests here.
sub browser {
    my (%cfg) = @_;
    my %env = (BULKIO_BROWSER_TOKEN => delete $cfg{token} // token(sub => 'alice'),
               BULKIO_BROWSER_PASSWORD => delete $cfg{password} // '');
    local @ENV{keys %env} = values %env;
    my $arg = JSON::PP->new->canonical->encode({ url => $url, shots => $shots,
                                                 sub => 'alice', %cfg });
    open my $fh, '-|', 'node', "$top/t/browser/console.js", $arg
        or die "node: $!";
    my @out = <$fh>;
    close $fh;
    my $res = eval { decode_json($out[-1] // '') }
        or return ok(0, "$cfg{scenario}: console.js printed no result: @out");
    ok($_->[0], "$cfg{scenario}: $_->[1]") for @{ $res->{checks} };
    return $res->{data};
}

# ---- sign in with a token --------------------------------------------------
browser(scenario => 'signin');

# ---- a 100,000-row upload through the form ---------------------------------
reset_data();
my $expect = gendata("$dir/browser-users.csv", resource => 'users',
                     format => 'csv', count => 100_000, profile => 'rules');
my $jobs_before = sql_value("SELECT count(*) FROM bulkio_jobs WHERE kind = 'import'");
my $d = browser(scenario => 'upload', file => "$dir/browser-users.csv");
my $id = $d->{job_id} // '';
ok t_cmp($d->{doc}{totalRecords}, 100_000, 'the job counted 100,000 records');
ok t_cmp($d->{doc}{successCount}, $expect->{success},
         'as many successes as the file holds valid records');
ok t_cmp(sql_value("SELECT count(*) FROM users"), $expect->{rows},
         'the rows in the users table');
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$id'"),
         'completed', 'the job row is completed');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE kind = 'import'"),
         $jobs_before + 1, 'one upload, one job');

# ---- an export job through the form ----------------------------------------
$d = browser(scenario => 'export');
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '"
                   . ($d->{job_id} // '') . "'"), 'completed', 'the export job row is completed');
ok t_cmp($d->{rows}, sql_value("SELECT count(*) FROM users WHERE role = 'admin'"),
         'the file holds every admin of the users table');

# ---- cancel a running job -----------------------------------------------
reset_data();
# a million rows, gzip-compressed: a job that runs for a while
gendata("$dir/browser-cancel.csv", resource => 'users', format => 'csv',
        count => 1_000_000, profile => 'valid');
system('gzip', '-f', '-1', "$dir/browser-cancel.csv") == 0 or die "gzip failed\n";
my $cid = upload("$dir/browser-cancel.csv.gz", 'resource=users&format=csv',
                 'application/gzip');
for (1 .. 400) {
    last if sql_value("SELECT checkpoint_records FROM bulkio_jobs"
                      . " WHERE public_id = '$cid'") > 0;
    sleep 0.05;
}
$d = browser(scenario => 'cancel', job => $cid);
my $doc = wait_job($cid);
ok t_cmp($doc->{status}, 'canceled', 'the job ended canceled');
ok t_cmp($doc->{successCount} < 1_000_000, 1, 'before the end of its file');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $doc->{successCount},
         'its committed batches stay, as counted');

# ---- hostile record data ----------------------------------------------------
reset_data();
my $img = '<img src=x onerror=window.__xss=1>';
my $script = '<script>window.__xss=1</script>';
my @lines = map { encode_json({ email => "ok$_\@example.com", name => "user $_" }) } 1 .. 30;
push @lines,
    encode_json({ email => 'img@example.com', name => $img }),
    encode_json({ email => 'script@example.com', name => $script }),
    encode_json({ email => $img, name => 'bad email' }),
    encode_json({ email => 'x@example.com', name => $script, role => $script }),
    '{"email": "' . $script . '", "name": ',
    encode_json({ id => '0badc0de-0000-4000-8000-000000000001', email => 'ok1@example.com', name => $img });
open my $fh, '>', "$dir/browser-xss.ndjson" or die $!;
print $fh map { "$_\n" } @lines;
close $fh;
my $xid = upload("$dir/browser-xss.ndjson", 'resource=users', 'application/x-ndjson');
$doc = wait_job($xid);
ok t_cmp($doc->{errorCount}, 4, 'the hostile file: 4 failed records');
ok t_cmp(sql_value("SELECT name FROM users WHERE email = 'img\@example.com'"), $img,
         'a hostile name is stored as sent');
browser(scenario => 'xss', job => $xid);

# ---- BulkIOAuth httpd behind mod_auth_basic --------------------------------
my $vhost = vhost_hostport('bulkio_httpd');
my $password = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 20;
open my $pw, '|-', 'htpasswd', '-ciB', "$dir/htpasswd", 'carol' or die "htpasswd: $!";
print $pw "$password\n";
close $pw or die "htpasswd failed\n";
my $basic = 'Basic ' . MIME::Base64::encode_base64("carol:$password", '');
my $small = "$dir/browser-small.csv";
gendata($small, resource => 'users', format => 'csv', count => 10, profile => 'valid');

sub post_at {
    my (%h) = @_;
    my $body = "email\nh$h{n}\@example.com\n";
    my $extra = join '', map { "$_: $h{$_}\r\n" } grep { $_ ne 'n' } sort keys %h;
    my ($st) = raw_request_at($vhost, "POST /v1/imports?resource=users HTTP/1.1\r\n"
        . "Host: $vhost\r\nAuthorization: $basic\r\nContent-Type: text/csv\r\n$extra"
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
    return $st;
}
reset_data();
my ($st) = raw_request_at($vhost, "GET /v1/imports/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\n"
                          . "Host: $vhost\r\nConnection: close\r\n\r\n");
ok t_cmp($st, 401, 'httpd auth: no credentials, 401 from mod_auth_basic');
ok t_cmp(post_at(n => 1), 202, 'a POST without Origin (curl) is accepted');
ok t_cmp(post_at(n => 2, Origin => "http://$vhost", 'Sec-Fetch-Site' => 'same-origin'), 202,
         'a same-origin POST is accepted');
ok t_cmp(post_at(n => 3, Origin => 'http://evil.example'), 403,
         'a POST from another Origin: 403');
ok t_cmp(post_at(n => 4, 'Sec-Fetch-Site' => 'cross-site'), 403,
         'a POST with Sec-Fetch-Site cross-site: 403');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'carol'"), 2,
         'only the accepted POSTs made jobs, as carol');
# a page of another origin, without the console's CSP
open my $other, '>', Apache::Test::vars('documentroot') . '/browser-other.html' or die $!;
print $other "<!DOCTYPE html><title>another site</title><p>another site</p>\n";
close $other;
$d = browser(scenario => 'httpd', url => "http://$vhost", other => "$url/browser-other.html",
             user => 'carol', password => $password, file => $small, token => '');
ok t_cmp(sql_value("SELECT principal FROM bulkio_jobs WHERE public_id = '"
                   . ($d->{job_id} // '') . "'"), 'carol',
         "the console's upload is carol's job");
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'csrf\@example.com'"), 0,
         'the cross-origin POST imported nothing');

# ---- the console's files ----------------------------------------------------
my $res = GET '/v1/console/app.js';
ok t_cmp($res->code, 200, 'app.js without a token: 200');
ok t_cmp($res->header('Content-Type'), 'text/javascript; charset=utf-8', 'as JavaScript');
ok t_cmp($res->header('Content-Security-Policy'), "default-src 'self'; frame-ancestors 'none'", 'CSP');
ok t_cmp($res->header('X-Content-Type-Options'), 'nosniff', 'nosniff');
ok t_cmp($res->header('Referrer-Policy'), 'no-referrer', 'no-referrer');
my $etag = $res->header('ETag');
$res = GET '/v1/console/app.js', 'If-None-Match' => $etag;
ok t_cmp($res->code, 304, 'If-None-Match with its ETag: 304');
my ($rst, $rh) = raw_request("GET /v1/console HTTP/1.1\r\nHost: " . hostport()
                              . "\r\nConnection: close\r\n\r\n");
ok t_cmp($rst, 301, '/v1/console redirects');
ok t_cmp(($rh->{location} // '') =~ m{/v1/console/$} ? 1 : 0, 1, 'to /v1/console/');
$res = GET '/v1/console/nope.js';
ok t_cmp($res->code, 404, 'an unknown console file: 404');
$res = POST '/v1/console/', content => 'x';
ok t_cmp($res->code, 405, 'POST to the console: 405');

done_testing();
