use strict;
use warnings FATAL => 'all';

# The web console in a real browser: Debian's chromium, headless, driven by
# puppeteer-core (t/browser/console.js). make test-browser runs it
# (BULKIO_BROWSER=1); screenshots go to t/logs/browser, or to
# $BULKIO_SCREENSHOTS (docs/img for the README).
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_cmp);
use JSON::PP;
use IO::Socket::INET;
use URI::Escape qw(uri_escape);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT vhost_hostport spool_listing);

plan skip_all => 'browser tests run with make test-browser'
    unless $ENV{BULKIO_BROWSER};

my $top = Apache::Test::vars('top_dir');
my $dir = Apache::Test::vars('t_dir') . '/logs';
my $shots = $ENV{BULKIO_SCREENSHOTS} // "$dir/browser";
my $url = 'http://' . hostport();

die "chromium not found (make deps)\n" unless -x ($ENV{CHROMIUM} // '/usr/bin/chromium');
die "puppeteer-core not installed (make deps: npm ci)\n"
    unless -d "$top/node_modules/puppeteer-core";

# One scenario of console.js; its checks become tests here. steps: code
# run when the scenario prints "step <name>" (it goes on meanwhile).
sub browser {
    my (%cfg) = @_;
    my $steps = delete $cfg{steps} // {};
    my %env = (BULKIO_BROWSER_TOKEN => delete $cfg{token} // token(sub => 'alice'),
               BULKIO_BROWSER_EXPIRED => token(sub => 'alice', exp => time - 3600),
               BULKIO_BROWSER_PASSWORD => delete $cfg{password} // '');
    local @ENV{keys %env} = values %env;
    my $arg = JSON::PP->new->canonical->encode({ url => $url, shots => $shots,
                                                 sub => 'alice', %cfg });
    open my $fh, '-|', 'node', "$top/t/browser/console.js", $arg
        or die "node: $!";
    my @out;
    while (my $line = <$fh>) {
        push @out, $line;
        $steps->{$1}->() if $line =~ /^step (\S+)$/ && $steps->{$1};
    }
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

# ---- cancel a running export job -------------------------------------------
# The export's query waits for a lock on users that a psql transaction here
# holds: the job is running, and writes no row, until the lock goes.
my $lock;
my $locked = "SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass"
           . " AND mode = 'AccessExclusiveLock' AND granted";
my $waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass"
            . " AND NOT granted";
sub release_users {
    return unless $lock;
    print $lock "COMMIT;\n";
    close $lock or die "psql (the lock on users) failed\n";
    undef $lock;
}
my $gate = "$dir/browser-exportcancel.job";
unlink $gate;
my $eid = '';
$d = browser(scenario => 'exportcancel', gate => $gate, steps => {
    'signed-in' => sub {
        open $lock, '|-', 'psql', $ENV{BULKIO_TEST_DBD_PARAMS}, '-XAtq',
            '-v', 'ON_ERROR_STOP=1' or die "psql: $!";
        $lock->autoflush(1);
        print $lock "BEGIN;\nLOCK TABLE users IN ACCESS EXCLUSIVE MODE;\n";
        for (1 .. 200) { last if sql_value($locked); sleep 0.05 }
        my $res = Apache::TestRequest::POST('/v1/exports', auth(),
            'Content-Type' => 'application/json',
            content => '{"resource":"users","format":"csv"}');
        $eid = (json_decode($res->content) // {})->{job_id} // '';
        # running, its query waiting for the lock
        for (1 .. 400) {
            last if (sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$eid'")
                     // '') eq 'running' && sql_value($waiting) > 0;
            sleep 0.05;
        }
        open my $g, '>', "$gate.tmp" or die $!;
        print $g $eid;
        close $g;
        rename "$gate.tmp", $gate or die $!;
    },
    'cancel-requested' => sub {
        # The worker sees a cancel when it renews its lease (BulkIOLeaseTime
        # 3s, renewed after a third of it) at its first chunk; a worker
        # that waited past its lease lost the job to a new attempt. The
        # lock goes once the lease holder has waited 1.8 s of its 3 s.
        for (1 .. 400) {
            my $left = sql_value("SELECT coalesce(extract(epoch FROM lease_expires_at - now()),"
                                 . " -99) FROM bulkio_jobs WHERE public_id = '$eid'") // -99;
            last if ($left >= 0.4 && $left <= 1.2) || $left < -50;
            sleep 0.05;
        }
        release_users();
    },
});
release_users();
ok t_cmp(sql_value("SELECT count(*) FROM pg_locks WHERE relation = 'users'::regclass"
                   . " AND mode = 'AccessExclusiveLock'"), 0, 'the lock on users is gone');
for (1 .. 400) {
    last unless (sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$eid'")
                 // '') =~ /^(pending|running)$/;
    sleep 0.05;
}
ok t_cmp(sql_value("SELECT status FROM bulkio_jobs WHERE public_id = '$eid'"),
         'canceled', 'the export job row is canceled');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id = '$eid'"
                   . " AND source_path IS NULL AND cancel_requested"), 1,
         'a cancel it was asked for, and no export file recorded');
# neither kept nor half-written (a worker that lost the job to a later
# attempt removes its file when it learns so; no other job runs now)
my @left;
for (1 .. 200) {
    last unless @left = grep { /^export-\Q$eid\E|^upload-/i } spool_listing();
    sleep 0.05;
}
ok t_cmp("@left", '', 'no export file of the job in the spool');

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

# ---- past the error cap, with a webhook nobody answers ----------------------
# bulkio_errcap keeps 10 error entries; the callback's port was bound and
# let go here, so every try is refused.
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', Listen => 1)->sockport;
my $hook = "http://127.0.0.1:$closed/hook";
my $capped = HTTP::Request->new(POST => 'http://' . vhost_hostport('bulkio_errcap')
        . '/v1/imports?resource=users&callback_url=' . uri_escape($hook),
    [ auth(), 'Content-Type' => 'application/x-ndjson' ],
    join '', map { $_ % 2 ? qq({"email": "capped$_\@example.com"}\n) : "x\n" } 1 .. 40);
my $capid = (json_decode(Apache::TestRequest::user_agent()->request($capped)->content)
           // {})->{job_id} // '';
$doc = wait_job($capid);
ok t_cmp("$doc->{errorCount} $doc->{errorsStored} $doc->{errorsTruncatedAt}{line}",
         '20 10 22', 'the capped import: 20 failed, 10 stored, from line 22 on counted only');
# after its first refused try, the next one is put off for an hour: the
# page and the document the scenario compares it with see the same state
my $hold = "UPDATE bulkio_webhooks SET next_attempt_at = now() + interval '1 hour'"
         . " WHERE job_id = (SELECT id FROM bulkio_jobs WHERE public_id = '$capid')"
         . " AND state = 'pending' AND attempts >= 1 RETURNING attempts";
for (1 .. 100) {
    last if sql_value($hold);
    sleep 0.1;
}
# and it is shown as an import that keeps no per-record results, as one
# created where BulkIOImportResults is Off (t/results.t makes one)
sql("UPDATE bulkio_jobs SET results = false WHERE public_id = '$capid'");
$d = browser(scenario => 'caps', job => $capid, hook => $hook);
ok t_cmp($d->{webhook}{state} // '', 'pending', 'its webhook waits for another try');

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
