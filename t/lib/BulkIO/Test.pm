package BulkIO::Test;
# Helpers for the mod_bulkio Apache::Test suite: tokens, raw HTTP, SQL.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Digest::SHA qw(hmac_sha256);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Apache::TestRequest ();

our @EXPORT = qw(token token_raw b64url http raw_request sql sql_value
                 json_decode hostport auth);

sub b64url {
    my $s = encode_base64(shift, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# A signed token; %claims default to sub => 'alice'.
sub token_raw {
    my ($header, $payload, $secret) = @_;
    $secret //= $ENV{BULKIO_TEST_SECRET};
    my $signing = b64url($header) . '.' . b64url($payload);
    return $signing . '.' . b64url(hmac_sha256($signing, $secret));
}

sub token {
    my (%claims) = @_;
    %claims = (sub => 'alice') unless %claims;
    return token_raw('{"alg":"HS256","typ":"JWT"}',
                     JSON::PP->new->canonical->encode(\%claims));
}

sub auth {
    my $sub = shift // 'alice';
    return ('Authorization' => 'Bearer ' . token(sub => $sub));
}

sub hostport {
    my $hp = Apache::TestRequest::hostport();
    return $hp;
}

sub json_decode {
    my $text = shift;
    my $doc = eval { JSON::PP->new->decode($text) };
    return $doc;
}

# Send bytes: a list of strings and code refs called with the socket in
# between (to pause, or to close it: then nothing is read). Reads the whole
# response; returns (status, headers, body).
sub raw_request {
    my (@chunks) = @_;
    my ($host, $port) = split /:/, hostport();
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                     Proto => 'tcp', Timeout => 30)
        or die "connect: $!";
    binmode $sock;
    for my $c (@chunks) {
        if (ref $c eq 'CODE') {
            $c->($sock);
            return (0, {}, '') unless $sock->opened;
            next;
        }
        print $sock $c;
        $sock->flush;
    }
    local $/;
    my $resp = <$sock> // '';
    close $sock;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    $head //= '';
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})};
    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return ($status // 0, \%h, $body // '');
}

# Run SQL with psql against the test database; returns the rows as lines.
sub sql {
    my $q = shift;
    open my $fh, '-|', 'psql', $ENV{BULKIO_TEST_DBD_PARAMS}, '-XAtq',
        '-v', 'ON_ERROR_STOP=1', '-c', $q or die "psql: $!";
    my @rows = <$fh>;
    close $fh or die "psql failed on: $q";
    chomp @rows;
    return @rows;
}

sub sql_value {
    my @rows = sql(shift);
    return $rows[0];
}

1;
