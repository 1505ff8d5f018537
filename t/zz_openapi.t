use strict;
use warnings FATAL => 'all';

# docs/openapi.yaml must describe every route and status code the suite
# exercises. Apache::Test runs the files in alphabetical order, so this one
# runs last and reads the access log the whole run wrote (common log
# format: "METHOD PATH[?QUERY] PROTOCOL" STATUS).
#
# Every logged request is classified:
# - a path not under /v1 is not the API: test fixtures under t/htdocs and
#   the redirects the URL import tests fetch through. It is not checked.
# - a path under /v1 that matches a path template of the document (path
#   parameters match one segment) must have, for its method, an operation
#   whose responses list the status (HEAD is GET without a body: it is
#   checked against `head` when the document has one, else `get`). A method
#   the path has no operation for must get a status listed in the path's
#   `x-bulkio-other-methods` (405 with Allow, or 401 first where the path
#   needs a token).
# - a path under /v1 that matches no template (the suite asks for
#   /v1/nothing-here on purpose) must get a status listed in the document's
#   `x-bulkio-unrouted`, which documents the module's answer to unknown
#   paths (404, or 401 below /v1/imports/ and /v1/exports/).
# - a connection that sent no request line at all is logged as "-" with
#   400 or 408 by httpd: no route was asked for; it is counted and shown.
#   So is a request whose client went away before any answer (status "-").
# - any other line that cannot be parsed (a garbage request line) fails the
#   test: the suite is not expected to send one, and if it does, this test
#   is to be taught what it means.
#
# Run alone (scripts/apache-test.sh t/zz_openapi.t) the log holds too few
# requests to say anything; the coverage checks are then skipped.
use Apache::Test qw(-withtestmore);
use File::Spec;
use YAML::XS ();

my $vars = Apache::Test::vars();
my $top = $vars->{top_dir};
my $doc_file = "$top/docs/openapi.yaml";
my $log_file = File::Spec->catfile($vars->{t_logs}, 'access_log');

plan tests => 9;

# --- the document --------------------------------------------------------
my $doc = eval { YAML::XS::LoadFile($doc_file) };
ok($doc, 'docs/openapi.yaml parses') or diag($@);
$doc ||= {};
like($doc->{openapi} // '', qr/^3\.1\.\d+$/, 'it is OpenAPI 3.1');

# every $ref resolves inside the document
my @refs;
my $walk;
$walk = sub {
    my ($n) = @_;
    if (ref $n eq 'HASH') {
        push @refs, $n->{'$ref'} if defined $n->{'$ref'} && !ref $n->{'$ref'};
        $walk->($_) for values %$n;
    }
    elsif (ref $n eq 'ARRAY') {
        $walk->($_) for @$n;
    }
};
$walk->($doc);
my @broken = grep {
    my $ref = $_;
    my $node = $doc;
    if ($ref =~ m{^#/(.*)$}) {
        for my $k (split m{/}, $1) {
            $k =~ s/~1/\//g;
            $k =~ s/~0/~/g;
            $node = ref $node eq 'HASH' ? $node->{$k} : undef;
        }
    }
    else {
        $node = undef;
    }
    !defined $node;
} @refs;
ok(@refs > 20 && !@broken, scalar(@refs) . ' $refs, all resolve')
    or diag("unresolved: @broken");

# every operation answers errors as problem+json, and documents 401 when
# it needs a token
my @methods = qw(get put post delete options head patch trace);
my $paths = $doc->{paths} || {};
my @bad_ops;
for my $p (sort keys %$paths) {
    for my $m (@methods) {
        my $op = $paths->{$p}{$m} or next;
        my $resp = $op->{responses} || {};
        my $public = $op->{security} && !@{ $op->{security} };
        push @bad_ops, "$m $p: no 401" if !$public && !$resp->{401};
        push @bad_ops, "$m $p: no responses" unless %$resp;
    }
}
ok(!@bad_ops, 'operations are complete') or diag(join "\n", @bad_ops);

# --- the log ---------------------------------------------------------------
# templates as regexes, the most specific (fewest parameters) first
my @templates = sort {
    ($a =~ tr/{//) <=> ($b =~ tr/{//) or length $b <=> length $a
} keys %$paths;
my %template_re = map {
    my $t = $_;
    (my $re = quotemeta $t) =~ s/\\\{[^}]*\\\}/[^\/]+/g;
    ($t => qr/^$re$/);
} @templates;

open my $fh, '<', $log_file or die "$log_file: $!";
my (%seen, @unparsed, $api_requests, $ignored, $no_request, $no_response);
while (my $line = <$fh>) {
    chomp $line;
    # the user (a token's subject) may hold spaces
    my ($request, $status) = $line =~ /^\S+ \S+ .*? \[[^\]]+\] "(.*)" (\d{3}|-) \S+$/
        or do { push @unparsed, $line; next };
    if ($request eq '-' && ($status eq '400' || $status eq '408')) {
        ++$no_request;
        next;
    }
    if ($status eq '-') {
        ++$no_response;   # the client went away before an answer
        next;
    }
    my ($method, $target) = $request =~ m{^([A-Z]+) (\S+)(?: HTTP/\d\.\d)?$}
        or do { push @unparsed, $line; next };
    (my $path = $target) =~ s/[?#].*//s;
    if ($path !~ m{^/v1(?:/|$)}) {
        ++$ignored;
        next;
    }
    ++$api_requests;
    my ($template) = grep { $path =~ $template_re{$_} } @templates;
    $seen{ join ' ', $template // '(unrouted)', $method, $status }++;
}
close $fh;
ok(!@unparsed, 'every access log line parses')
    or diag(join "\n", 'unparsed:', @unparsed[0 .. ($#unparsed > 9 ? 9 : $#unparsed)]);

my $whole_run = ($api_requests // 0) >= 200;
SKIP: {
    skip 'the access log holds the requests of a few tests only; run the whole suite', 3
        unless $whole_run;

    my (@missing, %documented_seen);
    for my $key (sort keys %seen) {
        my ($template, $method, $status) = split / /, $key;
        my $where;
        if ($template eq '(unrouted)') {
            $where = $doc->{'x-bulkio-unrouted'}{responses};
        }
        else {
            my $item = $paths->{$template};
            my $m = lc $method;
            $m = 'get' if $m eq 'head' && !$item->{head};
            $where = $item->{$m} ? $item->{$m}{responses}
                                 : $item->{'x-bulkio-other-methods'}{responses};
        }
        if ($where && exists $where->{$status}) {
            $documented_seen{"$template $method"}++;
        }
        else {
            push @missing, "$template $method $status ($seen{$key} requests)";
        }
    }
    ok(!@missing, scalar(keys %seen) . ' (route, method, status) seen, all documented')
        or diag(join "\n", 'not in docs/openapi.yaml:', @missing);

    # operations documented but never requested (informational: the
    # document describes what is implemented, the suite need not reach all)
    for my $p (sort keys %$paths) {
        for my $m (@methods) {
            next unless $paths->{$p}{$m};
            diag('documented, not requested by the suite: ' . uc($m) . " $p")
                unless grep { /^\Q$p\E \U$m\E / } keys %seen;
        }
    }
    ok(grep({ /^\(unrouted\) / } keys %seen),
       'the unknown-route requests of the suite were classified as unrouted');
    ok($ignored, "$ignored requests outside /v1 (fixtures, redirects) ignored");
    diag(scalar(keys %seen) . " (route, method, status) from $api_requests /v1 requests"
         . ($no_request ? "; $no_request connections without a request line" : '')
         . ($no_response ? "; $no_response requests left before an answer" : ''));
}

# the 3.1 schema check, where the Python validator is installed
SKIP: {
    my $have = system('python3 -c "import openapi_spec_validator" 2>/dev/null') == 0;
    skip 'python3 openapi_spec_validator not installed', 1 unless $have;
    my $out = `python3 -c 'import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
validate(read_from_filename(sys.argv[1])[0])
print("valid")' '$doc_file' 2>&1`;
    like($out, qr/^valid$/m, 'openapi-spec-validator accepts the document')
        or diag($out);
}
