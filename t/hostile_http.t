use strict;
use warnings FATAL => 'all';

# The hostile-input catalogue, request level (docs/hostile.md, H1-H144):
# each hostile request gets its documented answer over a raw socket, and
# a refused request leaves no job and no spool file behind.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport spool_listing
                    job_total database_spool);

my $main = Apache::TestRequest::hostport();
my $vhost = vhost_hostport('bulkio_hostile');   # Timeout 3, 160M uploads
my $uuid = '00000000-0000-4000-8000-000000000000';
my $B = 'hostile-boundary';
my $csv1 = "email\r\nh1\@http.hostile.test\r\n";

# A request: method, target, headers (a list of "Name: value" lines) and a
# body; Content-Length is added unless given, or unless body is undef.
sub req {
    my ($method, $target, %o) = @_;
    my $tok = exists $o{token} ? $o{token} : token();
    my $h = "$method $target HTTP/1.1\r\nHost: localhost\r\n";
    $h .= "Authorization: Bearer $tok\r\n" if defined $tok;
    $h .= "$_\r\n" for @{ $o{headers} // [] };
    $h .= 'Content-Length: ' . length($o{body}) . "\r\n"
        if defined $o{body} && !$o{no_cl};
    return $h . "Connection: close\r\n\r\n" . ($o{body} // '');
}
sub get { req('GET', @_) }
sub post_import {
    my ($query, $ctype, $body, %o) = @_;
    return req('POST', "/v1/imports?$query", body => $body,
               headers => [ "Content-Type: $ctype", @{ $o{headers} // [] } ],
               %o{grep { $_ ne 'headers' } keys %o});
}
sub post_export {
    my ($json, %o) = @_;
    return req('POST', '/v1/exports', body => $json,
               headers => [ 'Content-Type: application/json',
                            @{ $o{headers} // [] } ]);
}
sub multipart {
    my ($parts, $close) = @_;
    return join('', map { "--$B\r\n$_\r\n" } @$parts) . ($close // "--$B--\r\n");
}
sub file_part {
    my ($filename, $ctype, $data) = @_;
    return qq(Content-Disposition: form-data; name="file")
        . (defined $filename ? qq(; filename="$filename") : '') . "\r\n"
        . ($ctype ? "Content-Type: $ctype\r\n" : '') . "\r\n$data";
}
sub post_mp {
    my ($body, %o) = @_;
    return post_import('resource=users',
                       $o{ctype} // "multipart/form-data; boundary=$B", $body);
}
# A token signed with the test secret (or another) from raw JSON.
sub jwt { my ($hdr, $pl, $secret) = @_; token_raw($hdr, $pl, $secret) }

my ($th, $tp, $ts) = split /\./, token(sub => 'alice');
my $exp = time + 12 * 3600;   # raw payloads carry exp (BulkIOJWTRequireExp)
my $deep = 100_000;

# [ id, name, request (string or list of chunks), status, detail, where ]
# detail undef: the status line's reason phrase (httpd raised the error)
my @catalogue = (
    # path traversal in job ids and in the path
    [ 'H1', 'encoded ../ in a job id', get('/v1/imports/..%2F..%2F..%2Fetc%2Fpasswd'),
      404, undef ],
    [ 'H2', 'double-encoded ../ in a job id',
      get('/v1/exports/..%252F..%252Fetc%252Fpasswd/download'), 404, 'no such job' ],
    [ 'H3', '../ above the root', get('/v1/imports/../../../etc/passwd'), 400, undef ],
    [ 'H4', '..;/ segments', get('/v1/imports/..;/..;/etc/passwd'), 404,
      'no such resource' ],
    [ 'H5', 'encoded NUL after a job id', get("/v1/imports/$uuid%00/errors"), 404, undef ],
    [ 'H6', 'backslash traversal in a DELETE',
      req('DELETE', '/v1/imports/..%5C..%5Cspool'), 404, 'no such job' ],
    [ 'H7', 'NUL byte in a file name', post_mp(multipart([
          file_part("a\0.csv", 'text/csv', $csv1) ])),
      400, 'the multipart/form-data body is malformed' ],

    # SQL metacharacters in every parameter, filter, field and key
    [ 'H8', 'SQL in resource', post_import(
          "resource=users'%3BDROP%20TABLE%20users%3B--", 'text/csv', $csv1),
      400, 'unknown resource; allowed: users, articles, comments' ],
    [ 'H9', 'SQL in format', post_import(
          "resource=users&format=csv'%20OR%20'1'%3D'1", 'text/csv', $csv1),
      400, 'unknown format; allowed: ndjson, json, csv, tsv' ],
    [ 'H10', 'SQL in a filter value',
      get("/v1/exports?resource=users&role=admin'%20OR%20'1'%3D'1"),
      400, "filter 'role' must be one of admin, author, reader" ],
    [ 'H11', 'SQL in a filter name', get("/v1/exports?resource=users&role'%3B--=x"),
      400, "unknown filter 'role';--'; allowed for users: role, active, "
           . 'created_after, created_before, updated_after' ],
    [ 'H12', 'SQL in fields', get("/v1/exports?resource=users&fields=id,email'--"),
      400, "unknown field 'email'--'; allowed: id, email, name, role, active, "
           . 'created_at, updated_at' ],
    [ 'H13', 'SQL in a reference filter',
      get("/v1/exports?resource=articles&author_id='%20OR%201%3D1%20--"),
      400, "filter 'author_id' must be a UUID" ],
    [ 'H14', 'SQL in a timestamp filter',
      get("/v1/exports?resource=users&updated_after=2024-01-01'%3B"),
      400, "filter 'updated_after' must be an RFC 3339 timestamp with an offset, "
           . 'e.g. 2024-01-01T00:00:00Z' ],
    [ 'H15', 'SQL in an export job filter', post_export(
          q~{"resource":"users","filters":{"role":"x'); DROP TABLE users;--"}}~),
      400, "filter 'role' must be one of admin, author, reader" ],
    [ 'H16', 'SQL in an export job field', post_export(
          '{"resource":"users","fields":["id\"; DROP TABLE users;--"]}'),
      400, q~unknown field 'id"; DROP TABLE users;--'; allowed: id, email, name, ~
           . 'role, active, created_at, updated_at' ],
    [ 'H17', 'SQL in an export job filter name', post_export(
          q~{"resource":"users","filters":{"role';--":"admin"}}~),
      400, q~unknown filter 'role';--'; allowed for users: role, active, ~
           . 'created_after, created_before, updated_after' ],
    [ 'H18', 'SQL in a job id', get("/v1/imports/1'%20OR%20'1'%3D'1/errors"),
      404, 'no such job' ],
    [ 'H19', 'SQL in the errors format', get("/v1/imports/$uuid/errors?format=csv'--"),
      400, 'unknown format; allowed: ndjson, csv' ],
    [ 'H20', 'SQL in the principal (sub)', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}', qq~{"sub":"alice' OR '1'='1","exp":$exp}~)),
      404, 'no such job' ],

    [ 'H21', 'TRACE echoing the token back', req('TRACE', '/v1/imports'),
      405, 'TRACE is not served under /v1' ],

    # oversized headers
    [ 'H22', 'a header line of 10,000 bytes',
      get("/v1/imports/$uuid", headers => [ 'X-Big: ' . ('a' x 10_000) ]), 400, undef ],
    [ 'H23', '150 header fields',
      get("/v1/imports/$uuid", headers => [ map { "X-H$_: 1" } 1 .. 150 ]), 400, undef ],
    [ 'H24', 'a request line of 10,000 bytes', get('/v1/imports/' . ('a' x 10_000)),
      414, undef ],
    [ 'H25', 'a 9,000-byte token', get("/v1/imports/$uuid", token => 'a' x 9000),
      400, undef ],
    [ 'H26', 'an 8,000-byte token of JWT shape',
      get("/v1/imports/$uuid", token => join('.', ('a' x 2666) x 3)),
      401, 'invalid token: malformed token' ],
    [ 'H27', 'an Idempotency-Key of 8,000 bytes', post_import('resource=users',
          'text/csv', $csv1, headers => [ 'Idempotency-Key: ' . ('k' x 8000) ]),
      400, 'Idempotency-Key must be 1 to 255 printable ASCII characters' ],

    # invalid UTF-8 and NUL bytes
    [ 'H28', 'NUL in a query parameter', post_import('resource=users%00', 'text/csv', $csv1),
      400, 'a query parameter holds a NUL byte' ],
    [ 'H29', 'NUL in an export parameter', get('/v1/exports?resource=users&role=admin%00x'),
      400, 'a query parameter holds a NUL byte' ],
    [ 'H30', 'invalid UTF-8 in a filter', get('/v1/exports?resource=users&role=%FF'),
      400, "filter 'role' must be one of admin, author, reader" ],
    [ 'H31', 'invalid UTF-8 in a reference filter',
      get('/v1/exports?resource=articles&author_id=%C0%AF'),
      400, "filter 'author_id' must be a UUID" ],
    [ 'H32', 'NUL escape in an export job', post_export('{"resource":"users\u0000x"}'),
      400, 'the body must not contain NUL characters' ],
    [ 'H33', 'data after an export job body', post_export('{"resource":"users"} DROP'),
      400, 'the body must be a JSON object: {"resource", "format", "filters", "fields"}' ],
    [ 'H34', 'invalid UTF-8 in an export job',
      post_export(qq({"resource":"users","filters":{"role":"\xff"}})),
      400, "filter 'role' must be one of admin, author, reader" ],
    [ 'H35', 'NUL escape in an import URL', post_import('resource=users', 'application/json',
          '{"url":"https://example.com/u.csv\u0000@127.0.0.1"}'),
      400, 'the URL must be an absolute http or https URL' ],
    [ 'H36', 'invalid UTF-8 in the token subject', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}', qq({"sub":"al\xffice"}))),
      401, 'invalid token: malformed token' ],
    [ 'H37', 'a control character in the token subject', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}', qq~{"sub":"al\\u0001ice","exp":$exp}~)),
      401, 'invalid token: missing or invalid subject' ],

    # 100,000-deep JSON in request bodies and tokens
    [ 'H38', '100,000-deep export job body',
      post_export('{"resource":' . ('[' x $deep) . (']' x $deep) . '}'),
      413, 'the request body is limited to 64 KiB' ],
    [ 'H39', '30,000-deep export job body',
      post_export('{"resource":' . ('[' x 30_000) . (']' x 30_000) . '}'),
      400, 'the body must be a JSON object: {"resource", "format", "filters", "fields"}' ],
    [ 'H40', '100,000-deep URL import body', post_import('resource=users',
          'application/json', '{"url":' . ('[' x $deep) . (']' x $deep) . '}'),
      413, 'a JSON request body (not a file) is limited to 64 KiB' ],
    [ 'H41', '1,000-deep token payload', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}',
                       '{"sub":"alice","x":' . ('[' x 1000) . (']' x 1000) . '}')),
      401, 'invalid token: malformed token' ],

    # multipart
    [ 'H42', 'multipart without a boundary', post_mp(multipart([
          file_part('u.csv', 'text/csv', $csv1) ]), ctype => 'multipart/form-data'),
      400, 'multipart/form-data needs a valid boundary parameter' ],
    [ 'H43', 'a boundary of 71 characters', post_mp(multipart([
          file_part('u.csv', 'text/csv', $csv1) ]),
          ctype => 'multipart/form-data; boundary=' . ('b' x 71)),
      400, 'multipart/form-data needs a valid boundary parameter' ],
    [ 'H44', 'nested multipart/mixed parts', post_mp(multipart([
          file_part(undef, 'multipart/mixed; boundary=inner',
                    "--inner\r\n" . file_part('x.csv', 'text/csv', $csv1)
                    . "\r\n--inner--\r\n") ])),
      415, 'unsupported Content-Type of the part "file"' ],
    [ 'H45', 'a missing final boundary', post_mp("--$B\r\n"
          . file_part('u.csv', 'text/csv', $csv1) . "\r\n"),
      400, 'the multipart/form-data body ends before its closing boundary' ],
    [ 'H46', 'two file parts', post_mp(multipart([
          file_part('u.csv', 'text/csv', $csv1), file_part('v.csv', 'text/csv', $csv1) ])),
      400, 'only one part named "file" is allowed' ],
    [ 'H47', '1,001 parts', post_mp(multipart([
          (map { qq(Content-Disposition: form-data; name="x$_"\r\n\r\nx) } 1 .. 1001),
          file_part('u.csv', 'text/csv', $csv1) ])),
      400, 'the multipart/form-data body is malformed' ],
    [ 'H48', 'a part header of 9,000 bytes', post_mp(multipart([
          "X-Big: " . ('a' x 9000) . "\r\n" . file_part('u.csv', 'text/csv', $csv1) ])),
      400, 'the multipart/form-data body is malformed' ],
    [ 'H49', 'two boundary parameters', post_mp(multipart([
          file_part('u.csv', 'text/csv', $csv1) ]),
          ctype => "multipart/form-data; boundary=$B; boundary=other"),
      400, 'multipart/form-data needs a valid boundary parameter' ],
    [ 'H50', 'a part header block that never ends', post_mp("--$B\r\n"
          . qq(Content-Disposition: form-data; name="file"\r\n)),
      400, 'the multipart/form-data body ends before its closing boundary' ],

    # lying Content-Length
    [ 'H51', 'Content-Length longer than the body, then EOF', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Content-Length: 1000' ]) . $csv1,
          sub { shutdown($_[0], 1); 'stop' } ],
      400, 'the request body could not be read completely' ],
    [ 'H52', 'Content-Length longer than the body, then silence', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Content-Length: 1000' ]) . $csv1,
          sub { 'stop' } ],
      408, 'the request body could not be read completely', $vhost ],
    [ 'H53', 'a negative Content-Length', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Content-Length: -5' ]) . $csv1, 400, undef ],
    [ 'H54', 'a Content-Length with garbage', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Content-Length: 12abc' ]) . $csv1, 400, undef ],
    [ 'H55', 'two different Content-Lengths', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Content-Length: 5', 'Content-Length: 22' ])
          . $csv1, 400, undef ],
    [ 'H56', 'a Content-Length over the limit', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Content-Length: 99999999999999' ]) . $csv1,
      413, 'the upload exceeds the limit of 67108864 bytes' ],

    # chunked bodies
    [ 'H57', 'an invalid chunk size', post_import('resource=users&format=csv', 'text/csv',
          undef, headers => [ 'Transfer-Encoding: chunked' ]) . "zz\r\n$csv1\r\n0\r\n\r\n",
      400, undef ],
    [ 'H58', 'a chunk size that overflows', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Transfer-Encoding: chunked' ])
          . "ffffffffffffffffffff\r\n$csv1\r\n0\r\n\r\n", 413, undef ],
    [ 'H59', 'chunked body without its last chunk, then EOF', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Transfer-Encoding: chunked' ])
          . sprintf("%x\r\n%s\r\n", length $csv1, $csv1),
          sub { shutdown($_[0], 1); 'stop' } ],
      400, 'the request body could not be read completely' ],
    [ 'H60', 'a chunk longer than announced', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Transfer-Encoding: chunked' ])
          . sprintf("%x\r\n%s\r\n0\r\n\r\n", 3, $csv1),
          sub { shutdown($_[0], 1); 'stop' } ],
      400, undef ],

    [ 'H61', 'an unknown transfer coding', post_import('resource=users&format=csv',
          'text/csv', undef, headers => [ 'Transfer-Encoding: xchunked' ])
          . "5\r\nemail\r\n0\r\n\r\n", 400, undef ],
    [ 'H62', 'an unknown expectation', post_import('resource=users&format=csv',
          'text/csv', $csv1, headers => [ 'Expect: bogus' ]), 417, undef ],

    # stalls (the virtual host has Timeout 3)
    [ 'H63', 'an upload that stalls', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Content-Length: 100000' ]) . ('x' x 100),
          sub { 'stop' } ],
      408, 'the request body could not be read completely', $vhost ],
    [ 'H64', 'a chunked upload that stalls', [
          post_import('resource=users&format=csv', 'text/csv', undef,
                      headers => [ 'Transfer-Encoding: chunked' ]) . "10\r\nabc",
          sub { 'stop' } ],
      408, 'the request body could not be read completely', $vhost ],
    [ 'H65', 'request headers that stall',
      [ "POST /v1/imports?resource=users HTTP/1.1\r\nHost: localhost\r\n", sub { 'stop' } ],
      408, undef, $vhost ],

    # tampered, truncated and re-signed JWTs
    [ 'H66', 'tampered payload', get("/v1/imports/$uuid",
          token => "$th." . b64url('{"sub":"mallory"}') . ".$ts"),
      401, 'invalid token: bad signature' ],
    [ 'H67', 'truncated to two parts', get("/v1/imports/$uuid", token => "$th.$tp"),
      401, 'invalid token: malformed token' ],
    [ 'H68', 'truncated signature', get("/v1/imports/$uuid",
          token => "$th.$tp." . substr($ts, 0, 20)), 401, 'invalid token: bad signature' ],
    [ 'H69', 're-signed with another secret', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}', '{"sub":"alice"}', 'x' x 40)),
      401, 'invalid token: bad signature' ],
    [ 'H70', 're-signed as alg none', get("/v1/imports/$uuid",
          token => b64url('{"alg":"none"}') . '.' . b64url('{"sub":"alice"}') . '.'),
      401, 'invalid token: unsupported algorithm' ],
    [ 'H71', 're-signed as HS512', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS512"}', '{"sub":"alice"}')),
      401, 'invalid token: unsupported algorithm' ],
    [ 'H72', 'a crit header', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256","crit":["exp"]}', '{"sub":"alice"}')),
      401, 'invalid token: malformed token' ],
    [ 'H73', 'four parts', get("/v1/imports/$uuid", token => "$th.$tp.$ts.$ts"),
      401, 'invalid token: malformed token' ],
    [ 'H74', 'padded base64', get("/v1/imports/$uuid", token => "$th.$tp.$ts="),
      401, 'invalid token: malformed token' ],
    [ 'H75', 'exp as a string', get("/v1/imports/$uuid",
          token => jwt('{"alg":"HS256"}', '{"sub":"alice","exp":"9999999999"}')),
      401, 'invalid token: malformed token' ],

    # Idempotency-Key abuse (the accepted and replayed cases follow)
    [ 'H76', 'an Idempotency-Key of 256 characters', post_import('resource=users',
          'text/csv', $csv1, headers => [ 'Idempotency-Key: ' . ('k' x 256) ]),
      400, 'Idempotency-Key must be 1 to 255 printable ASCII characters' ],
    [ 'H77', 'a control character in an Idempotency-Key', post_import('resource=users',
          'text/csv', $csv1, headers => [ "Idempotency-Key: a\x01b" ]),
      400, undef ],
    [ 'H78', 'a tab in an Idempotency-Key', post_import('resource=users',
          'text/csv', $csv1, headers => [ "Idempotency-Key: a\tb" ]),
      400, 'Idempotency-Key must be 1 to 255 printable ASCII characters' ],
    [ 'H79', 'UTF-8 in an Idempotency-Key', post_import('resource=users',
          'text/csv', $csv1, headers => [ "Idempotency-Key: cl\xc3\xa9" ]),
      400, 'Idempotency-Key must be 1 to 255 printable ASCII characters' ],
    [ 'H80', 'an empty Idempotency-Key', post_import('resource=users',
          'text/csv', $csv1, headers => [ 'Idempotency-Key:' ]),
      400, 'Idempotency-Key must be 1 to 255 printable ASCII characters' ],
);

# H90-: SQL metacharacters in every filter of every resource, by its name
# and its camelCase alias, as a query parameter and in an export job
my $sqlv = "x' OR '1'='1";
my %time = map { $_ => 'time' } qw(created_after created_before updated_after);
my @filters = (
    [ users => role => 'enum', undef, 'admin, author, reader' ],
    [ users => active => 'bool' ],
    [ articles => status => 'enum', undef, 'draft, published' ],
    [ articles => author_id => 'uuid', 'authorId' ],
    [ comments => article_id => 'uuid', 'articleId' ],
    [ comments => user_id => 'uuid', 'userId' ],
    map { my $r = $_; map { [ $r => $_ => 'time',
                              lcfirst join '', map { ucfirst } split /_/ ] }
                          sort keys %time } qw(users articles comments),
);
my %says = (
    enum => sub { "filter '$_[0]' must be one of $_[1]" },
    bool => sub { "filter '$_[0]' must be true or false" },
    uuid => sub { "filter '$_[0]' must be a UUID" },
    time => sub { "filter '$_[0]' must be an RFC 3339 timestamp with an offset, "
                  . 'e.g. 2024-01-01T00:00:00Z' },
);
my $n = 90;
(my $sqlq = $sqlv) =~ s/([^A-Za-z0-9_.-])/sprintf '%%%02X', ord $1/ge;
for my $f (@filters) {
    my ($res, $name, $type, $alias, $values) = @$f;
    my $detail = $says{$type}->($name, $values);
    for my $param (grep { defined } $name, $alias) {
        push @catalogue,
            [ 'H' . $n++, "SQL in filter $param of $res",
              get("/v1/exports?resource=$res&$param=$sqlq"), 400, $detail ],
            [ 'H' . $n++, "SQL in filter $param of an export job of $res",
              post_export(qq({"resource":"$res","filters":{"$param":"$sqlv"}})),
              400, $detail ];
    }
}
push @catalogue, [ 'H' . $n++, 'SQL in the export format',
                   get("/v1/exports?resource=users&format=csv'--"),
                   400, 'unknown format; allowed: ndjson, json, csv, tsv' ];

# accepted hostile requests, checked one by one below
my $tmpname = "hostile-$$-" . int(rand 1e9);
my @accepted = (
    [ 'H81', 'a file name climbing out of the spool', post_mp(multipart([
          file_part("../../../../tmp/$tmpname.csv", undef, $csv1) ])), 'csv' ],
    [ 'H82', 'a Windows file name climbing out', post_mp(multipart([
          file_part("..\\..\\..\\tmp\\$tmpname.ndjson", undef,
                    qq({"email":"h1\@http.hostile.test"}\n)) ])), 'ndjson' ],
    [ 'H83', 'a Content-Length shorter than the body', post_import(
          'resource=users&format=csv', 'text/csv', undef,
          headers => [ 'Content-Length: ' . length($csv1) ])
          . $csv1 . "h2\@http.hostile.test\r\n", 'csv' ],
    [ 'H84', 'Content-Length and chunked together', post_import(
          'resource=users&format=csv', 'text/csv', undef,
          headers => [ 'Content-Length: 5', 'Transfer-Encoding: chunked' ])
          . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $csv1, $csv1), 'csv' ],
    [ 'H85', 'a chunked body with extensions and trailers', post_import(
          'resource=users&format=csv', 'text/csv', undef,
          headers => [ 'Transfer-Encoding: chunked' ])
          . sprintf("%x;ext=\"1\"\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n", length $csv1, $csv1),
      'csv' ],
);

plan tests => 5 * @catalogue + 5 * @accepted + 15;

reset_data();
my $jobs0 = job_total();

sub settle_spool {
    my $want = shift;
    for (1 .. 20) {
        my $now = join ' ', spool_listing();
        return $now if $now eq $want;
        sleep 0.1;
    }
    return join ' ', spool_listing();
}

for my $c (@catalogue) {
    my ($id, $name, $request, $status, $detail, $at) = @$c;
    my $spool = join ' ', spool_listing();
    my $t0 = time;
    my ($st, $h, $body) = raw_request_at($at // $main,
                                         ref $request ? @$request : $request);
    my $took = time - $t0;
    my $doc = json_decode($body);
    $doc = {} unless ref $doc eq 'HASH';
    my $reason = ($h->{'content-type'} // '') eq 'application/problem+json'
        ? $doc->{title} : '';
    ok t_cmp($st, $status, "$id $name: $status") or print "# $body\n";
    ok t_cmp($h->{'content-type'} // '', 'application/problem+json',
             "$id $name: problem+json");
    ok t_cmp(join('|', $doc->{type} // '', $doc->{status} // ''),
             "about:blank|$status", "$id $name: type and status");
    ok t_cmp($doc->{detail} // '', $detail // $reason, "$id $name: detail");
    ok t_cmp(settle_spool($spool), $spool, "$id $name: no spool file left");
    print "# $id took ${\ sprintf '%.1f', $took} s\n" if $took > 1;
}

ok t_cmp(job_total(), $jobs0, 'the refused requests made no job');

for my $c (@accepted) {
    my ($id, $name, $request, $format) = @$c;
    my ($st, $h, $body) = raw_request_at($main, $request);
    ok t_cmp($st, 202, "$id $name: 202") or print "# $body\n";
    my $job = json_decode($body)->{job_id} // '';
    my $doc = wait_job($job);
    ok t_cmp(join('|', @$doc{qw(status format totalRecords successCount)}),
             "completed|$format|1|1", "$id $name: one record imported");
    my $path = sql_value("SELECT source_path FROM bulkio_jobs WHERE public_id = '$job'");
    # a large object (BULKIO_TEST_SPOOL=database) is named by its oid and
    # unlinked, its name cleared, as the import ends
    ok t_cmp($path, database_spool() ? ''
             : Apache::Test::vars('serverroot') . "/spool/import-$job",
             "$id $name: stored in the spool under the job's name");
    ok t_cmp(-e "/tmp/$tmpname.csv" || -e "/tmp/$tmpname.ndjson" ? 'exists' : 'none',
             'none', "$id $name: nothing written outside the spool");
    ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'h2\@http.hostile.test'"),
             0, "$id $name: bytes past the body are not imported");
}

# Idempotency-Key abuse: SQL in a key is a key like any other
my $sqlkey = "k'; DROP TABLE bulkio_jobs;-- " . int(rand 1e9);
my $csvk = "email\r\nkey\@http.hostile.test\r\n";
my @r1 = raw_request_at($main, post_import('resource=users', 'text/csv', $csvk,
                                           headers => [ "Idempotency-Key: $sqlkey" ]));
my @r2 = raw_request_at($main, post_import('resource=users', 'text/csv', $csvk,
                                           headers => [ "Idempotency-Key: $sqlkey" ]));
ok t_cmp("$r1[0] $r2[0]", '202 202', 'H86 SQL in an Idempotency-Key: 202, replayed');
ok t_cmp($r2[2], $r1[2], 'H86 the replay names the same job');
my $alice_job = json_decode($r1[2])->{job_id};

# another principal's key: bob's request with alice's key is bob's own
my @b = raw_request_at($main, post_import('resource=users', 'text/csv', $csvk,
                       token => token(sub => 'bob'),
                       headers => [ "Idempotency-Key: $sqlkey" ]));
my $bob_job = (json_decode($b[2]) // {})->{job_id} // '';
ok t_cmp($b[0], 202, "H87 another principal's key: 202");
ok t_cmp($bob_job ne $alice_job ? 'new job' : 'same job', 'new job',
         "H87 bob gets a job of his own, not alice's");
my @peek = raw_request_at($main, get("/v1/imports/$alice_job", token => token(sub => 'bob')));
ok t_cmp($peek[0], 404, "H87 and still cannot see alice's job");

# the same key, a different request: 422
my @r3 = raw_request_at($main, post_import('resource=articles', 'text/csv', $csvk,
                                           headers => [ "Idempotency-Key: $sqlkey" ]));
ok t_cmp($r3[0] . ' ' . ((json_decode($r3[2]) // {})->{detail} // ''),
         '422 this Idempotency-Key was used for a different request',
         'H88 the same key for a different request: 422');

# an upload that stalls with a key releases it: a retry is not 409
my $stallkey = 'stall-' . int(rand 1e9);
my @s = raw_request_at($vhost, post_import('resource=users&format=csv', 'text/csv', undef,
                       headers => [ "Idempotency-Key: $stallkey",
                                    'Content-Length: 1000' ]) . 'email', sub { 'stop' });
ok t_cmp($s[0], 408, 'H89 a stalled upload with an Idempotency-Key: 408');
my @retry = raw_request_at($main, post_import('resource=users', 'text/csv', $csvk,
                           headers => [ "Idempotency-Key: $stallkey" ]));
ok t_cmp($retry[0], 202, 'H89 the retry with the same key is accepted, not 409');

# after the catalogue
wait_idle();
my $accepted_jobs = @accepted + 3;      # H81-H85, H86, H87, H89
ok t_cmp(job_total() - $jobs0, $accepted_jobs, 'only accepted requests made jobs');
my @stray = grep { !/^(import|export)-[0-9a-f-]{36}/ } spool_listing();
ok t_cmp("@stray", '', 'no upload-* leftovers in the spool directory');
my %known = map { $_ => 1 } sql("SELECT public_id FROM bulkio_jobs");
my @orphans = grep { /^(?:import|export)-([0-9a-f-]{36})/ && !$known{$1} } spool_listing();
ok t_cmp("@orphans", '', 'every spool file belongs to a job');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE '%\@http.hostile.test'"),
         2, 'the accepted uploads imported their rows');
my @health = raw_request_at($main, get('/v1/health', token => undef));
ok t_cmp($health[0], 200, 'the server still answers /v1/health');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_idempotency_keys WHERE idem_key = '$stallkey'"
                   . " AND job_id IS NOT NULL"), 1, 'the stalled key was used once, by the retry');
