use strict;
use warnings FATAL => 'all';

# Exports: streamed and as jobs; filters, fields, 400s, ranges, 409/410,
# a client that goes away; and the lossless round trip.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 106;

my $dir = Apache::Test::vars('t_dir') . '/logs';
my @res = qw(users articles comments);
my @fmts = qw(ndjson json csv);
my %n = (users => 120, articles => 120, comments => 240);
my %ctype = (ndjson => 'application/x-ndjson', json => 'application/json',
             csv => 'text/csv; charset=utf-8');

sub export { GET "/v1/exports?$_[0]", auth($_[1]) }
sub save {
    my ($path, $content) = @_;
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $content;
    close $fh;
}
sub import_all {
    my ($fmt, $files) = @_;
    for my $r (@res) {
        my $doc = wait_job(upload($files->{$r}, "resource=$r&format=$fmt"));
        die "import of $r failed" unless $doc->{status} eq 'completed';
    }
}

# data exercising every rule, imported once
reset_data();
my %src;
for my $r (@res) {
    gendata($src{$r} = "$dir/exp-src-$r.ndjson", resource => $r,
            format => 'ndjson', count => $n{$r}, users => $n{users},
            articles => $n{articles});
}
import_all('ndjson', \%src);

# streamed exports of everything, in every format
my %first;
for my $f (@fmts) {
    for my $r (@res) {
        my $res = export("resource=$r&format=$f");
        $first{$f}{$r} = $res->content;
        ok t_cmp($res->code, 200, "GET export $r as $f: 200");
        ok t_cmp($res->header('Content-Type'), $ctype{$f}, "$r $f: type");
        ok t_cmp($res->header('Content-Disposition'),
                 qr/^attachment; filename="$r-\d{8}T\d{6}Z\.$f"$/,
                 "$r $f: attachment");
    }
}
my @lines = split /\n/, $first{ndjson}{users};
ok t_cmp(scalar @lines, sql_value('SELECT count(*) FROM users'),
         'one NDJSON line per user');
my $u = json_decode($lines[0]);
ok t_cmp(join(',', sort keys %$u),
         'active,created_at,email,id,name,role,updated_at', 'all user fields');
ok t_cmp($u->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
         'timestamps in UTC with Z');
my $arr = json_decode($first{json}{articles});
ok t_cmp(ref $arr eq 'ARRAY' && scalar @$arr,
         sql_value('SELECT count(*) FROM articles'), 'JSON: one array');
my ($a) = grep { $_->{body} =~ /"quotes"/ } @$arr;
ok t_cmp($a->{body}, qr/"quotes", commas\nand a newline/, 'JSON escaping');
ok t_cmp(ref $a->{tags}, 'ARRAY', 'tags as an array');
my @csv = split /\r\n/, $first{csv}{users};
ok t_cmp($csv[0], 'id,email,name,role,active,created_at,updated_at',
         'CSV header');

# the round trip: import each export into an empty database, export again
for my $f (@fmts) {
    reset_data();
    my %files;
    for my $r (@res) {
        save($files{$r} = "$dir/exp-rt-$r.$f", $first{$f}{$r});
    }
    import_all($f, \%files);
    for my $r (@res) {
        ok t_cmp(export("resource=$r&format=$f")->content, $first{$f}{$r},
                 "round trip $r as $f: byte-identical");
    }
}

# filters and fields
my $role = () = export('resource=users&role=admin')->content =~ /\n/g;
ok t_cmp($role, sql_value("SELECT count(*) FROM users WHERE role = 'admin'"),
         'role filter');
my $act = () = export('resource=users&active=false')->content =~ /\n/g;
ok t_cmp($act, sql_value('SELECT count(*) FROM users WHERE NOT active'),
         'active filter');
my $author = sql_value('SELECT u.external_id FROM articles a JOIN users u'
                       . ' ON u.id = a.author_id ORDER BY a.id LIMIT 1');
my $pub = () = export("resource=articles&status=published&authorId=\U$author")
                   ->content =~ /\n/g;
ok t_cmp($pub, sql_value("SELECT count(*) FROM articles a JOIN users u ON"
                         . " u.id = a.author_id WHERE status = 'published'"
                         . " AND u.external_id = '$author'"),
         'status and author_id (camelCase, upper-case UUID) filters');
my $art = sql_value('SELECT a.external_id FROM comments c JOIN articles a'
                    . ' ON a.id = c.article_id ORDER BY c.id LIMIT 1');
my $cn = () = export("resource=comments&article_id=$art")->content =~ /\n/g;
ok t_cmp($cn, sql_value("SELECT count(*) FROM comments c JOIN articles a ON"
                        . " a.id = c.article_id WHERE a.external_id = '$art'"),
         'article_id filter');
my $usr = sql_value('SELECT u.external_id FROM comments c JOIN users u'
                    . ' ON u.id = c.user_id ORDER BY c.id LIMIT 1');
$cn = () = export("resource=comments&user_id=$usr")->content =~ /\n/g;
ok t_cmp($cn, sql_value("SELECT count(*) FROM comments c JOIN users u ON"
                        . " u.id = c.user_id WHERE u.external_id = '$usr'"),
         'user_id filter');
my $after = () = export('resource=users&created_after=2024-06-01T00:00:00Z'
                        . '&created_before=2024-09-01T00:00:00%2B02:00')
                     ->content =~ /\n/g;
ok t_cmp($after, sql_value("SELECT count(*) FROM users WHERE created_at >"
                           . " '2024-06-01T00:00:00Z' AND created_at <"
                           . " '2024-09-01T00:00:00+02:00'"),
         'created_after and created_before');
my $upd = () = export('resource=articles&updated_after=2000-01-01T00:00:00Z')
                   ->content =~ /\n/g;
ok t_cmp($upd, sql_value('SELECT count(*) FROM articles'), 'updated_after');
my $few = export('resource=users&fields=email,id')->content;
ok t_cmp((split /\n/, $few)[0], qr/^\{"email":"[^"]+","id":"[^"]+"\}$/,
         'fields, in the order asked');
ok t_cmp((split /\r\n/, export('resource=articles&format=csv&fields=slug,tags')
                            ->content)[0], 'slug,tags', 'CSV header of fields');

# 400s name what is allowed
my @bad = (
    [ 'resource=posts', qr/users, articles, comments/ ],
    [ '', qr/resource/ ],
    [ 'resource=users&format=xml', qr/ndjson, json, csv/ ],
    [ 'resource=users&colour=red', qr/role/ ],
    [ 'resource=users&status=draft', qr/role/ ],
    [ 'resource=users&fields=id,password', qr/email/ ],
    [ 'resource=users&role=boss', qr/admin/ ],
    [ 'resource=users&active=maybe', qr/true/ ],
    [ 'resource=articles&author_id=1%27%20OR%201=1', qr/author_id/ ],
    [ 'resource=users&created_after=yesterday', qr/created_after/ ],
);
for my $b (@bad) {
    my $res = export($b->[0]);
    ok t_cmp($res->code . ' ' . $res->header('Content-Type'),
             '400 application/problem+json', "400 for '$b->[0]'");
    ok t_cmp((json_decode($res->content) // {})->{detail}, $b->[1],
             "... naming what is allowed");
}

# export jobs, the original request shape
my $body = '{"resource": "articles", "format": "csv", '
         . '"filters": {"status": "published"}, "fields": ["id", "title", "slug"]}';
my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    'Idempotency-Key' => 'exp-1', content => $body;
ok t_cmp($res->code, 202, 'POST /v1/exports: 202');
my $id = json_decode($res->content)->{job_id};
ok t_cmp($res->header('Location'), "/v1/exports/$id", 'Location');
my $again = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    'Idempotency-Key' => 'exp-1', content => $body;
ok t_cmp(json_decode($again->content)->{job_id}, $id, 'idempotent replay');
my $other = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    'Idempotency-Key' => 'exp-1', content => '{"resource": "users"}';
ok t_cmp($other->code, 422, 'same key, other export: 422');
my $doc;
for (1 .. 300) {
    $doc = json_decode(GET("/v1/exports/$id", auth())->content);
    last if $doc->{status} =~ /completed|failed/;
    sleep 0.1;
}
ok t_cmp($doc->{status}, 'completed', 'export job completed');
ok t_cmp($doc->{downloadUrl}, "/v1/exports/$id/download", 'downloadUrl');
ok t_cmp($doc->{expiresAt}, qr/Z$/, 'expiresAt');
my $dl = GET $doc->{downloadUrl}, auth();
ok t_cmp($dl->code, 200, 'download: 200');
ok t_cmp($dl->content, export('resource=articles&format=csv&status=published'
                              . '&fields=id,title,slug')->content,
         'the file equals the streamed export');
ok t_cmp($dl->header('Content-Length'), length($dl->content), 'Content-Length');
ok t_cmp($doc->{fileSize}, length($dl->content), 'fileSize');
ok t_cmp($doc->{totalRecords}, scalar(split /\r\n/, $dl->content) - 1,
         'totalRecords');
my $etag = $dl->header('ETag');
ok t_cmp(defined $etag && defined $dl->header('Last-Modified'), 1,
         'ETag and Last-Modified');
my $part = GET $doc->{downloadUrl}, auth(), Range => 'bytes=3-12';
ok t_cmp($part->code, 206, 'Range: 206');
ok t_cmp($part->content, substr($dl->content, 3, 10), 'the bytes asked for');
ok t_cmp($part->header('Content-Range'),
         "bytes 3-12/" . length($dl->content), 'Content-Range');
ok t_cmp(GET($doc->{downloadUrl}, auth(), 'If-None-Match' => $etag)->code,
         304, 'If-None-Match: 304');
ok t_cmp(GET("/v1/exports/$id", auth('bob'))->code, 404,
         "another principal's job: 404");
ok t_cmp(GET($doc->{downloadUrl}, auth('bob'))->code, 404,
         "another principal's download: 404");

# not ready: 409; expired: 410 and the file is gone
my $path = sql_value("SELECT source_path FROM bulkio_jobs WHERE public_id = '$id'");
sql("UPDATE bulkio_jobs SET status = 'running' WHERE public_id = '$id'");
ok t_cmp(GET($doc->{downloadUrl}, auth())->code, 409, 'before completion: 409');
sql("UPDATE bulkio_jobs SET status = 'completed',"
    . " expires_at = now() - interval '1 second' WHERE public_id = '$id'");
$res = GET $doc->{downloadUrl}, auth();
ok t_cmp($res->code, 410, 'after expiry: 410');
ok t_cmp(-e $path ? 'present' : 'gone', 'gone', 'the file is gone');

# csv_safe=true (docs/api.md, "Exports"): cells that a spreadsheet would
# run as a formula (starting =, +, -, @, tab or CR) get a leading ' as the
# errors CSV's do; plain exports stay lossless
my @risky = ('=1+1', '+SUM(A1)', '-2+3', '@cmd', "\tTab", 'plain name');
import_lines('users', map {
    my $name = $risky[$_];
    $name =~ s/\t/\\t/;
    qq({"email": "csvsafe-$_\@example.com", "name": "$name"})
} 0 .. $#risky);
sub risky_cells {
    my ($csv) = @_;
    my %name;
    for (split /\r\n/, $csv) {
        $name{$1} = $2 if /^csvsafe-(\d)\@example\.com,(.*)$/s;
    }
    return join '|', map { $name{$_} // 'missing' } 0 .. $#risky;
}
my $plain = export('resource=users&format=csv&fields=email,name')->content;
ok t_cmp(risky_cells($plain), join('|', @risky), 'plain CSV: the names as stored');
my $safe_res = export('resource=users&format=csv&fields=email,name&csv_safe=true');
ok t_cmp($safe_res->code, 200, 'csv_safe=true: 200');
my $safe = $safe_res->content;
ok t_cmp(risky_cells($safe), "'=1+1|'+SUM(A1)|'-2+3|'\@cmd|'\tTab|plain name",
         'csv_safe=true: a leading quote before =, +, -, @ and tab, nothing else');
ok t_cmp(scalar(split /\r\n/, $safe), scalar(split /\r\n/, $plain),
         'every row still there');
ok t_cmp(export('resource=users&format=csv&fields=email,name&csv_safe=false')->content,
         $plain, 'csv_safe=false: the plain export');
$res = export('resource=users&format=ndjson&csv_safe=true');
ok t_cmp($res->code . ' ' . ((json_decode($res->content) // {})->{detail} // ''),
         '400 csv_safe applies to format=csv only', 'csv_safe with ndjson: 400');
ok t_cmp(export('resource=users&format=csv&csv_safe=yes')->code, 400,
         'csv_safe=yes: 400');
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "format": "csv", "fields": ["email", "name"],'
               . ' "csv_safe": true}';
ok t_cmp($res->code, 202, 'an export job with "csv_safe": true');
$id = json_decode($res->content)->{job_id};
for (1 .. 300) {
    $doc = json_decode(GET("/v1/exports/$id", auth())->content);
    last if $doc->{status} =~ /completed|failed/;
    sleep 0.1;
}
ok t_cmp(GET($doc->{downloadUrl} // '/none', auth())->content, $safe,
         'its file equals the streamed csv_safe export');
$res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "csv_safe": "yes"}';
ok t_cmp($res->code, 400, '"csv_safe": "yes" in a job: 400');

# a client that goes away mid-export leaves no query behind
reset_data();
my $big = "$dir/exp-big.csv";
gendata($big, resource => 'users', format => 'csv', count => 200_000,
        profile => 'valid');
wait_job(upload($big, 'resource=users&format=csv'));
my ($st) = raw_request("GET /v1/exports?resource=users HTTP/1.1\r\n"
                       . "Host: localhost\r\nAuthorization: Bearer " . token()
                       . "\r\n\r\n",
                       sub { my $s = shift; my $buf; read $s, $buf, 65536;
                             close $s });
my $busy;
for (1 .. 50) {
    $busy = sql_value("SELECT count(*) FROM pg_stat_activity"
                      . " WHERE datname = current_database()"
                      . " AND pid <> pg_backend_pid() AND state <> 'idle'");
    last unless $busy;
    sleep 0.1;
}
ok t_cmp($busy, 0, 'after a disconnect no backend is left busy');
ok t_cmp(GET('/v1/health')->code, 200, 'and the server still answers');
