use strict;
use warnings FATAL => 'all';

# Completion webhooks: a receiver on 127.0.0.1 fails twice, then accepts;
# httpd is killed (SIGKILL, parent and children) during the backoff and
# started again; the receiver sees exactly one accepted delivery, every
# try with the same event id and a valid signature. Then the callback_url
# of an export job (a member of the JSON body) and of a multipart form
# field, and the URLs that are refused.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp t_debug);
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test;

plan tests => 32, need { 'the throwaway PostgreSQL of scripts/apache-test.sh'
                         => defined $ENV{BULKIO_RUN_DIR} };

my $vars = Apache::Test::vars();
my $dir = "$vars->{t_dir}/logs";
my $secret = 'whsec-test-0123456789abcdef0123456789abcdef';
my $log = "$dir/webhooks-receiver.log";

# --- the receiver: answers 500 to its first $fail requests, then 200;
# logs each as one line: the status it answered, the event id, the
# signature, the body
sub receiver {
    my ($fail) = @_;
    unlink $log;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 5, ReuseAddr => 1)
        or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $n = 0;
        while (my $c = $srv->accept) {
            local $/ = "\r\n";
            my %h;
            my $line = <$c>;
            while (defined($line = <$c>) && $line ne "\r\n") {
                $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*?)\r\n$/;
            }
            my $body = '';
            read($c, $body, $h{'content-length'} // 0);
            my $status = ++$n <= $fail ? 500 : 200;
            open my $fh, '>>', $log or die "$log: $!";
            print $fh join("\t", $status, $h{'bulkio-event-id'} // '',
                           $h{'bulkio-signature'} // '',
                           $h{'content-type'} // '', $body), "\n";
            close $fh;
            print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\n"
                   . "Connection: close\r\n\r\n";
            close $c;
        }
        POSIX::_exit(0);
    }
    return ($pid, $srv->sockport);
}

sub received {
    open my $fh, '<', $log or return ();
    my @r = map { chomp; [ split /\t/, $_, 5 ] } <$fh>;
    return @r;
}

sub hook_row {
    my $id = shift;
    return sql_value("SELECT w.state || '|' || w.attempts || '|'"
                     . " || coalesce(w.last_status::text, '')"
                     . " FROM bulkio_webhooks w JOIN bulkio_jobs j"
                     . " ON j.id = w.job_id WHERE j.public_id = '$id'") // '';
}

sub signature_ok {
    my ($sig, $body) = @_;
    my ($t, $v1) = $sig =~ /^t=(\d+),v1=([0-9a-f]{64})$/ or return 0;
    return hmac_sha256_hex("$t.$body", $secret) eq $v1
           && abs(time - $t) < 600 ? 1 : 0;
}

sub wait_for {
    my ($what, $timeout, $cond) = @_;
    my $until = time + $timeout;
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.1;
    }
    t_debug("timed out waiting for $what");
    return 0;
}

reset_data();
my ($rpid, $port) = receiver(2);
my $url = "http://127.0.0.1:$port/hooks/bulkio?x=1";

# --- an import with callback_url as a query parameter
open my $fh, '>', "$dir/webhooks.ndjson" or die;
print $fh qq({"email": "hook$_\@example.com", "name": "Hook $_"}\n) for 1 .. 5;
print $fh qq({"email": "not-an-email"}\n);
close $fh;
my $q = "resource=users&callback_url=" . uri_escape($url);
my $id = upload("$dir/webhooks.ndjson", $q, 'application/x-ndjson');
my $doc = wait_job($id);
ok t_cmp($doc->{status}, 'completed', 'the import completed');
ok t_cmp($doc->{webhook}{url}, $url, 'its document names the callback URL');

# two failed tries, the second recorded with the next one planned
ok t_cmp(wait_for('two failed tries', 30,
            sub { hook_row($id) eq 'pending|2|500' }), 1,
         'two tries failed (500)');
my $next = sql_value("SELECT extract(epoch FROM w.next_attempt_at - now())"
                     . " FROM bulkio_webhooks w JOIN bulkio_jobs j"
                     . " ON j.id = w.job_id WHERE j.public_id = '$id'");
ok t_cmp($next > 0.5, 1, "the third try waits for its backoff ($next s)");
$doc = json_decode(GET("/v1/imports/$id", auth())->content);
ok t_cmp(join('|', @{$doc->{webhook}}{qw(state attempts lastStatus)}),
         'pending|2|500', 'the job document shows the delivery state');

# SIGKILL of httpd (parent and children) during the backoff
open my $pf, '<', $vars->{t_pid_file} or die "pid file: $!";
my $parent = <$pf>;
chomp $parent;
close $pf;
my @kids = split ' ', `pgrep -P $parent`;
ok t_cmp(kill('KILL', $parent, @kids) >= 1, 1,
         "SIGKILL to httpd $parent and children @kids");
wait_for('httpd gone', 10, sub { !kill(0, $parent, @kids) });
ok t_cmp(scalar(grep { kill 0, $_ } $parent, @kids), 0, 'httpd is gone');
ok t_cmp(hook_row($id), 'pending|2|500', 'the delivery is still pending');

my $cmd = Apache::Test::config()->server->start_cmd;
system($cmd) == 0 or die "cannot start httpd again: $cmd\n";
ok t_cmp(wait_for('httpd back', 30, sub {
    (eval { GET('/v1/health')->code } // 0) == 200 }), 1,
         'httpd started again');

ok t_cmp(wait_for('the delivery', 60, sub { hook_row($id) =~ /^delivered/ }), 1,
         'delivered after the restart');
sleep 3;                        # anything sent twice would come now
my @r = received();
ok t_cmp(scalar(@r), 3, 'three tries in all');
ok t_cmp(join(',', map { $_->[0] } @r), '500,500,200',
         'two refused, then exactly one accepted');
my %events = map { $_->[1] => 1 } @r;
ok t_cmp(scalar(keys %events), 1, 'one event id on every try');
ok t_cmp($r[0][1], qr/^[0-9a-f-]{36}$/, 'the event id is a UUID');
ok t_cmp(scalar(grep { signature_ok($_->[2], $_->[4]) } @r), 3,
         'every try carries a valid BulkIO-Signature');
ok t_cmp(signature_ok($r[2][2], $r[2][4] . ' '), 0,
         'a changed body does not verify');
ok t_cmp($r[2][3], 'application/json', 'Content-Type: application/json');
my $body = json_decode($r[2][4]) // {};
ok t_cmp("$body->{job_id}|$body->{status}|$body->{successCount}"
         . "|$body->{errorCount}", "$id|completed|5|1",
         'the body is the job\'s status document');
ok t_cmp(scalar(@{$body->{errors} // []}), 1, 'with its errors');
$doc = json_decode(GET("/v1/imports/$id", auth())->content);
ok t_cmp(join('|', @{$doc->{webhook}}{qw(state attempts lastStatus)}),
         'delivered|3|200', 'the document: delivered on the third try');
ok t_cmp(defined $doc->{webhook}{deliveredAt} ? 1 : 0, 1, 'deliveredAt');

# --- an export job with callback_url in its JSON body: one try, accepted
unlink $log;
my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => qq({"resource": "users", "callback_url": "$url"});
ok t_cmp($res->code, 202, 'export job with callback_url accepted');
my $eid = json_decode($res->content)->{job_id};
ok t_cmp(wait_for('the export\'s delivery', 60,
            sub { hook_row($eid) =~ /^delivered/ }), 1,
         'export webhook delivered');
@r = received();
$body = json_decode($r[0][4]) // {};
ok t_cmp("$body->{job_id}|$body->{status}|$body->{totalRecords}",
         "$eid|completed|5", 'the export\'s document');
ok t_cmp($body->{signedDownloadUrl} // '', qr{/exports/$eid/signed-download\?},
         'with its signed download link');

# --- a multipart form field
unlink $log;
$res = POST "/v1/imports?resource=users", auth(),
    'Content-Type' => 'form-data',
    content => [ callback_url => $url,
                 file => [ "$dir/webhooks.ndjson", 'u.ndjson',
                           'Content-Type' => 'application/x-ndjson' ] ];
ok t_cmp($res->code, 202, 'callback_url as a form field');
my $fid = json_decode($res->content)->{job_id};
ok t_cmp(wait_for('the form import\'s delivery', 60,
            sub { hook_row($fid) =~ /^delivered/ }), 1,
         'delivered');

# --- refused URLs: 400 problem+json, no job
my $jobs = sql_value('SELECT count(*) FROM bulkio_jobs');
for my $bad ([ 'http://10.1.2.3/hook', qr/private/ ],
             [ 'ftp://127.0.0.1/hook', qr/http or https/ ],
             [ 'http://user:pw@127.0.0.1/hook', qr/user information/ ],
             [ 'http://127.0.0.1:23/hook', qr/port 23,.*BulkIOURLPorts/ ]) {
    $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
        content => qq({"resource": "users", "callback_url": "$bad->[0]"});
    ok t_cmp($res->code . ' ' . (json_decode($res->content)->{detail} // ''),
             qr/^400 .*$bad->[1]/, "refused: $bad->[0]");
}
ok t_cmp(sql_value('SELECT count(*) FROM bulkio_jobs'), $jobs,
         'no job was created for them');

kill 'TERM', $rpid;
waitpid $rpid, 0;

sub uri_escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}
