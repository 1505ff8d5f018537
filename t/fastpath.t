use strict;
use warnings FATAL => 'all';

# A batch in which no key repeats is first tried as new rows (the insert
# statement); when one of its rows meets an existing row, that attempt is
# rolled back and the batch applied row by row as usual. Either way the
# outcome is the one file order gives. Updates that change nothing are not
# written again.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 16;

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
