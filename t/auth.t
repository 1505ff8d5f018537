use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

my $id = '00000000-0000-4000-8000-000000000000';
my $url = "/v1/imports/$id";
my $now = time;
my $good = token(sub => 'alice');
my ($h, $p, $s) = split /\./, $good;

my @refused = (
    [ 'no Authorization header', undef ],
    [ 'Basic scheme', 'Basic YWxpY2U6c2VjcmV0' ],
    [ 'Bearer without token', 'Bearer' ],
    [ 'garbage token', 'Bearer not-a-jwt' ],
    [ 'two parts', "Bearer $h.$p" ],
    [ 'alg none unsigned', 'Bearer ' . b64url('{"alg":"none","typ":"JWT"}')
                           . '.' . b64url('{"sub":"alice"}') . '.' ],
    [ 'alg none signed', 'Bearer ' . token_raw('{"alg":"none"}',
                                               '{"sub":"alice"}') ],
    [ 'alg HS512', 'Bearer ' . token_raw('{"alg":"HS512"}', '{"sub":"alice"}') ],
    [ 'alg RS256', 'Bearer ' . token_raw('{"alg":"RS256"}', '{"sub":"alice"}') ],
    [ 'wrong secret', 'Bearer ' . token_raw('{"alg":"HS256"}', '{"sub":"alice"}',
                                            'x' x 40) ],
    [ 'tampered payload', "Bearer $h." . b64url('{"sub":"mallory"}') . ".$s" ],
    [ 'tampered signature', "Bearer $h.$p." . reverse($s) ],
    [ 'truncated signature', "Bearer $h.$p." . substr($s, 0, 20) ],
    [ 'expired', 'Bearer ' . token(sub => 'alice', exp => $now - 60) ],
    [ 'not yet valid', 'Bearer ' . token(sub => 'alice', nbf => $now + 3600) ],
    [ 'no sub', 'Bearer ' . token(foo => 'bar') ],
    [ 'no exp (BulkIOJWTRequireExp)', 'Bearer ' . token(sub => 'alice', exp => undef) ],
);

plan tests => 3 * @refused + 6;

for my $case (@refused) {
    my ($name, $hdr) = @$case;
    my $res = defined $hdr ? GET($url, Authorization => $hdr) : GET($url);
    ok t_cmp($res->code, 401, "$name: 401");
    ok t_cmp($res->header('Content-Type'), 'application/problem+json',
             "$name: problem+json");
    ok t_cmp($res->header('WWW-Authenticate') // '', qr/^Bearer realm="bulkio"/,
             "$name: WWW-Authenticate");
}

# the 401 for a missing token names both schemes
my $doc = json_decode(GET($url)->content) // {};
ok t_cmp($doc->{detail} // '', qr/Bearer.*Token|Token.*Bearer/,
         'no token: the detail names Bearer and Token');

# a valid token passes authentication (the job is unknown: 404)
my $res = GET $url, Authorization => "Bearer $good";
ok t_cmp($res->code, 404, 'valid Bearer token: authenticated, job unknown');
$res = GET $url, Authorization => "Token $good";
ok t_cmp($res->code, 404, 'Token scheme accepted too');
$res = GET $url, Authorization => 'Bearer ' . token(sub => 'alice',
                                                    exp => $now + 600);
ok t_cmp($res->code, 404, 'unexpired token accepted');

# the principal shows in the access log
# (httpd writes the line after the response, so wait for it)
my $log = Apache::Test::vars('t_logs') . '/access_log';
my @lines;
for (1 .. 50) {
    open my $fh, '<', $log or die "$log: $!";
    @lines = grep { m{GET /v1/imports/$id HTTP} } <$fh>;
    last if grep({ / alice \[/ } @lines) >= 3;
    select undef, undef, undef, 0.1;
}
ok t_cmp(scalar(grep { / alice \[/ } @lines) >= 3, 1,
         'the principal is the access log user');
ok t_cmp(scalar(grep { / - - \[/ } @lines) >= 1, 1,
         'refused requests log no user');
