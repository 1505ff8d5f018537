use strict;
use warnings FATAL => 'all';

# dry_run=true (docs/rules.md, "Dry run"): every rule runs, references
# and uniqueness included, against the database plus the earlier records
# of the file; the counts, error entries and action counts are those of
# the real import that follows; no row of users, articles or comments
# changes (md5 of every table's rows). In every mode and format; as a
# query parameter, a form field and a {"url"} member; with max_errors; in
# the Idempotency-Key fingerprint.
use Apache::Test;
use Apache::TestRequest qw(POST GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT import_file wait_accepted);

plan tests => 78;

# Import (import_file) and wait: the job's status document.
sub run { return wait_accepted(import_file(@_)) }

# What a job reports: status, counts, and every error entry.
sub outcome {
    my $d = shift;
    my @errs = sql("SELECT e.record_index || ':' || e.error_type || ':'"
        . " || coalesce(e.field, '') || ':' || e.error_message"
        . ' FROM bulkio_job_errors e JOIN bulkio_jobs j ON j.id = e.job_id'
        . " WHERE j.public_id = '$d->{job_id}' ORDER BY e.record_index");
    return join ' ', $d->{status}, join('/', map { $d->{$_} // 'undef' }
        qw(totalRecords successCount insertedCount updatedCount
           unchangedCount deletedCount errorCount)), @errs;
}

# md5 of every row of the three tables.
sub tables_md5 {
    return join ' ', map {
        sql_value("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text,"
                  . " ',' ORDER BY t.id)), '') FROM $_ t")
    } qw(users articles comments);
}

my $c1 = '00000000-0000-4000-8000-00000000c001';
my $c2 = '00000000-0000-4000-8000-00000000c002';
my $c3 = '00000000-0000-4000-8000-00000000c003';
my $a1 = '00000000-0000-4000-8000-00000000a001';
my $a2 = '00000000-0000-4000-8000-00000000a002';
my $a3 = '00000000-0000-4000-8000-00000000a003';
my $m1 = '00000000-0000-4000-8000-00000000e001';

sub seed {
    reset_data();
    run('resource=users', 'ndjson',
        qq({"id":"$c1","email":"c1\@example.com","name":"Ann","role":"admin"}\n)
        . qq({"id":"$c2","email":"c2\@example.com"}\n));
    run('resource=articles', 'ndjson',
        qq({"id":"$a1","slug":"one","title":"T","body":"B",)
        . qq("author_id":"$c1"}\n));
    run('resource=comments', 'ndjson',
        qq({"id":"cm_$m1","article_id":"$a1","user_id":"$c2","body":"Hi"}\n));
}

# A dry run, then the same import for real: the same outcome; the dry run
# changes no row.
sub dry_then_real {
    my ($query, $format, $content, $what, $expect) = @_;
    seed();
    my $before = tables_md5();
    my $dry = run("$query&dry_run=true", $format, $content);
    ok t_cmp($dry->{dryRun} ? 1 : 0, 1, "$what: the document says dryRun");
    ok t_cmp(tables_md5(), $before, "$what: the dry run changed no row");
    my $real = run($query, $format, $content);
    ok t_cmp(outcome($dry), outcome($real),
             "$what: the same counts and errors as the real run");
    ok t_cmp(outcome($real), $expect, "$what: which are") if $expect;
    return ($dry, $real, $before);
}

# ---- users: every rule, against the database and the file before ----
my $users = join '',
    qq({"id":"$c1","name":"Anne"}\n),                      # update
    qq({"id":"$c3","email":"c3\@example.com"}\n),           # insert
    qq({"email":"c2\@example.com","name":"Bea"}\n),         # update by email
    qq({"id":"00000000-0000-4000-8000-00000000c009","email":"C3\@example.com"}\n),
    qq({"email":"bad"}\n),                                  # validation
    qq({"id":"$c2"}\n),                                     # unchanged
    qq(not json\n);                                         # parse
my ($dry, $real, $before) = dry_then_real('resource=users', 'ndjson', $users,
    'users upsert', 'completed 7/4/1/2/1/0/3 3:DUPLICATE_ERROR:email:email already belongs to another user 4:VALIDATION_ERROR:email:email is not a valid address '
    . '6:PARSE_ERROR::invalid JSON: null expected');
ok t_cmp(tables_md5() ne $before ? 1 : 0, 1, 'the real run did change rows');
ok t_cmp(sql_value("SELECT name FROM users WHERE external_id = '$c1'"),
         'Anne', 'as the dry run said');

# ... in every format
my $csv = "id,email,name\n$c1,,Anne\n$c3,c3\@example.com,\n"
          . ",c2\@example.com,Bea\n"
          . "00000000-0000-4000-8000-00000000c009,C3\@example.com,\n"
          . ",bad,\n$c2,,\n";
my $json = '[' . join(',', grep { !/^not/ } split /\n/, $users) . ']';
my $ndjson = join '', grep { !/^not/ } split /^/, $users;
for my $case ([csv => $csv], [json => $json], [gzip => $ndjson]) {
    my ($format, $content) = @$case;
    dry_then_real('resource=users', $format, $content, "users, $format",
                  'completed 6/4/1/2/1/0/2 3:DUPLICATE_ERROR:email:email '
                  . 'already belongs to another user 4:VALIDATION_ERROR:'
                  . 'email:email is not a valid address');
}

# ---- every mode ----
dry_then_real('resource=users&mode=insert', 'ndjson',
    qq({"id":"$c1","email":"x\@example.com"}\n{"id":"$c3","email":"c3\@example.com"}\n)
    . qq({"id":"$c3","email":"c3b\@example.com"}\n),
    'insert', 'completed 3/1/1/0/0/0/2 0:DUPLICATE_ERROR:id:id already names an '
    . 'existing user 2:DUPLICATE_ERROR:id:id already names an existing user');
dry_then_real('resource=users&mode=update', 'csv',
    "id,name\n$c1,New\n$c3,Nobody\n", 'update', 'completed 2/1/0/1/0/0/1 1:NOT_FOUND_ERROR:id:id names no existing user');
dry_then_real('resource=users&mode=replace', 'json',
    qq([{"id":"$c1","email":"c1\@example.com"}]), 'replace',
    'completed 1/1/0/1/0/0/0');
# delete: a comment; users that rows still reference, and a missing one
dry_then_real('resource=comments&mode=delete', 'ndjson',
    qq({"id":"cm_$m1"}\n), 'delete a comment', 'completed 1/1/0/0/0/1/0');
seed();
$before = tables_md5();
$dry = run('resource=users&mode=delete&dry_run=true', 'ndjson',
           qq({"id":"$c1"}\n{"id":"$c2"}\n{"id":"$c3"}\n));
ok t_cmp(outcome($dry), 'completed 3/0/0/0/0/0/3 0:FOREIGN_KEY_ERROR:id:the user is the '
         . 'author of articles; delete them first (articles.author_id references '
         . 'it) 1:FOREIGN_KEY_ERROR:id:the user has written comments; delete them '
         . 'first (comments.user_id references it) 2:NOT_FOUND_ERROR:id:id names '
         . 'no existing user', 'delete users: references and a missing id');
ok t_cmp(tables_md5(), $before, 'delete dry run: no row changed');

# ---- references and uniqueness against the earlier records of the file ----
dry_then_real('resource=articles', 'ndjson',
    qq({"id":"$a2","slug":"two","title":"T","body":"B","author_id":"$c2"}\n)
    . qq({"id":"$a3","slug":"two","title":"T","body":"B","author_id":"$c1"}\n)
    . qq({"id":"$a3","slug":"three","title":"T","body":"B","author_id":"$c3"}\n),
    'articles', 'completed 3/1/1/0/0/0/2 1:DUPLICATE_ERROR:slug:slug already belongs '
    . 'to another article 2:FOREIGN_KEY_ERROR:author_id:author_id does not '
    . 'name an existing user');
dry_then_real('resource=comments', 'ndjson',
    qq({"article_id":"$a1","user_id":"$c1","body":"ok"}\n)
    . qq({"article_id":"$a2","user_id":"$c1","body":"no article"}\n),
    'comments', 'completed 2/1/1/0/0/0/1 1:FOREIGN_KEY_ERROR:article_id:article_id '
    . 'does not name an existing article');

# ---- with max_errors: stops where the real run stops ----
my $many = "id,email\n" . join '', map {
    sprintf("00000000-0000-4000-8000-%012d,%s\n", $_,
            $_ >= 1000 && $_ < 1005 ? 'bad' : "u$_\@example.com") } 0 .. 2999;
($dry, $real) = dry_then_real('resource=users&max_errors=3', 'csv', $many,
    'max_errors', 'failed 2000/1995/1995/0/0/0/5 ' . join ' ', map {
        "$_:VALIDATION_ERROR:email:email is not a valid address" } 1000 .. 1004);
ok t_cmp($dry->{reason}, qr/^dry run, stopped: 5 failed records passed max_errors=3 .*nothing was written/,
         'the dry run says it stopped');

# ---- a long file: keys repeat across batches, and the sequence of ids is
# left as it was ----
# 9,000 records (batches of 1,000): record 4000 updates 3999, 4001 takes
# 10's email, 8000 and 8001 repeat 7999, and every 997th email is bad
my $long = "id,email,name\n" . join '', map {
    my ($id, $email) = ($_, "u$_\@example.com");
    ($id, $email) = (3999, "u3999\@example.com") if $_ == 4000;
    $email = 'u10@example.com' if $_ == 4001;
    $id = 7999 if $_ == 8000 || $_ == 8001;
    $email = "u7999\@example.com" if $_ == 8000 || $_ == 8001;
    $email = 'bad' if $_ % 997 == 0;
    sprintf("00000000-0000-4000-8000-%012d,%s,N%d\n", $id, $email, $_)
} 0 .. 8999;
my $seq = "SELECT last_value || '/' || is_called FROM users_id_seq";
seed();
my $seq_before = sql_value($seq);
$before = tables_md5();
$dry = run('resource=users&dry_run=true', 'csv', $long);
ok t_cmp(sql_value($seq) . ' ' . tables_md5(), "$seq_before $before",
         'a long dry run: no row changed, the id sequence untouched');
$real = run('resource=users', 'csv', $long);
ok t_cmp(outcome($dry), outcome($real),
         'a long dry run: the same counts and errors as the real run');
ok t_cmp(join('/', map { $real->{$_} } qw(insertedCount updatedCount
                                          unchangedCount errorCount)),
         '8986/3/0/11', 'which are: 3 updates in the file, 11 failed');

# ---- through two connections: batches beside each other, and the run
# again through one when a batch meets what the other connection wrote ----
my $conns = $ENV{BULKIO_TEST_IMPORT_CONNECTIONS} // 2;
sub job_log {
    my $id = shift;
    open my $fh, '<', 't/logs/error_log' or die $!;
    return join '', grep { /Job \Q$id\E/ } <$fh>;
}
# n users; record i of %same repeats the user of record $same{i}, renamed
sub users_csv {
    my ($n, %same) = @_;
    return "id,email,name\n" . join '', map {
        my $k = $same{$_} // $_;
        sprintf("00000000-0000-4000-8000-%012d,u%d\@example.com,N%d\n",
                $k, $k, $_) } 0 .. $n - 1;
}
# (batches of 1,000 take turns: even ones through the first connection,
# odd ones beside them through the second, as long as none meets the one
# before)
for my $case (['new users', users_csv(6000), '6000/0', 'beside'],
              # batch 3 (second connection) repeats a user of batch 1's
              ['a batch meets one of the second connection before it',
               users_csv(4000, 3500 => 1500), '3999/1',
               'did not insert as new rows'],
              # batch 4 (first connection) waits for batch 1's row lock
              ['a batch waits for a row of the second connection',
               users_csv(5000, 4500 => 1500), '4999/1', 'lock timeout']) {
    my ($what, $file, $counts, $log) = @$case;
    ($dry, $real) = dry_then_real('resource=users', 'csv', $file, $what);
    ok t_cmp("$real->{insertedCount}/$real->{updatedCount}", $counts,
             "$what: the counts");
    my $lines = job_log($dry->{job_id});
    my $again = $lines =~ /starts again through one connection \((.*)\)/
                ? $1 : 'no';
    if ($conns < 2) {
        ok t_cmp($again, 'no', "$what: through one connection");
    }
    elsif ($log eq 'beside') {
        ok t_cmp($again . ($lines =~ /(\d+) of \d+ batches written beside/
                           && $1 >= 2 ? ' beside' : ''), 'no beside',
                 "$what: its batches beside the one before");
    }
    else {
        ok t_cmp($again, qr/\Q$log\E/, "$what: then through one connection");
    }
}

# ---- the request ----
seed();
$before = tables_md5();
my $res = POST '/v1/imports?resource=users', auth(),
    Content_Type => 'form-data',
    Content => [ dry_run => 'true',
                 file => [ undef, 'u.ndjson', Content => qq({"id":"$c3","email":"f\@example.com"}\n),
                           'Content-Type' => 'application/x-ndjson' ] ];
ok t_cmp($res->code, 202, 'dry_run as a form field');
$dry = wait_job(json_decode($res->content)->{job_id});
ok t_cmp(($dry->{dryRun} ? 'dry ' : 'real ') . $dry->{insertedCount}, 'dry 1',
         'the form field makes a dry run');
my $vars = Apache::Test::vars();
mkdir "$vars->{documentroot}/dryrun";
open my $fh, '>', "$vars->{documentroot}/dryrun/users.ndjson" or die $!;
print $fh qq({"id":"$c3","email":"url\@example.com"}\n);
close $fh;
$res = POST '/v1/imports?resource=users', auth(),
    'Content-Type' => 'application/json',
    content => qq({"url": "http://127.0.0.1:$vars->{port}/dryrun/users.ndjson",)
               . qq( "dry_run": true});
ok t_cmp($res->code, 202, 'dry_run as a {"url"} member (a JSON boolean)');
$dry = wait_job(json_decode($res->content)->{job_id});
ok t_cmp(($dry->{dryRun} ? 'dry ' : 'real ') . $dry->{insertedCount}, 'dry 1',
         'the member makes a dry run');
ok t_cmp(tables_md5(), $before, 'neither changed a row');
$res = import_file('resource=users&dry_run=maybe', 'ndjson', "{}\n");
ok t_cmp($res->code . ' ' . (json_decode($res->content)->{detail} // ''),
         '400 dry_run must be true or false', 'dry_run=maybe: 400');
$res = import_file('resource=users&dry_run=false', 'ndjson',
                   qq({"id":"$c3","email":"c3\@example.com"}\n));
$real = wait_job(json_decode($res->content)->{job_id});
ok t_cmp(($real->{dryRun} ? 'dry' : 'real') . ' '
         . (tables_md5() ne $before ? 'changed' : 'same'), 'real changed',
         'dry_run=false imports');

# the Idempotency-Key compares dry_run
my $body = qq({"id":"$c3","email":"k\@example.com"}\n);
$res = import_file('resource=users&dry_run=true', 'ndjson', $body,
                   'Idempotency-Key' => 'dry-key');
ok t_cmp($res->code, 202, 'a dry run with a key');
wait_job(json_decode($res->content)->{job_id});
$res = import_file('resource=users&dry_run=true', 'ndjson', $body,
                   'Idempotency-Key' => 'dry-key');
ok t_cmp($res->code, 202, 'the same request: replayed');
$res = import_file('resource=users', 'ndjson', $body,
                   'Idempotency-Key' => 'dry-key');
ok t_cmp($res->code, 422, 'the same key without dry_run: 422');

# list items carry dryRun
$res = GET '/v1/imports?limit=1', auth();
my $item = json_decode($res->content)->{items}[0] // {};
ok t_cmp(join(' ', map { "$_=" . ($item->{$_} ? 'true' : 'false') }
              qw(dryRun atomic)), 'dryRun=true atomic=false',
         'a list item says dryRun and atomic');
