use strict;
use warnings FATAL => 'all';

# CSV dialects and charsets (docs/records.md, "CSV dialects"): files with
# ';', tab and '|' between cells (given and detected), TSV by format and by
# Content-Type, a header mapped with columns, Windows-1252 and Latin-1 with
# charset, invalid UTF-8 refused with the fix; exports with a delimiter and
# as TSV that import again to the same rows; the options in the
# Idempotency-Key's request. Then tombstones: a delete import's rows in
# incremental exports with include_deleted (docs/api.md). Every import is
# checked against the rows in PostgreSQL.
use Apache::Test;
use Apache::TestRequest qw(POST GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT wait_accepted);

plan tests => 64;

# The comma file: a quoted cell holding every delimiter, an empty cell.
my @rows = (
    [ 'id', 'email', 'name', 'role', 'active' ],
    [ '11111111-1111-4111-8111-111111111111', 'ann@dialects.test',
      'Ann; "the | first", 1', 'admin', 'true' ],
    [ '22222222-2222-4222-8222-222222222222', 'bob@dialects.test', '',
      'author', 'false' ],
    [ '33333333-3333-4333-8333-333333333333', 'cy@dialects.test',
      "Cy\tTab", 'reader', 'true' ],
);

# The rows as a file with delimiter $d (CRLF, RFC 4180 quoting).
sub csv_of {
    my ($d, @r) = @_;
    return join '', map {
        join($d, map { /[",;|\t\r\n]/ ? '"' . s/"/""/gr . '"' : $_ } @$_)
            . "\r\n"
    } @r;
}

# POST an import; the answer.
sub post_import {
    my ($query, $ctype, $content, @headers) = @_;
    return POST "/v1/imports?$query", auth(), @headers,
        'Content-Type' => $ctype, content => $content;
}

# Import and wait: the job's status document.
sub run { return wait_accepted(post_import(@_)) }

# The users of the test as stored, one line each.
sub users {
    return join "\n", sql("SELECT external_id, email, coalesce(name, '-'),"
        . " role, active FROM users WHERE email LIKE '%\@dialects.test'"
        . ' ORDER BY email');
}

# ---- delimiters ----
reset_data();
my $d = run('resource=users', 'text/csv', csv_of(',', @rows));
ok t_cmp("$d->{successCount}/$d->{errorCount}", '3/0', 'the comma file');
my $expect = users();
ok t_cmp(scalar(() = $expect =~ /\n/g), 2, 'three users');
ok t_cmp($expect, qr/ann\@dialects\.test\|Ann; "the \| first", 1\|admin\|t/,
         'the quoted cell kept whole');

my %name = (';' => 'semicolon', "\t" => 'tab', '|' => 'pipe');
for my $delim (';', "\t", '|') {
    for my $how ('detected', 'given') {
        reset_data();
        my $q = 'resource=users';
        $q .= '&delimiter=' . ($delim eq "\t" ? '%09' : $delim eq '|'
                               ? '%7C' : '%3B') if $how eq 'given';
        $d = run($q, 'text/csv', csv_of($delim, @rows));
        ok t_cmp("$d->{successCount}/$d->{errorCount} " . users(),
                 "3/0 $expect", "$name{$delim} $how: the comma file's rows");
    }
}
reset_data();
$d = run('resource=users&delimiter=pipe', 'text/csv', csv_of('|', @rows));
ok t_cmp($d->{dialect}{delimiter}, '|', 'the job document shows it');

# TSV: by format, by Content-Type, by a file name
reset_data();
$d = run('resource=users&format=tsv', 'application/octet-stream',
         csv_of("\t", @rows));
ok t_cmp(users(), $expect, 'format=tsv');
reset_data();
$d = run('resource=users', 'text/tab-separated-values', csv_of("\t", @rows));
ok t_cmp(users(), $expect, 'Content-Type text/tab-separated-values');
ok t_cmp($d->{format}, 'csv', 'a TSV file is CSV with tabs');
my $res = post_import('resource=users&format=tsv&delimiter=%3B',
                      'text/csv', csv_of("\t", @rows));
ok t_cmp($res->code, 400, 'format=tsv with another delimiter: 400');

# a multipart upload with the options as form fields
reset_data();
$res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'form-data',
    content => [ delimiter => ';',
                 columns => 'E-Mail:email,Full Name:name',
                 file => [ undef, 'users.csv',
                           'Content-Type' => 'text/csv',
                           Content => "Id; E-Mail ;FULL NAME;Role;active\r\n"
                               . join('', map { join(';', map {
                                   /[;"]/ ? '"' . s/"/""/gr . '"' : $_
                               } @$_) . "\r\n" } @rows[1 .. 3]) ] ];
ok t_cmp($res->code, 202, 'a form with delimiter and columns');
$d = wait_job(json_decode($res->content)->{job_id});
ok t_cmp(users(), $expect, 'mapped headers: the same rows');
ok t_cmp(join(',', sort keys %{ $d->{dialect}{columns} // {} }),
         'e-mail,full name', 'the job document shows the mapping');

# columns as a JSON object in the {"url"} body is checked like the query
$res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'application/json',
    content => '{"url":"http://127.0.0.1:1/x.csv","columns":{"E-Mail":"mail"}}';
ok t_cmp($res->code, 400, 'a mapping to an unknown field: 400');
ok t_cmp(json_decode($res->content)->{detail},
         qr/^columns: unknown field 'mail' for users; allowed: id, email, /,
         'it names the allowed fields');

# a mapped header the file lacks: the header fails, naming it
reset_data();
$d = run('resource=users&columns=Mail:email', 'text/csv',
         "Email,Name\r\nx\@dialects.test,X\r\n");
ok t_cmp($d->{errors}[0]{errorMessage},
         qr/^invalid CSV header: columns maps mail, which the header lacks/,
         'a missing mapped header is named');
ok t_cmp(users(), '', 'nothing imported');
# header names match ignoring case and blanks; a required field unmapped
$d = run('resource=users', 'text/csv',
         " EMAIL , NAME \r\nup\@dialects.test,Up\r\n");
ok t_cmp($d->{successCount}, 1, 'EMAIL matches email');
$d = run('resource=users', 'text/csv', "E-Mail,Name\r\nx\@dialects.test,X\r\n");
ok t_cmp("$d->{errors}[0]{field}|$d->{errors}[0]{errorMessage}",
         'email|email is required', 'an unmapped required field is named');

# ---- charsets ----
reset_data();
my $cp1252 = "email;name\r\neuro\@dialects.test;\x80 caf\xe9 \x93q\x94\r\n";
$d = run('resource=users&charset=windows-1252', 'text/csv', $cp1252);
ok t_cmp($d->{successCount}, 1, 'windows-1252 accepted');
ok t_cmp(sql_value("SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM users"
                   . " WHERE email = 'euro\@dialects.test'"),
         unpack('H*', "\xe2\x82\xac caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d"),
         'stored as UTF-8: the euro sign, e acute, curly quotes');
$d = run('resource=users&charset=iso-8859-1', 'text/csv',
         "email,name\r\nlatin\@dialects.test,Jos\xe9\r\n");
ok t_cmp(sql_value("SELECT encode(convert_to(name, 'UTF8'), 'hex') FROM users"
                   . " WHERE email = 'latin\@dialects.test'"),
         unpack('H*', "Jos\xc3\xa9"), 'latin-1');
$d = run('resource=users', 'text/csv',
         "email,name\r\nbad\@dialects.test,Jos\xe9\r\nok\@dialects.test,ok\r\n");
ok t_cmp("$d->{successCount}/$d->{errorCount}", '1/1',
         'as UTF-8 the row fails, the next imports');
ok t_cmp($d->{errors}[0]{errorMessage},
         qr/invalid UTF-8: .*charset=windows-1252 or charset=iso-8859-1/,
         'the error says how to fix it');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = "
                   . "'bad\@dialects.test'"), 0, 'nothing mangled is stored');
$res = post_import('resource=users&charset=utf-16', 'text/csv', "email\r\n");
ok t_cmp(json_decode($res->content)->{detail},
         'unknown charset; allowed: utf-8, windows-1252, iso-8859-1',
         'an unknown charset: 400');
$res = post_import('resource=users&delimiter=%3A', 'text/csv', "email\r\n");
ok t_cmp($res->code, 400, 'an unknown delimiter: 400');
$res = post_import('resource=users&delimiter=%3B', 'application/x-ndjson',
                   "{}\n");
ok t_cmp(json_decode($res->content)->{detail},
         'delimiter and columns apply to CSV files only', 'NDJSON: 400');
$res = post_import('resource=users&quote=x', 'text/csv', "email\r\n");
ok t_cmp(json_decode($res->content)->{detail},
         qr/^unknown parameter 'quote'; allowed: .*delimiter, columns, charset/,
         'the allowed parameters include the new ones');

# the options are part of the Idempotency-Key's request
my @key = ('Idempotency-Key' => "dialect-$$");
$res = post_import('resource=users&delimiter=%3B', 'text/csv', "email\r\n",
                   @key);
ok t_cmp($res->code, 202, 'first request');
$res = post_import('resource=users&delimiter=%3B', 'text/csv', "email\r\n",
                   @key);
ok t_cmp($res->code, 202, 'the same again: the same answer');
$res = post_import('resource=users&delimiter=%7C', 'text/csv', "email\r\n",
                   @key);
ok t_cmp($res->code, 422, 'another delimiter: 422');
$res = post_import('resource=users&delimiter=%3B&charset=cp1252', 'text/csv',
                   "email\r\n", @key);
ok t_cmp($res->code, 422, 'another charset: 422');
$res = post_import('resource=users&delimiter=%3B&columns=e:email',
                   'text/csv', "email\r\n", @key);
ok t_cmp($res->code, 422, 'another mapping: 422');
wait_idle();

# ---- exports with a delimiter import again to the same rows ----
reset_data();
run('resource=users', 'text/csv', csv_of(',', @rows));
for my $case ([ 'format=csv&delimiter=%3B', ';', 'text/csv' ],
              [ 'format=tsv', "\t", 'text/tab-separated-values' ],
              [ 'format=csv&delimiter=pipe', '|', 'text/csv' ]) {
    my ($q, $delim, $type) = @$case;
    $res = GET "/v1/exports?resource=users&$q", auth();
    ok t_cmp($res->header('Content-Type'), qr{^\Q$type\E},
             "export $q: $type");
    my $body = $res->content;
    ok t_cmp((split /\r\n/, $body)[0],
             join($delim, qw(id email name role active created_at updated_at)),
             "export $q: the header");
    reset_data();
    $d = run('resource=users', 'text/csv', $body);
    ok t_cmp(users(), $expect, "export $q imports again to the same rows");
}
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource":"users","format":"csv","delimiter":";",'
             . '"fields":["email","name"]}';
my $job = json_decode($res->content)->{job_id};
my $until = time + 60;
while (time < $until) {
    $d = json_decode(GET("/v1/exports/$job", auth())->content);
    last if $d->{status} =~ /^(completed|failed)$/;
    select undef, undef, undef, 0.2;
}
ok t_cmp(GET("/v1/exports/$job/download", auth())->content,
         qr/^email;name\r\nann\@dialects\.test;"Ann; ""the \| first"", 1"\r\n/,
         'an export job with delimiter ;');
$res = GET '/v1/exports?resource=users&format=json&delimiter=%3B', auth();
ok t_cmp($res->code, 400, 'a delimiter for JSON: 400');

# ---- tombstones ----
sql('TRUNCATE bulkio_tombstones');
my ($id1, $id2, $id3) = map { $_->[0] } @rows[1 .. 3];
sleep 1;
my $t0 = sql_value("SELECT to_char(now() AT TIME ZONE 'UTC',"
                   . " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
$d = run('resource=users&mode=delete', 'text/csv',
         "id\r\n$id1\r\n$id3\r\n");
ok t_cmp($d->{deletedCount}, 2, 'two users deleted');
ok t_cmp(join(',', sql("SELECT external_id || ':' || (job_id = (SELECT id"
                       . " FROM bulkio_jobs WHERE public_id = '$d->{job_id}'))"
                       . " || ':' || principal FROM bulkio_tombstones"
                       . " WHERE resource = 'users' ORDER BY id")),
         "$id1:true:alice,$id3:true:alice",
         'their tombstones name the job and principal');
$res = GET "/v1/exports?resource=users&updated_after=$t0&include_deleted=true",
    auth();
my @lines = map { json_decode($_) } split /\n/, $res->content;
ok t_cmp(join(' ', map { "$_->{id}:" . ($_->{deleted} ? 'deleted' : 'live') }
              @lines), "$id1:deleted $id3:deleted",
         'include_deleted: the deleted rows after T, no live row');
ok t_cmp(join(',', sort keys %{ $lines[0] }), 'deleted,deleted_at,id',
         'a tombstone is {id, deleted_at, deleted}');
ok t_cmp($lines[0]{deleted_at}, qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/,
         'deleted_at in RFC 3339 UTC');
$res = GET "/v1/exports?resource=users&updated_after=$lines[0]{deleted_at}"
    . '&include_deleted=true', auth();
ok t_cmp($res->content, '', 'none deleted after the last deletion');
$res = GET "/v1/exports?resource=users&updated_after=$t0", auth();
ok t_cmp($res->content, '', 'without include_deleted: none');
$res = GET '/v1/exports?resource=users&include_deleted=true&format=csv'
    . '&fields=id,email', auth();
ok t_cmp($res->content, "id,email,deleted,deleted_at\r\n"
         . "$id2,bob\@dialects.test,false,\r\n"
         . "$id1,,true,$lines[0]{deleted_at}\r\n"
         . "$id3,,true,$lines[1]{deleted_at}\r\n",
         'CSV: live rows, then tombstones with deleted and deleted_at');
$res = GET '/v1/exports?resource=users&include_deleted=true&fields=email',
    auth();
ok t_cmp($res->code, 400, 'include_deleted without the field id: 400');
# a row imported again is live, not deleted
run('resource=users', 'text/csv', csv_of(',', @rows[0, 1]));
$res = GET "/v1/exports?resource=users&updated_after=$t0&include_deleted=true"
    . '&fields=id', auth();
ok t_cmp($res->content, qq({"id":"$id1"}\n{"id":"$id3","deleted_at":)
         . qq("$lines[1]{deleted_at}","deleted":true}\n),
         'an id imported again is no tombstone');

# ---- the client ----
my $bin = Apache::Test::vars('top_dir') . '/client/bulkio';
my $dir = Apache::Test::vars('t_dir') . '/logs';

# Run the client; returns (exit status, stdout).
sub cli {
    local $ENV{BULKIO_URL} = 'http://' . hostport();
    local $ENV{BULKIO_TOKEN} = token();
    my $pid = open my $fh, '-|' // die "fork: $!";
    if (!$pid) {
        open STDERR, '>', "$dir/dialects-cli.err" or die;
        exec $bin, @_ or exit 99;
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($? >> 8, $out);
}

sub write_file {
    my ($path, $content) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    return $path;
}

reset_data();
my $semi = write_file("$dir/dialects-semi.csv",
    "Id;E-Mail;Full Name;role;active\r\n" . join('', map {
        join(';', map { /[;"]/ ? '"' . s/"/""/gr . '"' : $_ } @$_) . "\r\n"
    } @rows[1 .. 3]));
my ($rc, $out) = cli('import', 'users', $semi, '--delimiter', ';',
                     '--columns', 'E-Mail:email,Full Name:name', '-q');
ok t_cmp("$rc " . users(), "0 $expect",
         'bulkio import --delimiter ; --columns: the same rows');
my $latin = write_file("$dir/dialects-latin.csv",
                       "email,name\r\nzoe\@dialects.test,Zo\xeb \x80\r\n");
($rc, $out) = cli('import', 'users', $latin, '--charset', 'windows-1252',
                  '-q');
ok t_cmp("$rc " . sql_value("SELECT encode(convert_to(name, 'UTF8'), 'hex')"
                            . " FROM users WHERE email = 'zoe\@dialects.test'"),
         '0 ' . unpack('H*', "Zo\xc3\xab \xe2\x82\xac"),
         'bulkio import --charset windows-1252');
($rc, $out) = cli('export', 'users', '--format', 'csv', '--delimiter', ';',
                  '--fields', 'email,name');
ok t_cmp("$rc " . (split /\r\n/, $out)[1],
         qq(0 ann\@dialects.test;"Ann; ""the | first"", 1"),
         'bulkio export --delimiter ;');
($rc, $out) = cli('export', 'users', '--format', 'tsv', '--job',
                  '--fields', 'email,role', '-o', "$dir/dialects-out.tsv",
                  '--force', '-q');
open my $tsv, '<', "$dir/dialects-out.tsv" or die;
ok t_cmp("$rc " . scalar(<$tsv>), "0 email\trole\r\n",
         'bulkio export --format tsv --job');
run('resource=users&mode=delete', 'text/csv', "email\r\nzoe\@dialects.test\r\n");
my $zoe_t = sql_value("SELECT to_char((max(deleted_at) - interval '1 ms')"
                      . " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                      . ' FROM bulkio_tombstones');
($rc, $out) = cli('export', 'users', '--include-deleted', '--fields', 'id',
                  '--filter', "updated_after=$zoe_t");
my @tomb = map { json_decode($_) } split /\n/, $out;
ok t_cmp("$rc " . scalar(@tomb) . ' ' . ($tomb[0]{deleted} ? 'deleted' : '')
         . ' ' . ($tomb[0]{id} // ''), qr/^0 1 deleted [0-9a-f-]{36}$/,
         'bulkio export --include-deleted');
