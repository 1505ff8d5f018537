/* bulkio client: -o FILE through a temporary file, the token file's mode. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "cli_file.h"

/* a directory of the test's own, and a path in it */
typedef struct {
    char dir[64];
    char path[128];
    char err[8400];
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_cli_file.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    umask(022);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* fx->dir/name */
static const char *at(fixture_t *fx, const char *name)
{
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
    return fx->path;
}

static void put(fixture_t *fx, const char *name, const char *text,
                mode_t mode)
{
    FILE *f = fopen(at(fx, name), "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(fx->path, mode), 0);
}

/* the text of fx->dir/name, "(none)" when it is absent */
static const char *text_of(fixture_t *fx, const char *name, char *buf,
                           size_t len)
{
    FILE *f = fopen(at(fx, name), "r");
    size_t n;

    if (!f) {
        return "(none)";
    }
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void assert_text(fixture_t *fx, const char *name, const char *want)
{
    char buf[256];

    assert_string_equal(text_of(fx, name, buf, sizeof(buf)), want);
}

/* the names in fx->dir, sorted, joined by spaces */
static const char *names(fixture_t *fx)
{
    struct dirent **list;
    int i, n = scandir(fx->dir, &list, NULL, alphasort);

    assert_true(n >= 2);
    fx->path[0] = '\0';
    for (i = 0; i < n; ++i) {
        if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
            strncat(fx->path, list[i]->d_name,
                    sizeof(fx->path) - strlen(fx->path) - 2);
            strcat(fx->path, " ");
        }
        free(list[i]);
    }
    free(list);
    return fx->path;
}

/* open -o name, its path kept in target (128 bytes) */
static int open_out(fixture_t *fx, cli_outfile_t *of, char *target,
                    const char *name, int force)
{
    snprintf(target, 128, "%s", at(fx, name));
    return cli_outfile_open(of, target, force, fx->err, sizeof(fx->err));
}

/* open -o name, write text, and commit */
static int download(fixture_t *fx, char *target, const char *name,
                    int force, const char *text)
{
    cli_outfile_t of;
    int rc;

    if ((rc = open_out(fx, &of, target, name, force))) {
        return rc;
    }
    fputs(text, of.f);
    return cli_outfile_commit(&of, fx->err, sizeof(fx->err));
}

static mode_t mode_of(fixture_t *fx, const char *name)
{
    struct stat st;

    assert_int_equal(lstat(at(fx, name), &st), 0);
    return st.st_mode;
}

static void new_file(void **state)
{
    fixture_t *fx = *state;
    char target[128];
    cli_outfile_t of;

    assert_int_equal(open_out(fx, &of, target, "out.csv", 0), 0);
    /* the temporary file is beside the target, the target not yet made */
    assert_int_equal(strncmp(of.tmp, at(fx, ".out.csv.bulkio-"),
                             strlen(fx->path)), 0);
    assert_true(strncmp(names(fx), ".out.csv.bulkio-", 16) == 0);
    assert_text(fx, "out.csv", "(none)");
    fputs("a,b\n", of.f);
    assert_int_equal(cli_outfile_commit(&of, fx->err, sizeof(fx->err)), 0);
    assert_text(fx, "out.csv", "a,b\n");
    assert_string_equal(names(fx), "out.csv ");
    assert_int_equal(mode_of(fx, "out.csv"), S_IFREG | 0644);
}

static void existing_refused(void **state)
{
    fixture_t *fx = *state;
    char target[128];

    put(fx, "keep", "old\n", 0644);
    assert_int_equal(download(fx, target, "keep", 0, "new\n"),
                     CLI_EXIT_EXISTS);
    assert_non_null(strstr(fx->err, "keep exists; add --force"));
    assert_int_equal(cli_outfile_check(target, 0, fx->err, sizeof(fx->err)),
                     CLI_EXIT_EXISTS);
    assert_text(fx, "keep", "old\n");
    assert_string_equal(names(fx), "keep ");
    /* --force replaces it and keeps its mode */
    assert_int_equal(chmod(at(fx, "keep"), 0640), 0);
    assert_int_equal(download(fx, target, "keep", 1, "new\n"), 0);
    assert_text(fx, "keep", "new\n");
    assert_int_equal(mode_of(fx, "keep"), S_IFREG | 0640);
}

static void symlink_never_followed(void **state)
{
    fixture_t *fx = *state;
    char target[128], victim[128];

    put(fx, "victim", "precious\n", 0644);
    snprintf(victim, sizeof(victim), "%s", fx->path);
    assert_int_equal(symlink(victim, at(fx, "link")), 0);
    assert_int_equal(symlink("nowhere", at(fx, "dangling")), 0);
    assert_int_equal(download(fx, target, "link", 0, "x\n"),
                     CLI_EXIT_EXISTS);
    assert_non_null(strstr(fx->err, "symbolic link"));
    assert_int_equal(download(fx, target, "dangling", 0, "x\n"),
                     CLI_EXIT_EXISTS);
    /* --force: the link is replaced by the file, its pointee untouched */
    assert_int_equal(download(fx, target, "link", 1, "new\n"), 0);
    assert_int_equal(download(fx, target, "dangling", 1, "new\n"), 0);
    assert_true(S_ISREG(mode_of(fx, "link")));
    assert_text(fx, "link", "new\n");
    assert_text(fx, "victim", "precious\n");
    assert_string_equal(names(fx), "dangling link victim ");
}

/* A failed download, and a name taken during one: the file that has the
 * name stays as it was, and no temporary file is left. */
static void left_as_it_was(void **state)
{
    fixture_t *fx = *state;
    char target[128];
    cli_outfile_t of;

    put(fx, "data", "old\n", 0644);
    assert_int_equal(open_out(fx, &of, target, "data", 1), 0);
    fputs("half of it", of.f);
    cli_outfile_discard(&of);
    assert_text(fx, "data", "old\n");
    assert_int_equal(open_out(fx, &of, target, "late", 0), 0);
    fputs("ours\n", of.f);
    put(fx, "late", "theirs\n", 0644);
    assert_int_equal(cli_outfile_commit(&of, fx->err, sizeof(fx->err)),
                     CLI_EXIT_EXISTS);
    assert_text(fx, "late", "theirs\n");
    assert_string_equal(names(fx), "data late ");
}

static void not_a_file(void **state)
{
    fixture_t *fx = *state;
    char target[128];

    assert_int_equal(mkdir(at(fx, "d"), 0755), 0);
    assert_int_equal(download(fx, target, "d", 1, "x"), CLI_EXIT_ERROR);
    assert_non_null(strstr(fx->err, "is a directory"));
    assert_int_equal(download(fx, target, "d/", 1, "x"), CLI_EXIT_ERROR);
    assert_int_equal(download(fx, target, "none/x", 0, "x"), CLI_EXIT_ERROR);
    assert_non_null(strstr(fx->err, "cannot create a temporary file"));
    assert_string_equal(names(fx), "d ");
}

/* /dev/null and a pipe (a link to one, as /dev/fd/N of a process
 * substitution) have no content to lose: written as they are */
static void streams(void **state)
{
    fixture_t *fx = *state;
    char target[128], fifo[128];
    cli_outfile_t of;
    struct stat st;
    FILE *reader;

    assert_int_equal(cli_outfile_open(&of, "/dev/null", 0, fx->err,
                                      sizeof(fx->err)), 0);
    assert_string_equal(of.tmp, "");
    fputs("gone\n", of.f);
    assert_int_equal(cli_outfile_commit(&of, fx->err, sizeof(fx->err)), 0);
    assert_int_equal(lstat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(mkfifo(at(fx, "fifo"), 0600), 0);
    snprintf(fifo, sizeof(fifo), "%s", fx->path);
    assert_int_equal(symlink(fifo, at(fx, "fd")), 0);
    assert_non_null(reader = fopen(fifo, "r+"));   /* a reader, no block */
    assert_int_equal(download(fx, target, "fd", 0, "through\n"), 0);
    assert_string_equal(fgets(fx->err, sizeof(fx->err), reader), "through\n");
    fclose(reader);
    assert_string_equal(names(fx), "fd fifo ");
}

static void token_mode(void **state)
{
    static const struct {
        mode_t mode;
        int want;
    } cases[] = {
        { 0600, 0 }, { 0400, 0 }, { 0700, 0 },
        { 0644, EPERM }, { 0640, EPERM }, { 0604, EPERM }, { 0620, EPERM },
    };
    fixture_t *fx = *state;
    char buf[64], want[200];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        put(fx, "token", "eyJ.x.y\nsecond line\n", cases[i].mode);
        assert_int_equal(cli_token_read(fx->path, buf, sizeof(buf), fx->err,
                                        sizeof(fx->err)), cases[i].want);
        assert_string_equal(buf, cases[i].want ? "" : "eyJ.x.y");
        snprintf(want, sizeof(want), "permissions %04o are too open",
                 (unsigned)cases[i].mode);
        assert_true(!cases[i].want || (strstr(fx->err, want)
                                       && strstr(fx->err, "chmod 600 ")
                                       && strstr(fx->err, fx->path)));
    }
    assert_int_equal(cli_token_read(at(fx, "absent"), buf, sizeof(buf),
                                    fx->err, sizeof(fx->err)), ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(existing_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_never_followed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(left_as_it_was, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(streams, setup, teardown),
        cmocka_unit_test_setup_teardown(token_mode, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
