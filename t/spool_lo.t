use strict;
use warnings FATAL => 'all';

# Uploads into the database spool (BulkIOSpool database on the virtual
# host bulkio_lospool, whatever spool the suite runs on): the large object
# is written in libpq's pipeline mode while the upload is received. A
# whole upload bigger than many writes arrives intact; one cut off
# mid-stream, or stopped at the size limit, while writes are in flight,
# leaves no object and no job, and the request's connection serves the
# uploads after it. A plain upload is stored packed (a zstd frame behind
# an 8-byte head) and imports the same rows as through the file spool; a
# gzip upload is stored as it came.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Compress::Zlib qw(memGzip);
use MIME::Base64 qw(decode_base64);
use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use JSON::PP;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport);

plan tests => 30;

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

# the bytes of a zstd frame, unpacked by the zstd tool
sub unzstd {
    my $file = "$dir/frame.zst";
    open my $fh, '>:raw', $file or die "$file: $!";
    print $fh $_[0];
    close $fh;
    open my $out, '-|', 'zstd', '-dcq', $file or die "zstd: $!";
    binmode $out;
    local $/;
    my $plain = <$out> // '';
    close $out;
    return $plain;
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
# (bytes that do not compress: stored packed, they still fill many writes)
my $jobs = jobs();
my $seen;
($status) = raw_request_at($vhost, head(3_500_000),
    (map { pack 'N*', map { int rand 2**32 } 1 .. 64 * 1024 } 1 .. 6),
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

# --- a plain upload is stored packed, and imports as through the file spool
# What an upload stores, caught as its job row is inserted (the object
# goes once the import ends).
sql(q{CREATE TABLE IF NOT EXISTS spool_lo_stored (oid oid, data bytea)});
sql(q{CREATE OR REPLACE FUNCTION spool_lo_stored() RETURNS trigger
      LANGUAGE plpgsql AS $$
      BEGIN
          IF NEW.source_path ~ '^lo:[0-9]+$' THEN
              INSERT INTO spool_lo_stored
                  SELECT m.oid, lo_get(m.oid) FROM pg_largeobject_metadata m
                   WHERE m.oid = substr(NEW.source_path, 4)::oid;
          END IF;
          RETURN NEW;
      END $$});
sql(q{DROP TRIGGER IF EXISTS spool_lo_stored ON bulkio_jobs});
sql(q{CREATE TRIGGER spool_lo_stored AFTER INSERT ON bulkio_jobs
      FOR EACH ROW EXECUTE FUNCTION spool_lo_stored()});
END {
    eval {
        sql(q{DROP TRIGGER IF EXISTS spool_lo_stored ON bulkio_jobs});
        sql(q{DROP TABLE IF EXISTS spool_lo_stored});
        sql(q{DROP FUNCTION IF EXISTS spool_lo_stored()});
    };
}

# the job's outcome and the users' rows
sub import_at {
    my ($at, $file) = @_;
    my ($st, undef, $r) = raw_request_at($at, head(length $file), $file);
    my $doc = $st == 202 ? wait_job(json_decode($r)->{job_id}) : {};
    my $rows = sql_value(q{SELECT md5(string_agg((external_id, email, name,
        role, active)::text, E'\n' ORDER BY external_id COLLATE "C"))
        FROM users});
    return ("$st $doc->{status} $doc->{totalRecords} $doc->{successCount} "
            . "$doc->{errorCount} $doc->{progress}{bytesProcessed} "
            . "$doc->{progress}{bytesTotal} $rows");
}

my $plain = users(400000, 20000) . qq({"email":"not an email"}\n{oops\n);
reset_data();
my $through_file = import_at(vhost_hostport('bulkio_filespool'), $plain);
ok t_cmp($through_file, qr/^202 completed 20002 20000 2 (\d+) \1 /,
         'a plain upload through the file spool');
reset_data();
sql('TRUNCATE spool_lo_stored');
ok t_cmp(import_at($vhost, $plain), $through_file, 'through the database '
         . 'spool: the same outcome, bytes counted and rows');
my ($oid, $stored) = split /\|/, sql_value(q{SELECT oid,
    translate(encode(data, 'base64'), E'\n', '') FROM spool_lo_stored});
$stored = decode_base64($stored // '');
ok t_cmp(substr($stored, 0, 8), "\x89BULKIOS",
         'the object starts with the packed head');
ok t_cmp(unzstd(substr $stored, 8), $plain,
         '... and holds the upload as a zstd frame');
ok t_cmp(length($stored) * 2 < length($plain) ? 1 : 0, 1,
         '... in less than half its size (' . length($stored) . ' of '
         . length($plain) . ' bytes)');
ok t_cmp(orphans(), 0, 'the object went with its import');

# --- uploads whose last packed block ends anywhere -----------------------
# (zstd packs 128 KiB blocks and the import reads 64 KiB at a time: the
# last block's bytes come out over more reads than its input takes)
for my $tail (1, 65535, 65537, 100000, 131071) {
    my $size = 3 * 131072 + $tail;
    my $file = users(700000 + $tail, 3000);
    my $pad = $size - length($file) - length(qq({"email":"pad$tail\@x.io"}\n));
    $file .= '{' . (' ' x $pad) . qq("email":"pad$tail\@x.io"}\n);
    reset_data();
    ok t_cmp(import_at($vhost, $file),
             qr/^202 completed 3001 3001 0 $size $size /,
             "an upload of $size bytes (the last block $tail) arrives whole");
}

# --- a gzip upload is stored as it came -------------------------------------
my $gz = memGzip(users(500000, 3000));
sql('TRUNCATE spool_lo_stored');
($status, $h, $resp) = raw_request_at($vhost, head(length $gz), $gz);
$doc = wait_job((json_decode($resp) // {})->{job_id} // 'none');
ok t_cmp("$status $doc->{status} $doc->{successCount}", '202 completed 3000',
         'a gzip upload into the database spool is imported');
($oid, $stored) = split /\|/, sql_value(q{SELECT oid,
    translate(encode(data, 'base64'), E'\n', '') FROM spool_lo_stored});
ok t_cmp(decode_base64($stored // '') eq $gz ? 1 : 0, 1,
         'its object holds the bytes sent, as they came');
ok t_cmp(orphans(), 0, '... and went with its import');
