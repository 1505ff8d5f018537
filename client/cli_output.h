/* bulkio: -o FILE (or standard output) and downloads into it. */
#ifndef BULKIO_CLI_OUTPUT_H
#define BULKIO_CLI_OUTPUT_H

#include "cli_request.h"

/** Open -o FILE (or standard output). @return it, or NULL (reported) */
FILE *cli_output_open(cli_ctx_t *ctx, const char *mode);

/** Close the output; a failed one is removed (standard output stays). */
void cli_output_close(cli_ctx_t *ctx, FILE *f, int failed);

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

#endif /* BULKIO_CLI_OUTPUT_H */
