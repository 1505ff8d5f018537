#!/usr/bin/env perl
# Every message the module logs has a tag of its own: BULKIO_LOGNO(n) names
# one place in the code, so that a line of the error log leads to it.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Basename qw(dirname);
use File::Spec;

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
chdir $top or die "$top: $!";

my %seen;
for my $file (sort(glob('mod_bulkio.c'), glob('src/*.c'))) {
    open my $fh, '<', $file or die "$file: $!";
    while (my $line = <$fh>) {
        while ($line =~ /BULKIO_LOGNO\((\d+)\)/g) {
            push @{ $seen{$1} }, "$file:$.";
        }
    }
}
ok(keys %seen > 20, scalar(keys %seen) . ' log tags in mod_bulkio.c and src/');
for my $n (sort { $a <=> $b } keys %seen) {
    my @at = @{ $seen{$n} };
    is(scalar @at, 1, "BULKIO$n used once") or diag("BULKIO$n at @at");
}
done_testing();
