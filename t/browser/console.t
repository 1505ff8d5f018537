use strict;
use warnings FATAL => 'all';

# The web console in a real browser: Debian's chromium, headless, driven by
# puppeteer-core (t/browser/console.js). make test-browser runs it
# (BULKIO_BROWSER=1); screenshots go to t/logs/browser, or to
# $BULKIO_SCREENSHOTS (docs/img for the README).
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT vhost_hostport);

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
               BULKIO_BROWSER_EXPIRED => token(sub => 'alice', exp => time - 3600),
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
         $jobs_before + 1, 'one upload and a second click on Upload: one job');

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

# ---- a URL import that fails: its reason on the import page -----------------
$d = browser(scenario => 'urlfail');
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '"
                   . ($d->{job_id} // '') . "'"), 'failed', 'the URL import failed');

# ---- one list across kinds, jobs made with curl while it is open -----------
$d = browser(scenario => 'list', count => 22);
my ($listed) = (($d->{count_text} // '') =~ /^([\d,]+) jobs/);
$listed =~ s/,//g if defined $listed;
ok t_cmp($listed, sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'alice'"),
         "the list's count is the total of alice's jobs, not the rows loaded");
wait_idle();

# ---- a phone: 390 and 360 px wide ------------------------------------------
browser(scenario => 'phone', job => $xid);

# ---- BulkIOAuth httpd behind mod_auth_basic (t/auth_httpd.t: the raw requests)
my $vhost = vhost_hostport('bulkio_httpd');
my $password = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 20;
open my $pw, '|-', 'htpasswd', '-ciB', "$dir/htpasswd", 'carol' or die "htpasswd: $!";
print $pw "$password\n";
close $pw or die "htpasswd failed\n";
my $small = "$dir/browser-small.csv";
gendata($small, resource => 'users', format => 'csv', count => 10, profile => 'valid');

reset_data();
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
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'carol'"), 1,
         'and made no job');

done_testing();
