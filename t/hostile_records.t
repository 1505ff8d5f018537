use strict;
use warnings FATAL => 'all';

# The hostile-input catalogue, record level (docs/hostile.md, R1-R30):
# hostile records fail alone with the documented error entry, and the
# valid records of the same file are imported. Request-level cases are in
# t/hostile_http.t.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport spool_listing job_total);

# what a record that is not UTF-8 fails with (docs/records.md, "Charsets")
my $BAD_UTF8 = 'invalid UTF-8: if the file is Windows-1252 or Latin-1 (as '
    . 'spreadsheets often save CSV), import it again with '
    . 'charset=windows-1252 or charset=iso-8859-1, or save it as UTF-8';

my $DEEP = 100_000;
my $max_record = 1024 * 1024;   # BulkIOMaxRecordSize in t/conf/extra.conf.in

# Each case: name, resource, Content-Type, file content, expected errors
# [recordIndex, line, errorType, errorMessage], and the users (by email
# domain) that must be in the table afterwards.
my @cases;

# R1-R14: one NDJSON file holding every kind of hostile line between
# valid ones
push @cases, {
    name => 'NDJSON with hostile lines',
    ctype => 'application/x-ndjson',
    body => join("\n",
        '{"email":"ok1@r1.hostile.test"}',                               # 1
        qq({"email":"bad\xff\@r1.hostile.test"}),                        # 2
        qq({"email":"nul\0\@r1.hostile.test"}),                          # 3
        '{"email":"esc\u0000@r1.hostile.test"}',                         # 4
        qq({"email":"overlong\@r1.hostile.test","name":"\xc0\xaf"}),     # 5
        qq({"email":"surrogate\@r1.hostile.test","name":"\xed\xa0\x80"}),# 6
        '[' x $DEEP,                                                     # 7
        '{"email":"deep@r1.hostile.test","x":' . ('[' x $DEEP)
            . (']' x $DEEP) . '}',                                       # 8
        q~{"email":"o'brien@r1.hostile.test","name":"Robert'); DROP TABLE users;--"}~, # 9
        q({"email":"x@r1.hostile.test' OR '1'='1"}),                     # 10
        q({"email":"role@r1.hostile.test","role":"admin'--"}),           # 11
        q({"email":"keys@r1.hostile.test","id'; DROP TABLE users;--":"x","\"":1,"":2}), # 12
        '[1,2]',                                                         # 13
        '{"email":"trailing@r1.hostile.test"} DROP',                     # 14
        qq({"email":"bidi\@r1.hostile.test","name":"\xe2\x80\xae\xef\xbb\xbf"}), # 15
        '{"email":"ok2@r1.hostile.test"}',                               # 16
    ) . "\n",
    errors => [
        [ 1, 2, 'PARSE_ERROR', $BAD_UTF8 ],
        [ 2, 3, 'PARSE_ERROR', 'NUL byte' ],
        [ 3, 4, 'PARSE_ERROR', 'NUL byte' ],
        [ 4, 5, 'PARSE_ERROR', $BAD_UTF8 ],
        [ 5, 6, 'PARSE_ERROR', $BAD_UTF8 ],
        [ 6, 7, 'PARSE_ERROR', 'invalid JSON: nesting too deep' ],
        [ 7, 8, 'PARSE_ERROR', 'invalid JSON: nesting too deep' ],
        [ 9, 10, 'VALIDATION_ERROR', 'email is not a valid address' ],
        [ 10, 11, 'VALIDATION_ERROR', 'role must be one of admin, author, reader' ],
        [ 12, 13, 'PARSE_ERROR', 'not a JSON object' ],
        [ 13, 14, 'PARSE_ERROR', 'invalid JSON: unexpected character' ],
    ],
    domain => 'r1.hostile.test',
    users => [ qw(bidi keys o'brien ok1 ok2) ],
};

# R15-R19: CSV: a row of 100,000 columns, bad encodings, SQL in a header name
push @cases, {
    name => 'CSV with hostile rows',
    ctype => 'text/csv',
    body => join("\r\n",
        q(email,name,"role'; DROP TABLE users;--"),                     # 1
        'ok1@r9.hostile.test,Bobby,admin',                               # 2
        join(',', 'wide@r9.hostile.test', ('x') x ($DEEP - 1)),          # 3
        qq(bad\xff\@r9.hostile.test,x,),                                 # 4
        qq(nul\0\@r9.hostile.test,x,),                                   # 5
        q~ok2@r9.hostile.test,"Robert""); DROP TABLE users;--",~,       # 6
        q(ab"c@r9.hostile.test,,),                                       # 7
        'ok3@r9.hostile.test,,',                                         # 8
    ) . "\r\n",
    errors => [
        [ 1, 3, 'PARSE_ERROR', "row has $DEEP fields, header has 3" ],
        [ 2, 4, 'PARSE_ERROR', $BAD_UTF8 ],
        [ 3, 5, 'PARSE_ERROR', 'NUL byte' ],
        [ 5, 7, 'PARSE_ERROR', 'stray quote in an unquoted field' ],
    ],
    domain => 'r9.hostile.test',
    users => [ qw(ok1 ok2 ok3) ],
};

# R20: a CSV header of 100,000 columns
push @cases, {
    name => 'CSV header of 100,000 columns',
    ctype => 'text/csv',
    body => join("\n",
        join(',', 'email', map { "c$_" } 2 .. $DEEP),
        join(',', 'full@r10.hostile.test', ('v') x ($DEEP - 1)),
        'short@r10.hostile.test',
    ) . "\n",
    errors => [ [ 1, 3, 'PARSE_ERROR', "row has 1 fields, header has $DEEP" ] ],
    domain => 'r10.hostile.test',
    users => [ qw(full) ],
};

# R21-R23: a JSON array with a 100,000-deep element, a NUL escape, a string
push @cases, {
    name => 'JSON array with hostile elements',
    ctype => 'application/json',
    body => "[\n" . join(",\n",
        '{"email":"ok1@r11.hostile.test"}',
        '{"email":"deep@r11.hostile.test","x":' . ('[' x $DEEP)
            . (']' x $DEEP) . '}',
        '{"email":"nul\u0000@r11.hostile.test"}',
        '"a string"',
        '{"email":"ok2@r11.hostile.test"}',
    ) . "\n]\n",
    errors => [
        [ 1, 3, 'PARSE_ERROR', 'invalid JSON: nesting too deep' ],
        [ 2, 4, 'PARSE_ERROR', 'NUL byte' ],
        [ 3, 5, 'PARSE_ERROR', 'not a JSON object' ],
    ],
    domain => 'r11.hostile.test',
    users => [ qw(ok1 ok2) ],
};

# R25-R30: SQL metacharacters in every text field and reference of articles
# and comments (the author is imported first, by the users case below)
my $sql = q~'); DROP TABLE articles;--~;
sub lit { my $v = shift; $v =~ s/'/''/g; return "'$v'" }
my $uid = '11111111-2222-4333-8444-555555555555';
my $aid = '66666666-7777-4888-8999-aaaaaaaaaaaa';
my @more = ({
    name => 'users for the SQL cases',
    resource => 'users',
    ctype => 'application/x-ndjson',
    body => qq({"id":"$uid","email":"author\@r25.hostile.test"}\n),
    errors => [],
    domain => 'r25.hostile.test',
    users => [ 'author' ],
}, {
    name => 'articles with SQL in every field',
    resource => 'articles',
    ctype => 'application/x-ndjson',
    body => join("\n",
        qq({"id":"$aid","slug":"sql-everywhere","title":"t$sql","body":"b$sql",)
            . qq("author_id":"$uid","tags":["$sql","x\\"y"]}),                 # 1
        qq({"slug":"bad$sql","title":"t","body":"b","author_id":"$uid"}),        # 2
        qq({"slug":"fk-sql","title":"t","body":"b","author_id":"' OR 1=1 --"}), # 3
    ) . "\n",
    errors => [
        [ 1, 2, 'VALIDATION_ERROR', 'slug must be kebab-case (lower-case letters '
                                    . 'and digits in groups joined by single hyphens)' ],
        [ 2, 3, 'FOREIGN_KEY_ERROR', 'author_id does not name an existing user' ],
    ],
    count => [ 'SELECT count(*) FROM articles WHERE title = ' . lit("t$sql")
               . ' AND body = ' . lit("b$sql") . ' AND tags = ARRAY['
               . lit($sql) . ', ' . lit('x"y') . ']', 1 ],
}, {
    name => 'comments with SQL in every field',
    resource => 'comments',
    ctype => 'text/csv',
    body => "article_id,user_id,body\r\n"
        . qq($aid,$uid,"c$sql, ""quoted"" and ;"\r\n)                         # 2
        . qq("' OR 1=1 --",$uid,x\r\n)                                        # 3
        . qq($aid,"$uid' --",x\r\n),                                          # 4
    errors => [
        [ 1, 3, 'FOREIGN_KEY_ERROR', 'article_id does not name an existing article' ],
        [ 2, 4, 'FOREIGN_KEY_ERROR', 'user_id does not name an existing user' ],
    ],
    count => [ 'SELECT count(*) FROM comments WHERE body = '
               . lit(qq(c$sql, "quoted" and ;)), 1 ],
});

plan tests => 4 * @cases + 9 + 4 * @more;

reset_data();

sub check_job {
    my ($c, $id) = @_;
    my $doc = wait_job($id);
    my @got = map { [ @$_{qw(recordIndex line errorType errorMessage)} ] }
              @{ $doc->{errors} // [] };
    ok t_cmp($doc->{status}, 'completed', "$c->{name}: completed");
    ok t_cmp(join("\n", map { join '|', @$_ } @got),
             join("\n", map { join '|', @$_ } @{ $c->{errors} }),
             "$c->{name}: exactly the documented error entries");
    ok t_cmp($doc->{successCount}, scalar @{ $c->{users} },
             "$c->{name}: successCount");
    my @users = sql("SELECT split_part(email, '\@', 1) FROM users"
                    . " WHERE email LIKE '%\@$c->{domain}' ORDER BY 1");
    ok t_cmp("@users", "@{ $c->{users} }",
             "$c->{name}: the valid records are imported");
}

my @jobs;
for my $c (@cases) {
    my $res = Apache::TestRequest::POST('/v1/imports?resource=users', auth(),
        'Content-Type' => $c->{ctype}, content => $c->{body});
    die "$c->{name}: " . $res->code . ' ' . $res->content
        unless $res->code == 202;
    push @jobs, json_decode($res->content)->{job_id};
    check_job($c, $jobs[-1]);
}

for my $c (@more) {
    my $res = Apache::TestRequest::POST("/v1/imports?resource=$c->{resource}",
        auth(), 'Content-Type' => $c->{ctype}, content => $c->{body});
    die "$c->{name}: " . $res->code . ' ' . $res->content
        unless $res->code == 202;
    my $doc = wait_job(json_decode($res->content)->{job_id});
    my @got = map { [ @$_{qw(recordIndex line errorType errorMessage)} ] }
              @{ $doc->{errors} // [] };
    ok t_cmp($doc->{status}, 'completed', "$c->{name}: completed");
    ok t_cmp(join("\n", map { join '|', @$_ } @got),
             join("\n", map { join '|', @$_ } @{ $c->{errors} }),
             "$c->{name}: exactly the documented error entries");
    ok t_cmp($doc->{successCount}, 1, "$c->{name}: successCount");
    if ($c->{count}) {
        ok t_cmp(sql_value($c->{count}[0]), $c->{count}[1],
                 "$c->{name}: the values are stored verbatim");
    }
    else {
        ok t_cmp(sql_value("SELECT count(*) FROM users WHERE external_id = '$uid'"),
                 1, "$c->{name}: imported");
    }
}

# the errors of hostile records stream as valid NDJSON and CSV
my $res = GET "/v1/imports/$jobs[0]/errors", auth();
my @lines = grep { length } split /\n/, $res->content;
ok t_cmp(scalar(grep { json_decode($_) } @lines) . '/' . scalar(@lines),
         scalar(@{ $cases[0]{errors} }) . '/' . scalar(@{ $cases[0]{errors} }),
         'R1-R14: the errors stream is valid NDJSON, one line per error');
$res = GET "/v1/imports/$jobs[0]/errors?format=csv", auth();
ok t_cmp($res->code . ' ' . (() = $res->content =~ /\r\n/g),
         '200 ' . (1 + @{ $cases[0]{errors} }), 'R1-R14: and as CSV');

# and the stored values leave verbatim
$res = GET '/v1/exports?resource=users&fields=email,name', auth();
ok t_cmp(scalar(grep { ($_->{name} // '') eq "Robert'); DROP TABLE users;--" }
                map { json_decode($_) } split /\n/, $res->content), 1,
         'R8: SQL in a value exported verbatim');

# SQL in values is stored verbatim, through parameters
ok t_cmp(sql_value("SELECT name FROM users WHERE email = 'o''brien\@r1.hostile.test'"),
         "Robert'); DROP TABLE users;--", 'R8: SQL in a value stored verbatim');

# R24: a single line of 100 MB, streamed through the socket to the
# virtual host that allows uploads this large: PARSE_ERROR naming the
# size limit, the records around it imported
my $size = 100 * 1024 * 1024;
my $head = '{"email":"big@r12.hostile.test","name":"';
my $tail = qq("}\n{"email":"after\@r12.hostile.test"}\n);
my $first = qq({"email":"before\@r12.hostile.test"}\n);
my $len = length($first) + $size + length($tail);
my $chunk = 'x' x (1024 * 1024);
my ($st, $h, $body) = raw_request_at(vhost_hostport('bulkio_hostile'),
    "POST /v1/imports?resource=users&format=ndjson HTTP/1.1\r\n"
    . "Host: localhost\r\nAuthorization: Bearer " . token() . "\r\n"
    . "Content-Type: application/x-ndjson\r\nContent-Length: $len\r\n"
    . "Connection: close\r\n\r\n",
    sub {
        my $s = shift;
        print $s $first, $head;
        my $left = $size - length($head);
        while ($left > 0) {
            my $n = $left < length $chunk ? $left : length $chunk;
            print $s substr($chunk, 0, $n) or die "send: $!";
            $left -= $n;
        }
        print $s $tail;
        return;
    });
ok t_cmp($st, 202, 'R24: a 100 MB single line is accepted (202)')
    or print "# $body\n";
my $doc = wait_job(json_decode($body)->{job_id});
my @errors = map { [ @$_{qw(recordIndex line errorType errorMessage)} ] }
             @{ $doc->{errors} // [] };
ok t_cmp(join('|', map { @$_ } @errors),
         "1|2|PARSE_ERROR|record exceeds $max_record bytes",
         'R24: PARSE_ERROR naming the record size limit');
ok t_cmp(length($doc->{errors}[0]{recordData} // ''), 4096,
         'R24: the error keeps 4 KiB of the record, not 100 MB');
my @users = sql("SELECT split_part(email, '\@', 1) FROM users"
                . " WHERE email LIKE '%\@r12.hostile.test' ORDER BY 1");
ok t_cmp("@users", 'after before', 'R24: the records around it imported');

# nothing of the files is left in the way: the server still answers
$res = GET '/v1/health';
ok t_cmp($res->code, 200, 'the server still answers /v1/health');
