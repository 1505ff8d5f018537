use strict;
use warnings FATAL => 'all';

# Token rules of the bulkio_scopes virtual host (t/conf/extra.conf.in):
# BulkIORequireScopes On, BulkIOJWTAudience https://bulk.test,
# BulkIOJWTIssuer https://issuer.test. An import needs bulkio:import, a
# delete-mode import bulkio:delete as well, an export bulkio:export; a
# missing scope is 403 naming it, and no job is made. The main server
# (BulkIOJWTRequireExp on by default) refuses a token without exp.
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use BulkIO::Test qw(:DEFAULT raw_request_at vhost_hostport);

my $vhost = vhost_hostport('bulkio_scopes');
my %ok = (aud => 'https://bulk.test', iss => 'https://issuer.test');

sub tok {
    my ($scope, %more) = @_;
    return token(sub => 'scoper', %ok, (defined $scope ? (scope => $scope) : ()),
                 %more);
}

sub request {
    my ($method, $path, $token, $body, $ctype) = @_;
    $body //= '';
    my ($st, $h, $b) = raw_request_at($vhost, "$method $path HTTP/1.1\r\n"
        . "Host: $vhost\r\nAuthorization: Bearer $token\r\n"
        . ($body ne '' || $method eq 'POST'
           ? 'Content-Type: ' . ($ctype // 'text/csv')
             . "\r\nContent-Length: " . length($body) . "\r\n" : '')
        . "Connection: close\r\n\r\n$body");
    my $doc = ($h->{'content-type'} // '') =~ /json/ ? eval { json_decode($b) } : undef;
    return ($st, $doc, $h);
}

sub jobs { sql_value("SELECT count(*) FROM bulkio_jobs WHERE principal = 'scoper'") }

reset_data();
my $csv = "email,name\nscoped\@example.com,S\n";
my $del = "email\nscoped\@example.com\n";
my $before = jobs();

# scopes
my ($st, $doc) = request('POST', '/v1/imports?resource=users', tok('bulkio:export'), $csv);
is($st, 403, 'an import with only bulkio:export: 403');
is($doc->{detail}, 'the token lacks the scope bulkio:import (BulkIORequireScopes is on)',
   'the problem names bulkio:import');
($st, $doc) = request('POST', '/v1/imports?resource=users', tok(undef), $csv);
is($st, 403, 'a token without a scope claim: 403');
($st, $doc) = request('POST', '/v1/imports?resource=users', tok('bulkio:imports'), $csv);
is($st, 403, 'a scope is matched as a word (bulkio:imports is not bulkio:import)');
is(jobs(), $before, 'no job was made by the refused imports');

($st) = request('POST', '/v1/imports?resource=users', tok('openid bulkio:import'), $csv);
is($st, 202, 'bulkio:import among other scopes: 202');
($st, $doc) = request('POST', '/v1/imports?resource=users&mode=delete',
                      tok('bulkio:import'), $del);
is($st, 403, 'a delete-mode import (query) without bulkio:delete: 403');
is($doc->{detail}, 'the token lacks the scope bulkio:delete (BulkIORequireScopes is on)',
   'the problem names bulkio:delete');
my $b = 'scopes-boundary';
my $mp = "--$b\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\ndelete\r\n"
       . "--$b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n"
       . "Content-Type: text/csv\r\n\r\n$del\r\n--$b--\r\n";
($st, $doc) = request('POST', '/v1/imports?resource=users', tok('bulkio:import'), $mp,
                      "multipart/form-data; boundary=$b");
is($st, 403, 'mode=delete as a form field without bulkio:delete: 403');
like($doc->{detail} // '', qr/bulkio:delete/, 'naming bulkio:delete');
is(jobs(), $before + 1, 'only the allowed import made a job');
($st) = request('POST', '/v1/imports?resource=users&mode=delete',
                tok('bulkio:import bulkio:delete'), $del);
is($st, 202, 'with bulkio:import and bulkio:delete: 202');

($st, $doc) = request('GET', '/v1/exports?resource=users', tok('bulkio:import'));
is($st, 403, 'a streamed export with only bulkio:import: 403');
is($doc->{detail}, 'the token lacks the scope bulkio:export (BulkIORequireScopes is on)',
   'the problem names bulkio:export');
($st, $doc) = request('POST', '/v1/exports', tok('bulkio:import'), '{"resource":"users"}',
                      'application/json');
is($st, 403, 'an export job with only bulkio:import: 403');
($st) = request('GET', '/v1/exports?resource=users', tok('bulkio:export'));
is($st, 200, 'a streamed export with bulkio:export: 200');
($st) = request('POST', '/v1/exports', tok('bulkio:export'), '{"resource":"users"}',
                'application/json');
is($st, 202, 'an export job with bulkio:export: 202');
($st) = request('GET', '/v1/imports', tok('bulkio:export'));
is($st, 200, 'listing one\'s own jobs needs no scope');

# audience and issuer
($st, $doc) = request('GET', '/v1/imports', tok('bulkio:export', aud => 'https://other.test'));
is($st, 401, 'another audience: 401');
is($doc->{detail}, 'invalid token: the token is not for this audience (aud)', 'saying so');
($st) = request('GET', '/v1/imports', tok('bulkio:export',
                                          aud => [ 'https://other.test', 'https://bulk.test' ]));
is($st, 200, 'an aud array naming this audience: 200');
($st) = request('GET', '/v1/imports', token(sub => 'scoper', iss => $ok{iss}));
is($st, 401, 'no aud: 401');
($st, $doc) = request('GET', '/v1/imports', tok('bulkio:export', iss => 'https://evil.test'));
is($st, 401, 'another issuer: 401');
is($doc->{detail}, 'invalid token: the token is not from the expected issuer (iss)',
   'saying so');
($st) = request('GET', '/v1/imports', token(sub => 'scoper', aud => $ok{aud}));
is($st, 401, 'no iss: 401');

# expiry, on the main server
my $url = '/v1/imports/00000000-0000-4000-8000-000000000000';
($st, my $h, my $body) = raw_request("GET $url HTTP/1.1\r\nHost: " . hostport()
    . "\r\nAuthorization: Bearer " . token(sub => 'alice', exp => undef)
    . "\r\nConnection: close\r\n\r\n");
is($st, 401, 'a token without exp: 401 (BulkIOJWTRequireExp)');
like($body, qr/"detail":"invalid token: the token has no expiry \(exp\)"/, 'saying so');
wait_idle();

done_testing();
