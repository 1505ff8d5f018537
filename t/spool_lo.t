use strict;
use warnings FATAL => 'all';

# Uploads into the database spool (BulkIOSpool database on the virtual
# host bulkio_lospool, whatever spool the suite runs on): the large object
# is written in libpq's pipeline mode while the upload is received. A
# whole upload bigger than many writes arrives intact; one cut off
# mid-stream, or stopped at the size limit, while writes are in flight,
# leaves no object and no job, and the request's connection serves the
# uploads after it.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use JSON::PP;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport);

plan tests => 16;

my $vhost = vhost_hostport('bulkio_lospool');
my $token = token(sub => 'alice');
my $dir = tempdir(CLEANUP => 1);
my $LOWRITE = q{SELECT pg_catalog.lowrite($1, $2)};

sub jobs { sql_value('SELECT count(*) FROM bulkio_jobs') }

# large objects that no job names
sub orphans {
    return sql_value(q{SELECT count(*) FROM pg_largeobject_metadata m
        WHERE NOT EXISTS (SELECT 1 FROM bulkio_jobs j
                          WHERE j.source_path = 'lo:' || m.oid)});
}

# backends that are (or were last) writing an upload's object
sub writers {
    return sql_value("SELECT count(*) FROM pg_stat_activity"
                     . " WHERE query = '$LOWRITE' AND state <> 'idle'");
}

# until no backend is left in an upload's transaction
sub wait_writers {
    my $until = time + 30;
    sleep 0.2 while writers() && time < $until;
    return writers();
}

sub head {
    my ($len, @more) = @_;
    return join "\r\n", 'POST /v1/imports?resource=users HTTP/1.1',
        "Host: $vhost", "Authorization: Bearer $token",
        'Content-Type: application/x-ndjson',
        (defined $len ? "Content-Length: $len" : ()), @more,
        'Connection: close', '', '';
}

# users as NDJSON, every line different
sub users {
    my ($from, $n) = @_;
    return join '', map {
        sprintf qq({"id":"00005e11-0000-4000-8000-%012d","email":"lo%d\@example.com","name":"LO user %d","role":"reader"}\n),
            $_, $_, $_
    } $from .. $from + $n - 1;
}

wait_idle();
reset_data();

# --- a whole upload of many writes arrives intact ---------------------------
my $body = users(0, 25000);
ok t_cmp(length($body) > 10 * 256 * 1024, 1, 'the upload spans more than ten writes');
my ($status, $h, $resp) = raw_request_at($vhost, head(length $body), $body);
ok t_cmp($status, 202, 'an upload into the database spool is accepted');
my $id = (json_decode($resp) // {})->{job_id} // '';
ok t_cmp(sql_value("SELECT source_path FROM bulkio_jobs WHERE public_id::text = '$id'")
      // 'lo:', qr/^(lo:\d+)?$/, 'its job names a large object (until it ends)');
my $doc = wait_job($id);
ok t_cmp("$doc->{status} $doc->{totalRecords} $doc->{successCount}",
      'completed 25000 25000', 'every record of it is imported');
my $want = md5_hex(join "\n", map { "$_->{email}|$_->{name}" }
                   sort { $a->{id} cmp $b->{id} }
                   map { decode_json($_) } split /\n/, $body);
ok t_cmp(sql_value(q{SELECT md5(string_agg(email || '|' || name, E'\n'
                   ORDER BY external_id COLLATE "C")) FROM users}),
      $want, 'the rows are those of the file, byte for byte');
ok t_cmp(orphans(), 0, 'no object is left once the import ended');

# --- cut off mid-stream while writes are in flight --------------------------
my $jobs = jobs();
my $seen;
($status) = raw_request_at($vhost, head(3_500_000),
    (map { substr(users(100000, 9000), 0, 256 * 1024) } 1 .. 6),
    sub {
        my $until = time + 10;
        sleep 0.1 until ($seen = writers()) || time > $until;
        close $_[0];
        'stop';
    });
ok t_cmp($seen, 1, 'the object is written in pipeline mode as the upload '
      . 'arrives');
ok t_cmp(wait_writers(), 0, 'the cut-off upload\'s transaction ends');
ok t_cmp(jobs(), $jobs, 'an upload cut off mid-stream makes no job');
ok t_cmp(orphans(), 0, '... and leaves no large object');

# --- stopped at the size limit (4M here), chunked ---------------------------
my $piece = substr(users(200000, 6000), 0, 512 * 1024);
($status, $h, $resp) = raw_request_at($vhost,
    head(undef, 'Transfer-Encoding: chunked'),
    (map { sprintf("%x\r\n", length $piece) . $piece . "\r\n" } 1 .. 10),
    "0\r\n\r\n");
ok t_cmp($status, 413, 'an upload over the limit is refused mid-stream');
ok t_cmp($resp, qr/exceeds the limit/, '... with the reason');
ok t_cmp(wait_writers(), 0, 'its transaction ends');
ok t_cmp(jobs() . ' ' . orphans(), "$jobs 0",
      '... and it leaves no job and no large object');

# --- the connections serve the next uploads ---------------------------------
my @ok;
for my $i (1 .. 4) {
    my $small = users(300000 + 10 * $i, 10);
    my ($st, undef, $r) = raw_request_at($vhost, head(length $small), $small);
    push @ok, $st == 202 ? wait_job(json_decode($r)->{job_id})->{status}
                         : "HTTP $st";
}
ok t_cmp("@ok", 'completed completed completed completed',
      'uploads after an aborted one are stored and imported');
ok t_cmp(orphans(), 0, 'and their objects go with their imports');
