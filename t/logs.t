use strict;
use warnings FATAL => 'all';

# The job id reaches the access log: t/conf/extra.conf.in logs
# %{BULKIO_JOB_ID}e and %{bulkio-job-id}n to t/logs/bulkio_access_log.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use lib 't/lib';
use BulkIO::Test;

plan tests => 13;

my $dir = Apache::Test::vars('t_dir') . '/logs';
my $log = "$dir/bulkio_access_log";
my $who = 'logger' . $$;

# The access log lines of $who's requests (and of other principals named
# in @also): [ method, path, status, env job id, note job id ].
sub lines {
    my @who = ($who, @_);
    open my $fh, '<', $log or die "$log: $!";
    my @l;
    while (<$fh>) {
        next unless m{^\S+ (\S+) "(\S+) (\S+) HTTP/[\d.]+" (\d{3}) job=(\S+) note=(\S+)$};
        next unless grep { $_ eq $1 } @who;
        push @l, [$2, $3, $4, $5, $6];
    }
    return @l;
}

# The line of a request, once httpd has logged it.
sub line_of {
    my ($method, $path, $status, @who) = @_;
    for (1 .. 50) {
        my ($l) = grep { $_->[0] eq $method && $_->[1] eq $path
                         && $_->[2] == $status } lines(@who);
        return $l if $l;
        sleep 0.1;
    }
    return [ $method, $path, $status, 'none', 'none' ];
}

sub ids_of { my $l = shift; return "$l->[3] $l->[4]" }

reset_data();
gendata("$dir/logs.ndjson", resource => 'users', format => 'ndjson',
        count => 50, profile => 'rules');
open my $fh, '<', "$dir/logs.ndjson" or die $!;
my $body = do { local $/; <$fh> };
my @post = ('/v1/imports?resource=users', auth($who),
            'Content-Type' => 'application/x-ndjson',
            'Idempotency-Key' => 'logs-1', content => $body);
my $res = POST @post;
my $id = json_decode($res->content)->{job_id};
ok t_cmp($res->code, 202, "upload: 202, job $id");
ok t_cmp(ids_of(line_of('POST', '/v1/imports?resource=users', 202)),
         "$id $id", 'upload: the job id as env variable and note');
$res = POST @post;
my @posts;
for (1 .. 50) {   # httpd logs a request once its response is sent
    @posts = grep { $_->[0] eq 'POST' } lines();
    last if @posts >= 2;
    sleep 0.1;
}
ok t_cmp(scalar(@posts) == 2 ? ids_of($posts[1]) : 'missing', "$id $id",
         'replayed upload: the same job id');

wait_job($id, $who);
ok t_cmp(ids_of(line_of('GET', "/v1/imports/$id", 200)), "$id $id",
         'status poll');
ok t_cmp(GET("/v1/imports/$id/errors", auth($who))->code, 200, 'errors: 200');
ok t_cmp(ids_of(line_of('GET', "/v1/imports/$id/errors", 200)), "$id $id",
         'errors stream');
ok t_cmp(http_delete("/v1/imports/$id", auth($who))->code, 409,
         'cancel of a completed job: 409');
ok t_cmp(ids_of(line_of('DELETE', "/v1/imports/$id", 409)), "$id $id",
         'the refused cancel');
my $upper = uc $id;
GET "/v1/imports/$upper", auth("$who-other");
ok t_cmp(ids_of(line_of('GET', "/v1/imports/$upper", 404, "$who-other")),
         "$id $id", "a 404 for another principal: the id asked for");

# an export job and its download
$res = POST '/v1/exports', auth($who), 'Content-Type' => 'application/json',
    content => '{"resource": "users", "format": "csv"}';
my $eid = json_decode($res->content)->{job_id};
ok t_cmp(ids_of(line_of('POST', '/v1/exports', 202)), "$eid $eid",
         'export job created');
for (1 .. 300) {
    last if json_decode(GET("/v1/exports/$eid", auth($who))->content)->{status}
            =~ /completed|failed/;
    sleep 0.1;
}
ok t_cmp(GET("/v1/exports/$eid/download", auth($who))->code, 200,
         'download: 200');
ok t_cmp(ids_of(line_of('GET', "/v1/exports/$eid/download", 200)),
         "$eid $eid", 'download');

# a request about no job logs "-"
GET '/v1/exports?resource=users&format=csv', auth($who);
ok t_cmp(ids_of(line_of('GET', '/v1/exports?resource=users&format=csv', 200)),
         '- -', 'a streamed export names no job');
