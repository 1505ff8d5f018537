package BulkIO::Test;
# Helpers for the mod_bulkio Apache::Test suite: tokens, raw HTTP, SQL.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Digest::SHA qw(hmac_sha256);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Apache::TestRequest ();

our @EXPORT = qw(token token_raw b64url raw_request sql sql_value
                 json_decode hostport auth upload wait_job wait_idle
                 reset_data gendata http_delete import_lines
                 hold_lock release_lock running_job);

sub b64url {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# A signed token.
sub token_raw {
    my ($header, $payload, $secret) = @_;
    $secret //= $ENV{BULKIO_TEST_SECRET};
    my $signing = b64url($header) . '.' . b64url($payload);
    return $signing . '.' . b64url(hmac_sha256($signing, $secret));
}

# A signed token; %claims default to sub => 'alice', and exp to 12 hours
# from now (BulkIOJWTRequireExp): exp => undef leaves it out.
sub token {
    my (%claims) = @_;
    %claims = (sub => 'alice') unless %claims;
    $claims{exp} = time + 12 * 3600 unless exists $claims{exp};
    delete $claims{exp} unless defined $claims{exp};
    return token_raw('{"alg":"HS256","typ":"JWT"}',
                     JSON::PP->new->canonical->encode(\%claims));
}

sub auth {
    my $sub = shift // 'alice';
    return ('Authorization' => 'Bearer ' . token(sub => $sub));
}

sub hostport {
    my $hp = Apache::TestRequest::hostport();
    return $hp;
}

sub json_decode {
    my $text = shift;
    my $doc = eval { JSON::PP->new->decode($text) };
    return $doc;
}

# Send bytes: a list of strings and code refs called with the socket in
# between (to pause, or to close it: then nothing is read). Reads the whole
# response; returns (status, headers, body).
sub raw_request {
    my (@chunks) = @_;
    my ($host, $port) = split /:/, hostport();
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => 30)
        or die "connect: $!";
    binmode $sock;
    for my $c (@chunks) {
        if (ref $c eq 'CODE') {
            $c->($sock);
            return (0, {}, '') unless $sock->opened;
            next;
        }
        print $sock $c;
        $sock->flush;
    }
    return read_response($sock);
}

# Read a response to its end: (status, {lower-cased header => value}, body).
sub read_response {
    my $sock = shift;
    local $/;
    my $resp = <$sock> // '';
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    $head //= '';
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})};
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return ($status // 0, \%h, $body // '');
}

# Run SQL with psql against the test database; returns the rows as lines.
sub sql {
    my $q = shift;
    open my $fh, '-|', 'psql', $ENV{BULKIO_TEST_DBD_PARAMS}, '-XAtq',
        '-v', 'ON_ERROR_STOP=1', '-c', $q or die "psql: $!";
    my @rows = <$fh>;
    close $fh or die "psql failed on: $q";
    chomp @rows;
    return @rows;
}

sub sql_value {
    my @rows = sql(shift);
    return $rows[0];
}

# Wait until job $id has committed its first batch; returns the pid of
# the process running it (its lease owner ends in /pid/thread) and the
# records committed so far.
sub running_job {
    my $id = shift;
    my ($owner, $done) = ('', 0);
    for (1 .. 600) {
        ($owner, $done) = split /\|/, sql_value("SELECT coalesce(lease_owner, ''),"
            . " checkpoint_records FROM bulkio_jobs WHERE public_id = '$id'");
        last if $owner && $done > 0;
        select undef, undef, undef, 0.05;
    }
    my ($pid) = $owner =~ m{/(\d+)/\d+$};
    return ($pid, $done);
}

# Hold a table ACCESS EXCLUSIVE in a session of its own, until
# release_lock() of the handle returned: meanwhile whatever touches the
# table waits (a job that reads it stays running, a request hangs).
sub hold_lock {
    my $table = shift;
    open my $fh, '|-', 'psql', $ENV{BULKIO_TEST_DBD_PARAMS}, '-XAtq',
        '-v', 'ON_ERROR_STOP=1' or die "psql: $!";
    $fh->autoflush(1);
    print $fh "BEGIN;\nLOCK TABLE $table IN ACCESS EXCLUSIVE MODE;\n";
    my $until = time + 30;
    while (sql_value("SELECT count(*) FROM pg_locks WHERE granted"
                     . " AND locktype = 'relation' AND mode = 'AccessExclusiveLock'"
                     . " AND relation = '$table'::regclass") != 1) {
        die "no lock on $table\n" if time > $until;
        select undef, undef, undef, 0.1;
    }
    return $fh;
}

sub release_lock {
    my $fh = shift;
    print $fh "ROLLBACK;\n";
    close $fh or die "psql holding a lock failed\n";
}

# DELETE, which Apache::TestRequest does not export.
sub http_delete {
    my ($path, @headers) = @_;
    require HTTP::Request;
    my $url = Apache::TestRequest::resolve_url($path);
    return Apache::TestRequest::user_agent()->request(
        HTTP::Request->new(DELETE => $url, [ @headers ]));
}

# POST a file as the raw body; returns the job id (dies unless 202).
sub upload {
    my ($path, $query, $ctype, $sub) = @_;
    open my $fh, '<', $path or die "$path: $!";
    binmode $fh;
    my $body = do { local $/; <$fh> };
    my $res = Apache::TestRequest::POST("/v1/imports?$query", auth($sub),
        'Content-Type' => $ctype // 'application/octet-stream',
        content => $body);
    die "upload of $path: " . $res->code . ' ' . $res->content
        unless $res->code == 202;
    return json_decode($res->content)->{job_id};
}

# Poll a job until it ends; returns its status document.
sub wait_job {
    my ($id, $sub, $timeout) = @_;
    my $until = time + ($timeout // 120);
    while (time < $until) {
        my $res = Apache::TestRequest::GET("/v1/imports/$id", auth($sub));
        my $doc = json_decode($res->content) // {};
        return $doc if ($doc->{status} // '') =~ /^(completed|failed|canceled)$/;
        select undef, undef, undef, 0.2;
    }
    die "job $id did not finish within the time allowed\n";
}

# Import records given as NDJSON lines; returns the job's status document.
sub import_lines {
    my ($resource, @lines) = @_;
    require File::Temp;
    my ($fh, $path) = File::Temp::tempfile(UNLINK => 1);
    print $fh map { "$_\n" } @lines;
    close $fh;
    return wait_job(upload($path, "resource=$resource",
                           'application/x-ndjson'));
}

# Wait until no job is pending or running.
sub wait_idle {
    my $until = time + 120;
    while (time < $until) {
        return if !sql_value("SELECT count(*) FROM bulkio_jobs"
                             . " WHERE status IN ('pending', 'running')");
        select undef, undef, undef, 0.2;
    }
    die "jobs still running\n";
}

# Empty the data set (once the queue is idle).
sub reset_data {
    wait_idle();
    sql('TRUNCATE users, articles, comments RESTART IDENTITY CASCADE');
}

# Generate a data file with scripts/gendata.pl; returns its expected
# outcome (decoded) when the profile is rules.
sub gendata {
    my ($out, %a) = @_;
    my $top = Apache::Test::vars('top_dir');
    my $expect = "$out.expect";
    my @args = map { ("--$_", $a{$_}) } sort keys %a;
    system("perl $top/scripts/gendata.pl @args --expect $expect > $out") == 0
        or die "gendata failed\n";
    open my $fh, '<', $expect or die "$expect: $!";
    return json_decode(scalar <$fh>);
}

# ---- helpers of the hostile-input catalogue (t/hostile*.t) ----

# opt-in: use BulkIO::Test qw(:DEFAULT raw_request_at ...)
push our @EXPORT_OK, qw(raw_request_at vhost_hostport spool_listing job_total
                        import_file wait_accepted import_at database_spool);

# host:port of an Apache::Test virtual host of t/conf/extra.conf.in.
sub vhost_hostport {
    my $name = shift;
    my $cfg = Apache::Test::config();
    my $port = $cfg->{vhosts}{$name}{port} or die "no virtual host $name";
    return "127.0.0.1:$port";
}

# POST NDJSON lines (a string) to /v1/imports?query of host:port (a
# virtual host's); returns the job id (dies unless 202).
sub import_at {
    my ($hp, $query, $body) = @_;
    my $res = Apache::TestRequest::POST("http://$hp/v1/imports?$query",
        auth(), 'Content-Type' => 'application/x-ndjson', content => $body);
    die "import at $hp: " . $res->code . ' ' . $res->content
        unless $res->code == 202;
    return json_decode($res->content)->{job_id};
}

# raw_request() to host:port; a code ref may return 'stop' to end sending
# and read the answer at once. Also returns the time the answer took.
sub raw_request_at {
    my ($hostport, @chunks) = @_;
    my ($host, $port) = split /:/, $hostport;
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => 60)
        or die "connect: $!";
    binmode $sock;
    local $SIG{PIPE} = 'IGNORE';
    for my $c (@chunks) {
        if (ref $c eq 'CODE') {
            my $r = $c->($sock) // '';
            return (0, {}, '') unless $sock->opened;
            last if $r eq 'stop';
            next;
        }
        print $sock $c or last;
    }
    return read_response($sock);
}

# Whether the suite runs on the database spool (BULKIO_TEST_SPOOL=database,
# t/conf/extra.conf.in), not the file spool.
sub database_spool {
    return ($ENV{BULKIO_TEST_SPOOL} // 'file') eq 'database';
}

# Files in the spool directory (uploads in progress and kept job files).
sub spool_listing {
    my $dir = Apache::Test::vars('serverroot') . '/spool';
    opendir my $dh, $dir or return ();
    return sort grep { !/^\.\.?$/ } readdir $dh;
}

sub job_total {
    return sql_value('SELECT count(*) FROM bulkio_jobs');
}

my %import_ctype = (ndjson => 'application/x-ndjson',
                    json => 'application/json', csv => 'text/csv',
                    gzip => 'application/gzip');

# POST content to /v1/imports with the query, as format (ndjson, json, csv,
# or gzip: the content compressed first); the answer.
sub import_file {
    my ($query, $format, $content, @headers) = @_;
    if ($format eq 'gzip') {
        require IO::Compress::Gzip;
        my $gz;
        IO::Compress::Gzip::gzip(\$content => \$gz)
            or die $IO::Compress::Gzip::GzipError;
        $content = $gz;
    }
    return Apache::TestRequest::POST("/v1/imports?$query", auth(), @headers,
        'Content-Type' => $import_ctype{$format}, content => $content);
}

# The status document of the job an accepted (202) POST made, once it has
# ended; dies on any other answer.
sub wait_accepted {
    my $res = shift;
    die 'import: ' . $res->code . ' ' . $res->content
        unless $res->code == 202;
    return wait_job(json_decode($res->content)->{job_id});
}

1;
