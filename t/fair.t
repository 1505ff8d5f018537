use strict;
use warnings FATAL => 'all';

# Fair sharing between principals: A queues 30 jobs, B then posts one; B's
# job is the next one started once a slot frees (at the scheduler's next
# tick: the job thread that frees it wakes the scheduler).
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT vhost_hostport);
use HTTP::Request;

plan tests => 13;

reset_data();
sub users_file {
    my ($tag, $n) = @_;
    return join '', map { qq({"email":"$tag-$_\@example.com","name":"N$_"}\n) } 1 .. $n;
}
sub post_import {
    my ($sub, $body) = @_;
    my $res = POST '/v1/imports?resource=users', auth($sub),
        'Content-Type' => 'application/x-ndjson', content => $body;
    die 'import: ' . $res->code . ' ' . $res->content unless $res->code == 202;
    return json_decode($res->content)->{job_id};
}

my @a = map { post_import('fair-a', users_file("a$_", 3000)) } 1 .. 30;
my $pending = sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'fair-a'"
                        . " AND status = 'pending'");
ok t_cmp($pending >= 3 ? 1 : 0, 1, "A's queue: $pending of 30 jobs still pending");
my $b = post_import('fair-b', users_file('b', 10));
# B's job is committed (visible to the scheduler) once the answer came:
# created_at is its transaction's start, a little earlier
my $posted = time;
my $doc = wait_job($b, 'fair-b', 120);
ok t_cmp($doc->{status}, 'completed', "B's job completed");

my ($created, $started) = split /\|/, sql_value(
    "SELECT extract(epoch FROM created_at), extract(epoch FROM started_at)"
    . " FROM bulkio_jobs WHERE public_id = '$b'");
my $overtook = sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'fair-a'"
    . " AND started_at > to_timestamp($posted) AND started_at < to_timestamp($started)");
print map { "# $_\n" } "B created $created, posted $posted, started $started; A started:",
    sql("SELECT extract(epoch FROM started_at) || ' ' || extract(epoch FROM completed_at)"
        . " FROM bulkio_jobs WHERE principal = 'fair-a'"
        . " AND started_at > to_timestamp($created - 2) ORDER BY started_at LIMIT 8");
# slots that free in the same tick go to the principals with the fewest
# running jobs, ties to the oldest job: A may take some of them, never
# more than the tick freed (BulkIOMaxJobs, 3); in the order of the queue
# alone A's 27 pending jobs would all come first
ok t_cmp($overtook < 3 ? 1 : 0, 1,
         "B did not wait behind A's queue ($overtook of A's jobs started first)");
# the slot B took: the first job to end after B was posted
my $freed = sql_value("SELECT extract(epoch FROM min(completed_at)) FROM bulkio_jobs"
    . " WHERE principal = 'fair-a' AND completed_at > to_timestamp($posted)");
my $wait = $started - ($freed < $posted ? $posted : $freed);
printf "# B waited %.3f s after a slot freed (poll interval 0.2 s)\n", $wait;
ok t_cmp($wait <= 0.2 + 0.3 ? 1 : 0, 1, sprintf('B started %.3f s after a slot freed', $wait));
wait_idle();
ok t_cmp(sql_value("SELECT count(*) FROM users"), 30 * 3000 + 10,
         'every job of A ran too');

# BulkIOMaxJobsPerPrincipal 2 in the virtual host bulkio_fair: C holds two
# jobs (running under another server's live lease, so no worker here takes
# them), a third POST of either kind answers 429 with Retry-After
my $hp = vhost_hostport('bulkio_fair');
sub post_at {
    my ($path, $ctype, $body) = @_;
    my $req = HTTP::Request->new(POST => "http://$hp$path",
        [ 'Authorization' => 'Bearer ' . token(sub => 'fair-c'),
          'Content-Type' => $ctype ], $body);
    return Apache::TestRequest::user_agent()->request($req);
}
for (1 .. 2) {
    sql("INSERT INTO bulkio_jobs (kind, resource, format, status, principal,"
        . " lease_server, lease_owner, lease_expires_at, started_at)"
        . " VALUES ('import', 'users', 'ndjson', 'running', 'fair-c',"
        . " 'elsewhere', 'elsewhere/1/$_', now() + interval '1 hour', now())");
}
my $jobs = sql_value("SELECT count(*) FROM bulkio_jobs");
my $res = post_at('/v1/imports?resource=users', 'application/x-ndjson',
                  users_file('c', 3));
ok t_cmp($res->code, 429, 'a third import of C: 429');
ok t_cmp($res->header('Retry-After') // '', qr/^[1-9][0-9]*$/, 'with Retry-After');
ok t_cmp($res->header('Content-Type'), 'application/problem+json', 'as problem+json');
ok t_cmp(json_decode($res->content)->{detail} // '', qr/BulkIOMaxJobsPerPrincipal|2 jobs/,
         'the detail says why');
$res = post_at('/v1/exports', 'application/json', '{"resource": "users"}');
ok t_cmp($res->code, 429, 'an export job of C too');
ok t_cmp(sql_value("SELECT count(*) FROM bulkio_jobs"), $jobs, 'no job was stored');
sql("UPDATE bulkio_jobs SET status = 'completed', completed_at = now(),"
    . " lease_server = NULL, lease_owner = NULL, lease_expires_at = NULL"
    . " WHERE principal = 'fair-c' AND lease_owner = 'elsewhere/1/1'");
$res = post_at('/v1/imports?resource=users', 'application/x-ndjson',
               users_file('c', 3));
ok t_cmp($res->code, 202, 'once one of them ended: 202');
my $c = json_decode($res->content)->{job_id};
# the main server allows 100: A's 30 were all accepted above
ok t_cmp(scalar @a, 30, "A's 30 jobs were accepted by the main server");
sql("DELETE FROM bulkio_jobs WHERE principal = 'fair-c' AND lease_server = 'elsewhere'");
wait_job($c, 'fair-c', 60);
