use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

plan tests => 5;

my $res = GET '/v1/health';
ok t_cmp($res->code, 200, 'health answers 200 while PostgreSQL is up');
my $doc = json_decode($res->content);
ok t_cmp($doc->{database}, 'ok', 'database ok');

$res = GET '/v1/nothing-here';
ok t_cmp($res->code, 404, 'unknown route is 404');
ok t_cmp($res->header('Content-Type'), 'application/problem+json',
         'as problem+json');
$doc = json_decode($res->content);
ok t_cmp("$doc->{status} $doc->{title}", '404 Not Found',
         'problem document has status and title');
