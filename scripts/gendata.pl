#!/usr/bin/perl
# Deterministic data for mod_bulkio's tests and benchmarks: the same
# options give the same bytes; nothing committed.
#
#   gendata.pl --resource users|articles|comments [--format ndjson|json|csv]
#              [--count N] [--users N] [--articles N]
#              [--profile rules|valid|invalid5] [--ids sequential|random]
#              [--seed N] [--expect FILE] > FILE
#   gendata.pl --help
#
# The records go to standard output (--format ndjson by default, --count
# 1000 by default).
#
# profile rules (default): records that exercise every rule of docs/rules.md in a
#   fixed cycle; --expect writes the counts an import must give (JSON).
# profile valid: only valid records; invalid5: 5% invalid ones.
# Articles refer to users of a users file generated with the same --users
# count (and --ids, --seed), comments to those users and articles
# (--articles).
#
# ids sequential (default): ids numbered in order
#   (00005e11-0000-4000-8000-000000000001, ...), emails user<i>@example.com
#   and slugs article-<i>: every index insert lands on the right-most page.
# ids random: ids are v4 UUIDs, and emails and slugs start with hex digits,
#   all taken from an MD5 of --seed (default 1) and the record's number, so
#   keys arrive in no index order, as real clients send them, and the same
#   seed gives the same file.
use strict;
use warnings;
use Getopt::Long;
use Digest::MD5 qw(md5_hex);

# The usage: the comment at the top of this file.
sub usage {
    my ($fh) = @_;
    open my $self, '<', $0 or die "$0: $!\n";
    <$self>;
    while (my $line = <$self>) {
        last unless $line =~ s/^# ?//;
        print $fh $line;
    }
    print $fh "\nExample (1,000,000 users, 5% invalid, as the README imports them):\n"
        . "  scripts/gendata.pl --resource users --format csv --count 1000000 \\\n"
        . "      --profile invalid5 > users_1m.csv\n";
}

my %o = (count => 1000, profile => 'rules', format => 'ndjson',
         ids => 'sequential', seed => 1);
GetOptions(\%o, 'resource=s', 'format=s', 'count=i', 'users=i',
           'articles=i', 'profile=s', 'ids=s', 'seed=i', 'expect=s', 'help|h')
    or do { usage(\*STDERR); exit 2 };
if ($o{help}) {
    usage(\*STDOUT);
    exit 0;
}
my $res = $o{resource} // do {
    print STDERR "gendata.pl: --resource is required (gendata.pl --help)\n";
    exit 2;
};
my %known = (resource => [qw(users articles comments)],
             format => [qw(ndjson json csv)],
             profile => [qw(rules valid invalid5)],
             ids => [qw(sequential random)]);
for my $k (sort keys %known) {
    next if grep { $_ eq $o{$k} } @{ $known{$k} };
    print STDERR "gendata.pl: unknown --$k '$o{$k}'; allowed: @{ $known{$k} }\n";
    exit 2;
}
my $n = $o{count};
my $nu = $o{users} // $n;
my $na = $o{articles} // $n;
my $rules = $o{profile} eq 'rules';

my $random = $o{ids} eq 'random';

# 32 hex digits that depend only on the seed, a kind and a number.
sub hash { md5_hex("$o{seed}/$_[0]/$_[1]") }
# A v4 UUID: version 4, variant 10xx, the rest from the hash.
sub v4 {
    my $h = hash(@_);
    substr($h, 12, 1) = '4';
    substr($h, 16, 1) = (qw(8 9 a b))[hex(substr($h, 16, 1)) & 3];
    return join '-', unpack 'A8 A4 A4 A4 A12', $h;
}
sub uid { $random ? v4('u', $_[0]) : sprintf '%08x-0000-4000-8000-%012x', 0x5e11, $_[0] }
sub aid { $random ? v4('a', $_[0]) : sprintf '%08x-0000-4000-8000-%012x', 0xa271, $_[0] }
sub cid { $random ? v4('c', $_[0]) : sprintf '%08x-0000-4000-8000-%012x', 0xc033, $_[0] }
# User i's email (a case variant of it with $upper), article i's slug.
sub email {
    my ($i, $upper) = @_;
    my $local = $random ? substr(hash('e', $i), 0, 6) . ".user$i" : "user$i";
    return $upper ? uc($local) . '@Example.com' : "$local\@example.com";
}
sub slug { $random ? substr(hash('s', $_[0]), 0, 6) . "-article-$_[0]" : "article-$_[0]" }
sub ts  { my $i = shift; sprintf '2024-%02d-%02dT%02d:%02d:%02dZ',
              1 + $i % 12, 1 + $i % 28, $i % 24, $i % 60, ($i * 7) % 60 }

# Which users and articles of the rules profile exist after their import.
sub user_ok    { my $k = $_[0] % 50; !($k == 1 || $k == 2 || $k == 3 || $k == 5) }
sub user_keyed { my $k = $_[0] % 50; user_ok($_[0]) && $k != 4 && $k != 6 }
sub article_ok { my $k = $_[0] % 25; $k < 1 || $k > 9 || $k == 4 }
sub article_keyed { article_ok($_[0]) && $_[0] % 25 != 4 }

# A valid reference near i: a user (article) that exists with a known id.
sub user_ref {
    my $i = shift;
    return uid($i % $nu) if !$rules;
    $i %= $nu;
    $i = ($i + 1) % $nu until user_keyed($i);
    return uid($i);
}
sub article_ref {
    my $i = shift;
    return aid($i % $na) if !$rules;
    $i %= $na;
    $i = ($i + 1) % $na until article_keyed($i);
    return aid($i);
}

my %expect = (total => $n, success => 0, rows => 0,
              errors => { VALIDATION_ERROR => 0, FOREIGN_KEY_ERROR => 0,
                          DUPLICATE_ERROR => 0 });
sub outcome {
    my ($type, $new_row) = @_;
    if ($type) { $expect{errors}{$type}++ }
    else { $expect{success}++; $expect{rows}++ if $new_row }
}

sub invalid5 { $o{profile} eq 'invalid5' && $_[0] % 20 == 7 }

sub user {
    my $i = shift;
    my %r = (id => uid($i), email => email($i), name => "User $i",
             role => (qw(admin author reader))[$i % 3],
             active => ($i % 4 ? 'true' : 'false'),
             created_at => ts($i), updated_at => ts($i + 5));
    if (invalid5($i)) { $r{email} = "user$i\@invalid"; return (\%r, 'VALIDATION_ERROR') }
    return (\%r, undef, 1) unless $rules;
    my $k = $i % 50;
    if ($k == 1) { $r{email} = "user$i\@invalid"; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 2) { $r{role} = 'manager'; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 3 && $i >= 3) {
        $r{email} = email($i - 3);
        return (\%r, user_ok($i - 3) ? 'DUPLICATE_ERROR' : undef,
                !user_ok($i - 3));
    }
    if ($k == 4 && $i >= 4) {
        delete $r{id};
        $r{email} = email($i - 4, 1);
        return (\%r, undef, !user_ok($i - 4));   # updates by email
    }
    if ($k == 5) { $r{created_at} = '2024-01-01T00:00:00'; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 6 && $i >= 6) {
        $r{id} = uc uid($i - 6);                 # same key, other case
        $r{email} = email($i);
        return (\%r, undef, !user_ok($i - 6));
    }
    return (\%r, undef, 1);
}

sub article {
    my $i = shift;
    my $pub = $i % 2;
    my %r = (id => aid($i), slug => slug($i), title => "Article $i",
             body => "Body of article $i, with \"quotes\", commas\nand a newline.",
             author_id => user_ref($i * 7), tags => [ "t$i", 'bulk io' ],
             status => $pub ? 'published' : 'draft');
    $r{published_at} = ts($i) if $pub;
    if (invalid5($i)) { $r{slug} = "Article $i"; return (\%r, 'VALIDATION_ERROR') }
    return (\%r, undef, 1) unless $rules;
    my $k = $i % 25;
    if ($k == 1) { $r{slug} = "Hello World $i"; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 2 && $i >= 2) {
        $r{slug} = slug($i - 2);
        return (\%r, article_ok($i - 2) ? 'DUPLICATE_ERROR' : undef,
                !article_ok($i - 2));
    }
    if ($k == 3) {
        $r{status} = 'draft'; $r{published_at} = ts($i);
        return (\%r, 'VALIDATION_ERROR');
    }
    if ($k == 4) { delete $r{id}; return (\%r, undef, 1) }
    if ($k == 5) { $r{author_id} = "a-missing-$i"; return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 6) { $r{author_id} = uid($nu + 1000 + $i); return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 7) { delete $r{title}; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 8) { $r{author_id} = uid(1); return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 9) { $r{tags} = [ 1, 2 ]; return (\%r, 'VALIDATION_ERROR') }
    return (\%r, undef, 1);
}

sub comment {
    my $i = shift;
    my %r = (id => cid($i), article_id => article_ref($i * 3),
             user_id => user_ref($i * 11), body => "Comment $i: nice,\tright?",
             created_at => ts($i));
    if (invalid5($i)) { $r{article_id} = "a-missing-$i"; return (\%r, 'FOREIGN_KEY_ERROR') }
    return (\%r, undef, 1) unless $rules;
    my $k = $i % 20;
    if ($k == 1) { $r{id} = 'cm_' . cid($i); return (\%r, undef, 1) }
    if ($k == 2) { delete $r{id}; return (\%r, undef, 1) }
    if ($k == 3) { $r{article_id} = 'a-missing-12510'; return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 4) { $r{user_id} = uid($nu + 5000 + $i); return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 5) { delete $r{body}; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 6) { $r{body} = " \t "; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 7) { $r{body} = join ' ', ('word') x 501; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 8) { $r{body} = ('x' x 99 . ' ') x 100 . 'y'; return (\%r, 'VALIDATION_ERROR') }
    if ($k == 9) { $r{article_id} = aid(1); return (\%r, 'FOREIGN_KEY_ERROR') }
    if ($k == 10) { $r{body} = join ' ', ('word') x 500; return (\%r, undef, 1) }
    return (\%r, undef, 1);
}

my %fields = (
    users    => [qw(id email name role active created_at updated_at)],
    articles => [qw(id slug title body author_id tags published_at status)],
    comments => [qw(id article_id user_id body created_at)],
);
my $make = { users => \&user, articles => \&article, comments => \&comment }->{$res}
    or die "unknown resource $res\n";
my @cols = @{$fields{$res}};

sub jstr {
    my $s = shift;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\t/\\t/g;
    return qq("$s");
}
sub json_value {
    my ($k, $v) = @_;
    return '[' . join(',', map { /^\d+$/ ? $_ : jstr($_) } @$v) . ']' if ref $v;
    return $v if $k eq 'active';
    return jstr($v);
}
sub json_record {
    my $r = shift;
    return '{' . join(',', map { jstr($_) . ':' . json_value($_, $r->{$_}) }
                           grep { exists $r->{$_} } @cols) . '}';
}
sub csv_cell {
    my $v = shift // return '';
    $v = '[' . join(',', map { /^\d+$/ ? $_ : jstr($_) } @$v) . ']' if ref $v;
    return $v unless $v =~ /[",\r\n]/ || $v =~ /^ | $/;
    $v =~ s/"/""/g;
    return qq("$v");
}

binmode STDOUT;
my $fmt = $o{format};
print join(',', @cols), "\r\n" if $fmt eq 'csv';
print "[\n" if $fmt eq 'json';
for my $i (0 .. $n - 1) {
    my ($r, $err, $new) = $make->($i);
    outcome($err, $new);
    if ($fmt eq 'csv') {
        print join(',', map { csv_cell($r->{$_}) } @cols), "\r\n";
    }
    else {
        print json_record($r), ($fmt eq 'json' && $i < $n - 1 ? ",\n" : "\n");
    }
}
print "]\n" if $fmt eq 'json';

if ($o{expect}) {
    open my $fh, '>', $o{expect} or die "$o{expect}: $!\n";
    my $e = $expect{errors};
    printf $fh '{"total":%d,"success":%d,"rows":%d,"errors":{%s}}' . "\n",
        $expect{total}, $expect{success}, $expect{rows},
        join(',', map { qq("$_":$e->{$_}) } sort keys %$e);
}
