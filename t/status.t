use strict;
use warnings FATAL => 'all';

# mod_status: /server-status (HTML) and ?auto show this server's job
# worker and the import it runs, whichever child answers.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep);
use Sys::Hostname qw(hostname);
use lib 't/lib';
use BulkIO::Test;

plan tests => 25, need_module 'status';

sub auto {
    my $res = GET '/server-status?auto';
    die 'GET /server-status?auto: ' . $res->code . "\n" unless $res->code == 200;
    my %v;
    for (split /\n/, $res->content) {
        $v{$1} = $2 if /^(BulkIO\S*): (.*)$/;
    }
    return \%v;
}

my $dir = Apache::Test::vars('t_dir') . '/logs';
# the worker's server id: host/ServerName:port
my $server = hostname() . '/' . Apache::Test::vars('servername') . ':'
           . Apache::Test::vars('port');

reset_data();
my $idle = auto();
ok t_cmp($idle->{BulkIOServer}, $server, 'BulkIOServer: host/ServerName:port');
ok t_cmp($idle->{BulkIODatabase}, 'ok', 'BulkIODatabase: ok');
# the version of debian/changelog's first line, which make passes to the module
my $changelog = Apache::Test::vars('top_dir') . '/debian/changelog';
open my $cl, '<', $changelog or die "$changelog: $!";
my ($version) = <$cl> =~ /\(([^)]+)\)/;
ok t_cmp($idle->{BulkIOVersion}, $version, 'BulkIOVersion: debian/changelog');
ok t_cmp($idle->{BulkIORunningJobs}, 0, 'no job running');
ok t_cmp($idle->{BulkIOLastPollAge} < 2, 1,
         "the scheduler ticks (last poll $idle->{BulkIOLastPollAge} s ago)");
ok t_cmp($idle->{BulkIOSchedulerPid} > 0
         && kill(0, $idle->{BulkIOSchedulerPid}) ? 1 : 0, 1,
         "by a live process ($idle->{BulkIOSchedulerPid})");
sleep 0.7;
my $later = auto();
ok t_cmp($later->{BulkIOPolls} > $idle->{BulkIOPolls}, 1,
         "polls go on ($idle->{BulkIOPolls} -> $later->{BulkIOPolls})");

# an import large enough to be caught running
gendata("$dir/status.csv", resource => 'users', format => 'csv',
        count => 200_000, profile => 'valid');
my $id = upload("$dir/status.csv", 'resource=users', 'text/csv');
my ($owner, $records) = ('', 0);
for (1 .. 400) {
    ($owner, $records) = split /\|/, sql_value("SELECT coalesce(lease_owner,"
        . " ''), checkpoint_records FROM bulkio_jobs WHERE public_id = '$id'");
    last if $owner && $records > 0;
    sleep 0.05;
}
ok t_cmp($records > 0, 1, "the import is running ($records records in)");

my $low = sql_value("SELECT checkpoint_records FROM bulkio_jobs"
                    . " WHERE public_id = '$id'");
my $run = auto();
my $high = sql_value("SELECT checkpoint_records FROM bulkio_jobs"
                     . " WHERE public_id = '$id'");
ok t_cmp($run->{BulkIORunningJobs}, 1, 'BulkIORunningJobs: 1');
ok t_cmp($run->{'BulkIOJob[0]Id'}, $id, 'BulkIOJob[0]Id is the import');
ok t_cmp($run->{'BulkIOJob[0]Kind'}, 'import', 'its kind');
ok t_cmp($run->{'BulkIOJob[0]Resource'}, 'users', 'its resource');
ok t_cmp($run->{'BulkIOJob[0]Format'}, 'csv', 'its format');
my $rec = $run->{'BulkIOJob[0]Records'};
ok t_cmp($rec >= $low && $rec <= $high && $rec > 0 ? 1 : 0, 1,
         "its records ($rec) as committed ($low..$high)");
ok t_cmp($run->{'BulkIOJob[0]Bytes'} > 0
         && $run->{'BulkIOJob[0]Bytes'} < $run->{'BulkIOJob[0]BytesTotal'}
         ? 1 : 0, 1, 'bytes processed, part of the total ('
         . "$run->{'BulkIOJob[0]Bytes'} of $run->{'BulkIOJob[0]BytesTotal'})");
ok t_cmp($run->{'BulkIOJob[0]BytesTotal'}, -s "$dir/status.csv",
         'bytes total is the file size');
ok t_cmp($run->{'BulkIOJob[0]LeaseOwner'}, $owner,
         "the lease owner ($owner)");
ok t_cmp($owner =~ m{^\Q$server\E/[^/]+/(\d+)/\d+$} && $1 == $run->{BulkIOSchedulerPid}
         ? 1 : 0, 1, 'held by the scheduler process');
ok t_cmp($run->{BulkIOJobThreads} >= 1, 1, 'BulkIOJobThreads counts it');

my $html = GET('/server-status')->content;
ok t_cmp($html =~ m{<h2><a name="bulkio">mod_bulkio</a></h2>} ? 1 : 0, 1,
         'the HTML page has a mod_bulkio section');
ok t_cmp($html =~ m{<dt>Job worker of <b>\Q$server\E</b>: database ok</dt>}
         ? 1 : 0, 1, 'naming this server');
ok t_cmp($html =~ m{<tr><td>\Q$id\E</td><td>import</td><td>users</td><td>(\d+)</td>.*?<td>\Q$owner\E</td>}
         && $1 > 0 ? 1 : 0, 1, 'a row with the job, its progress and owner');
ok t_cmp($html =~ m{<dt>Last poll: \d{4}-\d\d-\d\dT[\d:.]+Z \([\d.]+ s ago\) by process (\d+)}
         && $1 == $run->{BulkIOSchedulerPid} ? 1 : 0, 1, 'and the last poll');

# canceled: the section empties
http_delete "/v1/imports/$id", auth();
my $doc = wait_job($id);
ok t_cmp($doc->{status}, 'canceled', 'the import is canceled');
my $after = auto();
ok t_cmp(($after->{BulkIORunningJobs} // '') . ':'
         . (exists $after->{'BulkIOJob[0]Id'} ? 'job' : 'none'), '0:none',
         'no job running any more');
