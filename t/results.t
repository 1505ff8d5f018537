use strict;
use warnings FATAL => 'all';

# Per-record results (GET /v1/imports/{id}/results): one entry per record in
# file order, equal to the rows in PostgreSQL, for a mixed upsert file, a
# mode=delete file and a dry run; CSV; another principal, unknown
# parameters; 409 while the job runs; exact after a SIGKILL of the process
# running a big import (no entry missing or doubled, ids as in the table);
# whether an import keeps results is recorded on the job as it is created,
# and followed by the server that runs it and the one asked.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT import_file wait_accepted vhost_hostport
                     import_at);

plan tests => 56;

my $dir = Apache::Test::vars('t_dir') . '/logs';

sub run { return wait_accepted(import_file(@_)) }

# The results of job id (format ndjson or csv): (code, content).
sub results {
    my ($id, $query, $sub) = @_;
    my $res = GET "/v1/imports/$id/results" . ($query ? "?$query" : ''),
                  auth($sub);
    return ($res->code, $res->content, $res);
}

# The NDJSON results as a list of hashes.
sub entries {
    my ($code, $body) = results(@_);
    die "results: $code $body" unless $code == 200;
    return map { json_decode($_) } split /\n/, $body;
}

# An entry as text: index, line, action, errorType.
sub brief {
    my $e = shift;
    return join ':', $e->{recordIndex}, $e->{line}, $e->{action},
                     $e->{errorType} // '-';
}

sub uid { sprintf '00000000-0000-4000-8000-%012d', shift }
my $one = 'abcdef00-0000-4000-8000-00000000000a';

my $email_of = sub {
    sql_value("SELECT coalesce(min(external_id), '<none>') FROM users"
              . " WHERE lower(email) = lower('$_[0]')");
};

# --- a mixed upsert file --------------------------------------------------
reset_data();
my $seed = run('resource=users', 'ndjson', join '', map { "$_\n" }
    qq({"id":"$one","email":"one\@x.io","name":"One"}),
    qq({"id":"${\ uid(2)}","email":"two\@x.io","name":"Two"}),
    qq({"email":"three\@x.io","name":"Three"}));
ok t_cmp($seed->{successCount}, 3, 'seeded three users');
my $three = $email_of->('three@x.io');

my @mixed = (
    qq({"email":"new1\@x.io","name":"New"}),                 # 0 inserted, new UUID
    qq({"id":"${\ uc $one}","name":"One again"}),            # 1 updated
    qq({"id":"${\ uid(2)}","email":"two\@x.io"}),             # 2 unchanged
    qq({"email":"not-an-email"}),                           # 3 VALIDATION_ERROR
    qq({not json),                                          # 4 PARSE_ERROR
    qq({"email":"three\@x.io","name":"Three again"}),        # 5 updated by email
    qq({"id":"${\ uid(5)}","email":"five\@x.io"}),            # 6 inserted, its id
    qq({"id":"${\ uid(6)}","email":"one\@x.io"}),             # 7 DUPLICATE_ERROR
    qq({"email":"new1\@x.io"}),                              # 8 unchanged: row of 0
);
my $doc = run('resource=users', 'ndjson', join '', map { "$_\n" } @mixed);
ok t_cmp(join('/', map { $doc->{$_} } qw(status insertedCount updatedCount
                                          unchangedCount errorCount)),
         'completed/2/2/2/3', 'the mixed file: its counts');
my @r = entries($doc->{job_id});
ok t_cmp(join(' ', map { brief($_) } @r),
         '0:1:inserted:- 1:2:updated:- 2:3:unchanged:- '
         . '3:4:failed:VALIDATION_ERROR 4:5:failed:PARSE_ERROR 5:6:updated:- '
         . '6:7:inserted:- 7:8:failed:DUPLICATE_ERROR 8:9:unchanged:-',
         'one entry per record in file order, with its action');
my $new1 = $email_of->('new1@x.io');
ok t_cmp($r[0]{id}, $new1, 'a new record without id: the UUID its row took');
ok t_cmp($new1 =~ /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
         ? 1 : 0, 1, 'a version 4 UUID, lower-case');
ok t_cmp($r[1]{id}, $one, 'an id given in upper case: as stored');
ok t_cmp(sql_value("SELECT name FROM users WHERE external_id = '$one'"),
         'One again', '... and that row was updated');
ok t_cmp($r[2]{id}, uid(2), 'the unchanged row');
ok t_cmp($r[5]{id}, $three, 'matched by email: the existing row\'s id');
ok t_cmp($r[6]{id}, uid(5), 'a new record with id: that id');
ok t_cmp($email_of->('five@x.io'), uid(5), '... the row it inserted');
ok t_cmp($r[7]{id}, uid(6), 'a failed record: the id it carries');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE external_id = '${\ uid(6)}'"),
         0, '... no such row');
ok t_cmp(join(',', map { $_->{id} // 'null' } @r[3, 4]), 'null,null',
         'records without a valid id: null');
ok t_cmp($r[8]{id}, $new1, 'a later record of the same email: the same row');
ok t_cmp(sql_value('SELECT count(*) FROM users'), 5,
         'five rows: three seeded, two inserted (none for the failures)');
ok t_cmp(exists $r[0]{errorType} ? 1 : 0, 0, 'no errorType for a success');

# CSV: the same entries
my ($code, $csv, $res) = results($doc->{job_id}, 'format=csv');
ok t_cmp($code, 200, 'CSV: 200');
ok t_cmp($res->header('Content-Type'), qr{^text/csv}, 'CSV: text/csv');
my @lines = split /\r\n/, $csv;
ok t_cmp(shift @lines, 'recordIndex,line,id,action,errorType', 'CSV header');
ok t_cmp(join('|', @lines), join('|', map {
        join ',', $_->{recordIndex}, $_->{line}, $_->{id} // '', $_->{action},
                  $_->{errorType} // '' } @r), 'CSV rows as the NDJSON entries');

# --- access and parameters ------------------------------------------------
($code, my $body, $res) = results($doc->{job_id}, '', 'bob');
ok t_cmp($code, 404, 'another principal: 404');
ok t_cmp($res->header('Content-Type'), qr{^application/problem\+json},
         '... as problem+json');
($code, $body) = results($doc->{job_id}, 'foo=1');
ok t_cmp($code, 400, 'an unknown parameter: 400');
ok t_cmp($body, qr/format/, '... naming the allowed one');
($code) = results($doc->{job_id}, 'format=xml');
ok t_cmp($code, 400, 'an unknown format: 400');
($code) = results('no-such-job');
ok t_cmp($code, 404, 'an unknown job: 404');

# --- mode=delete ------------------------------------------------------------
$doc = run('resource=users&mode=delete', 'ndjson', join '', map { "$_\n" }
    qq({"id":"${\ uid(5)}"}), qq({"email":"NEW1\@x.io"}),
    qq({"id":"${\ uid(9)}"}));
@r = entries($doc->{job_id});
ok t_cmp(join(' ', map { brief($_) . ':' . ($_->{id} // 'null') } @r),
         "0:1:deleted:-:${\ uid(5)} 1:2:deleted:-:$new1 "
         . "2:3:failed:NOT_FOUND_ERROR:${\ uid(9)}",
         'delete: by id, by email (the row\'s id), an unknown id');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE external_id IN"
                   . " ('${\ uid(5)}', '$new1')"), 0, 'both rows are gone');
ok t_cmp(join(',', sort(sql("SELECT external_id FROM bulkio_tombstones"
                            . " WHERE job_id = (SELECT id FROM bulkio_jobs"
                            . " WHERE public_id = '$doc->{job_id}')"))),
         join(',', sort(uid(5), $new1)), 'the tombstones name the same ids');

# --- a dry run: what would happen ---------------------------------------------
$doc = run('resource=users&dry_run=true', 'ndjson',
           qq({"email":"dry\@x.io"}\n{"id":"${\ uid(2)}","name":"Dry"}\n));
@r = entries($doc->{job_id});
ok t_cmp(join(' ', map { brief($_) } @r), '0:1:inserted:- 1:2:updated:-',
         'dry run: the actions a real run would take');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email = 'dry\@x.io'"
                   . " OR name = 'Dry'"), 0, 'dry run: no row changed');

# over several batches, some with failed records: every batch's entries
# are kept (those of a batch without failures are sent while the next
# batch is written), the same as the real run's that follows
my $many = join '', map { $_ % 7 == 3
    ? qq({"id":"${\ uid(9000 + $_)}","email":"bad$_"}\n)
    : qq({"id":"${\ uid(9000 + $_)}","email":"u$_\@dry.io"}\n) } 0 .. 4999;
$doc = run('resource=users&dry_run=true', 'ndjson', $many);
my @dry = map { brief($_) } entries($doc->{job_id});
ok t_cmp(scalar(@dry) . ' ' . sql_value("SELECT count(*) FROM bulkio_job_errors"
         . " e JOIN bulkio_jobs j ON j.id = e.job_id"
         . " WHERE j.public_id = '$doc->{job_id}'"), '5000 714',
         'a dry run of 5,000 records: an entry each, 714 error entries');
ok t_cmp(join(' ', @dry[0 .. 3]), '0:1:inserted:- 1:2:inserted:- '
         . '2:3:inserted:- 3:4:failed:VALIDATION_ERROR',
         '... in file order with their actions');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE '%\@dry.io'"),
         0, '... and no row changed');
$doc = run('resource=users', 'ndjson', $many);
ok t_cmp(join(' ', map { brief($_) } entries($doc->{job_id})), join(' ', @dry),
         'the real run gives the same entries');

# --- SIGKILL mid-job: exact after the takeover ---------------------------------
# every 10th record without id (a new UUID each), every 20th invalid
reset_data();
my $n = 200_000;
open my $fh, '>', "$dir/results-big.ndjson" or die $!;
my $bad = 0;
for my $i (0 .. $n - 1) {
    if ($i % 20 == 13) {
        print $fh qq({"id":"${\ uid($i)}","email":"bad$i"}\n);
        $bad++;
    }
    elsif ($i % 10 == 3) {
        print $fh qq({"email":"u$i\@x.io","name":"U $i"}\n);
    }
    else {
        print $fh qq({"id":"${\ uid($i)}","email":"u$i\@x.io","name":"U $i"}\n);
    }
}
close $fh;
my $id = upload("$dir/results-big.ndjson", 'resource=users',
                'application/x-ndjson');
my ($pid, $done) = running_job($id);
($code, $body) = results($id);
ok t_cmp($code, 409, 'while the job runs: 409');
ok t_cmp($body, qr/running/, '... saying it runs');
ok t_cmp(defined $pid && $done < $n ? 1 : 0, 1,
         "job running in pid " . ($pid // '?') . ", $done records in");
ok t_cmp(kill('KILL', $pid), 1, 'SIGKILL sent');
$doc = wait_job($id, 'alice', 240);
ok t_cmp("$doc->{status} $doc->{totalRecords} $doc->{errorCount}",
         "completed $n $bad", 'taken over and completed');
ok t_cmp(sql_value("SELECT attempts FROM bulkio_jobs WHERE public_id = '$id'")
         >= 2 ? 1 : 0, 1, 'it took a second attempt');

($code, $csv) = results($id, 'format=csv');
@lines = split /\r\n/, $csv;
shift @lines;
my %table = map { split /\|/ } sql('SELECT external_id, email FROM users');
my ($gaps, $wrong, $seen, $failed, %ids) = (0, 0, 0, 0);
for my $i (0 .. $#lines) {
    my ($idx, $line, $rid, $action, $type) = split /,/, $lines[$i], 5;
    $gaps++ if $idx != $i || $line != $i + 1;
    if ($action eq 'failed') {
        $failed++;
        $wrong++ unless $type eq 'VALIDATION_ERROR' && $rid eq uid($i);
        next;
    }
    $wrong++ unless $action eq 'inserted' && defined $table{$rid}
                    && $table{$rid} eq "u$i\@x.io"
                    && ($i % 10 == 3 || $rid eq uid($i));
    $ids{$rid}++;
}
ok t_cmp(scalar(@lines), $n, 'one entry per record');
ok t_cmp($gaps, 0, 'recordIndex 0..n-1 and lines without gap or doubling');
ok t_cmp("$failed $wrong", "$bad 0",
         'each entry: its action, and the id of the row with its email');
ok t_cmp(scalar(keys %ids) . ' ' . scalar(keys %table), ($n - $bad) . ' '
         . ($n - $bad), 'as many distinct ids as rows in the table');

# the results go with the job (the retention purge deletes job rows)
my $jid = sql_value("SELECT id FROM bulkio_jobs WHERE public_id = '$id'");
my $rows = sql_value("SELECT count(*) FROM bulkio_job_results WHERE job_id = $jid");
sql("DELETE FROM bulkio_jobs WHERE id = $jid");
ok t_cmp("$rows>0 " . sql_value("SELECT count(*) FROM bulkio_job_results"
                                . " WHERE job_id = $jid"),
         ($rows > 0 ? $rows : 'none') . '>0 0',
         'one row per batch, gone with the job');

# --- the choice of BulkIOImportResults goes with the job ------------------
# the virtual host bulkio_noresults has BulkIOImportResults Off; the job
# worker runs with the main server's On
my $off = vhost_hostport('bulkio_noresults');
sub results_at {
    my ($hp, $id) = @_;
    return GET "http://$hp/v1/imports/$id/results", auth();
}
my $three_users = join '', map { qq({"email":"choice$_\@x.io"}\n) } 1 .. 3;
reset_data();
$id = import_at($off, 'resource=users', $three_users);
$doc = wait_job($id);
ok t_cmp("$doc->{status} $doc->{successCount}", 'completed 3',
         'an import created where results are Off ran');
ok t_cmp(exists $doc->{resultsUrl} && !defined $doc->{resultsUrl}, 1,
         'its document: resultsUrl null');
ok t_cmp(sql_value("SELECT coalesce(results::text, 'NULL') || ' '"
                   . " || (SELECT count(*) FROM bulkio_job_results r"
                   . " WHERE r.job_id = j.id) FROM bulkio_jobs j"
                   . " WHERE public_id = '$id'"), 'false 0',
         'the job records Off, and the worker (On) stored no results');
($code, $body) = results($id);
ok t_cmp($code, 404, 'its results: 404 where the server keeps them');
ok t_cmp(json_decode($body)->{detail} // '',
         qr/this import keeps no per-record results/, '... saying why');

$id = import_at(hostport(), 'resource=users', $three_users =~ s/choice/chosen/gr);
$doc = wait_job($id);
ok t_cmp($doc->{resultsUrl}, "/v1/imports/$id/results",
         'an import created where results are On: its resultsUrl');
$res = results_at($off, $id);
ok t_cmp($res->code . ' ' . scalar(split /\n/, $res->content), '200 3',
         'an import created where results are On: its three entries where'
         . ' the server keeps none');
# an import older than the record (migration 015): the server asked decides
sql("UPDATE bulkio_jobs SET results = NULL WHERE public_id = '$id'");
ok t_cmp(results_at($off, $id)->code, 404,
         'an import that records no choice: 404 where results are Off');
($code) = results($id);
ok t_cmp($code, 200, '... and 200 where they are On');
