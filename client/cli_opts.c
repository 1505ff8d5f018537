/* bulkio: the command line and the environment. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum {
    OPT_OUTPUT = 'o',           /* the long options of -o, -q, -h */
    OPT_QUIET = 'q',
    OPT_HELP = 'h',
    OPT_URL = 256,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_FORMAT,
    OPT_IDEM,
    OPT_NO_WAIT,
    OPT_FIELDS,
    OPT_FILTER,
    OPT_JOB,
    OPT_STATUS,
    OPT_RESOURCE,
    OPT_LIMIT,
    OPT_KIND,
    OPT_JSON,
    OPT_RETRIES,
    OPT_POLL,
    OPT_FORCE,
    OPT_MODE,
    OPT_MAX_ERRORS,
    OPT_CALLBACK,
    OPT_GZIP,
    OPT_DRY_RUN,
    OPT_ATOMIC,
    OPT_DELIMITER,
    OPT_COLUMNS,
    OPT_CHARSET,
    OPT_INCLUDE_DELETED,
    OPT_VERSION
};

static const struct option long_opts[] = {
    { "url", required_argument, NULL, OPT_URL },
    { "token", required_argument, NULL, OPT_TOKEN },
    { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "idempotency-key", required_argument, NULL, OPT_IDEM },
    { "no-wait", no_argument, NULL, OPT_NO_WAIT },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "fields", required_argument, NULL, OPT_FIELDS },
    { "filter", required_argument, NULL, OPT_FILTER },
    { "job", no_argument, NULL, OPT_JOB },
    { "status", required_argument, NULL, OPT_STATUS },
    { "resource", required_argument, NULL, OPT_RESOURCE },
    { "limit", required_argument, NULL, OPT_LIMIT },
    { "kind", required_argument, NULL, OPT_KIND },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "json", no_argument, NULL, OPT_JSON },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "poll-interval", required_argument, NULL, OPT_POLL },
    { "force", no_argument, NULL, OPT_FORCE },
    { "mode", required_argument, NULL, OPT_MODE },
    { "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
    { "callback-url", required_argument, NULL, OPT_CALLBACK },
    { "gzip", no_argument, NULL, OPT_GZIP },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "atomic", no_argument, NULL, OPT_ATOMIC },
    { "delimiter", required_argument, NULL, OPT_DELIMITER },
    { "columns", required_argument, NULL, OPT_COLUMNS },
    { "charset", required_argument, NULL, OPT_CHARSET },
    { "include-deleted", no_argument, NULL, OPT_INCLUDE_DELETED },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

static const struct {
    const char *name;
    cli_cmd_e cmd;
    int args;                   /* positional arguments after the name */
    const char *mode;           /* an import's write mode, or NULL */
} commands[] = {
    { "import", CLI_CMD_IMPORT, 2, NULL },
    { "delete", CLI_CMD_IMPORT, 2, "delete" },
    { "status", CLI_CMD_STATUS, 1, NULL },
    { "cancel", CLI_CMD_CANCEL, 1, NULL },
    { "errors", CLI_CMD_ERRORS, 1, NULL },
    { "results", CLI_CMD_RESULTS, 1, NULL },
    { "jobs", CLI_CMD_JOBS, 0, NULL },
    { "export", CLI_CMD_EXPORT, 1, NULL },
    { "download", CLI_CMD_DOWNLOAD, 1, NULL },
    { "help", CLI_CMD_HELP, 1, NULL },          /* the 1 is optional */
    { "version", CLI_CMD_VERSION, 0, NULL },
};

/* the write modes of POST /v1/imports, the server's default first */
#define MODES_ALLOWED "upsert, insert, update, replace, delete"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int cli_mode_ok(const char *mode)
{
    static const char *const modes[] = {
        "upsert", "insert", "update", "replace", "delete"
    };
    size_t i;

    for (i = 0; mode && i < sizeof(modes) / sizeof(modes[0]); ++i) {
        if (!strcmp(mode, modes[i])) {
            return 0;
        }
    }
    return -1;
}

static int is_resource(const char *s)
{
    return s && (!strcmp(s, "users") || !strcmp(s, "articles")
                 || !strcmp(s, "comments"));
}

int cli_filter_ok(const char *kv)
{
    const char *eq = strchr(kv, '=');
    const char *p;

    if (!eq || eq == kv) {
        return -1;
    }
    for (p = kv; p < eq; ++p) {
        if (!isalpha((unsigned char)*p) && *p != '_') {
            return -1;
        }
    }
    return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && !strncasecmp(s + n - k, suffix, k);
}

const char *cli_format_for(const char *format, const char *path)
{
    const char *base;
    size_t n;

    if (format) {
        return format;
    }
    if (!path) {
        return NULL;
    }
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    n = strlen(base);
    if (ends_with(base, n, ".gz")) {
        n -= 3;
    }
    if (ends_with(base, n, ".ndjson") || ends_with(base, n, ".jsonl")) {
        return "ndjson";
    }
    if (ends_with(base, n, ".json")) {
        return "json";
    }
    if (ends_with(base, n, ".csv")) {
        return "csv";
    }
    if (ends_with(base, n, ".tsv")) {
        return "tsv";
    }
    return NULL;
}

int cli_url_loopback(const char *url, char *host, size_t hostlen)
{
    const char *p = strstr(url, "://"), *at, *end;
    unsigned char a4[4];
    struct in6_addr a6;
    size_t n;

    host[0] = '\0';
    p = p ? p + 3 : url;
    n = strcspn(p, "/?#");      /* [user@]host[:port] */
    at = p + n;
    while (at > p && at[-1] != '@') {
        --at;
    }
    n -= (size_t)(at - p);
    p = at;
    if (*p == '[') {
        end = memchr(p, ']', n);
        n = end ? (size_t)(end - ++p) : 0;
    }
    else if ((end = memchr(p, ':', n))) {
        n = (size_t)(end - p);
    }
    snprintf(host, hostlen, "%.*s", (int)n, p);
    if (!strcasecmp(host, "localhost")) {
        return 1;
    }
    if (inet_pton(AF_INET, host, a4) == 1) {
        return a4[0] == 127;
    }
    return inet_pton(AF_INET6, host, &a6) == 1
           && (IN6_IS_ADDR_LOOPBACK(&a6)
               || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127));
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* $BULKIO_RUN_DIR/token, else .run/token, written into the options */
static const char *default_token_file(cli_opts_t *o)
{
    const char *dir = getenv("BULKIO_RUN_DIR");

    snprintf(o->token_file_buf, sizeof(o->token_file_buf), "%s/token",
             dir && *dir ? dir : ".run");
    return o->token_file_buf;
}

/* BULKIO_URL, else the port of a local installation (BULKIO_PORT, as make
 * start reads it), else the default */
static const char *default_url(cli_opts_t *o)
{
    const char *env = getenv("BULKIO_URL");
    long port;

    if (env && *env) {
        return env;
    }
    env = getenv("BULKIO_PORT");
    if (env && *env && !parse_long(env, 1, 65535, &port)) {
        snprintf(o->url_buf, sizeof(o->url_buf), "http://127.0.0.1:%ld",
                 port);
        return o->url_buf;
    }
    return CLI_DEFAULT_URL;
}

int cli_parse(int argc, char **argv, cli_opts_t *o, char *err, size_t errlen)
{
    const char *env, *name;
    const char *pos[3];
    size_t i;
    int c, npos = 0, want, help = 0;
    long v;
    char *endp;

    memset(o, 0, sizeof(*o));
    o->retries = 3;
    o->poll_interval = -1.0;
    o->max_errors = -1;
    optind = 0;                 /* GNU: start afresh (tests parse twice) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_URL:         o->url = optarg; break;
        case OPT_TOKEN:       o->token = optarg; o->token_from_argv = 1;
                              break;
        case OPT_TOKEN_FILE:  o->token_file = optarg; break;
        case OPT_FORMAT:      o->format = optarg; break;
        case OPT_IDEM:        o->idempotency_key = optarg; break;
        case OPT_NO_WAIT:     o->no_wait = 1; break;
        case OPT_OUTPUT:      o->output = optarg; break;
        case OPT_FORCE:       o->force = 1; break;
        case OPT_FIELDS:      o->fields = optarg; break;
        case OPT_FILTER:
            if (cli_filter_ok(optarg)) {
                return fail(err, errlen, "--filter wants key=value, not "
                            "'%s'", optarg);
            }
            if (o->nfilters == CLI_MAX_FILTERS) {
                return fail(err, errlen, "at most %d --filter options",
                            CLI_MAX_FILTERS);
            }
            o->filters[o->nfilters++] = optarg;
            break;
        case OPT_JOB:         o->as_job = 1; break;
        case OPT_CALLBACK:    o->callback_url = optarg; break;
        case OPT_GZIP:        o->gzip = 1; break;
        case OPT_STATUS:      o->status = optarg; break;
        case OPT_RESOURCE:    o->resource = optarg; break;
        case OPT_LIMIT:
            if (parse_long(optarg, 1, 1000000, &o->limit)) {
                return fail(err, errlen, "--limit wants a number from 1, "
                            "not '%s'", optarg);
            }
            break;
        case OPT_KIND:
            if (strcmp(optarg, "import") && strcmp(optarg, "export")) {
                return fail(err, errlen, "--kind is import or export");
            }
            o->kind = optarg;
            break;
        case OPT_QUIET:       o->quiet = 1; break;
        case OPT_JSON:        o->json = 1; break;
        case OPT_RETRIES:
            if (parse_long(optarg, 0, 100, &v)) {
                return fail(err, errlen, "--retries wants 0 to 100, not "
                            "'%s'", optarg);
            }
            o->retries = (int)v;
            break;
        case OPT_POLL:
            o->poll_interval = strtod(optarg, &endp);
            if (endp == optarg || *endp || !(o->poll_interval >= 0.05)
                || o->poll_interval > 3600) {
                return fail(err, errlen, "--poll-interval wants seconds "
                            "(0.05 or more), not '%s'", optarg);
            }
            break;
        case OPT_MODE:
            if (cli_mode_ok(optarg)) {
                return fail(err, errlen, "unknown mode '%s'; allowed: "
                            MODES_ALLOWED, optarg);
            }
            o->mode = optarg;
            break;
        case OPT_DRY_RUN:     o->dry_run = 1; break;
        case OPT_ATOMIC:      o->atomic = 1; break;
        case OPT_MAX_ERRORS:
            if (parse_long(optarg, 0, 2147483647L, &o->max_errors)) {
                return fail(err, errlen, "--max-errors wants a number from "
                            "0, not '%s'", optarg);
            }
            break;
        case OPT_DELIMITER:   o->delimiter = optarg; break;
        case OPT_COLUMNS:     o->columns = optarg; break;
        case OPT_CHARSET:     o->charset = optarg; break;
        case OPT_INCLUDE_DELETED: o->include_deleted = 1; break;
        case OPT_HELP:        help = 1; break;
        case OPT_VERSION:     o->cmd = CLI_CMD_VERSION; return 0;
        case ':':
            return fail(err, errlen, "option %s needs a value",
                        argv[optind - 1]);
        default:
            return fail(err, errlen, "unknown option %s", argv[optind - 1]);
        }
    }
    if (help) {
        /* --help alone, or COMMAND --help: that command's help */
        o->cmd = CLI_CMD_HELP;
        if (optind < argc && strcmp(argv[optind], "help")) {
            o->help_topic = argv[optind];
            if (cli_help(NULL, o->help_topic)) {
                return fail(err, errlen, "unknown command '%s'",
                            o->help_topic);
            }
        }
        return 0;
    }
    if (optind >= argc) {
        return fail(err, errlen, "no command given");
    }
    name = argv[optind++];
    want = -1;
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
        if (!strcmp(name, commands[i].name)) {
            o->cmd = commands[i].cmd;
            want = commands[i].args;
            break;
        }
    }
    if (want < 0) {
        return fail(err, errlen, "unknown command '%s'", name);
    }
    if (commands[i].mode) {
        if (o->mode && strcmp(o->mode, commands[i].mode)) {
            return fail(err, errlen, "%s is import --mode %s; no other "
                        "--mode goes with it", name, commands[i].mode);
        }
        o->mode = commands[i].mode;
    }
    while (optind < argc) {
        if (npos == want) {
            return fail(err, errlen, "too many arguments for %s", name);
        }
        pos[npos++] = argv[optind++];
    }
    if (o->cmd == CLI_CMD_HELP) {
        o->help_topic = npos ? pos[0] : NULL;
        if (npos && cli_help(NULL, o->help_topic)) {
            return fail(err, errlen, "no help on '%s': it is no command "
                        "(bulkio help lists them)", o->help_topic);
        }
        return 0;
    }
    if (npos < want) {
        return fail(err, errlen, "%s needs %s", name,
                    o->cmd == CLI_CMD_IMPORT ? "RESOURCE and FILE or URL"
                    : o->cmd == CLI_CMD_EXPORT ? "RESOURCE" : "a job id");
    }
    switch (o->cmd) {
    case CLI_CMD_IMPORT:
    case CLI_CMD_EXPORT:
        o->resource = pos[0];
        if (!is_resource(o->resource)) {
            return fail(err, errlen, "unknown resource '%s'; allowed: "
                        "users, articles, comments", pos[0]);
        }
        if (o->cmd == CLI_CMD_IMPORT) {
            o->source = pos[1];
        }
        break;
    case CLI_CMD_STATUS:
    case CLI_CMD_CANCEL:
    case CLI_CMD_ERRORS:
    case CLI_CMD_RESULTS:
    case CLI_CMD_DOWNLOAD:
        o->job_id = pos[0];
        if (!*o->job_id || strlen(o->job_id) > 36
            || strspn(o->job_id, "0123456789abcdefABCDEF-")
               != strlen(o->job_id)) {
            return fail(err, errlen, "'%s' is no job id (or the start of "
                        "one: hex digits and dashes)", o->job_id);
        }
        break;
    default:
        break;
    }
    if (o->format) {
        /* the reports of an import: NDJSON or CSV */
        int report = o->cmd == CLI_CMD_ERRORS || o->cmd == CLI_CMD_RESULTS;
        int ok = !strcmp(o->format, "ndjson") || !strcmp(o->format, "csv")
                 || (!report && (!strcmp(o->format, "json")
                                 || !strcmp(o->format, "tsv")));

        if (!ok) {
            return fail(err, errlen, "unknown format '%s'; allowed: %s",
                        o->format, report ? "ndjson, csv"
                                          : "ndjson, json, csv, tsv");
        }
    }
    if (o->cmd != CLI_CMD_JOBS && o->cmd != CLI_CMD_EXPORT
        && o->cmd != CLI_CMD_IMPORT && o->resource) {
        return fail(err, errlen, "--resource belongs to jobs");
    }
    if (o->cmd == CLI_CMD_JOBS && o->resource && !is_resource(o->resource)) {
        return fail(err, errlen, "unknown resource '%s'; allowed: users, "
                    "articles, comments", o->resource);
    }
    if ((o->fields || o->nfilters || o->as_job) && o->cmd != CLI_CMD_EXPORT) {
        return fail(err, errlen, "--fields, --filter and --job belong to "
                    "export");
    }
    if ((o->no_wait || o->idempotency_key)
        && o->cmd != CLI_CMD_IMPORT && !(o->cmd == CLI_CMD_EXPORT
                                         && o->as_job)) {
        return fail(err, errlen, "--no-wait and --idempotency-key belong to "
                    "import and export --job");
    }
    if (o->callback_url && o->cmd != CLI_CMD_IMPORT
        && !(o->cmd == CLI_CMD_EXPORT && o->as_job)) {
        return fail(err, errlen, "--callback-url belongs to import and "
                    "export --job");
    }
    if (o->gzip && o->cmd != CLI_CMD_EXPORT) {
        return fail(err, errlen, "--gzip belongs to export");
    }
    if ((o->mode || o->dry_run || o->max_errors >= 0 || o->atomic)
        && o->cmd != CLI_CMD_IMPORT) {
        return fail(err, errlen, "--mode, --dry-run, --max-errors and "
                    "--atomic belong to import and delete");
    }
    if ((o->columns || o->charset) && o->cmd != CLI_CMD_IMPORT) {
        return fail(err, errlen, "--columns and --charset belong to import");
    }
    if (o->delimiter && o->cmd != CLI_CMD_IMPORT && o->cmd != CLI_CMD_EXPORT) {
        return fail(err, errlen, "--delimiter belongs to import and export");
    }
    if (o->include_deleted && o->cmd != CLI_CMD_EXPORT) {
        return fail(err, errlen, "--include-deleted belongs to export");
    }
    if (o->idempotency_key && (!*o->idempotency_key
                               || strlen(o->idempotency_key) > 255
                               || strpbrk(o->idempotency_key, "\r\n"))) {
        return fail(err, errlen, "--idempotency-key wants 1 to 255 "
                    "characters on one line");
    }
    if (!o->url) {
        o->url = default_url(o);
    }
    if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)) {
        return fail(err, errlen, "the server URL must start with http:// or "
                    "https://, not '%s'", o->url);
    }
    if (!o->token && !o->token_file) {
        env = getenv("BULKIO_TOKEN");
        if (env && *env) {
            o->token = env;
        }
        else {
            o->token_file = default_token_file(o);
            o->token_file_default = 1;
        }
    }
    if (o->poll_interval < 0) {
        o->poll_interval = 0.5;
    }
    return 0;
}

void cli_usage(FILE *out)
{
    fputs(
"usage: bulkio [options] COMMAND ...\n"
"\n"
"  import RESOURCE FILE|URL [--format F] [--idempotency-key K] [--no-wait]\n"
"         [--mode M] [--dry-run] [--max-errors N] [--atomic]\n"
"         [--callback-url URL]\n"
"         [--delimiter D] [--columns 'Header:field,...'] [--charset C]\n"
"  delete RESOURCE FILE|URL [options of import]   (import --mode delete)\n"
"  status JOB\n"
"  cancel JOB\n"
"  errors JOB [--format ndjson|csv] [-o FILE [--force]]\n"
"  results JOB [--format ndjson|csv] [-o FILE [--force]]\n"
"  jobs [--status S[,S]] [--resource R] [--limit N] [--kind import|export]\n"
"  export RESOURCE [--format F] [--fields a,b] [--filter k=v]... [--job]\n"
"         [--gzip] [--callback-url URL] [--delimiter D] [--include-deleted]\n"
"         [-o FILE [--force]]\n"
"  download JOB [-o FILE [--force]]\n"
"  help [COMMAND]     (or COMMAND --help): one command's help\n"
"\n"
"RESOURCE is users, articles or comments; F is ndjson, json, csv or tsv.\n"
"JOB is a job id or any start of one that no other job of yours shares\n"
"(097f).\n"
"\n"
"import:\n"
"  --mode M           how records write: upsert (the server's default: a new\n"
"                     key inserts, an existing one updates the fields the\n"
"                     record carries), insert, update, replace (a missing\n"
"                     field takes its default) or delete\n"
"  --dry-run          check every record against the database, change\n"
"                     nothing; the summary shows what would happen\n"
"  --max-errors N     stop the job (failed) when more than N records fail;\n"
"                     the batches before stay applied\n"
"  --atomic           all or nothing: no row changes unless at most\n"
"                     --max-errors (0) records fail\n"
"  --callback-url URL the server POSTs the job's status document there when\n"
"                     it ends, signed (BulkIO-Signature); also export --job\n"
"  --delimiter D      a CSV file's delimiter: ',' ';' '|' or tab (import:\n"
"                     found from the header line when not given)\n"
"  --columns MAP      map the file's headers to fields: 'E-Mail:email,Full\n"
"                     Name:name' (names match ignoring case and blanks)\n"
"  --charset C        the file's charset: utf-8 (default), windows-1252 or\n"
"                     iso-8859-1\n"
"\n"
"export:\n"
"  --gzip             a streamed export comes gzip-compressed (smaller on the\n"
"                     wire) and is inflated as it arrives; an export --job\n"
"                     is stored compressed and inflated after the download,\n"
"                     unless -o FILE ends in .gz (then kept as it is)\n"
"  --delimiter D      CSV with D between cells: ',' ';' '|' or tab\n"
"  --include-deleted  with --filter updated_after=T: also the rows deleted\n"
"                     after T, as {\"id\", \"deleted_at\", \"deleted\": true}\n"
"\n"
"options:\n"
"  --url URL          server (BULKIO_URL, else http://127.0.0.1:$BULKIO_PORT,\n"
"                     else " CLI_DEFAULT_URL ")\n"
"  --token-file FILE  read the token from FILE; else BULKIO_TOKEN, else\n"
"                     $BULKIO_RUN_DIR/token (.run/token), which make run\n"
"                     and make start write; one that others may read is\n"
"                     refused (chmod 600 FILE)\n"
"  --token T          the token itself (visible to other users; prefer\n"
"                     BULKIO_TOKEN or --token-file)\n"
"  -o FILE            write to FILE, not standard output: into a temporary\n"
"                     file beside it, renamed to FILE once whole (after a\n"
"                     failure FILE is as it was); an existing FILE is kept\n"
"  --force            let -o replace an existing FILE (a symbolic link is\n"
"                     replaced, never followed)\n"
"  -q, --quiet        no progress and no summary\n"
"  --json             print the final job document on standard output\n"
"  --retries N        network retries (3); an upload keeps its\n"
"                     Idempotency-Key, so a retry never makes a second job\n"
"  --poll-interval S  seconds between status requests (0.5)\n"
"\n"
"exit status: 0 completed, every record applied; 1 completed with failed\n"
"records; 2 the job failed or was canceled; 3 usage, network,\n"
"authentication or HTTP error; 4 -o FILE exists (see --force); 130\n"
"interrupted while waiting (the job runs on).\n", out);
}

/* The help of each command: its synopsis and what it does; the options
 * every command takes are in the usage (bulkio --help). */
static const struct {
    const char *name;
    const char *text;
} helps[] = {
    { "import",
"usage: bulkio [options] import RESOURCE FILE|URL [--format F]\n"
"              [--idempotency-key K] [--no-wait] [--mode M] [--max-errors N]\n"
"\n"
"Upload FILE (or have the server fetch URL, http or https) as an import\n"
"job of RESOURCE (users, articles, comments), show its progress and end\n"
"with a summary of what the records did.\n"
"\n"
"  --format F         ndjson, json or csv (default: from the file's name,\n"
"                     else the server sniffs it); a .gz file is sent as is\n"
"  --mode M           upsert (default), insert, update, replace or delete\n"
"  --max-errors N     stop the job (failed) past N failed records; the\n"
"                     batches before stay applied\n"
"  --idempotency-key K  the request's key (default: a new UUID, kept for\n"
"                     retries, so a retry never makes a second job)\n"
"  --no-wait          print the job id (or --json its document) and exit\n"
"\n"
"exit status: 0 every record applied, 1 some failed, 2 the job failed or\n"
"was canceled, 3 usage, network, authentication or HTTP error.\n" },
    { "delete",
"usage: bulkio [options] delete RESOURCE FILE|URL [options of import]\n"
"\n"
"import --mode delete: each record names a row (by id, users also by\n"
"email, articles by slug) that is deleted. See bulkio help import.\n" },
    { "status",
"usage: bulkio [options] status JOB [--json]\n"
"\n"
"An import or export job's state, counts, times and its first errors.\n"
"JOB is the job's id or any start of it no other job of yours shares.\n"
"The exit status is import's once the job has ended (0, 1 or 2).\n" },
    { "cancel",
"usage: bulkio [options] cancel JOB [--json]\n"
"\n"
"Cancel a pending or running import or export job. A running import stops\n"
"at its next batch boundary: the batches committed before stay applied.\n"
"A running export stops at its next chunk; its partial file is removed.\n" },
    { "errors",
"usage: bulkio [options] errors JOB [--format ndjson|csv] [-o FILE [--force]]\n"
"\n"
"Every error of an import job in record order, streamed to standard\n"
"output or -o FILE (NDJSON by default). Piped into head, it ends quietly.\n" },
    { "results",
"usage: bulkio [options] results JOB [--format ndjson|csv] "
"[-o FILE [--force]]\n"
"\n"
"What became of each record of an ended import job, in file order: its\n"
"row's id (also the UUID a record without one was given) and its action\n"
"(inserted, updated, unchanged, deleted, failed with the error type),\n"
"streamed to standard output or -o FILE (NDJSON by default). While the\n"
"job runs the server answers 409 (exit 3): ask again once it has ended.\n" },
    { "jobs",
"usage: bulkio [options] jobs [--status S[,S]] [--resource R] [--limit N]\n"
"              [--kind import|export] [--json]\n"
"\n"
"Your import and export jobs, newest first, one table (KIND, JOB, STATUS,\n"
"RESOURCE, FORMAT, RECORDS, FAILED, CREATED) with the full job ids; --json\n"
"prints the items as one array.\n" },
    { "export",
"usage: bulkio [options] export RESOURCE [--format F] [--fields a,b]\n"
"              [--filter k=v]... [--job [--no-wait]] [-o FILE [--force]]\n"
"\n"
"Stream RESOURCE to standard output or -o FILE; with --job, as an export\n"
"job that is waited for and then downloaded (resumed after an\n"
"interruption). Filters: users role, active; articles status, author_id;\n"
"comments article_id, user_id; all created_after, created_before,\n"
"updated_after.\n" },
    { "download",
"usage: bulkio [options] download JOB [-o FILE [--force]]\n"
"\n"
"Download the file of an existing export job (waited for while it is\n"
"pending or running) to standard output or -o FILE, resumed after an\n"
"interruption. Exit status 2 when the job failed or was canceled.\n" },
    { "help",
"usage: bulkio help [COMMAND]\n"
"\n"
"The usage, or one command's help (also bulkio COMMAND --help).\n" },
    { "version",
"usage: bulkio version\n"
"\n"
"The client's version and libcurl's.\n" },
};

int cli_help(FILE *out, const char *topic)
{
    size_t i;

    if (!topic) {
        if (out) {
            cli_usage(out);
        }
        return 0;
    }
    for (i = 0; i < sizeof(helps) / sizeof(helps[0]); ++i) {
        if (!strcmp(topic, helps[i].name)) {
            if (out) {
                fputs(helps[i].text, out);
                fputs("\nThe options of every command: bulkio --help; "
                      "the manual: man bulkio.\n", out);
            }
            return 0;
        }
    }
    return -1;
}
