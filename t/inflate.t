use strict;
use warnings FATAL => 'all';

# BulkIOMaxInflatedSize (256M in the test configuration, above the other
# tests' files): a gzip file of about 1 MB
# that inflates past it ends failed with a reason naming the directive,
# after the batches before that point; nothing after it is applied.
use Apache::Test;
use Apache::TestRequest qw(GET POST);
use Apache::TestUtil qw(t_cmp);
use IO::Compress::Gzip qw(gzip $GzipError);
use lib 't/lib';
use BulkIO::Test;

plan tests => 8;

reset_data();
srand(17);
# 8,500 users with names that compress poorly (~1 MB of gzip), 260 MB of
# blank lines (skipped, but inflated), then 100 users more
my $plain = '';
for my $i (1 .. 8500) {
    my $name = join '', map { sprintf '%08x', int rand 0xffffffff } 1 .. 25;
    $plain .= qq({"email":"inflate$i\@example.com","name":"$name"}\n);
}
$plain .= "\n" x (260 << 20);
$plain .= qq({"email":"after$_\@example.com"}\n) for 1 .. 100;
my $gz;
gzip(\$plain, \$gz) or die $GzipError;
ok t_cmp(length($gz) > 900_000 && length($gz) < 1_600_000 ? 1 : 0, 1,
         sprintf('a gzip file of %.2f MB', length($gz) / (1 << 20)));
ok t_cmp(length($plain) > 256 << 20 ? 1 : 0, 1,
         sprintf('inflating to %.1f MB', length($plain) / (1 << 20)));

my $res = POST '/v1/imports?resource=users&format=ndjson', auth(),
    'Content-Type' => 'application/gzip', content => $gz;
ok t_cmp($res->code, 202, 'accepted');
my $doc = wait_job(json_decode($res->content)->{job_id});
ok t_cmp($doc->{status}, 'failed', 'the job ends failed');
my $reason = sql_value("SELECT reason FROM bulkio_jobs WHERE public_id = '$doc->{job_id}'");
ok t_cmp($reason, qr/BulkIOMaxInflatedSize \(268435456 bytes\)/,
         'its reason names the directive and the limit');
# eight full batches of 1000 committed before the limit; the 500 records
# of the unfinished batch and everything after the limit are not applied
ok t_cmp($doc->{successCount}, 8000, 'the batches before the limit are counted');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE 'inflate%'"), 8000,
         'and their rows are in the table');
ok t_cmp(sql_value("SELECT count(*) FROM users WHERE email LIKE 'after%'"), 0,
         'nothing after the limit');
