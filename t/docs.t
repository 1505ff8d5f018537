#!/usr/bin/env perl
# The repository stands on its own: every relative link in README.md and
# docs/*.md names a file (and heading) that exists, and no tracked file
# refers to a folder outside the checkout.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Basename qw(dirname);
use File::Spec;

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');
chdir $top or die "$top: $!";

# GitHub's anchor of a heading: lower case, punctuation dropped, spaces
# to hyphens.
sub anchors {
    my ($file) = @_;
    my %a;
    open my $fh, '<', $file or return \%a;
    my $fence = 0;
    while (<$fh>) {
        $fence = !$fence if /^```/;
        next if $fence || !/^#+\s+(.*?)\s*$/;
        (my $id = lc $1) =~ s/[^\w\- ]//g;
        $id =~ tr/ /-/;
        $a{$id} = 1;
    }
    return \%a;
}

my @pages = ('README.md', glob('docs/*.md'));
ok(@pages > 3, 'README.md and docs/*.md: ' . scalar(@pages) . ' pages');
for my $page (@pages) {
    open my $fh, '<', $page or die "$page: $!";
    my $text = do { local $/; <$fh> };
    $text =~ s/^```.*?^```//msg;                # code blocks hold no links
    my @bad;
    my $n = 0;
    while ($text =~ /\]\(([^)\s]+)\)/g) {
        my $link = $1;
        next if $link =~ m{^[a-z][a-z0-9+.-]*:}i;   # http:, mailto:
        ++$n;
        my ($path, $frag) = split /#/, $link, 2;
        my $target = $path eq '' ? $page
                   : File::Spec->catfile(dirname($page), $path);
        if (!-e $target) {
            push @bad, "$link (no such file)";
        }
        elsif (defined $frag && $target =~ /\.md$/
               && !anchors($target)->{$frag}) {
            push @bad, "$link (no such heading)";
        }
    }
    is("@bad", '', "$page: $n relative links, each to an existing file");
}

# the folder beside the checkout that held the original assignment; spelt
# in pieces so that this file does not name it
my $beside = join '/', '\\.\\.', 'shared';
my @outside = grep { length } split /\n/,
    `git grep -n -I -e '$beside' -- . 2>/dev/null`;
is(scalar @outside, 0, 'no tracked file refers to the folder beside the checkout')
    or diag join "\n", @outside;

ok(-s 'LICENSE' && `head -c 200 LICENSE` =~ /Apache License\s+Version 2\.0/,
   'LICENSE holds the Apache License 2.0');
open my $lic, '<', 'LICENSE' or die;
my $ltext = do { local $/; <$lic> };
like($ltext, qr/END OF TERMS AND CONDITIONS/, 'LICENSE: the full text');

done_testing();
