use strict;
use warnings FATAL => 'all';

# client/bulkio end to end: every subcommand and exit status against the
# test server; a fake server on a loopback port for a server that goes
# away mid-wait and for a download cut in the middle and resumed; -o FILE
# never written through a link nor lost to a failed download, the token
# file's mode, the warning for plain http to another host.
use Apache::Test;
use Apache::TestRequest ();
use Apache::TestUtil qw(t_cmp);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT vhost_hostport job_total);

my $top = Apache::Test::vars('top_dir');
my $bin = "$top/client/bulkio";
plan tests => 122, need { 'client/bulkio is built' => -x $bin };

my $dir = Apache::Test::vars('t_dir') . '/logs';
unlink glob("$dir/cli-* $dir/.cli-*");  # -o refuses what a last run left
my $url = 'http://' . hostport();

# Start the client in the background; returns its pid.
sub cli_start {
    my (@args) = @_;
    my %env = (BULKIO_URL => $url, BULKIO_TOKEN => token(sub => 'cli-user'),
               BULKIO_RUN_DIR => "$dir/no-such-run-dir");
    %env = (%env, %{ shift @args }) if ref $args[0] eq 'HASH';
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        for (keys %env) {
            if (defined $env{$_}) { $ENV{$_} = $env{$_} } else { delete $ENV{$_} }
        }
        open STDOUT, '>', "$dir/cli.out" or die;
        open STDERR, '>', "$dir/cli.err" or die;
        exec $bin, @args or exit 99;
    }
    return $pid;
}

# Wait for a client started so; returns (exit status, stdout, stderr).
sub cli_end {
    waitpid shift, 0;
    my $rc = $? >> 8;
    return ($rc, slurp("$dir/cli.out"), slurp("$dir/cli.err"));
}

# Run the client; returns (exit status, stdout, stderr).
sub cli { return cli_end(cli_start(@_)) }

sub slurp {
    open my $fh, '<', shift or return '';
    local $/;
    return scalar <$fh> // '';
}

sub lines_of { my $n = () = slurp(shift) =~ /\n/g; return $n }

reset_data();

# ---- import: completed (0), gzip, failed records (1) --------------------
gendata("$dir/cli-ok.csv", resource => 'users', format => 'csv',
        count => 300, profile => 'valid');
my ($rc, $out, $err) = cli('import', 'users', "$dir/cli-ok.csv");
ok t_cmp($rc, 0, 'import of valid records: exit 0');
ok t_cmp($err, qr/^completed: 300 records, 300 succeeded \(300 inserted\), 0 failed in [\d.]+ s, [\d,]+ rows\/s$/m,
         'the summary line');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 300, 'the rows are there');
ok t_cmp($err, qr/job [0-9a-f-]{36} accepted/, 'not a tty: plain lines');
ok t_cmp($err !~ /\r/, 1, 'no carriage returns in a log');

system("gzip -c $dir/cli-ok.csv > $dir/cli-ok.csv.gz") == 0 or die;
reset_data();
($rc, $out, $err) = cli('-q', 'import', 'users', "$dir/cli-ok.csv.gz");
ok t_cmp($rc, 0, 'a gzip file, sent as it is: exit 0');
ok t_cmp($err, '', '-q: nothing on stderr');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 300, 'gzip: the rows');

reset_data();
my $exp = gendata("$dir/cli-rules.ndjson", resource => 'users',
                  format => 'ndjson', count => 500);
my $failed = $exp->{total} - $exp->{success};
($rc, $out, $err) = cli('--json', 'import', 'users', "$dir/cli-rules.ndjson");
ok t_cmp($rc, 1, 'import with failed records: exit 1');
my $doc = json_decode($out) // {};
ok t_cmp($doc->{errorCount}, $failed, '--json: the final job document');
ok t_cmp($doc->{status}, 'completed', 'completed');
my @types = grep { $exp->{errors}{$_} } sort keys %{ $exp->{errors} };
my $by_type = join '|', map { "$_ \Q$exp->{errors}{$_}\E" } @types;
ok t_cmp(scalar(() = $err =~ /\b($by_type)\b/g), scalar(@types),
         'the summary counts failed records by error type');
my $id = $doc->{job_id};

# ---- status, errors ----------------------------------------------------
($rc, $out) = cli('status', $id);
ok t_cmp($rc, 1, 'status of a job with failed records: exit 1');
ok t_cmp($out, qr/^status\s+completed$/m, 'status: human form');
($rc, $out) = cli('errors', $id, '--format', 'csv', '-o', "$dir/cli-errors.csv");
ok t_cmp($rc, 0, 'errors -o FILE: exit 0');
ok t_cmp(lines_of("$dir/cli-errors.csv"), $failed + 1,
         'every error and the header');
($rc, $out) = cli('errors', $id);
ok t_cmp(scalar(() = $out =~ /"errorType"/g), $failed, 'errors as NDJSON on stdout');
($rc, $out) = cli('results', $id, '--format', 'csv', '-o', "$dir/cli-results.csv");
ok t_cmp($rc, 0, 'results -o FILE: exit 0');
ok t_cmp(lines_of("$dir/cli-results.csv"), $exp->{total} + 1,
         'results: one row per record and the header');
($rc, $out) = cli('results', $id);
ok t_cmp(join(' ', scalar(() = $out =~ /^\{"recordIndex"/mg),
              scalar(() = $out =~ /"action":"failed"/g)),
         "$exp->{total} $failed", 'results as NDJSON on stdout: each record, the failed ones');
($rc, $out, $err) = cli('status', '00000000-0000-4000-8000-000000000000');
ok t_cmp($rc, 3, 'unknown job: exit 3');
ok t_cmp($err, qr/^bulkio: status: no job of yours has an id that starts with 00000000-0000-4000-8000-000000000000$/m,
         'saying so');

# ---- a job id's start --------------------------------------------------
($rc, $out) = cli('status', uc substr($id, 0, 4));
ok t_cmp("$rc " . ($out =~ /^job\s+(\S+) \(import\)$/m ? $1 : $out), "1 $id",
         'status with the first 4 characters (any case): the job, its full id');
ok t_cmp($out, qr/^errors\s+the first 10 of \Q$failed\E \(all: bulkio errors $id\)\n(  line .*\n){10}/m,
         'status lists the 10 errors it promises, of how many');
($rc, $out) = cli('errors', substr($id, 0, 8));
ok t_cmp(scalar(() = $out =~ /"errorType"/g), $failed, 'errors with 8 characters');
# two jobs of the caller whose ids share their first 9 characters
sql("INSERT INTO bulkio_jobs (public_id, kind, resource, status, principal, completed_at)"
    . " VALUES ('abcdef01-2222-4000-8000-000000000001', 'import', 'users', 'completed', 'cli-user', now()),"
    . " ('abcdef01-3333-4000-8000-000000000002', 'export', 'users', 'completed', 'cli-user', now())");
($rc, $out, $err) = cli('status', 'abcdef01');
ok t_cmp("$rc $err", qr/^3 bulkio: status: abcdef01 is ambiguous: 2 jobs of yours start with it \(abcdef01-3333-4000-8000-000000000002, abcdef01-2222-4000-8000-000000000001\); give more of the id$/,
         'an ambiguous start: exit 3, naming the jobs');
($rc, $out) = cli('status', 'abcdef01-3');
ok t_cmp("$rc " . ($out =~ /^job\s+(\S+ \(\w+\))$/m ? $1 : $out),
         '0 abcdef01-3333-4000-8000-000000000002 (export)', 'one more character: the export');
($rc, $out, $err) = cli('cancel', 'abcdef01-3');
ok t_cmp("$rc $err", qr/^3 bulkio: cancel: HTTP 409: the job has already completed$/,
         'cancel of an export job goes to /v1/exports');
($rc, $out, $err) = cli('errors', 'abcdef01-3');
ok t_cmp("$rc $err", qr/^3 bulkio: errors: abcdef01-3333-4000-8000-000000000002 is an export job; only imports have errors$/,
         'errors of an export job: exit 3, saying why');
($rc, $out, $err) = cli('results', 'abcdef01-3');
ok t_cmp("$rc $err", qr/^3 bulkio: results: abcdef01-3333-4000-8000-000000000002 is an export job; only imports have results$/,
         'results of an export job: exit 3, saying why');
sql("DELETE FROM bulkio_jobs WHERE public_id::text LIKE 'abcdef01-%'");

# ---- per-command help ----------------------------------------------------
my ($h1, $h2, $rc_h);
($rc, $h1) = cli('import', '--help');
($rc_h, $h2) = cli('help', 'import');
ok t_cmp("$rc $rc_h", '0 0', 'import --help, help import: exit 0');
ok t_cmp($h1, qr/^usage: bulkio \[options\] import RESOURCE FILE\|URL/, "import's own help");
ok t_cmp($h1 !~ /^\s+export RESOURCE/m && $h1 eq $h2 ? 1 : 0, 1,
         'not the global usage, the same both ways');
($rc, $out) = cli('help', 'download');
ok t_cmp($out, qr/^usage: bulkio \[options\] download JOB/, 'help download');
($rc, $out, $err) = cli('help', 'frobnicate');
ok t_cmp("$rc $err", qr/^3 bulkio: no help on 'frobnicate'/, 'help on no command: exit 3');
($rc, $out) = cli('--help');
ok t_cmp($out, qr/^usage: bulkio \[options\] COMMAND/, '--help: the usage');

# ---- --dry-run and --atomic: nothing changes ----------------------------
my $users_before = sql_value("SELECT count(*) || md5(string_agg(u::text, ','"
                             . " ORDER BY u.id)) FROM users u");
($rc, $out, $err) = cli('import', 'users', "$dir/cli-rules.ndjson",
                        '--dry-run');
ok t_cmp($rc, 1, '--dry-run: exit 1, as the import with failed records');
ok t_cmp($err, qr/^completed: $exp->{total} records, .*; dry run: nothing was changed$/m,
         'the summary says a dry run changed nothing');
($rc, $out, $err) = cli('import', 'users', "$dir/cli-rules.ndjson",
                        '--atomic', '--no-wait');
chomp $out;
my $atomic = wait_job($out, 'cli-user');
ok t_cmp("$atomic->{status} $atomic->{atomic}", 'failed 1',
         '--atomic with failed records: the job fails');
($rc, $out) = cli('status', $atomic->{job_id});
ok t_cmp("$rc " . ($out =~ /^(mode\s+.*)$/m ? $1 : ''),
         '2 mode      upsert, atomic, max errors 0',
         'status: exit 2, the mode line names atomic');
ok t_cmp(sql_value("SELECT count(*) || md5(string_agg(u::text, ','"
                   . " ORDER BY u.id)) FROM users u"), $users_before,
         'neither changed a row');

# ---- Idempotency-Key: a repeated command makes no second job -----------
my $jobs = job_total();
my ($rc1, $id1) = cli('import', 'users', "$dir/cli-ok.csv", '--no-wait',
                      '--idempotency-key', 'client-t-1');
my ($rc2, $id2) = cli('import', 'users', "$dir/cli-ok.csv", '--no-wait',
                      '--idempotency-key', 'client-t-1');
ok t_cmp("$rc1 $rc2", '0 0', '--no-wait: exit 0');
ok t_cmp($id2, $id1, 'the same key: the same job');
ok t_cmp(job_total(), $jobs + 1, 'one job made');
chomp $id1;
wait_job($id1, 'cli-user');

# ---- canceled (2), cancel, Ctrl-C --------------------------------------
gendata("$dir/cli-big.csv", resource => 'users', format => 'csv',
        count => 200_000, profile => 'valid');
my $pid = fork // die;
if (!$pid) {
    $ENV{BULKIO_URL} = $url;
    $ENV{BULKIO_TOKEN} = token(sub => 'cli-user');
    open STDOUT, '>', "$dir/cli-bg.out";
    open STDERR, '>', "$dir/cli-bg.err";
    exec $bin, 'import', 'users', "$dir/cli-big.csv" or exit 99;
}
my $bg;
for (1 .. 400) {
    ($bg) = sql("SELECT public_id FROM bulkio_jobs WHERE status = 'running'"
                . " AND principal = 'cli-user'"
                . " AND checkpoint_records > 0");
    last if $bg;
    sleep 0.05;
}
($rc, $out, $err) = cli('cancel', $bg // 'none');
ok t_cmp($rc, 0, 'cancel: exit 0');
waitpid $pid, 0;
ok t_cmp($? >> 8, 2, 'the waiting import of a canceled job: exit 2');
ok t_cmp(slurp("$dir/cli-bg.err"), qr/^canceled: /m, 'its summary says so');
($rc) = cli('status', $bg // 'none');
ok t_cmp($rc, 2, 'status of a canceled job: exit 2');
($rc, $out, $err) = cli('cancel', $id);
ok t_cmp($rc, 3, 'cancel of a completed job: exit 3');
ok t_cmp($err, qr/HTTP 409: the job has already /, 'with the detail');

$pid = fork // die;
if (!$pid) {
    $ENV{BULKIO_URL} = $url;
    $ENV{BULKIO_TOKEN} = token(sub => 'cli-user');
    open STDERR, '>', "$dir/cli-int.err";
    exec $bin, 'import', 'users', "$dir/cli-big.csv" or exit 99;
}
for (1 .. 400) {
    last if slurp("$dir/cli-int.err") =~ /job \S+ accepted/;
    sleep 0.05;
}
sleep 0.3;
kill 'INT', $pid;
waitpid $pid, 0;
ok t_cmp($? >> 8, 130, 'Ctrl-C while waiting: exit 130');
my $int = slurp("$dir/cli-int.err");
my ($iid) = $int =~ /bulkio status (\S+)/;
$iid //= 'none';
diag("Ctrl-C: $int") if $iid eq 'none';
ok t_cmp($int, qr/keeps running.*bulkio cancel \Q$iid\E/s,
         'it says how to follow and cancel the job');
ok t_cmp($iid ne 'none' && wait_job($iid, 'cli-user')->{status}, 'completed', 'which runs on');

# ---- 401, 413, usage ---------------------------------------------------
($rc, $out, $err) = cli({ BULKIO_TOKEN => 'not-a-token' }, 'import',
                        'users', "$dir/cli-ok.csv");
ok t_cmp($rc, 3, 'bad token: exit 3');
ok t_cmp($err, qr/HTTP 401: invalid token/, 'the 401 detail');
($rc, $out, $err) = cli({ BULKIO_TOKEN => undef }, 'status', $id);
ok t_cmp($err, qr/HTTP 401: .*no token: set BULKIO_TOKEN/, 'no token: a hint');
($rc, $out, $err) = cli({ BULKIO_URL => 'http://' . vhost_hostport('bulkio_small') },
                        'import', 'users', "$dir/cli-ok.csv");
ok t_cmp($rc, 3, 'over the upload limit: exit 3');
ok t_cmp($err, qr/HTTP 413: the upload exceeds the limit of 1024 bytes/,
         'the 413 detail');
($rc, $out, $err) = cli('import', 'posts', "$dir/cli-ok.csv");
ok t_cmp($rc, 3, 'usage error: exit 3');

# ---- export: streamed, and as a job ------------------------------------
my $users = sql_value('SELECT count(*) FROM users');
($rc) = cli('export', 'users', '--format', 'csv', '-o', "$dir/cli-x.csv");
ok t_cmp($rc, 0, 'streamed export: exit 0');
ok t_cmp(lines_of("$dir/cli-x.csv"), $users + 1, 'every row and the header');
($rc) = cli('export', 'users', '--fields', 'id,email', '--filter', 'role=admin',
            '-o', "$dir/cli-x.ndjson");
ok t_cmp(lines_of("$dir/cli-x.ndjson"),
         sql_value("SELECT count(*) FROM users WHERE role = 'admin'"),
         'fields and filters');
($rc) = cli('export', 'users', '--job', '-o', "$dir/cli-xj.ndjson");
ok t_cmp($rc, 0, 'export --job: exit 0');
ok t_cmp(lines_of("$dir/cli-xj.ndjson"), $users, 'the downloaded file');
($rc, $out, $err) = cli('export', 'users', '--filter', 'colour=red');
ok t_cmp("$rc " . ($err =~ /HTTP 400: / ? 'detail' : $err), '3 detail',
         'unknown filter: exit 3 with the detail');
ok t_cmp($err, qr/\Abulkio: export: HTTP 400: [^\n]*\n\z/,
         'and no progress line for the error\'s body');

# ---- download JOB: an existing export job's file ---------------------------
my ($xj) = sql("SELECT public_id FROM bulkio_jobs WHERE principal = 'cli-user'"
               . " AND kind = 'export' AND status = 'completed' ORDER BY id DESC LIMIT 1");
$xj //= 'none';
($rc, $out, $err) = cli('download', substr($xj, 0, 8), '-o', "$dir/cli-dl.ndjson");
ok t_cmp($rc, 0, 'download JOB -o FILE (the id\'s start): exit 0');
ok t_cmp(slurp("$dir/cli-dl.ndjson") eq slurp("$dir/cli-xj.ndjson") ? 1 : 0, 1,
         'the export job\'s file');
($rc, $out) = cli('download', $xj);
ok t_cmp($out eq slurp("$dir/cli-xj.ndjson") ? 1 : 0, 1, 'download to standard output');
($rc, $out, $err) = cli('download', $id);
ok t_cmp("$rc $err", qr/^3 bulkio: download: \Q$id\E is an import job/,
         'download of an import job: exit 3');
($rc, $out) = cli('export', 'users', '--format', 'csv', '--job', '--no-wait');
chomp(my $pending = $out);
($rc, $out, $err) = cli('download', $pending, '-o', "$dir/cli-dl.csv");
ok t_cmp($rc, 0, 'download of a job just made: waited for, exit 0');
ok t_cmp(lines_of("$dir/cli-dl.csv"), $users + 1, 'its file, whole');

# ---- a reader that goes away: errors J | head -1 ---------------------------
open my $badfh, '>', "$dir/cli-bad.ndjson" or die;
print $badfh map { qq({"email":"not-an-address-$_"}\n) } 1 .. 4000;
close $badfh;
($rc, $out) = cli('import', 'users', "$dir/cli-bad.ndjson", '--no-wait');
chomp(my $bad = $out);
wait_job($bad, 'cli-user');
pipe my $prd, my $pwr or die;
$pid = fork // die;
if (!$pid) {
    close $prd;
    $ENV{BULKIO_URL} = $url;
    $ENV{BULKIO_TOKEN} = token(sub => 'cli-user');
    open STDOUT, '>&', $pwr or die;
    open STDERR, '>', "$dir/cli-pipe.err" or die;
    exec $bin, 'errors', $bad or exit 99;
}
close $pwr;
my $first = <$prd>;
close $prd;                     # as head -1 does
waitpid $pid, 0;
my $wstat = $?;
ok t_cmp($first, qr/^\{"recordIndex":0,/, 'the reader got its first line');
ok t_cmp(sprintf('exit %d signal %d', $wstat >> 8, $wstat & 127), 'exit 0 signal 0',
         'errors J | head -1: exit 0, no SIGPIPE death');
ok t_cmp(slurp("$dir/cli-pipe.err"), '', 'and nothing said');

# ---- full job ids on a terminal ----------------------------------------------
my $tty = `BULKIO_URL='$url' BULKIO_TOKEN='@{[ token(sub => 'cli-user') ]}' script -qefc '$bin import users $dir/cli-big.csv' /dev/null 2>&1`;
my @tty_ids = $tty =~ /\bjob ([0-9a-f-]+) /g;
ok t_cmp(scalar(@tty_ids) && !grep({ length != 36 } @tty_ids) ? 'full' : "@tty_ids", 'full',
         'a terminal\'s progress lines show the whole job id');

# ---- -o FILE: a temporary file beside it, renamed when whole -------------
sub put_file {
    my ($file, $text, $mode) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
    chmod $mode // 0644, $file;
}
# what bulkio left beside FILE: its temporary files
sub leftovers {
    my ($file) = @_;
    my ($d, $name) = $file =~ m{^(.*)/([^/]+)$};
    return join ' ', glob("$d/.$name.bulkio-*");
}
my $precious = "a file of the user's, not a download\n";
my ($victim, $link, $kept) = map { "$dir/cli-$_" } qw(victim link kept.csv);
put_file($victim, $precious);
put_file($kept, $precious);
symlink $victim, $link or die "symlink: $!";
my $nojob = '00000000-0000-4000-8000-000000000000';
($rc, $out, $err) = cli('errors', $nojob, '-o', $link);
ok t_cmp($rc, 4, 'a symlink at -o: refused, exit 4');
ok t_cmp($err, qr/cli-link exists; add --force to replace it \(it is a symbolic link: the link is replaced, never the file it points to\)/,
         'it says why and what --force does');
($rc, $out, $err) = cli('errors', $nojob, '--force', '-o', $link);
ok t_cmp("$rc " . ($err =~ /no job of yours has an id that starts with / ? 'detail' : $err),
         '3 detail', 'a failed download to a symlink with --force: exit 3');
ok t_cmp(-l $link && slurp($victim) eq $precious, 1,
         'the link and the file it points to are as they were');
($rc, $out, $err) = cli('export', 'users', '--force', '-o', $link);
ok t_cmp($rc, 0, 'a download to a symlink with --force: exit 0');
ok t_cmp(!-l $link && lines_of($link) == $users, 1,
         'the link is replaced by the export');
ok t_cmp(slurp($victim), $precious, 'the file it pointed to is unchanged');

$jobs = job_total();
for my $args (['export', 'users', '--filter', 'role=admin'],
              ['export', 'users', '--job'], ['errors', $id]) {
    ($rc, $out, $err) = cli(@$args, '-o', $kept);
    ok t_cmp("$rc $err", qr/^4 bulkio: \Q$kept\E exists; add --force to replace it\n\z/,
             "@$args -o FILE that exists: exit 4, one line that says why");
}
ok t_cmp(job_total(), $jobs, 'export --job: refused before a job is made');
($rc, $out, $err) = cli('export', 'users', '--filter', 'colour=red', '--force',
                        '-o', $kept);
ok t_cmp("$rc " . ($err =~ /HTTP 400: / ? 'detail' : $err), '3 detail',
         'a failed export with --force: exit 3');
ok t_cmp(slurp($kept), $precious, 'the file stays byte for byte as it was');
($rc, $out, $err) = cli('errors', $nojob, '--force', '-o', $kept);
ok t_cmp("$rc " . slurp($kept), "3 $precious", 'a 404 job with --force: the same');
ok t_cmp(leftovers($kept) . leftovers($link), '', 'no temporary file is left');

# ---- the token file: private to its owner, as ssh wants a key -----------
my $tf = "$dir/cli-token";
put_file($tf, token(sub => 'cli-user') . "\n", 0644);
($rc, $out, $err) = cli({ BULKIO_TOKEN => undef }, '--token-file', $tf,
                        'status', $id);
ok t_cmp($rc, 3, 'a token file others may read: exit 3');
ok t_cmp($err, qr/^bulkio: \Q$tf\E: permissions 0644 are too open: the token must be private to its owner \(chmod 600 \Q$tf\E\)$/m,
         'the message names the file and says chmod 600');
mkdir "$dir/cli-run";
put_file("$dir/cli-run/token", token(sub => 'cli-user') . "\n", 0640);
($rc, $out, $err) = cli({ BULKIO_TOKEN => undef, BULKIO_RUN_DIR => "$dir/cli-run" },
                        'status', $id);
ok t_cmp("$rc $err", qr{^3 bulkio: \Q$dir\E/cli-run/token: permissions 0640 are too open}m,
         'the default token file too');
chmod 0600, $tf;
($rc, $out, $err) = cli({ BULKIO_TOKEN => undef }, '--token-file', $tf,
                        'status', $id);
ok t_cmp($rc, 1, 'chmod 600: the token is used (status of the job: exit 1)');

# ---- plain http:// to a host that is not this machine: a warning --------
my $warning = qr/^bulkio: warning: http:\/\/ to 0\.0\.0\.0 sends the token and the data unencrypted; use https:\/\/$/m;
($rc, $out, $err) = cli({ BULKIO_URL => 'http://0.0.0.0:1' }, '--retries', '0',
                        'status', $id);
ok t_cmp(scalar(() = $err =~ /$warning/g), 1, 'http:// to another host: one warning');
($rc, $out, $err) = cli({ BULKIO_URL => 'https://0.0.0.0:1' }, '--retries', '0',
                        'status', $id);
ok t_cmp("$rc " . ($err =~ /warning/ ? $err : 'quiet'), '3 quiet', 'https://: none');
($rc, $out, $err) = cli({ BULKIO_URL => 'http://localhost:' . Apache::Test::vars('port') },
                        'status', $id);
ok t_cmp("$rc " . ($err =~ /warning/ ? $err : 'quiet'), '1 quiet', 'http://localhost: none');

# ---- fake servers: goes away mid-wait; download cut and resumed --------
my $body = join '', map { qq({"n":$_}\n) } 1 .. 5000;
my @ranges;
sub fake_server {
    my ($handler) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 5, ReuseAddr => 1) or die $!;
    my $port = $l->sockport;
    pipe my $rd, my $wr or die;
    my $kid = fork // die;
    if (!$kid) {
        close $rd;
        $wr->autoflush(1);
        my $n = 0;
        while (my $c = $l->accept) {
            my $head = '';
            while (defined(my $line = <$c>)) {
                $head .= $line;
                last if $line =~ /^\r?\n$/;
            }
            print $c "HTTP/1.1 100 Continue\r\n\r\n" if $head =~ /^Expect: 100/mi;
            my ($len) = $head =~ /^Content-Length: (\d+)/mi;
            read $c, my $skip, $len if $len;
            my $r = $handler->($head, ++$n, $c, $wr);
            close $c;
            exit 0 if $r && $r eq 'exit';
        }
        exit 0;
    }
    close $l;
    close $wr;
    return ($port, $kid, $rd);
}
sub answer {
    my ($c, $status, $json) = @_;
    print $c "HTTP/1.1 $status\r\nContent-Type: application/json\r\n"
        . 'Content-Length: ' . length($json) . "\r\nConnection: close\r\n\r\n$json";
}

my $fid = '11111111-2222-4333-8444-555555555555';
my ($port, $kid) = fake_server(sub {
    my ($head, $n, $c) = @_;
    if ($head =~ m{^POST /v1/imports}) {
        answer($c, '202 Accepted', qq({"job_id":"$fid","status":"accepted"}));
        return;
    }
    answer($c, '200 OK', qq({"job_id":"$fid","status":"running","errorCount":0,)
           . '"progress":{"processedRecords":10,"percent":1.0}}');
    return $n >= 3 ? 'exit' : undef;    # then nobody listens there
});
($rc, $out, $err) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, '--retries',
                        '2', 'import', 'users', "$dir/cli-ok.csv");
waitpid $kid, 0;
ok t_cmp($rc, 3, 'the server goes away mid-wait: exit 3');
ok t_cmp($err, qr/retrying in .*may still be running: bulkio status $fid/s,
         'after retries, with how to follow the job');

# the first upload is received but its answer never comes (the connection
# closes): the retry carries the same Idempotency-Key, so the server can
# answer it with the first job
my $krd;
($port, $kid, $krd) = fake_server(sub {
    my ($head, $n, $c, $wr) = @_;
    if ($head =~ m{^POST /v1/imports}) {
        my ($key) = $head =~ /^Idempotency-Key: (\S+)/mi;
        print $wr ($key // 'none'), "\n";
        return if $n == 1;          # nothing answered
        answer($c, '202 Accepted', qq({"job_id":"$fid","status":"accepted"}));
        return;
    }
    answer($c, '200 OK', qq({"job_id":"$fid","status":"completed","totalRecords":300,)
           . '"successCount":300,"errorCount":0}');
    return 'exit';
});
($rc, $out, $err) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, 'import',
                        'users', "$dir/cli-ok.csv");
waitpid $kid, 0;
my @keys = map { chomp; $_ } <$krd>;
ok t_cmp($rc, 0, 'an upload whose answer was lost, retried: exit 0');
ok t_cmp(scalar(@keys) == 2 && $keys[0] eq $keys[1]
         && $keys[0] =~ /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
         ? 'same UUIDv4' : "@keys", 'same UUIDv4', 'both attempts: the same generated UUIDv4 key');
ok t_cmp($err, qr/upload: .*retrying in 0\.5 s/, 'it says it retries');

my $rd;
($port, $kid, $rd) = fake_server(sub {
    my ($head, $n, $c, $wr) = @_;
    if ($head =~ m{^POST /v1/exports}) {
        answer($c, '202 Accepted', qq({"job_id":"$fid","status":"accepted"}));
    }
    elsif ($head =~ m{^GET /v1/exports/$fid }) {
        answer($c, '200 OK', qq({"job_id":"$fid","status":"completed",)
               . qq("totalRecords":5000,"downloadUrl":"/v1/exports/$fid/download",)
               . '"fileSize":' . length($body) . '}');
    }
    elsif ($head =~ m{^GET /v1/exports/$fid/download}) {
        my ($from) = $head =~ /^Range: bytes=(\d+)-/mi;
        print $wr ($from // 'none'), "\n";
        if (!defined $from) {
            # the whole length announced, half of it sent, then cut
            print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($body)
                . "\r\nAccept-Ranges: bytes\r\n\r\n" . substr($body, 0, 30000);
        }
        else {
            my $part = substr($body, $from);
            print $c "HTTP/1.1 206 Partial Content\r\nContent-Length: "
                . length($part) . "\r\nContent-Range: bytes $from-"
                . (length($body) - 1) . '/' . length($body) . "\r\n\r\n$part";
            return 'exit';
        }
    }
    return;
});
($rc, $out, $err) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, 'export',
                        'users', '--job', '-o', "$dir/cli-resumed.ndjson");
waitpid $kid, 0;
@ranges = map { chomp; $_ } <$rd>;
ok t_cmp($rc, 0, 'a download cut in the middle: exit 0');
ok t_cmp("@ranges", 'none 30000', 'resumed with Range from the bytes it had');
ok t_cmp(slurp("$dir/cli-resumed.ndjson") eq $body, 1, 'the file is whole');
ok t_cmp($err, qr/resumed 1 time/, 'the summary says so');

# a streamed export cut in the middle, then one stopped by Ctrl-C: the
# file -o names is left as it was
($port, $kid) = fake_server(sub {
    my ($head, $n, $c) = @_;
    print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($body) . "\r\n\r\n"
        . substr($body, 0, 30000);
    return if $n == 1;
    sleep 5;                    # the client is stopped meanwhile
    return 'exit';
});
($rc, $out, $err) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, '--force',
                        'export', 'users', '-o', $kept);
ok t_cmp("$rc $err", qr/^3 bulkio: export: .* after \d+ bytes/, 'a cut export: exit 3');
ok t_cmp(slurp($kept) . leftovers($kept), $precious,
         'the file as it was, no temporary file left');
$pid = cli_start({ BULKIO_URL => "http://127.0.0.1:$port" }, '--force',
                 'export', 'users', '-o', $kept);
for (1 .. 200) {
    my ($tmp) = split ' ', leftovers($kept);
    last if $tmp && -s $tmp;
    sleep 0.05;
}
ok t_cmp(leftovers($kept), qr/\Q$dir\E\/\.cli-kept\.csv\.bulkio-\S+$/,
         'the download goes to a temporary file beside it');
kill 'INT', $pid;
($rc, $out, $err) = cli_end($pid);
kill 'TERM', $kid;              # it may wait for a client that never came
waitpid $kid, 0;
ok t_cmp($rc, 130, 'Ctrl-C during the download: exit 130');
ok t_cmp(slurp($kept) . leftovers($kept), $precious,
         'the file as it was, no temporary file left');

# ---- jobs against a fake list server: two pages joined by `next` --------
sub item { qq({"job_id":"$_[0]","kind":") . ($_[0] =~ /^e/ ? 'export' : 'import')
           . qq(","status":"completed","resource":"users","errorCount":7,)
           . qq("format":"csv","totalRecords":$_[1],"createdAt":"2026-12-02T10:00:00Z"}) }
($port, $kid, $rd) = fake_server(sub {
    my ($head, $n, $c, $wr) = @_;
    my ($target) = $head =~ /^GET (\S+)/;
    print $wr "$target\n";
    if ($target =~ m{^/v1/jobs\?cursor=c2}) {
        answer($c, '200 OK', '{"items":[' . item('i3', 3) . '],"total":4,"next":null}');
        return 'exit';
    }
    answer($c, '200 OK', '{"items":[' . item('i1', 1) . ',' . item('e1', 9) . ','
           . item('i2', 2) . qq(],"total":4,"next":"http://127.0.0.1:$port/v1/jobs?cursor=c2&limit=2"}));
    return;
});
($rc, $out, $err) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, '--json',
                        'jobs', '--status', 'completed,failed');
waitpid $kid, 0;
my @seen = map { chomp; $_ } <$rd>;
my $items = json_decode($out) // [];
ok t_cmp(join(' ', map { "$_->{kind}:$_->{job_id}" } @$items),
         'import:i1 export:e1 import:i2 import:i3',
         'jobs: one list across kinds in the server\'s order, following next');
ok t_cmp("@seen", '/v1/jobs?status=completed%2Cfailed /v1/jobs?cursor=c2&limit=2',
         'the filters, the next link as given');
($port, $kid) = fake_server(sub {
    my ($head, $n, $c) = @_;
    answer($c, '200 OK', '{"items":[' . item('i1', 1) . ',' . item('i2', 1234)
           . qq(],"total":3,"next":"/v1/jobs?cursor=c2"}));
    return 'exit';
});
($rc, $out) = cli({ BULKIO_URL => "http://127.0.0.1:$port" }, 'jobs',
                  '--kind', 'import', '--limit', '2');
waitpid $kid, 0;
ok t_cmp($rc, 0, 'jobs: exit 0');
ok t_cmp($out, qr/^KIND .*RECORDS\s+FAILED\s+CREATED\nimport\s+i1\s+completed.*\nimport\s+i2\s+completed\s+users\s+csv\s+1,234\s+7\s+2026-12-02T10:00:00Z\n\z/,
         '--limit 2: one page, no request for the next, a table with FAILED');

# ---- jobs against the server (GET /v1/imports, /v1/exports/jobs) ---------
($rc, $out, $err) = cli('--json', 'jobs', '--kind', 'import', '--limit', '3');
ok t_cmp($rc, 0, 'jobs: exit 0');
my $list = json_decode($out) // [];
ok t_cmp(scalar @$list, 3, '--limit 3 of the imports');
ok t_cmp($list->[0]{job_id}, sql_value("SELECT public_id FROM bulkio_jobs WHERE principal = 'cli-user'"
                                        . " AND kind = 'import' ORDER BY created_at DESC, id DESC LIMIT 1"),
         'newest first');
($rc, $out) = cli('--json', 'jobs', '--status', 'canceled', '--resource', 'users');
$list = json_decode($out) // [];
ok t_cmp(join(',', map { "$_->{kind}:$_->{job_id}:$_->{status}" } @$list),
         'import:' . ($bg // 'none') . ':canceled',
         '--status and --resource: the canceled import only');
my $total = sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'cli-user'");
($rc, $out) = cli('jobs');
my @rows = grep { /^(import|export)\s/ } split /\n/, $out;
ok t_cmp(scalar(@rows), $total, 'the table: every job of the caller, imports and exports');
ok t_cmp(scalar(grep { /^export\s+[0-9a-f-]{36}\s+completed\s+users\s.*\s-\s/ } @rows), 2,
         'with the two export jobs (FAILED -)');
