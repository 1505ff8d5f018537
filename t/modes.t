use strict;
use warnings FATAL => 'all';

# Import modes (docs/rules.md, "Modes"): upsert with partial updates,
# insert, update, replace, delete; explicit null and the CSV \N cell; the
# action counts; the mode as a query parameter, a form field and in the
# Idempotency-Key fingerprint; unknown parameters. Every case asserts the
# rows in PostgreSQL, in each format (NDJSON, JSON array, CSV, gzip).
use Apache::Test;
use Apache::TestRequest qw(POST GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT import_file wait_accepted);

plan tests => 103;

# Import (import_file) and wait: the job's status document.
sub run { return wait_accepted(import_file(@_)) }

sub counts {
    my $d = shift;
    return join '/', map { $d->{$_} // 'undef' }
        qw(successCount insertedCount updatedCount unchangedCount
           deletedCount errorCount);
}

sub errors_of {
    my $d = shift;
    return join ' ', map { "$_->{recordIndex}:$_->{errorType}:$_->{field}" }
                     @{ $d->{errors} };
}

# The stored row of a user as text, without the columns listed.
sub user_row {
    my ($id, @skip) = @_;
    my %skip = map { $_ => 1 } @skip;
    my @cols = grep { !$skip{$_} }
        qw(external_id email name role active created_at updated_at);
    return sql_value('SELECT ' . join(" || '|' || ", map {
        "coalesce($_\::text, '<null>')" } @cols)
        . " FROM users WHERE external_id = '$id'") // '<none>';
}

my $c1 = '00000000-0000-4000-8000-00000000c001';
my $c2 = '00000000-0000-4000-8000-00000000c002';
my $c3 = '00000000-0000-4000-8000-00000000c003';
my $c4 = '00000000-0000-4000-8000-00000000c004';

# A partial update of c1 in format that nulls name and column col: one
# update, name NULL and col its default, every other column as before.
sub nulls {
    my ($format, $content, $col, $dflt, $what) = @_;
    my $before = user_row($c1, 'name', $col, 'updated_at');
    my $d = run('resource=users', $format, $content);
    ok t_cmp(counts($d), '1/0/1/0/0/0', "$what: one update");
    ok t_cmp(sql_value("SELECT coalesce(name, '<null>') || ' ' || $col"
                       . " FROM users WHERE external_id = '$c1'"),
             "<null> $dflt", "$what clears name and resets $col");
    ok t_cmp(user_row($c1, 'name', $col, 'updated_at'), $before,
             "$what: the fields not carried (or empty) are kept");
}

reset_data();

# ---- upsert (the default): partial updates ----
my $d = run('resource=users', 'ndjson',
    qq({"id":"$c1","email":"c1\@example.com","name":"Ann","role":"admin",)
    . qq("active":false,"created_at":"2024-01-01T00:00:00Z"}\n));
ok t_cmp($d->{mode}, 'upsert', 'the default mode is upsert');
ok t_cmp(counts($d), '1/1/0/0/0/0', 'one insert');
my $before = user_row($c1, qw(name updated_at));

# CSV with only id,name: every other field keeps its stored value
$d = run('resource=users', 'csv', "id,name\n$c1,Anne\n");
ok t_cmp(counts($d), '1/0/1/0/0/0', 'csv id,name: one update');
ok t_cmp(user_row($c1, qw(name updated_at)), $before,
         'csv partial update: every other field byte-identical');
ok t_cmp(sql_value("SELECT name || ' ' || role || ' ' || active"
                   . " FROM users WHERE external_id = '$c1'"),
         'Anne admin false', 'the name changed, role and active did not');

# the same partial file again: unchanged, nothing written
my $xmin = sql_value("SELECT xmin FROM users WHERE external_id = '$c1'");
$before = user_row($c1);
$d = run('resource=users', 'csv', "id,name\n$c1,Anne\n");
ok t_cmp(counts($d), '1/0/0/1/0/0', 'the same partial file: unchanged');
ok t_cmp(user_row($c1), $before, 'the row is byte-identical');
ok t_cmp(sql_value("SELECT xmin FROM users WHERE external_id = '$c1'"),
         $xmin, 'and was not written again');

# an empty CSV cell keeps the field; \N clears name, resets role
nulls('csv', "id,email,name,role\n$c1,,\\N,\\N\n", 'role', 'reader',
      'csv \\N');

# NDJSON: an absent member keeps, null clears or resets to the default
sql("UPDATE users SET role = 'author', active = false, name = 'X'"
    . " WHERE external_id = '$c1'");
nulls('ndjson', qq({"id":"$c1","name":null,"active":null}\n), 'active',
      'true', 'ndjson null');

# JSON array and gzip: partial updates too
$before = user_row($c1, qw(name updated_at));
$d = run('resource=users', 'json', qq([{"id":"$c1","name":"J"}]));
ok t_cmp(counts($d), '1/0/1/0/0/0', 'json array partial update');
ok t_cmp(user_row($c1, qw(name updated_at)), $before, 'json: others kept');
$d = run('resource=users', 'gzip', qq({"id":"$c1","name":"G"}\n));
ok t_cmp(counts($d), '1/0/1/0/0/0', 'gzip partial update');
ok t_cmp(sql_value("SELECT name FROM users WHERE external_id = '$c1'")
         . ' ' . (user_row($c1, qw(name updated_at)) eq $before ? 'kept'
                  : 'changed'), 'G kept', 'gzip: name set, others kept');

# required fields bind records that insert only
$d = run('resource=users', 'ndjson',
         qq({"id":"$c2","name":"No email"}\n{"id":"$c1","name":"Upd"}\n));
ok t_cmp(counts($d), '1/0/1/0/0/1', 'a new user without email fails alone');
ok t_cmp(errors_of($d), '0:VALIDATION_ERROR:email', 'email is required');
ok t_cmp($d->{errors}[0]{errorMessage}, 'email is required', 'its message');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE external_id = '$c2'"),
         0, 'nothing inserted for it');

# articles: an update by id needs only the id
my $a1 = '00000000-0000-4000-8000-00000000a001';
$d = run('resource=articles', 'ndjson',
    qq({"id":"$a1","slug":"s-one","title":"T","body":"B","author_id":"$c1",)
    . qq("tags":["x","y"],"status":"published",)
    . qq("published_at":"2024-02-02T00:00:00Z"}\n));
ok t_cmp(counts($d), '1/1/0/0/0/0', 'an article');
my $art = sub {
    sql_value("SELECT concat_ws('|', slug, title, body, author_id, tags,"
              . " published_at, status, created_at)"
              . " FROM articles WHERE external_id = '$a1'");
};
my $abefore = $art->();
$d = run('resource=articles', 'csv', "id,title\n$a1,T2\n");
ok t_cmp(counts($d), '1/0/1/0/0/0', 'article id,title: updated');
(my $aexpect = $abefore) =~ s/^([^|]*)\|T\|/$1|T2|/;
ok t_cmp($art->(), $aexpect, 'article: only the title changed');

# ---- insert ----
$d = run('resource=users&mode=insert', 'ndjson',
         qq({"id":"$c1","email":"other\@example.com"}\n)
         . qq({"id":"$c3","email":"c3\@example.com"}\n));
ok t_cmp($d->{mode}, 'insert', 'mode insert');
ok t_cmp(counts($d), '1/1/0/0/0/1', 'insert: one new, one existing');
ok t_cmp(errors_of($d), '0:DUPLICATE_ERROR:id', 'existing id: duplicate');
ok t_cmp($d->{errors}[0]{errorMessage}, 'id already names an existing user',
         'its message');
ok t_cmp(sql_value("SELECT email FROM users WHERE external_id = '$c1'"),
         'c1@example.com', 'the existing user is not updated');

# ---- update ----
$d = run('resource=users&mode=update', 'csv',
         "id,name\n$c3,Three\n$c4,Four\n");
ok t_cmp(counts($d), '1/0/1/0/0/1', 'update: one known, one unknown');
ok t_cmp(errors_of($d), '1:NOT_FOUND_ERROR:id', 'unknown id: not found');
ok t_cmp($d->{errors}[0]{errorMessage}, 'id names no existing user',
         'its message');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE external_id = '$c4'"),
         0, 'nothing inserted');
ok t_cmp(sql_value("SELECT name || ' ' || email FROM users"
                   . " WHERE external_id = '$c3'"),
         'Three c3@example.com', 'the known one updated, email kept');
$d = run('resource=users&mode=update', 'ndjson',
         qq({"email":"C3\@example.com","role":"author"}\n{"name":"x"}\n));
ok t_cmp(errors_of($d), '1:VALIDATION_ERROR:id',
         'update by email; a record without a key fails');
ok t_cmp(sql_value("SELECT role FROM users WHERE external_id = '$c3'"),
         'author', 'updated by its email');

# ---- replace: a missing field takes its default ----
sql("UPDATE users SET role = 'admin', active = false"
    . " WHERE external_id = '$c3'");
$d = run('resource=users&mode=replace', 'csv',
         "id,email\n$c3,c3\@example.com\n");
ok t_cmp($d->{mode}, 'replace', 'mode replace');
ok t_cmp(sql_value("SELECT coalesce(name, '<null>') || ' ' || role || ' '"
                   . " || active FROM users WHERE external_id = '$c3'"),
         '<null> reader true', 'replace resets every missing field');

# ---- delete ----
$d = run('resource=users&mode=delete', 'ndjson',
         qq({"id":"$c3"}\n{"id":"$c4"}\n{"id":"$c1"}\n));
ok t_cmp(counts($d), '1/0/0/0/1/2', 'delete: one deleted, two fail');
ok t_cmp(errors_of($d), '1:NOT_FOUND_ERROR:id 2:FOREIGN_KEY_ERROR:id',
         'unknown id; a user with an article');
ok t_cmp($d->{errors}[1]{errorMessage}, qr/articles/,
         'the message says what references it');
ok t_cmp(sql_value("SELECT string_agg(external_id, ',' ORDER BY external_id)"
                   . " FROM users"), $c1, 'c3 deleted, c1 kept');
$d = run('resource=articles&mode=delete', 'csv', "slug\ns-one\nnope\n");
ok t_cmp(counts($d), '1/0/0/0/1/1', 'articles deleted by slug');
ok t_cmp(errors_of($d), '1:NOT_FOUND_ERROR:slug', 'unknown slug');
ok t_cmp(sql_value('SELECT count(*) FROM articles'), 0, 'the article is gone');
$d = run('resource=users&mode=delete', 'gzip',
         qq({"email":"C1\@example.com"}\n));
ok t_cmp(counts($d), '1/0/0/0/1/0', 'a user deleted by email (gzip)');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 0, 'no user left');

# ---- the request ----
my $res = import_file('resource=users&dryrun=1', 'ndjson', "{}\n");
ok t_cmp($res->code, 400, 'an unknown parameter: 400');
ok t_cmp($res->header('Content-Type'), qr{application/problem\+json},
         'as problem+json');
ok t_cmp(json_decode($res->content)->{detail},
         qr/unknown parameter 'dryrun'; allowed: resource, format, mode, max_errors, dry_run, atomic, callback_url, delimiter, columns, charset$/,
         'naming the allowed ones');
$res = import_file('resource=users&mode=merge', 'ndjson', "{}\n");
ok t_cmp($res->code, 400, 'an unknown mode: 400');
ok t_cmp(json_decode($res->content)->{detail},
         qr/upsert, insert, update, replace, delete/, 'naming the modes');

# the mode as a form field of a multipart upload
$res = POST '/v1/imports?resource=users', auth(),
    Content_Type => 'form-data',
    Content => [ mode => 'insert',
                 file => [ undef, 'u.ndjson',
                           Content => qq({"id":"$c2","email":"f\@example.com"}\n),
                           'Content-Type' => 'application/x-ndjson' ] ];
ok t_cmp($res->code, 202, 'multipart with a mode field');
$d = wait_job(json_decode($res->content)->{job_id});
ok t_cmp("$d->{mode} " . counts($d), 'insert 1/1/0/0/0/0',
         'the form field sets the mode');

# ... and as members of a {"url"} body (max_errors as a number)
my $vars = Apache::Test::vars();
mkdir "$vars->{documentroot}/modes";
open my $fh, '>', "$vars->{documentroot}/modes/users.ndjson" or die $!;
print $fh qq({"id":"$c2","email":"url\@example.com"}\n);
close $fh;
$res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'application/json',
    content => qq({"url": "http://127.0.0.1:$vars->{port}/modes/users.ndjson",)
               . qq( "mode": "insert", "max_errors": 0});
ok t_cmp($res->code, 202, 'a URL import with mode and max_errors');
$d = wait_job(json_decode($res->content)->{job_id});
ok t_cmp("$d->{mode} $d->{maxErrors} $d->{status}", 'insert 0 failed',
         'the body sets them: the existing id fails and passes max_errors 0');
ok t_cmp(errors_of($d), '0:DUPLICATE_ERROR:id', 'as an insert');

# the mode is part of the Idempotency-Key fingerprint
my $body = qq({"id":"$c4","email":"k\@example.com"}\n);
$res = import_file('resource=users', 'ndjson', $body,
                   'Idempotency-Key' => 'modes-key');
ok t_cmp($res->code, 202, 'with a key');
wait_job(json_decode($res->content)->{job_id});
$res = import_file('resource=users&mode=upsert', 'ndjson', $body,
                   'Idempotency-Key' => 'modes-key');
ok t_cmp($res->code, 202, 'the same request (upsert is the default): replay');
$res = import_file('resource=users&mode=insert', 'ndjson', $body,
                   'Idempotency-Key' => 'modes-key');
ok t_cmp($res->code, 422, 'the same key with another mode: 422');

# list items show the mode and the action counts
$res = GET '/v1/imports?limit=1', auth();
my $item = json_decode($res->content)->{items}[0] // {};
ok t_cmp(join(',', map { exists $item->{$_} ? $_ : "no $_" }
              qw(mode insertedCount updatedCount unchangedCount deletedCount)),
         'mode,insertedCount,updatedCount,unchangedCount,deletedCount',
         'list items carry mode and counts');
ok t_cmp(join(',', map { exists $item->{$_} ? $_ : "no $_" }
              qw(maxErrors dryRun atomic)), 'maxErrors,dryRun,atomic',
         'and maxErrors, dryRun, atomic');

# ---- every mode in every format: the rows afterwards ----
# Records as lists of [field, value] pairs, written as format.
sub encode {
    my ($format, @recs) = @_;
    if ($format eq 'csv') {
        my (@cols, %seen);
        for my $r (@recs) {
            push @cols, grep { !$seen{$_}++ } map { $_->[0] } @$r;
        }
        return join(',', @cols) . "\n" . join('', map {
            my %h = map { @$_ } @$_;
            join(',', map { $h{$_} // '' } @cols) . "\n" } @recs);
    }
    my @objs = map {
        '{' . join(',', map { qq("$_->[0]":) . (defined $_->[1]
            ? ($_->[1] =~ /^(true|false)$/ ? $_->[1] : qq("$_->[1]"))
            : 'null') } @$_) . '}' } @recs;
    return $format eq 'json' ? '[' . join(',', @objs) . ']'
                             : join('', map { "$_\n" } @objs);
}

# Every user as text, by external id.
my $all_users = "SELECT string_agg(concat_ws('|', external_id, email,"
    . " coalesce(name, '<null>'), role, active::text,"
    . " created_at AT TIME ZONE 'UTC'), ';' ORDER BY external_id) FROM users";

# c1 an admin with a name, c2 a reader; the state each case starts from.
sub seed {
    reset_data();
    run('resource=users', 'ndjson',
        qq({"id":"$c1","email":"c1\@example.com","name":"Ann",)
        . qq("role":"admin","active":false,)
        . qq("created_at":"2024-01-01T00:00:00Z"}\n)
        . qq({"id":"$c2","email":"c2\@example.com",)
        . qq("created_at":"2024-01-02T00:00:00Z"}\n));
    return sql_value($all_users);
}

my $u1 = "$c1|c1\@example.com|Ann|admin|false|2024-01-01 00:00:00";
my $u2 = "$c2|c2\@example.com|<null>|reader|true|2024-01-02 00:00:00";
my %cases = (
    # mode => [records, counts, every user afterwards]
    upsert  => [ [ [ [id => $c1], [name => 'Partial'] ] ],
                 '1/0/1/0/0/0', join(';', $u1 =~ s/\|Ann\|/|Partial|/r, $u2) ],
    insert  => [ [ [ [id => $c1], [email => 'x@example.com'] ],
                   [ [id => $c3], [email => 'c3@example.com'],
                     [created_at => '2024-01-03T00:00:00Z'] ] ],
                 '1/1/0/0/0/1',
                 join(';', $u1, $u2, "$c3|c3\@example.com|<null>|reader|true"
                                     . '|2024-01-03 00:00:00') ],
    update  => [ [ [ [id => $c1], [name => 'Upd'] ],
                   [ [id => $c4], [name => 'Nobody'] ] ],
                 '1/0/1/0/0/1', join(';', $u1 =~ s/\|Ann\|/|Upd|/r, $u2) ],
    replace => [ [ [ [id => $c1], [email => 'c1@example.com'] ] ],
                 '1/0/1/0/0/0',
                 join(';', "$c1|c1\@example.com|<null>|reader|true"
                           . '|2024-01-01 00:00:00', $u2) ],
    delete  => [ [ [ [id => $c2] ], [ [id => $c4] ] ],
                 '1/0/0/0/1/1', $u1 ],
);
for my $mode (qw(upsert insert update replace delete)) {
    my ($recs, $counts, $rows) = @{ $cases{$mode} };
    for my $format (qw(ndjson json csv gzip)) {
        seed();
        my $content = encode($format eq 'gzip' ? 'ndjson' : $format, @$recs);
        my $d = run("resource=users&mode=$mode", $format, $content);
        ok t_cmp(counts($d), $counts, "$mode, $format: the counts");
        ok t_cmp(sql_value($all_users), $rows,
                 "$mode, $format: the rows (the others byte-identical)");
    }
}
