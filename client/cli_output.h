/* bulkio: -o FILE (or standard output) and downloads into it. */
#ifndef BULKIO_CLI_OUTPUT_H
#define BULKIO_CLI_OUTPUT_H

#include "cli_file.h"
#include "cli_request.h"

/** Where a download goes: a temporary file beside -o FILE, or standard
 * output. */
typedef struct {
    FILE *f;                    /* the sink: file.f, or stdout */
    cli_outfile_t file;         /* -o FILE (unused for standard output) */
} cli_output_t;

/**
 * Before a job is made for it: refuse an -o FILE that exists, unless
 * --force (see cli_outfile_check).
 * @return 0, or the exit status (reported)
 */
int cli_output_check(cli_ctx_t *ctx);

/**
 * Open the output: for -o FILE a temporary file beside it (FILE itself is
 * not touched; an existing FILE is refused unless --force).
 * @return 0, or the exit status (reported)
 */
int cli_output_open(cli_ctx_t *ctx, cli_output_t *out);

/**
 * Close the output. A whole download is renamed to -o FILE; a failed one
 * is removed and FILE stays as it was. Standard output is flushed.
 * @return 0, or the exit status when a whole download could not be put
 *         in place (reported)
 */
int cli_output_close(cli_ctx_t *ctx, cli_output_t *out, int failed);

/**
 * The last line of a download unless -q: "bulkio: WHAT: 1.5 MiB in 0.8 s
 * to FILE", and how often it resumed.
 */
void cli_output_done(cli_ctx_t *ctx, const char *what, double bytes,
                     double seconds, int resumed);

/**
 * GET path into -o FILE or standard output, with a progress line (one
 * attempt: a stream cannot resume).
 * @return the exit status
 */
int cli_output_stream(cli_ctx_t *ctx, const char *path, const char *what);

/**
 * Download an export job's file from url into -o FILE or standard output,
 * resuming with Range after an interruption, and check it has size bytes
 * (size < 0: not checked). A reader of standard output that goes away
 * ends it quietly. With inflate, the (gzip) file is downloaded into a
 * temporary file and inflated into the output.
 * @return the exit status
 */
int cli_output_download(cli_ctx_t *ctx, const char *url, int64_t size,
                        int inflate);

/**
 * A finished export job's document: its file downloaded (and with --json
 * and -o FILE the document printed), or why there is none.
 * @return the exit status: 2 when the job failed or was canceled
 */
int cli_output_export(cli_ctx_t *ctx, json_object *doc);

#endif /* BULKIO_CLI_OUTPUT_H */
