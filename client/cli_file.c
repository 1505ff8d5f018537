/* bulkio: the files it writes and reads: -o FILE through a temporary file
 * beside it, the token file. */
#define _GNU_SOURCE             /* renameat2, RENAME_NOREPLACE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_file.h"

/* A character device, a pipe or a socket (/dev/null, a process
 * substitution): written as it is, there is no content to lose. */
static int is_stream(const struct stat *st)
{
    return S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode)
           || S_ISSOCK(st->st_mode);
}

int cli_outfile_check(const char *target, int force, char *err,
                      size_t errlen)
{
    struct stat st, to;

    if (lstat(target, &st)) {
        return 0;               /* free, or creating beside it will say */
    }
    if (is_stream(&st) || (S_ISLNK(st.st_mode) && !stat(target, &to)
                           && is_stream(&to))) {
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is a directory; -o wants a file name",
                 target);
        return CLI_EXIT_ERROR;
    }
    if (force) {
        return 0;
    }
    snprintf(err, errlen, "%s exists; add --force to replace it%s", target,
             S_ISLNK(st.st_mode) ? " (it is a symbolic link: the link is "
             "replaced, never the file it points to)" : "");
    return CLI_EXIT_EXISTS;
}

/* Open a target that is a stream (is_stream), checked on the open file:
 * no O_CREAT, no O_TRUNC, nothing written unless it is one. @return the
 * descriptor, -1 when target is no stream, -2 (errno set) when it is one
 * that cannot be opened */
static int open_stream(const char *target)
{
    struct stat st;
    int fd;

    if (stat(target, &st) || !is_stream(&st)) {
        return -1;
    }
    if ((fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
        return -2;
    }
    if (fstat(fd, &st) || !is_stream(&st)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Create the temporary file: a name of our own, never a link followed. */
static int create_tmp(cli_outfile_t *of, const char *base)
{
    struct timespec ts;
    int fd = -1, i, n;

    clock_gettime(CLOCK_REALTIME, &ts);
    for (i = 0; fd < 0 && i < 100; ++i) {
        n = snprintf(of->tmp, sizeof(of->tmp), "%.*s.%.200s.bulkio-%ld-%ld",
                     (int)of->dirlen, of->target, base, (long)getpid(),
                     ts.tv_nsec + i);
        if (n < 0 || (size_t)n >= sizeof(of->tmp)) {
            errno = ENAMETOOLONG;
            break;
        }
        fd = open(of->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                  | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    if (fd < 0) {
        of->tmp[0] = '\0';
    }
    return fd;
}

int cli_outfile_open(cli_outfile_t *of, const char *target, int force,
                     char *err, size_t errlen)
{
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    struct stat st;
    int fd, rc;

    memset(of, 0, sizeof(*of));
    of->target = target;
    of->force = force;
    of->dirlen = (size_t)(base - target);
    if (!*base) {
        snprintf(err, errlen, "-o wants a file name, not '%s'", target);
        return CLI_EXIT_ERROR;
    }
    if ((rc = cli_outfile_check(target, force, err, errlen))) {
        return rc;
    }
    /* a device or pipe that cannot be opened is an error of its own: a
     * temporary file would end up renamed over it */
    if ((fd = open_stream(target)) == -2) {
        snprintf(err, errlen, "%s: %s", target, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    if (fd < 0 && (fd = create_tmp(of, base)) < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file beside "
                 "it: %s", target, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    /* the file --force replaces keeps its mode */
    if (of->tmp[0] && force && !lstat(target, &st) && S_ISREG(st.st_mode)) {
        fchmod(fd, st.st_mode & 0777);
    }
    if (!(of->f = fdopen(fd, "wb"))) {
        snprintf(err, errlen, "%s: %s", target, strerror(errno));
        close(fd);
        cli_outfile_discard(of);
        return CLI_EXIT_ERROR;
    }
    return 0;
}

/* rename, failing with EEXIST when to is taken (a file system without
 * RENAME_NOREPLACE: link, which never replaces) */
static int rename_noreplace(const char *from, const char *to)
{
    if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE)) {
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        return -1;
    }
    if (link(from, to)) {
        return -1;
    }
    unlink(from);
    return 0;
}

/* The whole file on disk, then under target's name. @return 0 or -1
 * (errno) */
static int put_in_place(cli_outfile_t *of)
{
    FILE *f = of->f;
    int e = 0;

    of->f = NULL;
    if (fflush(f) || (of->tmp[0] && fsync(fileno(f)))) {
        e = errno;
    }
    if (fclose(f) && !e) {
        e = errno;
    }
    if (e) {
        errno = e;
        return -1;
    }
    if (!of->tmp[0]) {
        return 0;               /* a stream: nothing to rename */
    }
    return of->force ? rename(of->tmp, of->target)
                     : rename_noreplace(of->tmp, of->target);
}

/* The rename in the directory on disk too (best effort). */
static void sync_dir(const cli_outfile_t *of)
{
    char dir[4096];
    int fd;

    snprintf(dir, sizeof(dir), "%.*s", of->dirlen ? (int)of->dirlen : 1,
             of->dirlen ? of->target : ".");
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
}

int cli_outfile_commit(cli_outfile_t *of, char *err, size_t errlen)
{
    int e;

    if (put_in_place(of)) {
        e = errno;
        cli_outfile_discard(of);
        if (e == EEXIST) {
            snprintf(err, errlen, "%s was made by someone else during the "
                     "download and is left as it is (--force replaces it)",
                     of->target);
            return CLI_EXIT_EXISTS;
        }
        snprintf(err, errlen, "%s: %s; the file is left as it was",
                 of->target, strerror(e));
        return CLI_EXIT_ERROR;
    }
    if (of->tmp[0]) {
        of->tmp[0] = '\0';
        sync_dir(of);
    }
    return 0;
}

void cli_outfile_discard(cli_outfile_t *of)
{
    if (of->f) {
        fclose(of->f);
        of->f = NULL;
    }
    if (of->tmp[0]) {
        unlink(of->tmp);
        of->tmp[0] = '\0';
    }
}

int cli_token_read(const char *path, char *buf, size_t len, char *err,
                   size_t errlen)
{
    struct stat st;
    ssize_t got = 0;
    size_t n = 0;
    int fd, e = 0;

    buf[0] = '\0';
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return e;
    }
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
        snprintf(err, errlen, "%s: permissions %04o are too open: the "
                 "token must be private to its owner (chmod 600 %s)", path,
                 (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return EPERM;
    }
    while (n + 1 < len && (got = read(fd, buf + n, len - 1 - n)) > 0) {
        n += (size_t)got;
    }
    if (got < 0) {
        e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
    }
    close(fd);
    buf[e ? 0 : n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return e;
}
