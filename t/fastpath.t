use strict;
use warnings FATAL => 'all';

# A batch in which no key repeats is first tried as new rows (the insert
# statement); when one of its rows meets an existing row, that attempt is
# rolled back and the batch applied row by row as usual. Either way the
# outcome is the one file order gives. Updates that change nothing are not
# written again. A batch of new users goes by COPY straight into the table
# and writes the rows the staged path writes.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 26;

sub errors_of {
    my $doc = shift;
    return join ' ', map { "$_->{recordIndex}:$_->{errorType}:$_->{field}" }
                     @{ $doc->{errors} };
}

my $u1 = '00000000-0000-4000-8000-0000000000c1';
my $u2 = '00000000-0000-4000-8000-0000000000c2';
my $u3 = '00000000-0000-4000-8000-0000000000c3';
my $u4 = '00000000-0000-4000-8000-0000000000c4';
reset_data();
my $doc = import_lines('users',
    qq({"id":"$u1","email":"one\@example.com","name":"One"}),
    qq({"id":"$u2","email":"two\@example.com","name":"Two"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '2/0', 'new users');

# no key repeats in the file, but rows meet existing ones: a new user, an
# update by id, a new id with a taken email, a match by email alone
$doc = import_lines('users',
    qq({"id":"$u3","email":"three\@example.com","name":"Three"}),
    qq({"id":"$u1","email":"one\@example.com","name":"One again"}),
    qq({"id":"$u4","email":"TWO\@example.com","name":"Four"}),
    qq({"email":"two\@example.com","name":"Two again"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '3/1',
         'mixed batch: three applied, one failed');
ok t_cmp(errors_of($doc), '2:DUPLICATE_ERROR:email',
         'the new id with a taken email fails');
ok t_cmp(sql_value("SELECT string_agg(external_id || '=' || name, ','"
                   . " ORDER BY external_id) FROM users"),
         "$u1=One again,$u2=Two again,$u3=Three", 'the users as the file says');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 3, 'nothing inserted twice');

# the same file again: every row an update that changes nothing
my $line = qq({"id":"$u3","email":"three\@example.com","name":"Three",)
           . qq("created_at":"2024-01-01T00:00:00Z",)
           . qq("updated_at":"2024-01-02T00:00:00Z"});
import_lines('users', $line);
my $before = sql_value("SELECT xmin FROM users WHERE external_id = '$u3'");
$doc = import_lines('users', $line);
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '1/0',
         'an unchanged row counts as applied');
ok t_cmp(sql_value("SELECT xmin FROM users WHERE external_id = '$u3'"),
         $before, 'and is not written again');
$line =~ s/"Three"/"Three, renamed"/;
$doc = import_lines('users', $line);
ok t_cmp(sql_value("SELECT name FROM users WHERE external_id = '$u3'"),
         'Three, renamed', 'a changed row is written');
# without updated_at the row takes the time of its import: a change (mode
# replace, where a missing field takes its default; upsert would keep the
# stored updated_at of a row whose other fields do not change)
$line = qq({"id":"$u3","email":"three\@example.com","name":"Three, renamed",)
        . qq("created_at":"2024-01-01T00:00:00Z"});
$doc = import_lines('users&mode=replace', $line);
ok t_cmp(sql_value("SELECT updated_at > now() - interval '1 hour'"
                   . " FROM users WHERE external_id = '$u3'"), 't',
         'a row without updated_at gets the time of its import');

# articles: references resolved on the insert path, failures in place
my $a1 = '00000000-0000-4000-8000-0000000000d1';
my $a2 = '00000000-0000-4000-8000-0000000000d2';
my $a3 = '00000000-0000-4000-8000-0000000000d3';
my $ghost = '00000000-0000-4000-8000-0000000000ff';
$doc = import_lines('articles',
    qq({"id":"$a1","slug":"s-one","title":"T","body":"x",)
    . qq("author_id":"$u1"}),
    qq({"id":"$a2","slug":"s-two","title":"T","body":"x",)
    . qq("author_id":"$ghost"}),
    qq({"id":"$a3","slug":"s-three","title":"T","body":"x",)
    . qq("author_id":"\U$u2\E"}));
ok t_cmp(errors_of($doc), '1:FOREIGN_KEY_ERROR:author_id',
         'an unknown author fails alone');
ok t_cmp(sql_value("SELECT string_agg(slug, ',' ORDER BY id) FROM articles"),
         's-one,s-three', 'the other articles are in, in file order');

# a taken slug under a new id sends the batch down the usual path
$doc = import_lines('articles',
    qq({"id":"$a2","slug":"s-two","title":"T","body":"x",)
    . qq("author_id":"$u1"}),
    qq({"id":"$ghost","slug":"s-one","title":"T","body":"x",)
    . qq("author_id":"$u1"}));
ok t_cmp(errors_of($doc), '1:DUPLICATE_ERROR:slug', 'a taken slug fails');
ok t_cmp(sql_value('SELECT count(*) FROM articles'), 3,
         'the new article is in, once');

# comments: both references, and an id that exists already
my $c1 = 'cm_00000000-0000-4000-8000-0000000000e1';
$doc = import_lines('comments',
    qq({"id":"$c1","article_id":"$a1","user_id":"$u1","body":"hi"}),
    qq({"article_id":"a-missing-1","user_id":"$u1","body":"hi"}),
    qq({"article_id":"$a1","user_id":"$ghost","body":"hi"}),
    qq({"article_id":"$a3","user_id":"$u2","body":"hello"}));
ok t_cmp(errors_of($doc),
         '1:FOREIGN_KEY_ERROR:article_id 2:FOREIGN_KEY_ERROR:user_id',
         'comments: each reference fails alone');
$doc = import_lines('comments',
    qq({"article_id":"$a3","user_id":"$u1","body":"new"}),
    qq({"id":"$c1","article_id":"$a1","user_id":"$u2","body":"edited"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '2/0',
         'a new comment and an update of an existing one');
ok t_cmp(sql_value("SELECT string_agg(body, ',' ORDER BY id) FROM comments"),
         'edited,hello,new', 'comments as the file says, none twice');

# users: a batch of new users is COPYed straight into the table. A trigger
# logs each statement that inserts users (its text, rows, transaction
# time); with fail, it fails the direct COPY, so that the batch takes the
# staged path (staging COPY, then the apply statement). Both give the same
# rows, results and counts; what must differ (an id the record does not
# carry, generated; the import's time; the internal ids, when a failed try
# took them from the sequence) is compared by what it must be.
sql(<<'SQL');
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS fastpath_log (query text, n bigint,
                                         tx timestamptz);
CREATE OR REPLACE FUNCTION fastpath_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'fail' AND current_query() LIKE '%COPY users%' THEN
        RAISE EXCEPTION 'fastpath.t: no direct COPY';
    END IF;
    IF TG_ARGV[0] = 'log' THEN
        INSERT INTO fastpath_log SELECT current_query(), count(*), now()
          FROM new_rows;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS fastpath_fail ON users;
CREATE OR REPLACE TRIGGER fastpath_log AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION fastpath_log('log');
SQL

# the triggers go even when the test dies before it drops them
END {
    eval { sql('DROP TRIGGER IF EXISTS fastpath_fail ON users;'
               . ' DROP TRIGGER IF EXISTS fastpath_log ON users') };
}

my @users = (
    qq({"id":"$u1","email":"Mixed.Case\@Example.com","name":"Tab\\there",)
    . qq("role":"admin","active":false,)
    . qq("created_at":"2024-02-29T23:59:59.123456+05:30",)
    . qq("updated_at":"2024-03-01T00:00:00Z"}),
    qq({"email":"noid1\@example.com","name":"Back\\\\slash \\u00e9"}),
    qq({"id":"\U$u2\E","email":"two\@example.com","role":"author",)
    . qq("created_at":"2023-01-01T00:00:00-08:00"}),
    qq({"id":"$u3","email":"not an email"}),
    qq({"email":"noid2\@example.com","updated_at":"2025-05-05T05:05:05Z"}),
    qq({"id":"$u4","email":"four\@example.com","name":"","active":true}));

# every row as text, in id order: the id the record carries (a generated
# one: whether it is a v4 UUID, and the one its result names), a column
# the import filled with its transaction's time: 'now'
my $rows_sql = <<'SQL';
SELECT string_agg(r, E'\n' ORDER BY n) FROM (
  SELECT row_number() OVER (ORDER BY id) AS n,
         concat_ws('|', row_number() OVER (ORDER BY id),
           CASE WHEN email LIKE 'noid%'
                THEN (external_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')::text
                ELSE external_id END,
           email, coalesce(name, '(null)'), role, active,
           CASE WHEN created_at = l.tx THEN 'now' ELSE created_at::text END,
           CASE WHEN updated_at = l.tx THEN 'now' ELSE updated_at::text END)
           AS r
    FROM users, (SELECT max(tx) AS tx FROM fastpath_log) l) t
SQL

# the import's rows, statements, counts, errors and results
sub users_run {
    reset_data();
    sql('TRUNCATE fastpath_log');
    my $d = import_lines('users', @users);
    my $res = GET "/v1/imports/$d->{job_id}/results", auth();
    my %xid = map { $_ => 1 } sql("SELECT external_id FROM users");
    my $results = join ' ', map {
        my $e = json_decode($_);
        join ':', $e->{recordIndex}, $e->{action},
                  ($e->{id} // '-') =~ /^$u1|^$u2|^$u4/ ? $e->{id}
                  : defined $e->{id} && $xid{$e->{id}} ? 'row' : 'none'
    } split /\n/, $res->content;
    return { rows => join("\n", sql($rows_sql)),
             md5 => join(',', sql("SELECT md5(t::text) FROM (SELECT"
                             . " nullif(external_id, CASE WHEN email LIKE"
                             . " 'noid%' THEN external_id END), email,"
                             . " name, role, active, nullif(created_at,"
                             . " l.tx), nullif(updated_at, l.tx),"
                             . " id - min(id) OVER () AS n"
                             . " FROM users, (SELECT max(tx) AS tx FROM"
                             . " fastpath_log) l) t ORDER BY n")),
             log => join(',', sql("SELECT CASE WHEN query LIKE"
                             . " '%COPY users%' THEN 'copy' WHEN query"
                             . " LIKE '%bulkio_stage_users%' THEN 'staged'"
                             . " ELSE query END || ':' || n"
                             . " FROM fastpath_log")),
             counts => join('/', map { $d->{$_} // '-' } qw(totalRecords
                             successCount errorCount insertedCount
                             updatedCount unchangedCount)),
             errors => errors_of($d), results => $results };
}

my $direct = users_run();
ok t_cmp($direct->{log}, 'copy:5',
         'the new users went by one COPY into users');
ok t_cmp($direct->{counts}, '6/5/1/5/0/0', 'its counts');
ok t_cmp($direct->{errors}, '3:VALIDATION_ERROR:email', 'its error entry');
ok t_cmp($direct->{results}, "0:inserted:$u1 1:inserted:row"
         . " 2:inserted:$u2 3:failed:none 4:inserted:row"
         . " 5:inserted:$u4", 'its results name the rows');
ok t_cmp(scalar(() = $direct->{rows} =~ /\|now/g), 6,
         'absent timestamps are the transaction time');

sql('CREATE TRIGGER fastpath_fail AFTER INSERT ON users'
    . ' REFERENCING NEW TABLE AS new_rows'
    . " FOR EACH STATEMENT EXECUTE FUNCTION fastpath_log('fail')");
my $staged = users_run();
ok t_cmp($staged->{log}, 'staged:5',
         'with the COPY failing, the batch was staged and applied');
ok t_cmp($staged->{rows}, $direct->{rows},
         'the same rows by both paths');
ok t_cmp($staged->{md5}, $direct->{md5},
         'row by row byte-identical (but what must differ)');
ok t_cmp(join(' ', @$staged{qw(counts errors results)}),
         join(' ', @$direct{qw(counts errors results)}),
         'the same counts, error entries and results');
sql('DROP TRIGGER fastpath_fail ON users; DROP TRIGGER fastpath_log ON users;'
    . ' DROP TABLE fastpath_log; DROP FUNCTION fastpath_log()');
ok t_cmp(sql_value("SELECT count(*) FROM pg_trigger"
                   . " WHERE tgrelid = 'users'::regclass"
                   . " AND NOT tgisinternal"), 0, 'the triggers are gone');
