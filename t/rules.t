use strict;
use warnings FATAL => 'all';

# Every rule of docs/rules.md, through each input format: users, then articles, then
# comments; exact counts per error type, the same in every format.
use Apache::Test;
use Apache::TestRequest qw(GET);
use Apache::TestUtil qw(t_cmp);
use lib 't/lib';
use BulkIO::Test;

my @formats = ([ 'ndjson', 'application/x-ndjson' ], [ 'json', 'application/json' ],
               [ 'csv', 'text/csv' ], [ 'ndjson.gz', 'application/gzip' ]);
my %count = (users => 600, articles => 600, comments => 1200);
my @resources = qw(users articles comments);

plan tests => @formats * (@resources * 6 + 1);

my $dir = Apache::Test::vars('t_dir') . '/logs';

sub digest {
    return join ' ', sql_value(q{SELECT md5(string_agg(concat_ws('|', email,
                name, role, active, created_at, updated_at), ',' ORDER BY email))
           FROM users}),
        sql_value(q{SELECT md5(string_agg(concat_ws('|', a.slug, a.title,
                a.body, a.tags::text, a.status, a.published_at, u.external_id),
                ',' ORDER BY a.slug))
           FROM articles a JOIN users u ON u.id = a.author_id}),
        sql_value(q{SELECT md5(string_agg(concat_ws('|', c.body, c.created_at,
                a.external_id, u.external_id,
                CASE WHEN c.external_id LIKE '%0000c033%' THEN c.external_id END),
                ',' ORDER BY a.external_id, c.body, c.created_at))
           FROM comments c JOIN articles a ON a.id = c.article_id
           JOIN users u ON u.id = c.user_id});
}

my %digests;
for my $f (@formats) {
    my ($fmt, $ctype) = @$f;
    my $plain = $fmt =~ s/\.gz$//r;
    reset_data();
    for my $res (@resources) {
        my $file = "$dir/$res.$plain";
        my $want = gendata($file, resource => $res, format => $plain,
                           count => $count{$res}, users => $count{users},
                           articles => $count{articles});
        if ($fmt =~ /\.gz$/) {
            system("gzip -nf $file") == 0 or die "gzip";
            $file .= '.gz';
        }
        my $id = upload($file, "resource=$res&format=$plain", $ctype);
        my $doc = wait_job($id);
        ok t_cmp($doc->{status}, 'completed', "$fmt $res: completed");
        ok t_cmp($doc->{totalRecords}, $want->{total}, "$fmt $res: total");
        ok t_cmp($doc->{successCount}, $want->{success}, "$fmt $res: success");
        my %got = (VALIDATION_ERROR => 0, FOREIGN_KEY_ERROR => 0,
                   DUPLICATE_ERROR => 0);
        my $res_errors = GET "/v1/imports/$id/errors", auth();
        $got{json_decode($_)->{errorType}}++
            for split /\n/, $res_errors->content;
        my $e = $want->{errors};
        ok t_cmp(join(',', map { "$_=$got{$_}" } sort keys %got),
                 join(',', map { "$_=$e->{$_}" } sort keys %$e),
                 "$fmt $res: errors by type");
        ok t_cmp($doc->{errorCount}, $want->{total} - $want->{success},
                 "$fmt $res: errorCount");
        ok t_cmp(sql_value("SELECT count(*) FROM $res"), $want->{rows},
                 "$fmt $res: rows in the table");
    }
    $digests{$fmt} = digest();
    ok t_cmp($digests{$fmt}, $digests{ndjson}, "$fmt: the same data as ndjson");
}
