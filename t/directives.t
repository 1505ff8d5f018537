#!/usr/bin/perl
# The directive reference (docs/directives.md), the README's directive table
# and the commented defaults in conf/bulkio.conf must agree with the
# directive table in src/mod_bulkio_config.c: names, number of arguments,
# context and defaults (the values the code falls back to, from its DEF_*
# macros, not only the help strings). Needs no server: make test runs it
# with prove, and Apache::Test's harness runs it too.
use strict;
use warnings FATAL => 'all';
use Test::More;
use File::Basename qw(dirname);
use File::Spec;

my $top = File::Spec->rel2abs(dirname(__FILE__) . '/..');

sub slurp {
    my $f = "$top/$_[0]";
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

# --- the code -------------------------------------------------------------
my $c = slurp('src/mod_bulkio_config.c');
(my $nc = $c) =~ s{/\*.*?\*/}{}gs;

# DEF_* macros, evaluated: sizes in bytes, durations in microseconds
my %def;
while ($nc =~ /^#define\s+(DEF_\w+)\s+(.+?)\s*$/mg) {
    my ($name, $expr) = ($1, $2);
    $expr =~ s/\(apr_off_t\)//g;
    $expr =~ s/apr_time_from_sec\(([^()]*)\)/(($1) * 1000000)/g;
    die "cannot evaluate $name: $expr" unless $expr =~ m{^[\d\s()*+<-]+$};
    $def{$name} = eval $expr;
}
# field -> DEF_* through DEF_VAL(field, DEF_X)
my %field_def = $nc =~ /DEF_VAL\((\w+),\s*(DEF_\w+)\)/g;

# the command table
my ($table) = $nc =~ /command_rec\s+mod_bulkio_cmds\[\]\s*=\s*\{(.*?)\n\};/s
    or die 'directive table not found';
my @code;
while ($table =~ /AP_INIT_(\w+)\(\s*"(\w+)"\s*,\s*(\w+)\s*,\s*(.*?)\s*,
                  \s*([A-Z_|\s]+?)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/gsx) {
    my ($how, $name, $fn, $info, $ctx, $help) = ($1, $2, $3, $4, $5, $6);
    $help = join '', $help =~ /"((?:[^"\\]|\\.)*)"/g;
    my %d = (name => $name, how => $how, fn => $fn, ctx => $ctx,
             help => $help);
    if ($info =~ /OFF\((\w+)\)/) {
        my $m = $field_def{$1} or die "$name: no DEF_VAL for $1";
        $d{value} = $def{$m};
        die "$name: $m not evaluated" unless defined $d{value};
    }
    ($d{help_default}) = $help =~ /\(default:?\s+([^)]+)\)/;
    $d{help_default} //= 'none';
    push @code, \%d;
}
my $n_init = () = $table =~ /AP_INIT_/g;
is(scalar @code, $n_init, "every AP_INIT_* entry parsed ($n_init)");
cmp_ok(scalar @code, '>=', 16, 'the table has the known directives');

my %ctx_words = (RSRC_CONF => 'server config, virtual host',
                 ACCESS_CONF => 'directory',
                 OR_ALL => 'server config, virtual host, directory, .htaccess');

# a default as written in the docs, as a number in the code's unit
sub doc_value {
    my ($fn, $text) = @_;
    $text =~ s/`//g;
    if ($fn eq 'set_size') {
        $text =~ /^(\d+)\s*([KMGT]?)B?$/i or return undef;
        my %mul = ('' => 1, K => 1 << 10, M => 1 << 20, G => 1 << 30,
                   T => 1 << 40);
        return $1 * $mul{uc $2};
    }
    if ($fn eq 'set_interval') {
        $text =~ /^(\d+)\s*(ms|s|m|h|d)?$/i or return undef;
        my %mul = (ms => 1000, s => 1e6, m => 60e6, h => 3600e6,
                   d => 86400e6);
        return $1 * $mul{lc($2 // 's')};
    }
    if ($fn eq 'set_count') {
        return $text =~ /^(\d+)$/ ? $1 : undef;
    }
    if ($fn eq 'set_flag') {
        return $text =~ /^on$/i ? 1 : $text =~ /^off$/i ? 0 : undef;
    }
    return undef;
}

# --- docs/directives.md ---------------------------------------------------
my $md = slurp('docs/directives.md');
my %doc;
my @doc_order;
for my $sec (split /^## /m, $md) {
    my ($name) = $sec =~ /^(BulkIO\w+)\s*$/m or next;
    my %row = $sec =~ /^\|\s*(Syntax|Default|Context)\s*\|\s*(.*?)\s*\|\s*$/mg;
    $row{example} = $sec =~ /```apache\n\Q$name\E\s+\S/ ? 1 : 0;
    $doc{$name} = \%row;
    push @doc_order, $name;
}

# --- README.md table ------------------------------------------------------
my $readme = slurp('README.md');
my %readme;
while ($readme =~ /^\|\s*`(BulkIO\w+)`[^|]*\|\s*([^|]*?)\s*\|/mg) {
    $readme{$1} = $2;
}
ok($readme =~ m{\(docs/directives\.md\)}, 'README links docs/directives.md');

# --- conf/bulkio.conf commented defaults ---------------------------------
my $conf = slurp('conf/bulkio.conf');
my %conf_default = $conf =~ /^\s*#(BulkIO\w+)\s+(\S+)\s*$/mg;

my %in_code = map { $_->{name} => 1 } @code;
is_deeply([ sort @doc_order ], [ sort keys %in_code ],
          'docs/directives.md documents exactly the directives of the code');
is_deeply([ @doc_order ], [ map { $_->{name} } @code ],
          'docs/directives.md lists them in the order of the table');
is_deeply([ sort keys %readme ], [ sort keys %in_code ],
          'the README table lists exactly the directives of the code');
for my $name (sort keys %conf_default) {
    ok($in_code{$name}, "conf/bulkio.conf: #$name is a directive");
}

for my $d (@code) {
    my $name = $d->{name};
    my $doc = $doc{$name} or next;

    # syntax: TAKE1 one argument, ITERATE one or more
    my $syntax = $doc->{Syntax} // '';
    like($syntax, qr/^`\Q$name\E`\s+\*\w+\*/, "$name: syntax names it and an argument");
    if ($d->{how} eq 'TAKE1') {
        unlike($syntax, qr/\.\.\.|…|\*\s+\S/, "$name: syntax has one argument (TAKE1)");
    }
    elsif ($d->{how} eq 'ITERATE' || $d->{how} eq 'TAKE_ARGV') {
        like($syntax, qr/\.\.\.\s*$/,
             "$name: syntax repeats its argument ($d->{how})");
    }
    elsif ($d->{how} eq 'FLAG') {
        like($syntax, qr/^`\Q$name\E`\s+\*On\*\|\*Off\*$/,
             "$name: syntax is On|Off (FLAG)");
    }
    else {
        fail("$name: AP_INIT_$d->{how} not known to this test");
    }

    # context
    my $ctx = join ', ', grep { $_ } map { $ctx_words{$_} } split /\s*\|\s*/,
              $d->{ctx};
    is($doc->{Context}, $ctx, "$name: context $d->{ctx}");

    # default: compared as a value where the code has one
    my $text = $doc->{Default} // '';
    (my $bare = $text) =~ s/`//g;
    if (defined $d->{value}) {
        is(doc_value($d->{fn}, $text), $d->{value},
           "$name: documented default $bare is the code's value");
        is(doc_value($d->{fn}, $d->{help_default}), $d->{value},
           "$name: help string default $d->{help_default} is the code's value");
        if (defined $conf_default{$name}) {
            is(doc_value($d->{fn}, $conf_default{$name}), $d->{value},
               "$name: conf/bulkio.conf default $conf_default{$name}");
        }
    }
    else {
        is($bare, $d->{help_default}, "$name: default as in the help string");
    }
    (my $rd = $readme{$name} // '') =~ s/`//g;
    if (defined $d->{value}) {
        is(doc_value($d->{fn}, $rd), $d->{value}, "$name: README default $rd");
    }
    else {
        like($rd, qr/^\Q$bare\E(?:$|:|\s*\()/, "$name: README default $rd");
    }
    ok($doc->{example}, "$name: has an example");
}

done_testing();
