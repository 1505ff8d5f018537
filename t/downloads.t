use strict;
use warnings FATAL => 'all';

# What leaves as an export: signed download links (no token; a changed
# byte answers 403, an expired link 410; ranges and ETag as on the token
# download), gzip-compressed export jobs (application/gzip, ranges) and
# streamed exports sent with Content-Encoding: gzip, which decompress to
# exactly the uncompressed export. An export file is the streamed export
# byte for byte, also past the 8 MiB after which the file spool hands its
# writes to the disk as the file grows.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Digest::SHA qw(hmac_sha256_hex);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

my $bin = Apache::Test::vars('top_dir') . '/client/bulkio';
plan tests => 33;

my $dir = Apache::Test::vars('t_dir') . '/logs';
my $dl_secret = 'dlsec-test-0123456789abcdef0123456789abcdef';

sub export_job {
    my ($body) = @_;
    my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
        content => $body;
    die 'export job: ' . $res->code . ' ' . $res->content
        unless $res->code == 202;
    my $id = json_decode($res->content)->{job_id};
    for (1 .. 600) {
        my $doc = json_decode(GET("/v1/exports/$id", auth())->content) // {};
        return $doc if ($doc->{status} // '') =~ /^(completed|failed)$/;
        sleep 0.1;
    }
    die "export job $id did not finish\n";
}

sub inflate {
    my $in = shift;
    my $out;
    gunzip(\$in => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

reset_data();
gendata("$dir/downloads.ndjson", resource => 'users', format => 'ndjson',
        count => 60_000, profile => 'valid');
wait_job(upload("$dir/downloads.ndjson", 'resource=users',
                'application/x-ndjson'));

# --- signed download links
my $doc = export_job('{"resource": "users"}');
ok t_cmp($doc->{status}, 'completed', 'export job completed');
my $link = $doc->{signedDownloadUrl} // '';
my ($path, $expires, $sig) =
    $link =~ m{^(/v1/exports/[0-9a-f-]{36}/signed-download)\?expires=(\d+)&signature=([0-9a-f]{64})$};
ok t_cmp(defined $sig ? 1 : 0, 1, "the document carries a signed link");
my $expires_at = sql_value("SELECT extract(epoch FROM expires_at)::bigint"
                           . " FROM bulkio_jobs WHERE public_id ="
                           . " '$doc->{job_id}'");
ok t_cmp($expires <= $expires_at && $expires > time, 1,
         'it expires in the future, at most when the export does');

my $plain = GET("/v1/exports/$doc->{job_id}/download", auth());
my $stream = GET('/v1/exports?resource=users', auth())->content;
ok t_cmp(length($plain->content) > 8 * 1024 * 1024
         && $plain->content eq $stream ? 1 : 0, 1,
         sprintf('the file (%d bytes) is the streamed export (%d bytes)',
                 length($plain->content), length($stream)));
my $res = GET $link;
ok t_cmp($res->code, 200, 'the link works without a token');
ok t_cmp($res->content eq $plain->content ? 1 : 0, 1,
         'the same bytes as the token download');
# (httpd marks an ETag weak, W/, while the file is less than a second old)
my $etag = $plain->header('ETag') // 'none';
$etag =~ s{^W/}{};
ok t_cmp(($res->header('ETag') // '') =~ s{^W/}{}r, $etag, 'the same ETag');
$res = GET $link, 'Range' => 'bytes=10-19';
ok t_cmp($res->code . ' ' . $res->content, '206 '
         . substr($plain->content, 10, 10), 'a range');
$res = GET $link, 'If-None-Match' => $etag;
ok t_cmp($res->code, 304, 'If-None-Match: 304');

my $flip = sub { my ($s, $i) = @_; my $c = substr($s, $i, 1);
                 substr($s, $i, 1) = $c eq '0' ? '1' : '0'; $s };
for my $bad (["$path?expires=$expires&signature=" . $flip->($sig, 17),
              'a changed signature'],
             ["$path?expires=" . ($expires + 1) . "&signature=$sig",
              'a later expiry'],
             [$flip->($path, 20) . "?expires=$expires&signature=$sig",
              'another job id'],
             ["$path?expires=$expires", 'no signature']) {
    $res = GET $bad->[0];
    ok t_cmp($res->code . ' ' . ($res->header('Content-Type') // ''),
             '403 application/problem+json', "403: $bad->[1]");
}
my $past = time - 5;
my $old = hmac_sha256_hex("$doc->{job_id}.$past", $dl_secret);
$res = GET "$path?expires=$past&signature=$old";
ok t_cmp($res->code, 410, 'a genuine link that has expired: 410');
ok t_cmp(json_decode($res->content)->{detail} // '', qr/expired/,
         'saying so');

# --- a gzip-compressed export job
my $gz = export_job('{"resource": "users", "compression": "gzip"}');
ok t_cmp($gz->{status}, 'completed', 'gzip export job completed');
$res = GET "/v1/exports/$gz->{job_id}/download", auth();
ok t_cmp($res->header('Content-Type'), 'application/gzip',
         'served as application/gzip');
ok t_cmp($res->header('Content-Disposition') // '', qr/\.ndjson\.gz"$/,
         'named .ndjson.gz');
ok t_cmp(inflate($res->content) eq $plain->content ? 1 : 0, 1,
         'it inflates to exactly the uncompressed export');
ok t_cmp(length($res->content) < length($plain->content) / 2 ? 1 : 0, 1,
         sprintf('and is smaller (%d of %d bytes)', length($res->content),
                 length($plain->content)));
ok t_cmp($gz->{fileSize}, length($res->content), 'fileSize: the stored size');
my $whole = $res->content;
$res = GET "/v1/exports/$gz->{job_id}/download", auth(),
    'Range' => 'bytes=0-1';
ok t_cmp($res->code . ' ' . unpack('H*', $res->content), '206 1f8b',
         'ranges of the compressed file');
$res = GET $gz->{signedDownloadUrl};
ok t_cmp($res->content eq $whole ? 1 : 0, 1, 'its signed link too');
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "compression": "brotli"}';
ok t_cmp($res->code, 400, 'an unknown compression: 400');

# --- streamed exports with Accept-Encoding: gzip
my $ident = GET '/v1/exports?resource=users&format=csv', auth();
$res = GET '/v1/exports?resource=users&format=csv', auth(),
    'Accept-Encoding' => 'gzip';
ok t_cmp($res->header('Content-Encoding') // '', 'gzip',
         'Content-Encoding: gzip');
ok t_cmp($res->header('Vary') // '', qr/Accept-Encoding/,
         'Vary: Accept-Encoding');
ok t_cmp(inflate($res->content) eq $ident->content ? 1 : 0, 1,
         sprintf('the stream inflates to exactly the uncompressed export '
                 . '(%d bytes from %d)', length($ident->content),
                 length($res->content)));
$ident = GET '/v1/exports?resource=users', auth();
$res = GET '/v1/exports?resource=users', auth(),
    'Accept-Encoding' => 'br, gzip;q=0';
ok t_cmp(($res->header('Content-Encoding') // 'identity') . ' '
         . ($res->content eq $ident->content ? 'same' : 'differs'),
         'identity same', 'gzip;q=0: not compressed');

# --- the client: --gzip on a stream, on a job (inflated, or kept as .gz)
sub slurp { my $f = shift; open my $fh, '<', $f or return ''; binmode $fh;
            local $/; return scalar <$fh> }
sub cli {
    local $ENV{BULKIO_URL} = 'http://' . hostport();
    local $ENV{BULKIO_TOKEN} = token(sub => 'alice');
    local $ENV{BULKIO_RUN_DIR} = "$dir/no-such-run-dir";
    return system($bin, '-q', @_) >> 8;
}
ok t_cmp(cli('export', 'users', '--gzip', '--force', '-o',
             "$dir/cli-gz.ndjson"), 0, 'bulkio export --gzip');
ok t_cmp(slurp("$dir/cli-gz.ndjson") eq $ident->content ? 1 : 0, 1,
         'the stream arrives inflated, as without --gzip');
ok t_cmp(cli('export', 'users', '--job', '--gzip', '--force', '-o',
             "$dir/cli-job.ndjson"), 0, 'bulkio export --job --gzip');
ok t_cmp(slurp("$dir/cli-job.ndjson") eq $plain->content ? 1 : 0, 1,
         'the compressed job file, inflated');
cli('export', 'users', '--job', '--gzip', '--force', '-o',
    "$dir/cli-job.ndjson.gz");
ok t_cmp(inflate(slurp("$dir/cli-job.ndjson.gz")) eq $plain->content
         ? 1 : 0, 1, '-o FILE.gz keeps it compressed');
