# Shared by the shell tests that drive whole servers (cluster-test.sh,
# replica-test.sh), which source it: their checks, counted in $failures,
# and the JSON field reader.

failures=0

check() {   # check <description> <actual> <expected>
    if [ "$2" = "$3" ]; then
        echo "ok - $1 ($2)"
    else
        echo "not ok - $1: got '$2', want '$3'"
        failures=$((failures + 1))
    fi
}

field() {   # field <name>[.<name>...]: of the JSON document on stdin, or ""
    perl -MJSON::PP -0777 -e \
        'my $d = eval { decode_json(<STDIN>) } // {}; my $v = $d;
         $v = ref $v ? $v->{$_} : undef for split /\./, $ARGV[0];
         print $v // ""' "$1"
}
