/* bulkio: the files it writes and reads. -o FILE is written through a
 * temporary file beside it that becomes FILE only when the download is
 * whole; the token file must be private to its owner. Plain POSIX: no
 * libcurl, no context (the unit tests link it alone). */
#ifndef BULKIO_CLI_FILE_H
#define BULKIO_CLI_FILE_H

#include <stdio.h>
#include <sys/types.h>

/** -o FILE while a download runs. */
typedef struct {
    const char *target;         /* FILE: written only by the last rename */
    char tmp[4096];             /* the temporary file, "" when none (a
                                 * device or pipe is written directly) */
    size_t dirlen;              /* target's directory: target[0..dirlen) */
    FILE *f;                    /* open on tmp */
    int force;                  /* the rename may replace target */
} cli_outfile_t;

/**
 * Whether target may be written: nothing has its name (a symlink, even a
 * dangling one, counts), or force is set, or it is a character device, a
 * pipe or a socket (/dev/null, a process substitution), which have no
 * content to lose.
 * @return 0, or CLI_EXIT_EXISTS with err filled
 */
int cli_outfile_check(const char *target, int force, char *err,
                      size_t errlen);

/**
 * Check target (cli_outfile_check), then create the temporary file
 * ".NAME.bulkio-..." in target's directory with O_EXCL|O_NOFOLLOW and
 * mode 0666 less the umask (with force, the mode of the regular file it
 * will replace). Target itself is not opened, but for a device, a pipe
 * or a socket, which is written as it is (no temporary file).
 * @return 0, CLI_EXIT_EXISTS or CLI_EXIT_ERROR with err filled
 */
int cli_outfile_open(cli_outfile_t *of, const char *target, int force,
                     char *err, size_t errlen);

/**
 * A whole download: flush, fsync and close the temporary file, rename it
 * to target (without force only if target is still free: a name taken
 * meanwhile is left alone) and fsync the directory. On failure the
 * temporary file is removed and target is as it was.
 * @return 0, CLI_EXIT_EXISTS or CLI_EXIT_ERROR with err filled
 */
int cli_outfile_commit(cli_outfile_t *of, char *err, size_t errlen);

/** A failed download: close and remove the temporary file; target is
 * untouched. */
void cli_outfile_discard(cli_outfile_t *of);

/**
 * Read a token file's first line into buf. A regular file that group or
 * others may read or write is refused, as ssh refuses such a private key.
 * @return 0 (buf may be empty), or an errno value with err filled
 *         ("PATH: ..."): ENOENT when the file is absent, EPERM when its
 *         mode is too open
 */
int cli_token_read(const char *path, char *buf, size_t len, char *err,
                   size_t errlen);

#endif /* BULKIO_CLI_FILE_H */
