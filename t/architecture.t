#!/usr/bin/env perl
# docs/architecture.md stays true: every source file it names exists, every
# source file of the tree is named there with its one responsibility, and
# every folder of the repository is in its layout.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Basename qw(dirname);
use File::Spec;

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
chdir $top or die "$top: $!";

my $doc = 'docs/architecture.md';
open my $fh, '<', $doc or die "$doc: $!";
my $text = do { local $/; <$fh> };

# the source files: C of the module and the client, the console's scripts
my @tracked = grep { length } split /\n/,
    `git ls-files -- mod_bulkio.c 'src/*.c' 'client/*.c' 'console/*.js'`;
@tracked = grep { !m{/test/} && $_ ne 'src/gen_openapi.c' } @tracked;
ok(@tracked > 30, scalar(@tracked) . ' source files tracked');

my %named;
while ($text =~ /`((?:src|client|console)\/[\w.\/-]+\.(?:c|js)|mod_bulkio\.c)`/g) {
    $named{$1} = 1;
}
for my $f (sort keys %named) {
    ok(-f $f, "$doc names $f, which exists");
}
for my $f (@tracked) {
    ok($named{$f}, "$f is named in $doc");
}

# every top-level folder of the repository appears in the layout block
my ($layout) = $text =~ /^```\n(.*?)^```/ms;
ok(defined $layout, "$doc has a layout block");
my %dirs = map { m{^([^/]+)/} ? ($1 => 1) : () }
    split /\n/, `git ls-files`;
for my $d (sort keys %dirs) {
    next if $d =~ /^\./;
    like($layout // '', qr/^\Q$d\E\//m, "the layout block lists $d/");
}
done_testing();
