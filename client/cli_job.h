/* bulkio: what import and export --job share: making a job, waiting for
 * it, its outcome. */
#ifndef BULKIO_CLI_JOB_H
#define BULKIO_CLI_JOB_H

#include "cli_request.h"

/**
 * The Idempotency-Key of the request that makes a job: --idempotency-key,
 * else a random UUIDv4 written into key.
 */
const char *cli_job_key(cli_ctx_t *ctx, char key[37]);

/**
 * The answer to the request that makes a job (200, 201 or 202 with a
 * job_id); resp is cleared.
 * @return the job's document, or NULL with *rc the exit status (reported
 *         as WHAT: ...)
 */
json_object *cli_job_accepted(cli_ctx_t *ctx, cli_resp_t *resp,
                              const char *what, int *rc);

/**
 * --no-wait: the document (--json) or its job id on standard output.
 * @return the exit status 0
 */
int cli_job_print(cli_ctx_t *ctx, json_object *doc);

/** Whether a job's status is final: completed, failed, canceled. */
int cli_job_final(const char *status);

/**
 * The exit status for a job's document: 2 failed or canceled; 1 completed
 * with failed records (when records is set: an import); else 0.
 */
int cli_job_outcome(json_object *doc, int records);

/**
 * An import's counts by action (insertedCount, updatedCount,
 * unchangedCount, deletedCount) into counts, 0 when absent.
 * @return whether the document holds any of them (a server with modes)
 */
int cli_job_actions(json_object *doc, int64_t counts[CLI_NACTIONS]);

/** Write the progress line of a job's status document into buf. */
typedef void cli_job_line_fn(char *buf, size_t len, const char *id,
                             json_object *doc);

/**
 * Poll GET /v1/KINDs/ID until the job's status is final, showing line
 * for each answer.
 * @param kind  "import" or "export"
 * @return the final document, or NULL with *rc the exit status (reported;
 *         after Ctrl-C 130 and how to follow the job)
 */
json_object *cli_job_wait(cli_ctx_t *ctx, const char *kind, const char *id,
                          cli_job_line_fn *line, int *rc);

/** A job a command names. */
typedef struct {
    char id[37];                /* its full id */
    char kind[8];               /* "import", "export", or "" (unknown: a
                                   server without GET /v1/jobs) */
} cli_job_ref_t;

/**
 * The job the command line names: its id, or any start of it that no
 * other job of the caller shares (GET /v1/jobs?id_prefix=). No job, or
 * several, is reported as WHAT: ... (the ambiguous prefix with the ids it
 * starts).
 * @return 0, or the exit status 3
 */
int cli_job_resolve(cli_ctx_t *ctx, const char *what, cli_job_ref_t *ref);

/** The path of a resolved job, /v1/KINDs/ID then suffix (kind: the
 * ref's, or dflt when it is unknown). */
void cli_job_path(char *buf, size_t len, const cli_job_ref_t *ref,
                  const char *dflt, const char *suffix);

/**
 * A report of the import job the command line names, GET
 * /v1/imports/{id}/WHAT (errors, results) with --format, streamed to -o
 * FILE or standard output (bulkio errors, bulkio results).
 * @return an exit status
 */
int cli_job_report(cli_ctx_t *ctx, const char *what);

/** The progress line of an export job (a cli_job_line_fn). */
void cli_job_export_line(char *buf, size_t len, const char *id,
                         json_object *doc);

#endif /* BULKIO_CLI_JOB_H */
