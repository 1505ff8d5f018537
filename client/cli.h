/* bulkio — the command-line client of mod_bulkio.
 *
 * Plain C over libcurl and json-c; it does not link the module, httpd or
 * APR. Files:
 *   bulkio.c        main: the table of subcommands and the dispatch
 *   cmd_*.c         one file per subcommand, over a cli_ctx_t (cli_ctx.h)
 *   cli_ctx.c       the context: token, server, messages, Ctrl-C, naps
 *   cli_request.c   requests with retries, JSON answers, HTTP errors
 *   cli_job.c       what import and export --job share: making a job,
 *                   waiting for it, its outcome
 *   cli_output.c    -o FILE (or standard output) and downloads into it
 *   cli_file.c      the files themselves: -o FILE through a temporary
 *                   file renamed when whole, the token file's mode
 *   cli_json.c      reading members, printing documents
 *   cli_opts.c      command line and environment (no I/O but getenv)
 *   cli_progress.c  progress lines and the summary (formatting is pure)
 *   cli_http.c      libcurl requests, problem+json
 */
#ifndef BULKIO_CLI_H
#define BULKIO_CLI_H

#include <stdio.h>
#include <stdint.h>

/* exit statuses (SPEC: 0 all records applied, 1 some failed, 2 the job
 * failed or was canceled, 3 usage, network, authentication, HTTP; 4 -o
 * FILE exists and --force was not given) */
#define CLI_EXIT_OK        0
#define CLI_EXIT_RECORDS   1
#define CLI_EXIT_JOB       2
#define CLI_EXIT_ERROR     3
#define CLI_EXIT_EXISTS    4
#define CLI_EXIT_INTERRUPT 130  /* Ctrl-C while waiting; the job runs on */

#define CLI_MAX_FILTERS    32
#define CLI_DEFAULT_URL    "http://127.0.0.1:8080"

typedef enum {
    CLI_CMD_NONE = 0,
    CLI_CMD_IMPORT,
    CLI_CMD_STATUS,
    CLI_CMD_CANCEL,
    CLI_CMD_ERRORS,
    CLI_CMD_JOBS,
    CLI_CMD_EXPORT,
    CLI_CMD_DOWNLOAD,
    CLI_CMD_RESULTS,
    CLI_CMD_HELP,
    CLI_CMD_VERSION
} cli_cmd_e;

typedef struct {
    cli_cmd_e cmd;
    const char *url;            /* server, without /v1 */
    const char *token;          /* from --token or BULKIO_TOKEN */
    const char *token_file;     /* --token-file, else the default file */
    int token_file_default;     /* token_file is the default (may be absent) */
    int token_from_argv;        /* --token was given (warned about) */
    const char *resource;
    const char *source;         /* import: FILE or URL */
    const char *job_id;         /* status, cancel, errors, download: an id
                                   or the start of one */
    const char *help_topic;     /* help COMMAND, COMMAND --help */
    const char *format;
    const char *idempotency_key;
    const char *output;         /* -o FILE */
    int force;                  /* --force: -o may replace FILE */
    const char *fields;         /* export: a,b */
    const char *filters[CLI_MAX_FILTERS];   /* export: k=v */
    int nfilters;
    const char *status;         /* jobs --status */
    long limit;                 /* jobs --limit, 0: all */
    const char *kind;           /* jobs --kind import|export, NULL: both */
    const char *mode;           /* import --mode, NULL: the server's (upsert) */
    long max_errors;            /* import --max-errors, -1: not given */
    const char *callback_url;   /* import, export --job: --callback-url */
    int gzip;                   /* export: --gzip */
    int dry_run;                /* import --dry-run */
    int atomic;                 /* import --atomic */
    const char *delimiter;      /* import, export: --delimiter */
    const char *columns;        /* import --columns Header:field,... */
    const char *charset;        /* import --charset */
    int include_deleted;        /* export --include-deleted */
    int no_wait;
    int as_job;                 /* export --job */
    int quiet;
    int json;
    int retries;                /* network retries (default 3) */
    double poll_interval;       /* seconds between status requests */
    char url_buf[64];           /* url when made from BULKIO_PORT */
    char token_file_buf[4096];  /* token_file when it is the default */
} cli_opts_t;

/**
 * Parse the command line and the environment (BULKIO_URL, BULKIO_TOKEN,
 * BULKIO_RUN_DIR) into opts.
 * @param err  a buffer for the message when the command line is wrong
 * @return 0, or -1 with err filled (exit status 3)
 */
int cli_parse(int argc, char **argv, cli_opts_t *opts, char *err,
              size_t errlen);

/**
 * The host of a server URL, as written (an IPv6 address without its
 * brackets), into host, and whether it is this machine: 127.0.0.0/8, ::1
 * or the name localhost. No name is resolved: any other name is not.
 * @return 1 loopback, 0 not
 */
int cli_url_loopback(const char *url, char *host, size_t hostlen);

/** The usage text. */
void cli_usage(FILE *out);

/**
 * The help of one command (import, delete, status, cancel, errors, jobs,
 * export, download, help, version), or the usage when topic is NULL.
 * @return 0, or -1 when there is no such command
 */
int cli_help(FILE *out, const char *topic);

/**
 * Check an import's write mode: upsert, insert, update, replace, delete.
 * @return 0 or -1
 */
int cli_mode_ok(const char *mode);

/**
 * Check an export filter "key=value": key is [A-Za-z_]+, value any.
 * @return 0 or -1
 */
int cli_filter_ok(const char *kv);

/**
 * The format an import sends (ndjson, json, csv) from --format, else the
 * file's name (a ".gz" suffix is looked through); NULL when unknown.
 */
const char *cli_format_for(const char *format, const char *path);

/* ---- progress -------------------------------------------------------- */

/** "512 B", "1.5 KiB", "12.3 MiB", "1.20 GiB" */
void cli_fmt_bytes(char *buf, size_t len, double bytes);
/** "1,234,567" */
void cli_fmt_count(char *buf, size_t len, int64_t n);
/** "0:07", "12:34", "1:02:03"; "--:--" when negative */
void cli_fmt_eta(char *buf, size_t len, double seconds);
/** "0.8 s", "12.3 s", "2 m 5 s", "1 h 2 m" */
void cli_fmt_duration(char *buf, size_t len, double seconds);

/**
 * A transfer's line: "WHAT NAME: 1.5 MiB of 3.0 MiB   50.0%  1.0 MiB/s".
 * @param name   may be NULL (then "WHAT: ...")
 * @param total  bytes in all, 0 when unknown (then no total, no percent)
 * @param rate   bytes/s
 */
void cli_fmt_transfer(char *buf, size_t len, const char *what,
                      const char *name, double done, double total,
                      double rate);

/** The upload line: name, bytes sent of total (0: unknown), bytes/s. */
void cli_fmt_upload(char *buf, size_t len, const char *name, double sent,
                    double total, double rate);

typedef struct {
    const char *job_id;
    const char *status;
    int64_t processed;
    int64_t errors;
    double percent;             /* < 0: unknown */
    double rate;                /* records/s */
    double eta;                 /* seconds, < 0: unknown */
} cli_job_progress_t;

/** The job line while an import runs. */
void cli_fmt_job(char *buf, size_t len, const cli_job_progress_t *p);

/** What an import did to a record's row. */
typedef enum {
    CLI_ACT_INSERTED = 0,
    CLI_ACT_UPDATED,
    CLI_ACT_UNCHANGED,
    CLI_ACT_DELETED,
    CLI_NACTIONS
} cli_action_e;

/**
 * "inserted", "updated", "unchanged", "deleted"; the job's document calls
 * the count NAMECount (insertedCount).
 */
const char *cli_action_name(cli_action_e action);

/**
 * The action counts that are not 0: "4 inserted, 5 updated, 1 unchanged";
 * "" when all are 0.
 */
void cli_fmt_actions(char *buf, size_t len,
                     const int64_t counts[CLI_NACTIONS]);

typedef struct {
    const char *status;         /* completed, failed, canceled */
    const char *reason;         /* why it failed, may be NULL */
    int64_t total;
    int64_t succeeded;
    int64_t failed;
    const char *types[8];       /* failed records by error type */
    int64_t type_counts[8];
    int ntypes;
    double duration;            /* seconds */
    int has_actions;            /* the job's document holds the counts */
    int64_t actions[CLI_NACTIONS];  /* succeeded records by action */
    const char *mode;           /* shown unless NULL or upsert */
    int dry_run;                /* "dry run: nothing was changed" */
} cli_summary_t;

/** The one-line summary at the end of an import. */
void cli_fmt_summary(char *buf, size_t len, const cli_summary_t *s);

/** Add n records of an error type to a summary (at most 8 types). */
void cli_summary_add(cli_summary_t *s, const char *type, int64_t n);

typedef struct {
    FILE *out;                  /* standard error */
    int tty;                    /* redraw one line with \r */
    int quiet;
    double interval;            /* not a tty: seconds between lines */
    double last;                /* when the last line went out */
    size_t width;               /* length of the line on screen */
    size_t cols;                /* tty: the terminal's width, 0 unknown */
    int dirty;                  /* a tty line is open */
} cli_progress_t;

/** A progress writer over out (its tty-ness decided by the caller). */
void cli_progress_init(cli_progress_t *pr, FILE *out, int tty, int quiet);

/**
 * Show a progress line at time now (seconds): on a tty redraw it in
 * place; else print it when interval seconds passed since the last one,
 * or when force is set.
 * @return 1 when something was written
 */
int cli_progress_show(cli_progress_t *pr, const char *line, double now,
                      int force);

/** A transfer under way, for its progress line. */
typedef struct {
    const char *what;           /* "upload", "download", "export", "errors" */
    const char *name;           /* the file's name, or NULL */
    double started;             /* when the transfer began */
    double last_draw;           /* when its line was last drawn */
} cli_xfer_progress_t;

/** Start a transfer's progress at now. */
void cli_xfer_progress_init(cli_xfer_progress_t *xp, const char *what,
                            const char *name, double now);

/**
 * Show a transfer's line: done of total bytes (total 0: unknown) at now.
 * Nothing before the first byte; on a tty at most ten lines a second but
 * for the last (done reaches a known total).
 * @return 1 when something was written
 */
int cli_progress_xfer(cli_progress_t *pr, cli_xfer_progress_t *xp,
                      double done, double total, double now);

/** End the open tty line (a newline) before other output. */
void cli_progress_end(cli_progress_t *pr);

/** Seconds on a monotonic clock. */
double cli_now(void);

#endif /* BULKIO_CLI_H */
