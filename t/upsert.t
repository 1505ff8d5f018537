use strict;
use warnings FATAL => 'all';

# File order where rows meet only through rows already in the database:
# a segment of the batch is split where two rows touch one existing row,
# so every row sees the effect of the rows before it.
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 10;

my $u1 = '00000000-0000-4000-8000-0000000000a1';
my $u2 = '00000000-0000-4000-8000-0000000000a2';
my $u3 = '00000000-0000-4000-8000-0000000000a3';
reset_data();
import_lines('users',
    qq({"id":"$u1","email":"a\@example.com","name":"A"}),
    qq({"id":"$u2","email":"b\@example.com","name":"B"}));

# 0 moves A off a@; 1, a new user, takes a@ (free after 0); 2 matches B by
# email alone (no id) and renames it; 3 takes B's old email, free after 2.
my $doc = import_lines('users',
    qq({"id":"$u1","email":"c\@example.com","name":"A2"}),
    qq({"id":"$u3","email":"a\@example.com","name":"N"}),
    qq({"email":"b\@example.com","name":"B2"}),
    qq({"id":"$u1","email":"b2\@example.com","name":"A3"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '4/0',
         'every row applies in file order');
ok t_cmp(sql_value("SELECT email || ' ' || name FROM users"
                   . " WHERE external_id = '$u1'"), 'b2@example.com A3',
         'A: the last of its rows');
ok t_cmp(sql_value("SELECT email FROM users WHERE external_id = '$u3'"),
         'a@example.com', 'the new user took the email A gave up');
ok t_cmp(sql_value("SELECT name FROM users WHERE external_id = '$u2'"),
         'B2', 'B matched by email');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 3, 'three users');

# the same email claimed twice through the database: the second fails
$doc = import_lines('users',
    qq({"id":"$u3","email":"z\@example.com"}),
    qq({"id":"$u2","email":"b2\@example.com"}),
    qq({"id":"$u2","email":"y\@example.com"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '2/1', 'one duplicate');
my $e = $doc->{errors}[0];
ok t_cmp("$e->{recordIndex} $e->{errorType} $e->{field}",
         '1 DUPLICATE_ERROR email', 'record 1: the email is A\'s');
ok t_cmp(sql_value("SELECT email FROM users WHERE external_id = '$u2'"),
         'y@example.com', 'record 2 still applied');

# articles: a slug freed earlier in the file is taken later in it
my $a1 = '00000000-0000-4000-8000-0000000000b1';
my $a2 = '00000000-0000-4000-8000-0000000000b2';
import_lines('articles', qq({"id":"$a1","slug":"first","title":"T",)
              . qq("body":"x","author_id":"$u1","status":"draft"}));
$doc = import_lines('articles',
    qq({"id":"$a1","slug":"renamed","title":"T","body":"x",)
    . qq("author_id":"$u1","status":"draft"}),
    qq({"id":"$a2","slug":"first","title":"T","body":"x",)
    . qq("author_id":"$u1","status":"draft"}));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '2/0',
         'articles in file order');
ok t_cmp(sql_value("SELECT string_agg(slug, ',' ORDER BY external_id)"
                   . " FROM articles"), 'renamed,first', 'slugs');
