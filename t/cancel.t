use strict;
use warnings FATAL => 'all';

# DELETE /v1/imports/{id}: a running job stops at a batch boundary.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 9;

my $dir = Apache::Test::vars('t_dir') . '/logs';
reset_data();
gendata("$dir/cancel.csv", resource => 'users', format => 'csv',
        count => 200_000, profile => 'valid');
my $id = upload("$dir/cancel.csv", 'resource=users', 'text/csv');
for (1 .. 400) {
    last if sql_value("SELECT checkpoint_records FROM bulkio_jobs"
                      . " WHERE public_id = '$id'") > 0;
    sleep 0.05;
}
my $res = http_delete "/v1/imports/$id", auth();
ok t_cmp($res->code, 202, 'DELETE of a running job: 202');
ok t_cmp(json_decode($res->content)->{status}, 'running',
         'it runs to its next batch boundary');
my $doc = wait_job($id);
ok t_cmp($doc->{status}, 'canceled', 'then ends canceled');
ok t_cmp($doc->{successCount} < 200_000, 1, 'before the end of the file');
ok t_cmp(sql_value('SELECT count(*) FROM users'), $doc->{successCount},
         'the committed batches stay, exactly as counted');

$res = http_delete "/v1/imports/$id", auth('bob');
ok t_cmp($res->code, 404, "another principal's job: 404");
$res = http_delete '/v1/imports/00000000-0000-4000-8000-000000000000', auth();
ok t_cmp($res->code, 404, 'unknown job: 404');

# a finished job cannot be canceled
my $small = "$dir/cancel-small.csv";
gendata($small, resource => 'users', format => 'csv', count => 3,
        profile => 'valid');
$id = upload($small, 'resource=users', 'text/csv');
wait_job($id);
$res = http_delete "/v1/imports/$id", auth();
ok t_cmp($res->code, 409, 'completed job: 409');
ok t_cmp($res->header('Content-Type'), 'application/problem+json',
         'as problem+json');
