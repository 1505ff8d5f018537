use strict;
use warnings FATAL => 'all';

# The spool directory unwritable (500) or full (507): the upload gets a
# problem+json answer, no job is created and no file is left; jobs that
# must write into the spool (export files, URL downloads) end failed with
# the reason. "Full" mounts a 1 MiB tmpfs over the spool and is skipped
# where that is not allowed.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT database_spool);

my $vars = Apache::Test::vars();
my $spool = "$vars->{t_dir}/spool";
my $docs = $vars->{documentroot};
my $spool_uid = (stat $spool)[4];

# chmod cannot stop root: the children must run as another user; the
# database spool's failures are t/spool_lo.t's
plan tests => 22, need { 'httpd children that do not run as root'
                         => defined $spool_uid && $spool_uid != 0,
                         'the file spool (BULKIO_TEST_SPOOL=file)'
                         => !database_spool() };

sub jobs { sql_value('SELECT count(*) FROM bulkio_jobs') }

sub spool_files {
    opendir my $d, $spool or return ('unreadable');
    return grep { /^(upload|import|export)-/ } readdir $d;
}

# files of ours in the spool, other than those in %$known (the other
# tests' export files and canceled jobs' uploads stay while they are due)
sub leftovers {
    my $known = shift // {};
    return scalar grep { !$known->{$_} } spool_files();
}

sub post_raw {
    my ($body) = @_;
    return POST '/v1/imports?resource=users', auth(),
        'Content-Type' => 'application/x-ndjson', content => $body;
}

sub wait_status {
    my ($kind, $id) = @_;
    my $until = time + 60;
    my $doc = {};
    while (time < $until) {
        $doc = json_decode(GET("/v1/${kind}s/$id", auth())->content) // {};
        last if ($doc->{status} // '') =~ /^(completed|failed|canceled)$/;
        sleep 0.2;
    }
    return $doc;
}

sub export_job {
    my $res = POST '/v1/exports', auth(), 'Content-Type' => 'application/json',
        content => '{"resource": "users", "format": "ndjson"}';
    return wait_status('export', json_decode($res->content)->{job_id});
}

reset_data();
gendata("$docs/spool-users.ndjson", resource => 'users', format => 'ndjson',
        count => 20000, profile => 'valid');
gendata("$docs/spool-small.ndjson", resource => 'users', format => 'ndjson',
        count => 4000, profile => 'valid');
my $small = join '', map {
    qq({"email": "spool$_\@example.com", "name": "Spool $_"}\n) } 1 .. 10;
my $id1 = json_decode(post_raw($small)->content)->{job_id};
my $doc = wait_job($id1);
ok t_cmp($doc->{successCount}, 10, 'the spool works to begin with');
my $id2 = upload("$docs/spool-users.ndjson", 'resource=users',
                 'application/x-ndjson');
wait_job($id2);
my $users = sql_value('SELECT count(*) FROM users');

# --- unwritable -------------------------------------------------------------
wait_idle();
for (1 .. 50) {
    last unless -e "$spool/import-$id1" || -e "$spool/import-$id2";
    sleep 0.1;
}
ok t_cmp((-e "$spool/import-$id1" ? 1 : 0) + (-e "$spool/import-$id2" ? 1 : 0),
         0, 'finished imports left no file in the spool');
my %known = map { ($_ => 1) } spool_files();
my $before = jobs();
chmod 0000, $spool or die "chmod: $!";
my $res = post_raw($small);
ok t_cmp($res->code, 500, 'unwritable spool: 500');
ok t_cmp($res->header('Content-Type'), qr{^application/problem\+json},
         'as problem+json');
ok t_cmp((json_decode($res->content) // {})->{detail} // '',
         qr/spool directory is not writable/, 'the detail says why');
ok t_cmp(jobs(), $before, 'no job was created');

$doc = export_job();
ok t_cmp($doc->{status}, 'failed', 'an export job that cannot write fails');
ok t_cmp($doc->{reason} // '', qr/cannot write the export file/,
         'with the reason');

sub url_import {
    return POST '/v1/imports?resource=users&format=ndjson', auth(),
        'Content-Type' => 'application/json',
        content => qq({"url": "http://127.0.0.1:$vars->{port}/$_[0]"});
}
ok t_cmp(url_import('spool-users.ndjson')->code, 500,
         'a URL import request answers 500 as well');
chmod 0700, $spool or die "chmod: $!";
ok t_cmp(leftovers(\%known), 0, 'nothing left in the spool');

# --- full -------------------------------------------------------------------
wait_idle();
my $mounted = system('mount', '-t', 'tmpfs', '-o',
                     "size=1m,mode=0700,uid=$spool_uid", 'bulkio-full',
                     $spool) == 0;
SKIP: {
    skip 'cannot mount a small tmpfs over the spool here', 11 unless $mounted;
    $before = jobs();
    my $big = '';
    open my $fh, '<', "$docs/spool-users.ndjson" or die;
    { local $/; $big = <$fh>; }
    close $fh;
    $res = post_raw($big);      # about 3 MB into 1 MiB
    ok t_cmp($res->code, 507, 'full spool: 507');
    ok t_cmp($res->header('Content-Type'), qr{^application/problem\+json},
             'as problem+json');
    ok t_cmp((json_decode($res->content) // {})->{detail} // '',
             qr/no room/, 'the detail says why');
    ok t_cmp(jobs(), $before, 'no job was created');
    ok t_cmp(leftovers(), 0, 'no half file is left');
    $res = post_raw($small);
    ok t_cmp($res->code, 202, 'a small upload still fits');
    wait_idle();

    $doc = export_job();        # about 3 MB of users
    ok t_cmp($doc->{status}, 'failed', 'an export job that fills the spool '
             . 'fails');
    ok t_cmp($doc->{reason} // '', qr/spool full/, 'with the reason');
    ok t_cmp(leftovers(), 0, 'and leaves no file');
    wait_idle();

    # a URL download that finds no room: 600 KB into the 400 KB left
    open my $out, '>', "$spool/filler" or die "filler: $!";
    print $out 'x' x (600 * 1024);
    close $out;
    $res = url_import('spool-small.ndjson');
    $doc = wait_status('import', (json_decode($res->content) // {})->{job_id}
                                 // 'none');
    ok t_cmp($doc->{status}, 'failed', 'a URL import that cannot store its '
             . 'download fails');
    ok t_cmp($doc->{reason} // '', qr/cannot write into the spool directory/,
             'with the reason');
    unlink "$spool/filler";
    wait_idle();
    system('umount', $spool) == 0 or die "umount $spool failed\n";
}
ok t_cmp(GET('/v1/health')->code, 200, 'the server serves on');
unlink "$docs/spool-users.ndjson", "$docs/spool-small.ndjson";
