use strict;
use warnings FATAL => 'all';

# Retention: finished jobs past BulkIOJobRetention go with their error rows
# and spool files (in batches), Idempotency-Keys past their TTL go,
# orphaned spool files go, while recent jobs, files still named by a job and
# uploads being received stay. A finished import's file goes at once.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test;

plan tests => 21;

my $vars = Apache::Test::vars();
my $dir = "$vars->{t_dir}/logs";
my $spool = "$vars->{t_dir}/spool";

sub export_job {
    my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
        content => '{"resource": "users", "format": "ndjson"}', @_;
    die 'export: ' . $res->code unless $res->code == 202;
    my $id = json_decode($res->content)->{job_id};
    my $until = time + 60;
    while (time < $until) {
        my $doc = json_decode(GET("/v1/exports/$id", auth())->content) // {};
        return $id if ($doc->{status} // '') eq 'completed';
        sleep 0.2;
    }
    die "export $id did not complete\n";
}

sub internal_id {
    return sql_value("SELECT id FROM bulkio_jobs WHERE public_id = '$_[0]'");
}

sub file_of {
    return sql_value("SELECT source_path FROM bulkio_jobs"
                     . " WHERE public_id = '$_[0]'");
}

# Whether the spool object ref (a file, or with BULKIO_TEST_SPOOL=database
# a large object "lo:<oid>") exists and holds bytes.
sub stored {
    my ($ref) = @_;
    return 0 unless defined $ref;
    if ($ref =~ /^lo:(\d+)$/) {
        return sql_value("SELECT count(*) FROM pg_largeobject_metadata"
                         . " WHERE oid = $1") ? 1 : 0;
    }
    return -s $ref ? 1 : 0;
}

sub backdate {
    my ($id, $age) = @_;
    sql("UPDATE bulkio_jobs SET completed_at = now() - interval '$age'"
        . " WHERE public_id = '$id'");
}

sub touch_old { utime time - 7200, time - 7200, @_ }

reset_data();
gendata("$dir/retention.ndjson", resource => 'users', format => 'ndjson',
        count => 500);
my $old = upload("$dir/retention.ndjson", 'resource=users',
                 'application/x-ndjson');
my $doc = wait_job($old, 'alice', 60);
ok t_cmp($doc->{errorCount} > 0, 1, 'an import with error rows');
ok t_cmp(-e "$spool/import-$old" ? 1 : 0, 0,
         'a finished import left no file in the spool');
my $old_int = internal_id($old);
# enough error rows for several delete batches
sql("INSERT INTO bulkio_job_errors (job_id, record_index, line, error_type,"
    . " error_message) SELECT $old_int, g, g, 'PARSE_ERROR', 'synthetic'"
    . " FROM generate_series(100000, 112000) g");
my $old_errors = sql_value("SELECT count(*) FROM bulkio_job_errors"
                           . " WHERE job_id = $old_int");

my $old_export = export_job();
my $old_file = file_of($old_export);
ok t_cmp(stored($old_file), 1, 'an export job with its file');

my $recent = upload("$dir/retention.ndjson", 'resource=users',
                    'application/x-ndjson', 'bob');
wait_job($recent, 'bob', 60);
my $recent_export = export_job('Idempotency-Key' => 'keep-me');
my $recent_file = file_of($recent_export);
touch_old($recent_file);    # old, but still named by its job

# Idempotency-Keys: one past its TTL, one not
my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
    'Idempotency-Key' => 'expired-key',
    content => '{"resource": "users", "format": "csv"}';
ok t_cmp($res->code, 202, 'a job with an Idempotency-Key');
wait_idle();
sql("UPDATE bulkio_idempotency_keys SET expires_at = now() - interval '1 hour'"
    . " WHERE idem_key = 'expired-key'");

# orphans: a job file no job names, an upload abandoned long ago; and an
# upload being received now
my $ghost = "$spool/import-0badc0de-0000-4000-8000-000000000001";
my $ghost_export = "$spool/export-0badc0de-0000-4000-8000-000000000002.ndjson";
my $abandoned = "$spool/upload-Old123";
my $receiving = "$spool/upload-New123";
my $foreign = "$spool/notes.txt";
for my $f ($ghost, $ghost_export, $abandoned, $receiving, $foreign) {
    open my $fh, '>', $f or die "$f: $!";
    print $fh "data\n";
    close $fh;
}
touch_old($ghost, $ghost_export, $abandoned, $foreign);

backdate($old, '8 days');
backdate($old_export, '8 days');
backdate($recent, '6 days');

# a new child sweeps at its first tick: restart gracefully
open my $pf, '<', $vars->{t_pid_file} or die "pid file: $!";
my $parent = <$pf>;
chomp $parent;
close $pf;
kill 'USR1', $parent;
my $until = time + 60;
while (time < $until) {
    last if !sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id IN"
                       . " ('$old', '$old_export')") && !-e $ghost;
    sleep 0.3;
}

ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id IN"
                   . " ('$old', '$old_export')"), 0,
         'jobs finished 8 days ago are purged');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors"
                   . " WHERE job_id = $old_int"), 0,
         "with their $old_errors error rows");
ok t_cmp(GET("/v1/imports/$old", auth())->code, 404, 'a purged job is 404');
ok t_cmp(stored($old_file), 0, "the purged export's file is removed");
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs WHERE public_id IN"
                   . " ('$recent', '$recent_export')"), 2,
         'jobs within the retention stay');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_job_errors e JOIN bulkio_jobs j"
                   . " ON j.id = e.job_id WHERE j.public_id = '$recent'") > 0,
         1, 'with their error rows');
ok t_cmp(stored($recent_file), 1, 'a file still named by a job stays');
ok t_cmp(GET("/v1/exports/$recent_export/download", auth())->code, 200,
         'and downloads');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_idempotency_keys"
                   . " WHERE idem_key = 'expired-key'"), 0,
         'an Idempotency-Key past its TTL is purged');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_idempotency_keys"
                   . " WHERE idem_key = 'keep-me'"), 1, 'a live key stays');
ok t_cmp(-e $ghost ? 1 : 0, 0, 'an orphaned import file is removed');
ok t_cmp(-e $ghost_export ? 1 : 0, 0, 'an orphaned export file is removed');
ok t_cmp(-e $abandoned ? 1 : 0, 0, 'an abandoned upload is removed');
ok t_cmp(-e $receiving ? 1 : 0, 1, 'an upload being received stays');
ok t_cmp(-e $foreign ? 1 : 0, 1, 'files that are not ours stay');
unlink $receiving, $foreign;

# the purge is seen in the log
open my $log, '<', "$dir/error_log" or die;
my @purged = grep { /BULKIO41: retention: purged/ } <$log>;
ok t_cmp(scalar(@purged) > 0, 1, 'the sweep logged what it purged');
ok t_cmp(GET('/v1/health')->code, 200, 'the server serves on');
