use strict;
use warnings FATAL => 'all';

# Imports of many batches through two connections (BulkIOImportConnections
# 2, the default): a batch is written beside the one before it only where
# the two cannot meet, commits go in file order, and the outcome is the one
# file order gives, record for record (through one connection too: make
# test-asan).
use Apache::Test;
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 21;

sub uid { sprintf '00000000-0000-4000-8000-%012d', shift }

reset_data();
my $n = 5000;
my $doc = import_lines('users', map {
    my $i = $_;
    qq({"id":"@{[uid($i)]}","email":"user$i\@example.com","name":"U$i"})
} 0 .. $n - 1);
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", "$n/0",
         'five batches of new users');
ok t_cmp(sql_value("SELECT string_agg(name, ',' ORDER BY id) FROM users"),
         join(',', map { "U$_" } 0 .. $n - 1), 'inserted in file order');

# batch 0 moves users 0-999 to new emails; batch 1, new users without id,
# takes the emails batch 0 gave up; batch 2 renames batch 1's users by
# email (its keys are batch 1's: it waits for it); batch 3 gives new ids
# the emails of users 1000-1999 (duplicates) and of users 0-999's old
# addresses, now held by batch 1's users (duplicates too); batch 4 updates
# users 2000-2999 by id.
my @lines = (
    (map { qq({"id":"@{[uid($_)]}","email":"moved$_\@example.com",)
           . qq("name":"M$_"}) } 0 .. 999),
    (map { qq({"email":"user$_\@example.com","name":"N$_"}) } 0 .. 999),
    (map { qq({"email":"USER$_\@example.com","name":"R$_"}) } 0 .. 999),
    (map { my $e = $_ % 2 ? "user@{[1000 + $_]}" : "user$_";
           qq({"id":"@{[uid(10000 + $_)]}","email":"$e\@example.com"}) }
     0 .. 999),
    (map { qq({"id":"@{[uid(2000 + $_)]}","email":"user@{[2000 + $_]})
           . qq(\@example.com","name":"V$_"}) } 0 .. 999),
);
$doc = import_lines('users', @lines);
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '4000/1000',
         'batches meeting through the database: 1000 duplicates');
my @dups = sql("SELECT record_index, error_type, field FROM bulkio_job_errors"
               . " WHERE job_id = (SELECT id FROM bulkio_jobs WHERE public_id ="
               . " '$doc->{job_id}') ORDER BY record_index");
ok t_cmp(scalar(@dups), 1000, 'one error entry per duplicate');
ok t_cmp(scalar(grep { $_ eq '|DUPLICATE_ERROR|email' } map {
             my ($i, $t, $f) = split /\|/; ($i >= 3000 && $i < 4000 ? '' : $i)
             . "|$t|$f" } @dups), 1000, 'all of them in batch 3, on email');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE 'moved%'"
                   . " AND email = 'moved' || substr(name, 2) || '\@example.com'"
                   . " AND external_id = '00000000-0000-4000-8000-' ||"
                   . " lpad(substr(name, 2), 12, '0')"), 1000,
         'batch 0: users 0-999 moved');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE id > $n"
                   . " AND email = 'USER' || substr(name, 2) || '\@example.com'"
                   . " AND name LIKE 'R%'"), 1000,
         'batch 1 took the freed emails; batch 2 renamed them by email');
ok t_cmp(sql_value("SELECT string_agg(substr(name, 2), ',' ORDER BY id)"
                   . " FROM users WHERE id > $n"), join(',', 0 .. 999),
         'batch 1 inserted in file order');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE name LIKE 'V%'"), 1000,
         'batch 4 applied');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $n + 1000,
         'no user twice, none lost');

# updates, and then new users again: the new ones in file order still
my $top = sql_value('SELECT max(id) FROM users');
$doc = import_lines('users',
    (map { qq({"id":"@{[uid($_)]}","email":"user$_\@example.com",)
           . qq("name":"W$_"}) } 2000 .. 4999),
    (map { qq({"email":"late$_\@example.com","name":"L$_"}) } 0 .. 2999));
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '6000/0',
         'updates, then new users');
ok t_cmp(sql_value("SELECT string_agg(substr(name, 2), ',' ORDER BY id)"
                   . " FROM users WHERE id > $top"), join(',', 0 .. 2999),
         'the new users after every earlier one, in file order');

# comments: no key at all, so every batch goes beside the one before
my $art = '00000000-0000-4000-8000-0000000a0001';
import_lines('articles', qq({"id":"$art","slug":"s","title":"T","body":"b",)
             . qq("author_id":"@{[uid(1)]}"}));
$doc = import_lines('comments', map {
    my $a = $_ % 97 ? $art : "a-missing-$_";
    qq({"article_id":"$a","user_id":"@{[uid($_ % $n)]}","body":"c$_"})
} 0 .. 3999);
my $bad = grep { !($_ % 97) } 0 .. 3999;
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", (4000 - $bad) . "/$bad",
         'comments without ids: the missing articles fail');
ok t_cmp(sql_value("SELECT string_agg(body, ',' ORDER BY id) FROM comments"),
         join(',', map { "c$_" } grep { $_ % 97 } 0 .. 3999),
         'the others are in, in file order');
my @fk = sql("SELECT record_index FROM bulkio_job_errors WHERE job_id ="
             . " (SELECT id FROM bulkio_jobs WHERE public_id = '$doc->{job_id}')"
             . " ORDER BY record_index");
ok t_cmp("@fk", join(' ', grep { !($_ % 97) } 0 .. 3999),
         'each failed comment at its index');

# the job ran through the connections configured (make test-asan: one),
# and none is left holding the lock
my $conns = $ENV{BULKIO_TEST_IMPORT_CONNECTIONS} // 2;
ok t_cmp(scalar(grep { /Job $doc->{job_id} started: .*through $conns conn/ }
                do { open my $fh, '<', 't/logs/error_log' or die; <$fh> }),
         1, "through $conns connection(s)");
# (a worker's poll holds its claim lock for a moment: a lock left behind
# stays)
my $held;
for (1 .. 20) {
    $held = sql_value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
    last unless $held;
    sleep 0.1;
}
ok t_cmp($held, 0, 'no advisory lock left behind');

# update batches beside each other (they share no key): batch 1 gives users
# 1000-1999 the emails batch 0 takes from users 0-999. Written beside batch
# 0, it found them taken: it is written again once batch 0 is committed,
# and the outcome is file order's
$doc = import_lines('users&mode=update',
    (map { qq({"id":"@{[uid($_)]}","email":"gone$_\@example.com"}) } 0 .. 999),
    (map { qq({"id":"@{[uid(1000 + $_)]}","email":"moved$_\@example.com"}) }
     0 .. 999));
my $moves = $doc->{job_id};
ok t_cmp("$doc->{successCount}/$doc->{errorCount}", '2000/0',
         'updates taking the emails the batch before gave up');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'gone' ||"
                   . " (id - 1) || '\@example.com' AND id <= 1000"), 1000,
         'batch 0: users 0-999 moved on');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'moved' ||"
                   . " (id - 1001) || '\@example.com' AND id BETWEEN 1001"
                   . " AND 2000"), 1000,
         'batch 1: users 1000-1999 took their emails');
my ($line) = grep { /Job $moves: \d+ of \d+ batches/ }
             do { open my $fh, '<', 't/logs/error_log' or die; <$fh> };
my @n = ($line // '')
    =~ /(\d+) of \d+ batches written beside the one before, (\d+) of them/;
# (through one connection the run writes nothing beside: no such line)
ok t_cmp(@n ? "$n[0]/$n[1]" : 'no line', $conns > 1 ? '1/1' : 'no line',
         'batch 1 went beside batch 0, and again after it');
