/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "bulkio_batch.h"
#include "bulkio_pq.h"
#include "bulkio_results.h"
#include "bulkio_util.h"
#include "bulkio_validate.h"

#define COPY_CHUNK 65536

/* An outcome the apply statement reports, by its code. */
typedef struct {
    bulkio_errtype_e type;
    const char *field;
    const char *message;
} outcome_t;

/* A column an update sets: col = val (of c, the staged row, and t, the
 * target), when the record carries column bit (partial modes; -1:
 * always); touch: the update time, set on every write and compared only
 * when the record carries it. */
typedef struct {
    const char *col;
    const char *val;
    int bit;
    int touch;
} set_t;

/* The codes of the apply statement beyond a resource's own (1-3): */
#define CODE_EXISTS      4    /* insert: the id names a row */
#define CODE_NO_ID       5    /* update, delete: the id names no row */
#define CODE_NO_NATURAL  6    /* ... nor the natural key */
#define CODE_REFERENCED  7    /* delete: rows reference it (7, 8) */
#define CODE_REQUIRED    20   /* + column: a new row lacks it */
/* ... rows it applied to an existing row (with its external id when the
 * record has none), and those of them an update changed: */
#define CODE_EXISTING    30
#define CODE_CHANGED     31
#if CODE_REQUIRED + BULKIO_MAX_COLS > CODE_EXISTING
#error "the codes of required columns run into CODE_EXISTING"
#endif
/* ... and rows of counts: idx ACTS_UPDATED etc., code the count */
#define ACTS_UPDATED     "-1"
#define ACTS_INSERTED    "-2"
#define ACTS_DELETED     "-3"
#define ACTS_SQL(IDX, CTE) \
    " UNION ALL SELECT " IDX ", count(*), NULL FROM " CTE

/* Per resource: the staging table, the key columns that split a batch into
 * segments, and two statements, each returning (idx, code) of the rows it
 * refused:
 * - "apply" writes segment $2 of batch $1; new rows take their ids from
 *   $3 (the batch's from record index $4 on), else from the sequence.
 *   Where rows of the segment touch one existing row (as its target, or as
 *   the holder of its email or slug), it writes nothing and returns the
 *   first such row with code 0: the segment is split there and applied
 *   again;
 * - "insert" inserts every row of batch $1 (of one segment; ids as $2 and
 *   $3 give them) and resolves nothing but the references; a row that
 *   meets an existing one breaks a unique index and fails the statement,
 *   which is rolled back to its savepoint and the batch applied instead.
 *   When the file brings new records, that spares each row the probes of
 *   its own keys (the unique indexes check them anyway) and the segment
 *   machinery.
 * A resource that references nothing (users) has no insert statement: its
 * batch is tried by COPY straight into the table (direct_send()), with the
 * rows the insert statement would write, and when that fails it is staged
 * and applied. */
typedef struct {
    const char *stage;
    const char *prepared;     /* the apply statement's name (+ _mode) */
    const char *inserter;     /* the insert statement's name */
    const char *seq;          /* of the table's ids */
    const char *ddl;
    int key_cols[2];          /* column indexes, -1 for none */
    const char *insert;       /* NULL: the direct COPY instead */
    unsigned int now_cols;    /* direct COPY: bits of the columns that
                               * take now() when absent, as the insert of
                               * new rows (ins) gives them */
    outcome_t outcomes[3];    /* by code - 1 */
    /* what apply_sql() builds the apply statement of each mode from */
    const char *table;
    const char *singular;     /* "user": in messages */
    const char *resolve;      /* the staged rows of segment $2 of batch $1
                               * with target, holder and references */
    int cut;                  /* split segments where rows meet in the
                               * database (k.cut), else no two rows can */
    const char *natural;      /* the column of the natural key (email,
                               * slug), or NULL */
    const char *checks;       /* WHEN ... THEN code, of s: references and
                               * the holder */
    int natural_dup;          /* the code of a natural key taken, or 0 */
    const char *ins;          /* the insert of c's new rows, RETURNING */
    const set_t sets[9];      /* the columns an update sets, col NULL
                               * ends */
    int required[5];          /* columns a new row needs, -1 ends */
    outcome_t refs[2];        /* delete: rows that reference it (field is
                               * the referencing table.column), by code
                               * - CODE_REFERENCED */
} resource_sql_t;

/* k.cut: the first row of the segment that touches a row an earlier one
 * does; c: the resolved rows (their err between head and tail), none when
 * there is a cut. */
#define CUT_HEAD \
    "), k AS (" \
    "  SELECT min(idx) AS cut FROM (" \
    "    SELECT idx, rank() OVER (PARTITION BY r ORDER BY idx) AS rk" \
    "      FROM (SELECT DISTINCT idx, r FROM (" \
    "              SELECT idx, target AS r FROM s" \
    "              UNION ALL SELECT idx, holder FROM s) x" \
    "             WHERE r IS NOT NULL) t" \
    "  ) y WHERE rk > 1" \
    "), c AS (" \
    "  SELECT s.*, "
#define CUT_TAIL " AS err FROM s WHERE (SELECT cut FROM k) IS NULL"

#define CUT_RESULT \
    " SELECT idx, err, NULL FROM c WHERE err <> 0" \
    " UNION ALL SELECT cut, 0, NULL FROM k WHERE cut IS NOT NULL"

/* The rows of c applied to an existing row (its external id when the
 * record has none: the holder of its email or slug), for the results;
 * 30 is CODE_EXISTING (and 31 in apply_sql() CODE_CHANGED). */
#define EXISTING_RESULT \
    " UNION ALL SELECT idx, 30, CASE WHEN external_id IS NULL" \
    " THEN holder_xid END FROM c WHERE err = 0 AND target IS NOT NULL"

/* A row without an id is matched by its email (slug): its holder. The
 * target's email (slug) as it is before the write: an update that changes
 * it gives it up (bulkio_batch_meets()). */
#define USERS_RESOLVE \
    "SELECT st.*, coalesce(u1.id, CASE WHEN st.external_id IS NULL" \
    "                                  THEN h.id END) AS target," \
    "       coalesce(u1.email, h.email) AS target_key," \
    "       h.id AS holder, h.external_id AS holder_xid" \
    "  FROM bulkio_stage_users st" \
    "  LEFT JOIN users u1 ON u1.external_id = st.external_id" \
    "  LEFT JOIN users h ON lower(h.email) = lower(st.email)" \
    " WHERE st.bat = $1 AND st.gen = $2"

/* The internal id of row c: from IDS, the ids taken for the batch in file
 * order (of its rows from index FIRST on), else the next of the sequence. */
#define NEW_ID(SEQ, IDS, FIRST) \
    "coalesce((" IDS "::bigint[])[c.idx - " FIRST " + 1], nextval('" SEQ "'))"

/* Insert the rows c of FROM, in file order. */
#define USERS_INSERT(FROM, IDS, FIRST) \
    "  INSERT INTO users (id, external_id, email, name, role, active," \
    "                     created_at, updated_at) OVERRIDING SYSTEM VALUE" \
    "  SELECT " NEW_ID("users_id_seq", IDS, FIRST) "," \
    "         coalesce(c.external_id, c.new_id), c.email," \
    "         c.name, c.role, c.active, coalesce(c.created_at, now())," \
    "         coalesce(c.updated_at, now())" \
    "    FROM " FROM " ORDER BY c.idx"

#define ARTICLES_REFS \
    "  LEFT JOIN users au ON au.external_id = lower(st.author_id)"

#define ARTICLES_RESOLVE \
    "SELECT st.*, coalesce(a1.id, CASE WHEN st.external_id IS NULL" \
    "                                  THEN h.id END) AS target," \
    "       coalesce(a1.slug, h.slug) AS target_key," \
    "       h.id AS holder, h.external_id AS holder_xid, au.id AS author" \
    "  FROM bulkio_stage_articles st" \
    "  LEFT JOIN articles a1 ON a1.external_id = st.external_id" \
    "  LEFT JOIN articles h ON h.slug = st.slug" ARTICLES_REFS \
    " WHERE st.bat = $1 AND st.gen = $2"

#define ARTICLES_INSERT(FROM, IDS, FIRST) \
    "  INSERT INTO articles (id, external_id, slug, title, body, author_id," \
    "                        tags, published_at, status)" \
    "  OVERRIDING SYSTEM VALUE" \
    "  SELECT " NEW_ID("articles_id_seq", IDS, FIRST) "," \
    "         coalesce(c.external_id, c.new_id), c.slug," \
    "         c.title, c.body, c.author, c.tags, c.published_at, c.status" \
    "    FROM " FROM " ORDER BY c.idx"

#define COMMENTS_REFS \
    "  LEFT JOIN articles a ON a.external_id = lower(st.article_id)" \
    "  LEFT JOIN users u ON u.external_id = lower(st.user_id)"

#define COMMENTS_CHECK \
    "CASE WHEN a.id IS NULL AND st.article_id IS NOT NULL THEN 1" \
    "     WHEN u.id IS NULL AND st.user_id IS NOT NULL THEN 2 ELSE 0 END"

#define COMMENTS_RESOLVE \
    "SELECT st.*, c1.id AS target, NULL::text AS target_key," \
    "       NULL::bigint AS holder, NULL::text AS holder_xid," \
    "       a.id AS article, u.id AS author" \
    "  FROM bulkio_stage_comments st" \
    "  LEFT JOIN comments c1 ON c1.external_id = st.external_id" \
    COMMENTS_REFS \
    " WHERE st.bat = $1 AND st.gen = $2"

/* Where a row's holder of its email or slug is another row. */
#define HOLDER_CHECK(CODE) \
    " WHEN s.holder IS DISTINCT FROM s.target AND s.holder IS NOT NULL" \
    " THEN " CODE

/* The new rows of c, as the apply statement inserts them. */
#define NEW_ROWS "c WHERE c.err = 0 AND c.target IS NULL"

#define COMMENTS_INSERT(FROM, IDS, FIRST) \
    "  INSERT INTO comments (id, external_id, article_id, user_id, body," \
    "                        created_at) OVERRIDING SYSTEM VALUE" \
    "  SELECT " NEW_ID("comments_id_seq", IDS, FIRST) "," \
    "         coalesce(c.external_id, c.new_id), c.article," \
    "         c.author, c.body, coalesce(c.created_at, now())" \
    "    FROM " FROM " ORDER BY c.idx"

/* The insert statement's rows: batch $1 with its references resolved. */
#define FAST_ROWS(STAGE, REFS, COLS) \
    "WITH c AS MATERIALIZED (" \
    "  SELECT st.*, " COLS " FROM " STAGE " st" REFS " WHERE st.bat = $1" \
    "), ins AS ("

#define FAST_RESULT ") SELECT idx, err, NULL FROM c WHERE err <> 0"

/* The insert statements of articles and comments (users: the direct
 * COPY, a user references nothing). */
#define ARTICLES_FAST \
    FAST_ROWS("bulkio_stage_articles", ARTICLES_REFS, \
              "au.id AS author, CASE WHEN au.id IS NULL" \
              " AND st.author_id IS NOT NULL THEN 1 ELSE 0 END AS err") \
    ARTICLES_INSERT("c WHERE c.err = 0", "$2", "$3") FAST_RESULT

#define COMMENTS_FAST \
    FAST_ROWS("bulkio_stage_comments", COMMENTS_REFS, \
              "a.id AS article, u.id AS author, " COMMENTS_CHECK " AS err") \
    COMMENTS_INSERT("c WHERE c.err = 0", "$2", "$3") FAST_RESULT

static const resource_sql_t sql[] = {
    {   "bulkio_stage_users", "bulkio_apply_users", NULL, "users_id_seq",
        "CREATE TEMP TABLE IF NOT EXISTS bulkio_stage_users ("
        " idx bigint, bat int, gen int, pres int, new_id text,"
        " external_id text,"
        " email text, name text, role text, active boolean,"
        " created_at timestamptz, updated_at timestamptz)"
        " ON COMMIT DELETE ROWS",
        { 0, 1 },
        NULL, (1 << 5) | (1 << 6),    /* created_at, updated_at */
        { { BULKIO_ERR_DUPLICATE, "email",
            "email already belongs to another user" } },
        "users", "user", USERS_RESOLVE, 1, "email", HOLDER_CHECK("1"), 1,
        USERS_INSERT(NEW_ROWS, "$3", "$4"),
        { { "email", "c.email", 1, 0 }, { "name", "c.name", 2, 0 },
          { "role", "c.role", 3, 0 }, { "active", "c.active", 4, 0 },
          { "created_at", "coalesce(c.created_at, t.created_at)", 5, 0 },
          { "updated_at", "coalesce(c.updated_at, now())", 6, 1 } },
        { 1, -1 },
        { { BULKIO_ERR_FOREIGN_KEY, "articles.author_id",
            "the user is the author of articles; delete them first" },
          { BULKIO_ERR_FOREIGN_KEY, "comments.user_id",
            "the user has written comments; delete them first" } }
    },
    {   "bulkio_stage_articles", "bulkio_apply_articles",
        "bulkio_insert_articles",
        "articles_id_seq",
        "CREATE TEMP TABLE IF NOT EXISTS bulkio_stage_articles ("
        " idx bigint, bat int, gen int, pres int, new_id text,"
        " external_id text,"
        " slug text, title text, body text, author_id text, tags text[],"
        " published_at timestamptz, status text) ON COMMIT DELETE ROWS",
        { 0, 1 },
        ARTICLES_FAST, 0,
        { { BULKIO_ERR_FOREIGN_KEY, "author_id",
            "author_id does not name an existing user" },
          { BULKIO_ERR_DUPLICATE, "slug",
            "slug already belongs to another article" } },
        "articles", "article", ARTICLES_RESOLVE, 1, "slug",
        " WHEN s.author IS NULL AND s.author_id IS NOT NULL THEN 1"
        HOLDER_CHECK("2"), 2,
        ARTICLES_INSERT(NEW_ROWS, "$3", "$4"),
        { { "slug", "c.slug", 1, 0 }, { "title", "c.title", 2, 0 },
          { "body", "c.body", 3, 0 }, { "author_id", "c.author", 4, 0 },
          { "tags", "c.tags", 5, 0 },
          { "published_at", "c.published_at", 6, 0 },
          { "status", "c.status", 7, 0 },
          { "updated_at", "now()", -1, 1 } },
        { 1, 2, 3, 4, -1 },
        { { BULKIO_ERR_FOREIGN_KEY, "comments.article_id",
            "the article has comments; delete them first" },
          { BULKIO_ERR_NONE, NULL, NULL } }
    },
    {   "bulkio_stage_comments", "bulkio_apply_comments",
        "bulkio_insert_comments",
        "comments_id_seq",
        "CREATE TEMP TABLE IF NOT EXISTS bulkio_stage_comments ("
        " idx bigint, bat int, gen int, pres int, new_id text,"
        " external_id text,"
        " article_id text, user_id text, body text, created_at timestamptz)"
        " ON COMMIT DELETE ROWS",
        { 0, -1 },   /* a comment's only key is its id */
        COMMENTS_FAST, 0,
        { { BULKIO_ERR_FOREIGN_KEY, "article_id",
            "article_id does not name an existing article" },
          { BULKIO_ERR_FOREIGN_KEY, "user_id",
            "user_id does not name an existing user" } },
        "comments", "comment", COMMENTS_RESOLVE, 0, NULL,
        " WHEN s.article IS NULL AND s.article_id IS NOT NULL THEN 1"
        " WHEN s.author IS NULL AND s.user_id IS NOT NULL THEN 2", 0,
        COMMENTS_INSERT(NEW_ROWS, "$3", "$4"),
        { { "article_id", "c.article", 1, 0 },
          { "user_id", "c.author", 2, 0 }, { "body", "c.body", 3, 0 },
          { "created_at", "coalesce(c.created_at, t.created_at)", 4, 0 },
          { "updated_at", "now()", -1, 1 } },
        { 1, 2, 3, -1 },
        { { BULKIO_ERR_NONE, NULL, NULL }, { BULKIO_ERR_NONE, NULL, NULL } }
    },
};

/* The value an update gives column x: in a partial mode, the stored one
 * unless the record carries it. */
static const char *set_value(apr_pool_t *p, const set_t *x, int partial)
{
    if (!partial || x->bit < 0) {
        return x->val;
    }
    return apr_psprintf(p, "CASE WHEN c.pres & %d <> 0 THEN %s ELSE t.%s END",
                        1 << x->bit, x->val, x->col);
}

/* The update of the apply statement of mode (partial or not): the rows
 * whose values change (a row that would stay as it is is not written
 * again, as suppress_redundant_updates_trigger would skip it), with the
 * natural key each gave up (freed), if it changed that. */
static const char *update_sql(apr_pool_t *p, const resource_sql_t *q,
                              int partial)
{
    const char *set = "", *old = "", *new = "", *sep = "", *v;
    const set_t *x;

    for (x = q->sets; x->col; ++x) {
        v = set_value(p, x, partial);
        set = apr_pstrcat(p, set, *set ? ", " : "", x->col, " = ",
                          x->touch ? x->val : v, NULL);
        if (x->touch && x->bit < 0) {
            continue;
        }
        old = apr_pstrcat(p, old, sep, "t.", x->col, NULL);
        new = apr_pstrcat(p, new, sep, v, NULL);
        sep = ", ";
    }
    return apr_pstrcat(p, ", upd AS (UPDATE ", q->table, " t SET ", set,
                       " FROM c WHERE c.err = 0 AND t.id = c.target"
                       " AND (", old, ") IS DISTINCT FROM (", new, ")"
                       " RETURNING c.idx, ", q->natural
                       ? apr_pstrcat(p, "CASE WHEN t.", q->natural,
                                     " IS DISTINCT FROM c.target_key THEN"
                                     " c.target_key END", NULL)
                       : "NULL", " AS freed)", NULL);
}

/* The checks of the apply statement of mode, before the resource's own
 * (WHEN ... THEN code, of s). */
static const char *mode_checks(apr_pool_t *p, const resource_sql_t *q,
                               bulkio_mode_e mode)
{
    const char *const *names = bulkio_validate_colnames(
                                   (bulkio_resource_e)(q - sql));
    const char *w = "";
    const int *r;

    switch (mode) {
    case BULKIO_MODE_INSERT:
        return apr_psprintf(p, " WHEN s.target IS NOT NULL THEN CASE WHEN"
                            " s.external_id IS NULL THEN %d ELSE %d END",
                            q->natural_dup ? q->natural_dup : CODE_EXISTS,
                            CODE_EXISTS);
    case BULKIO_MODE_UPDATE:
    case BULKIO_MODE_DELETE:
        return apr_psprintf(p, " WHEN s.target IS NULL THEN CASE WHEN"
                            " s.external_id IS NULL THEN %d ELSE %d END",
                            CODE_NO_NATURAL, CODE_NO_ID);
    case BULKIO_MODE_UPSERT:
        /* a new row needs what a partial record may leave out */
        for (r = q->required; *r >= 0; ++r) {
            w = apr_psprintf(p, "%s WHEN s.target IS NULL AND s.%s IS NULL"
                             " THEN %d", w, names[*r], CODE_REQUIRED + *r);
        }
        return w;
    default:
        return w;
    }
}

/* The checks of a delete: rows that still reference the target. */
static const char *ref_checks(apr_pool_t *p, const resource_sql_t *q)
{
    const char *w = "";
    int i;

    for (i = 0; i < 2 && q->refs[i].field; ++i) {
        const char *dot = strchr(q->refs[i].field, '.');

        w = apr_psprintf(p, "%s WHEN EXISTS (SELECT 1 FROM %.*s r WHERE r.%s"
                         " = s.target) THEN %d", w,
                         (int)(dot - q->refs[i].field), q->refs[i].field,
                         dot + 1, CODE_REFERENCED + i);
    }
    return w;
}

/* The tombstones of the rows CTE del deleted: TOMBSTONE_HEAD, the
 * resource (a name of the allow-list), TOMBSTONE_TAIL; with the job that
 * deleted them, which its run set as bulkio.job_id on the connection. */
#define TOMBSTONE_HEAD \
    "INSERT INTO bulkio_tombstones (resource, external_id, job_id," \
    " principal) SELECT '"
#define TOMBSTONE_TAIL \
    "', d.external_id, j.id, j.principal" \
    "  FROM del d LEFT JOIN bulkio_jobs j ON j.id = nullif(current_setting(" \
    "       'bulkio.job_id', true), '')::bigint"

/* The apply statement of q's resource in mode: it writes segment $2 of
 * batch $1 (new rows take their ids from $3, the batch's from record
 * index $4 on, else from the sequence) and returns (idx, code, NULL) of
 * the rows it refused, (idx, CODE_EXISTING, the external id when the
 * record has none) of those it applied to an existing row, (idx,
 * CODE_CHANGED, the email or slug it gave up, or NULL) of those an update
 * changed, then the counts of what
 * it did (idx ACTS_*). With cut,
 * where rows of the segment touch one existing row (as its target, or as
 * the holder of its email or slug), it writes nothing and returns the
 * first such row with code 0: the segment is split there and applied
 * again. */
static const char *apply_sql(apr_pool_t *p, const resource_sql_t *q,
                             bulkio_mode_e mode)
{
    const char *err, *rows, *write, *result;

    err = apr_pstrcat(p, "CASE", mode_checks(p, q, mode),
                      mode == BULKIO_MODE_DELETE ? ref_checks(p, q)
                                                 : q->checks,
                      " ELSE 0 END", NULL);
    if (q->cut) {
        rows = apr_pstrcat(p, "WITH s AS MATERIALIZED (", q->resolve,
                           CUT_HEAD, err, CUT_TAIL, NULL);
        result = CUT_RESULT;
    }
    else {
        rows = apr_pstrcat(p, "WITH c AS (SELECT s.*, ", err, " AS err FROM (",
                           q->resolve, ") s", NULL);
        result = " SELECT idx, err, NULL FROM c WHERE err <> 0";
    }
    if (mode == BULKIO_MODE_DELETE) {
        /* each deleted row leaves a tombstone, in the same statement */
        write = apr_pstrcat(p, "), del AS (DELETE FROM ", q->table,
                            " t USING c WHERE c.err = 0 AND t.id = c.target"
                            " RETURNING t.external_id), tomb AS ("
                            TOMBSTONE_HEAD, q->table, TOMBSTONE_TAIL ")",
                            NULL);
    }
    else {
        write = apr_pstrcat(p, ")",
                            mode == BULKIO_MODE_INSERT ? "" : update_sql(
                                p, q, BULKIO_MODE_PARTIAL(mode)),
                            mode == BULKIO_MODE_UPDATE ? "" : apr_pstrcat(
                                p, ", ins AS (", q->ins, " RETURNING 1)",
                                NULL), NULL);
    }
    return apr_pstrcat(p, rows, write, result, EXISTING_RESULT,
                       mode != BULKIO_MODE_DELETE && mode != BULKIO_MODE_INSERT
                       ? " UNION ALL SELECT idx, 31, freed FROM upd" : "",
                       mode == BULKIO_MODE_DELETE ? ACTS_SQL(ACTS_DELETED,
                                                             "del") : "",
                       mode != BULKIO_MODE_DELETE && mode != BULKIO_MODE_INSERT
                       ? ACTS_SQL(ACTS_UPDATED, "upd") : "",
                       mode != BULKIO_MODE_DELETE && mode != BULKIO_MODE_UPDATE
                       ? ACTS_SQL(ACTS_INSERTED, "ins") : "", NULL);
}

/* A record the batch keeps: enough to report an error on it, and its
 * result. */
typedef struct {
    apr_int64_t index;
    apr_int64_t line;
    const char *raw;
    bulkio_verdict_t verdict;   /* type NONE while it is a valid row */
    const char *xid;            /* its external id: the record's, the one
                                 * a new row takes, or the existing row's */
    int given;                  /* xid is the record's own */
    int existing;               /* it was applied to an existing row */
    int changed;                /* ... which an update changed */
} entry_t;

/* A job run's staging on its connection: several batches share one
 * transaction, so each has a number of its own in the staging table. */
struct bulkio_stage_t {
    const resource_sql_t *sql;
    bulkio_mode_e mode;
    const char *apply;           /* the name of the apply statement */
    int batches;                 /* batches numbered so far */
    int skip;                    /* batches to apply without trying the
                                  * insert statement first */
    int backoff;                 /* what skip becomes at its next failure */
    apr_int64_t max_rows;        /* the job's caps on its stored error */
    apr_int64_t max_bytes;       /* entries (-1: none), ... */
    int kept_read;               /* ... what it stored read from its row */
    apr_int64_t kept_rows;       /* entries stored so far ... */
    apr_int64_t kept_bytes;      /* ... and their bytes of record_data */
    int truncated;               /* a failed record was left out */
    PGconn *errconn;             /* the error entries' connection, or NULL:
                                  * the batch's */
    int results;                 /* store the records' results */
    PGconn *resconn;             /* ... through this connection, or NULL:
                                  * the batch's */
    int res_sent;                /* results sent through it, not read */
    int own_ids;                 /* new rows' ids: OWN_ID + record
                                  * index */
};

/* After the insert statement failed, batches go straight to the apply
 * statement: 1, 2, 4 ... up to this many, until an insert succeeds. */
#define MAX_SKIP 64

/* bulkio_batch_own_ids(): the id of record 0; below zero, where the
 * sequence never goes, and rising with the file as the sequence's do (an
 * index takes rising keys at its right end, where a full page is split
 * to leave it full). */
#define OWN_ID (APR_INT64_MIN / 2)

/* The insert statement runs inside this savepoint. */
#define SAVEPOINT "bulkio_insert"

struct bulkio_batch_t {
    apr_pool_t *pool;            /* cleared per batch */
    bulkio_stage_t *stage;
    const resource_sql_t *sql;
    bulkio_resource_e res;
    int ncols;
    apr_array_header_t *entries; /* entry_t, in record order */
    bulkio_buf_t copy;           /* COPY text of the valid rows */
    apr_hash_t *keys;            /* key values of the current segment */
    apr_hash_t *all_keys;        /* ... and of the whole batch */
    apr_hash_t *freed;           /* natural keys its updates gave up, as
                                  * all_keys has them */
    const char *number;          /* the batch's number (column bat) */
    int segments;                /* index of the last segment */
    int sent;                    /* segment 0's statement is running */
    int insert;                  /* ... and it is the insert statement
                                  * (or the direct COPY, ...) */
    int direct;                  /* ... which is the direct COPY */
    const char *ids;             /* ids taken for its rows, or NULL */
    apr_int64_t acts[3];         /* rows updated, inserted, deleted */
    int inserted_all;            /* the insert statement wrote its rows */
    int only_new;                /* ... or nothing else is to be written */
    const char *first;           /* its first record's index */
};

void bulkio_copy_field(bulkio_buf_t *buf, const char *s)
{
    char esc[2] = { '\\', 0 };
    apr_size_t n;

    if (!s) {
        bulkio_buf_add(buf, "\\N", 2);
        return;
    }
    for (;;) {
        /* the bytes up to the next one to escape, at once */
        n = strcspn(s, "\\\n\r\t");
        bulkio_buf_add(buf, s, n);
        s += n;
        switch (*s) {
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: return;                /* the end of s */
        }
        bulkio_buf_add(buf, esc, 2);
        ++s;
    }
}

/* One COPY row: fields separated by tabs, ended by a newline. */
static void copy_row(bulkio_buf_t *buf, int n, const char *const *fields)
{
    int i;

    for (i = 0; i < n; ++i) {
        if (i) {
            bulkio_buf_addc(buf, '\t');
        }
        bulkio_copy_field(buf, fields[i]);
    }
    bulkio_buf_addc(buf, '\n');
}

apr_status_t bulkio_batch_setup(apr_pool_t *p, PGconn *conn,
                                bulkio_resource_e res, bulkio_mode_e mode,
                                bulkio_stage_t **pstage)
{
    const resource_sql_t *q = &sql[res];
    const char *apply = apr_pstrcat(p, q->prepared, "_", bulkio_mode_name(mode),
                                    NULL);
    /* batch and segment (int), ids (bigint[]), first index (bigint) */
    static const Oid apply_types[4] = { 23, 23, 1016, 20 };
    const char *params[1];
    PGresult *r;
    apr_status_t rv;
    int i;

    rv = bulkio_pq_exec(p, conn, q->ddl, 0, NULL, NULL);
    /* the statements are planned once per connection (the batch
     * transaction's settings keep their plans right at any table size) */
    for (i = 0; i < (q->insert ? 2 : 1) && rv == APR_SUCCESS; ++i) {
        params[0] = i ? q->inserter : apply;
        rv = bulkio_pq_exec(p, conn, "SELECT 1 FROM pg_prepared_statements"
                            " WHERE name = $1", 1, params, &r);
        if (rv == APR_SUCCESS && !PQntuples(r)) {
            /* typed: a mode's statement may leave $3 and $4 unused */
            rv = bulkio_pq_result(p, PQprepare(conn, params[0],
                                        i ? q->insert : apply_sql(p, q, mode),
                                        4 - i, i ? NULL : apply_types));
        }
    }
    if (rv == APR_SUCCESS) {
        *pstage = apr_pcalloc(p, sizeof(**pstage));
        (*pstage)->sql = q;
        (*pstage)->mode = mode;
        (*pstage)->apply = apply;
        (*pstage)->max_rows = -1;
        (*pstage)->max_bytes = -1;
    }
    return rv;
}

void bulkio_batch_error_caps(bulkio_stage_t *stage, apr_int64_t max_rows,
                             apr_int64_t max_bytes)
{
    stage->max_rows = max_rows;
    stage->max_bytes = max_bytes;
}

const char *bulkio_batch_table(const bulkio_stage_t *stage)
{
    return stage->sql->stage;
}

const char *bulkio_batch_sequence(const bulkio_stage_t *stage)
{
    return stage->sql->seq;
}

void bulkio_batch_errors_to(bulkio_stage_t *stage, PGconn *conn)
{
    stage->errconn = conn;
}

void bulkio_batch_results(bulkio_stage_t *stage, int on, PGconn *conn)
{
    stage->results = on;
    stage->resconn = conn;
}

void bulkio_batch_own_ids(bulkio_stage_t *stage)
{
    stage->own_ids = 1;
}

static void batch_init(bulkio_batch_t *b)
{
    b->number = apr_itoa(b->pool, ++b->stage->batches);
    b->entries = apr_array_make(b->pool, 1024, sizeof(entry_t));
    bulkio_buf_init(&b->copy, b->pool, 256 * 1024);
    b->keys = apr_hash_make(b->pool);
    b->all_keys = apr_hash_make(b->pool);
    b->freed = apr_hash_make(b->pool);
    b->segments = 0;
    b->sent = 0;
    b->insert = 0;
    b->direct = 0;
    memset(b->acts, 0, sizeof(b->acts));
    b->inserted_all = 0;
    b->only_new = 0;
}

bulkio_batch_t *bulkio_batch_create(apr_pool_t *p, bulkio_stage_t *stage,
                                    bulkio_resource_e res)
{
    bulkio_batch_t *b = apr_pcalloc(p, sizeof(*b));

    apr_pool_create(&b->pool, p);
    b->stage = stage;
    b->res = res;
    b->sql = &sql[res];
    b->ncols = bulkio_validate_ncols(res);
    batch_init(b);
    return b;
}

void bulkio_batch_reset(bulkio_batch_t *b)
{
    apr_pool_clear(b->pool);
    batch_init(b);
}

int bulkio_batch_size(const bulkio_batch_t *b)
{
    return b->entries->nelts;
}

/* Is b to be tried as new rows first (no key repeats in it, and no
 * recent try failed)? */
static int tries_insert(const bulkio_batch_t *b)
{
    return !b->segments && !b->stage->skip
           && b->stage->mode != BULKIO_MODE_UPDATE
           && b->stage->mode != BULKIO_MODE_DELETE;
}

/* Is a key of b in keys? */
static int shares_key(const bulkio_batch_t *b, apr_hash_t *keys)
{
    apr_hash_index_t *hi;
    const void *key;
    apr_ssize_t klen;

    if (!apr_hash_count(keys)) {
        return 0;
    }
    for (hi = apr_hash_first(b->pool, b->all_keys); hi;
         hi = apr_hash_next(hi)) {
        apr_hash_this(hi, &key, &klen, NULL);
        if (apr_hash_get(keys, key, klen)) {
            return 1;
        }
    }
    return 0;
}

int bulkio_batch_independent(const bulkio_batch_t *b,
                             const bulkio_batch_t *prev, int as_new)
{
    if (as_new ? !tries_insert(b) : b->stage->mode == BULKIO_MODE_DELETE) {
        return 0;
    }
    return !shares_key(b, prev->all_keys);
}

int bulkio_batch_meets(const bulkio_batch_t *b, const bulkio_batch_t *prev)
{
    /* tried as new rows, b waits in a unique index for what prev gives
     * up; applied, it read the rows as they were */
    return b->sent && !b->insert && shares_key(b, prev->freed);
}

static entry_t *add_entry(bulkio_batch_t *b, const bulkio_record_t *rec)
{
    entry_t *e = apr_array_push(b->entries);

    e->index = rec->index;
    e->line = rec->line;
    e->raw = rec->raw ? apr_pstrdup(b->pool, rec->raw) : NULL;
    memset(&e->verdict, 0, sizeof(e->verdict));
    e->xid = NULL;
    e->given = e->existing = e->changed = 0;
    return e;
}

/* Key value v of key column i (0: the id, 1: the natural key) as the
 * batch's hashes hold it: compared case-insensitively. */
static char *key_of(apr_pool_t *p, int i, const char *v)
{
    char *k = apr_pstrcat(p, i ? "k:" : "i:", v, NULL), *c;

    for (c = k; *c; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return k;
}

/* The segment of a row: rows are applied a segment at a time, in file
 * order; a row that shares a key value (id, email, slug; compared
 * case-insensitively) with a row of the current segment starts the next.
 * Rows that collide only through the database are split later, in SQL. */
static int segment(bulkio_batch_t *b, const char *const *cols)
{
    const char *keys[2];
    int i, cut = 0;

    for (i = 0; i < 2; ++i) {
        keys[i] = NULL;
        if (b->sql->key_cols[i] >= 0 && cols[b->sql->key_cols[i]]) {
            keys[i] = key_of(b->pool, i, cols[b->sql->key_cols[i]]);
            cut |= apr_hash_get(b->keys, keys[i], APR_HASH_KEY_STRING)
                   != NULL;
        }
    }
    if (cut) {
        apr_hash_clear(b->keys);
        b->segments++;
    }
    for (i = 0; i < 2; ++i) {
        if (keys[i]) {
            apr_hash_set(b->keys, keys[i], APR_HASH_KEY_STRING, "");
            apr_hash_set(b->all_keys, keys[i], APR_HASH_KEY_STRING, "");
        }
    }
    return b->segments;
}

void bulkio_batch_add_row(bulkio_batch_t *b, const bulkio_record_t *rec,
                          const char *const *cols, unsigned int pres)
{
    const char *fields[5 + BULKIO_MAX_COLS];
    entry_t *e = add_entry(b, rec);

    fields[0] = apr_psprintf(b->pool, "%" APR_INT64_T_FMT, rec->index);
    fields[1] = b->number;
    fields[2] = apr_itoa(b->pool, segment(b, cols));
    fields[3] = apr_itoa(b->pool, (int)pres);
    /* column 0 is the id: a record without one that inserts takes this
     * one, so that its result can name it */
    e->given = cols[0] != NULL;
    e->xid = cols[0] ? apr_pstrdup(b->pool, cols[0])
             : b->stage->mode == BULKIO_MODE_UPDATE
               || b->stage->mode == BULKIO_MODE_DELETE
             ? NULL : bulkio_uuid_new(b->pool);
    fields[4] = e->given ? NULL : e->xid;
    memcpy(fields + 5, cols, sizeof(*cols) * (apr_size_t)b->ncols);
    copy_row(&b->copy, 5 + b->ncols, fields);
}

void bulkio_batch_add_error(bulkio_batch_t *b, const bulkio_record_t *rec,
                            const bulkio_verdict_t *v)
{
    entry_t *e = add_entry(b, rec);

    if (b->stage->results) {
        /* its result names the id it carries, when a valid one */
        e->xid = bulkio_results_record_id(b->pool, rec->obj);
        e->given = 1;
    }
    e->verdict.type = v->type;
    e->verdict.field = v->field ? apr_pstrdup(b->pool, v->field) : NULL;
    e->verdict.message = apr_pstrdup(b->pool, v->message);
}

/* Send len bytes of text-format data to the COPY running on conn, and
 * end it. */
static apr_status_t copy_data(PGconn *conn, const char *data, apr_size_t len)
{
    apr_status_t rv = APR_SUCCESS;
    apr_size_t off, n;

    for (off = 0; off < len; off += n) {
        n = len - off > COPY_CHUNK ? COPY_CHUNK : len - off;
        if (PQputCopyData(conn, data + off, (int)n) != 1) {
            rv = APR_EGENERAL;
            break;
        }
    }
    if (PQputCopyEnd(conn, rv == APR_SUCCESS ? NULL : "aborted") != 1) {
        rv = APR_EGENERAL;
    }
    return rv;
}

/* COPY len bytes of text-format data with the statement copy_sql. */
static apr_status_t copy_in(apr_pool_t *p, PGconn *conn, const char *copy_sql,
                            const char *data, apr_size_t len)
{
    PGresult *res;
    apr_status_t rv;

    /* COPY FROM STDIN answers COPY_IN, never a statement's success */
    bulkio_pq_exec(p, conn, copy_sql, 0, NULL, &res);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        return APR_EGENERAL;
    }
    rv = copy_data(conn, data, len);
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rv = APR_EGENERAL;
        }
        PQclear(res);
    }
    return rv;
}

/* The COPY of b's columns into table, after the columns cols (or ""). */
static const char *copy_columns(apr_pool_t *p, const bulkio_batch_t *b,
                                const char *table, const char *cols)
{
    const char *const *names = bulkio_validate_colnames(b->res);
    int i;

    for (i = 0; i < b->ncols; ++i) {
        cols = apr_pstrcat(p, cols, *cols ? ", " : "", names[i], NULL);
    }
    return apr_pstrcat(p, "COPY ", table, " (", cols, ") FROM STDIN", NULL);
}

/* The staging COPY of b. */
static const char *copy_stage(apr_pool_t *p, const bulkio_batch_t *b)
{
    return copy_columns(p, b, b->sql->stage, "idx, bat, gen, pres, new_id");
}

/* Is the COPY field f of len bytes NULL? */
static int copy_null(const char *f, apr_size_t len)
{
    return len == 2 && f[0] == '\\' && f[1] == 'N';
}

/* The rows of b's staging text as the insert of new rows writes them into
 * the table, as COPY text: the id taken for the row (from ids, by its
 * record's index; none when NULL: the table's identity then takes the
 * next of the sequence as the rows are written, in file order), the id
 * the record carries or else the one it was given (new_id), its columns,
 * and 'now' for an absent one of the resource's now_cols (the input 'now'
 * is the transaction's start time: now(), to the microsecond). */
static void direct_rows(bulkio_batch_t *b, const apr_int64_t *ids,
                        bulkio_buf_t *out)
{
    const char *s = b->copy.data, *end = s + b->copy.len;
    const char *f[5 + BULKIO_MAX_COLS];
    apr_size_t len[5 + BULKIO_MAX_COLS];
    apr_int64_t first = APR_ARRAY_IDX(b->entries, 0, entry_t).index;
    char num[24];
    int i, k;

    while (s < end) {
        /* idx, bat, gen, pres, new_id, the columns; each row ends in a
         * newline, and no field holds a tab or a newline (escaped) */
        for (i = 0; i < 5 + b->ncols; ++i) {
            f[i] = s;
            len[i] = strcspn(s, "\t\n");
            s += len[i] + 1;
        }
        if (ids) {
            bulkio_buf_add(out, num, (apr_size_t)apr_snprintf(num,
                           sizeof(num), "%" APR_INT64_T_FMT "\t",
                           ids[apr_atoi64(f[0]) - first]));
        }
        for (i = 0; i < b->ncols; ++i) {
            k = 5 + i;
            if (copy_null(f[k], len[k]) && !i) {
                k = 4;
            }
            if (copy_null(f[k], len[k]) && (b->sql->now_cols & (1u << i))) {
                bulkio_buf_add(out, "now", 3);
            }
            else {
                bulkio_buf_add(out, f[k], len[k]);
            }
            bulkio_buf_addc(out, i + 1 < b->ncols ? '\t' : '\n');
        }
    }
}

/* Try batch b as new rows by COPY straight into its table (direct_rows()),
 * inside the savepoint; its outcome is left for insert_result(). */
static apr_status_t direct_send(bulkio_batch_t *b, PGconn *conn,
                                const apr_int64_t *ids)
{
    apr_pool_t *p = b->pool;
    bulkio_buf_t rows;
    PGresult *res;
    int ok;

    bulkio_buf_init(&rows, p, b->copy.len);
    direct_rows(b, ids, &rows);
    b->insert = b->direct = b->sent = 1;
    if (!PQsendQuery(conn, apr_pstrcat(p, "SAVEPOINT " SAVEPOINT "; ",
                                       copy_columns(p, b, b->sql->table,
                                                    ids ? "id" : ""),
                                       "; RELEASE " SAVEPOINT, NULL))) {
        return APR_EGENERAL;
    }
    /* the savepoint's result, then the COPY's start */
    res = PQgetResult(conn);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    res = ok ? PQgetResult(conn) : NULL;
    ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    return ok ? copy_data(conn, rows.data, rows.len) : APR_EGENERAL;
}

/* Binary search of the entry with record index idx. */
static entry_t *find_entry(bulkio_batch_t *b, apr_int64_t idx)
{
    entry_t *e = (entry_t *)b->entries->elts;
    int lo = 0, hi = b->entries->nelts - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;

        if (e[mid].index == idx) {
            return &e[mid];
        }
        if (e[mid].index < idx) {
            lo = mid + 1;
        }
        else {
            hi = mid - 1;
        }
    }
    return NULL;
}

/* Rows of segment seg from record index cut on move one segment on, and
 * so does every later segment. */
static apr_status_t split_segment(bulkio_batch_t *b, PGconn *conn,
                                  const char *seg, const char *cut)
{
    const char *move[3];

    move[0] = b->number;
    move[1] = seg;
    move[2] = cut;
    b->segments++;
    return bulkio_pq_exec(b->pool, conn, apr_pstrcat(b->pool,
                          "UPDATE ", b->sql->stage, " SET gen = gen + 1"
                          " WHERE bat = $1"
                          "   AND (gen > $2 OR (gen = $2 AND idx >= $3))",
                          NULL), 3, move, NULL);
}

/* The verdict on a row the apply statement refused with code. */
static apr_status_t outcome(bulkio_batch_t *b, int code, bulkio_verdict_t *v)
{
    const resource_sql_t *q = b->sql;
    const char *const *names = bulkio_validate_colnames(b->res);

    if (code >= 1 && code <= 3) {
        v->type = q->outcomes[code - 1].type;
        v->field = q->outcomes[code - 1].field;
        v->message = q->outcomes[code - 1].message;
        return APR_SUCCESS;
    }
    switch (code) {
    case CODE_EXISTS:
        v->type = BULKIO_ERR_DUPLICATE;
        v->field = "id";
        v->message = apr_pstrcat(b->pool, "id already names an existing ",
                                 q->singular, NULL);
        return APR_SUCCESS;
    case CODE_NO_ID:
    case CODE_NO_NATURAL:
        v->type = BULKIO_ERR_NOT_FOUND;
        v->field = code == CODE_NO_ID ? "id" : names[1];
        v->message = apr_pstrcat(b->pool, v->field, " names no existing ",
                                 q->singular, NULL);
        return APR_SUCCESS;
    case CODE_REFERENCED:
    case CODE_REFERENCED + 1:
        v->type = q->refs[code - CODE_REFERENCED].type;
        v->field = "id";
        v->message = apr_pstrcat(b->pool,
                                 q->refs[code - CODE_REFERENCED].message,
                                 " (", q->refs[code - CODE_REFERENCED].field,
                                 " references it)", NULL);
        return APR_SUCCESS;
    }
    if (code >= CODE_REQUIRED && code < CODE_REQUIRED + b->ncols) {
        v->type = BULKIO_ERR_VALIDATION;
        v->field = names[code - CODE_REQUIRED];
        v->message = apr_pstrcat(b->pool, v->field, " is required", NULL);
        return APR_SUCCESS;
    }
    return APR_EGENERAL;
}

/* Take in the outcome of segment seg: mark the rows it refused, or, when
 * it wrote nothing because two of its rows touch one existing row, split
 * it there (*again: run the segment again). */
static apr_status_t apply_result(bulkio_batch_t *b, PGconn *conn,
                                 const char *seg, PGresult *res, int *again)
{
    entry_t *e;
    apr_int64_t idx;
    int i, code;

    *again = 0;
    for (i = 0; i < PQntuples(res); ++i) {
        idx = apr_atoi64(PQgetvalue(res, i, 0));
        code = atoi(PQgetvalue(res, i, 1));
        if (idx < 0 && idx >= -3) {
            b->acts[-idx - 1] += code;    /* ACTS_* */
            continue;
        }
        if (code == 0) {
            *again = 1;
            return split_segment(b, conn, seg, PQgetvalue(res, i, 0));
        }
        e = find_entry(b, idx);
        if (e && code == CODE_EXISTING) {
            e->existing = 1;
            if (!PQgetisnull(res, i, 2)) {
                e->xid = apr_pstrdup(b->pool, PQgetvalue(res, i, 2));
            }
            continue;
        }
        if (e && code == CODE_CHANGED) {
            e->changed = 1;
            if (!PQgetisnull(res, i, 2)) {
                apr_hash_set(b->freed, key_of(b->pool, 1,
                                              PQgetvalue(res, i, 2)),
                             APR_HASH_KEY_STRING, "");
            }
            continue;
        }
        if (!e || outcome(b, code, &e->verdict) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

/* ids (one per entry of b) as a PostgreSQL array, or NULL. */
static const char *id_array(bulkio_batch_t *b, const apr_int64_t *ids)
{
    bulkio_buf_t buf;
    char num[24];
    int i;

    if (!ids) {
        return NULL;
    }
    bulkio_buf_init(&buf, b->pool, (apr_size_t)b->entries->nelts * 12 + 4);
    bulkio_buf_addc(&buf, '{');
    for (i = 0; i < b->entries->nelts; ++i) {
        bulkio_buf_add(&buf, num, (apr_size_t)apr_snprintf(num, sizeof(num),
                       "%s%" APR_INT64_T_FMT, i ? "," : "", ids[i]));
    }
    bulkio_buf_add(&buf, "}", 2);
    return buf.data;
}

/* Send the apply statement of b's staged rows (segment 0). */
static apr_status_t send_apply(bulkio_batch_t *b, PGconn *conn)
{
    const char *params[4];

    params[0] = b->number;
    params[1] = "0";
    params[2] = b->ids;
    params[3] = b->first;
    return PQsendQueryPrepared(conn, b->stage->apply, 4, params, NULL, NULL,
                               0) ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t bulkio_batch_send(bulkio_batch_t *b, PGconn *conn,
                               const apr_int64_t *ids)
{
    apr_pool_t *p = b->pool;
    apr_int64_t first;
    apr_status_t rv;

    if (!b->copy.len) {
        return APR_SUCCESS;
    }
    first = APR_ARRAY_IDX(b->entries, 0, entry_t).index;
    if (!ids && b->stage->own_ids) {
        apr_int64_t *own = apr_palloc(p, sizeof(*own)
                                         * (apr_size_t)b->entries->nelts);
        int i;

        for (i = 0; i < b->entries->nelts; ++i) {
            own[i] = OWN_ID + first + i;
        }
        ids = own;
    }
    b->ids = id_array(b, ids);
    b->first = apr_psprintf(p, "%" APR_INT64_T_FMT, first);
    if (tries_insert(b) && !b->sql->insert) {
        /* no key repeats in the batch: try it as new rows, COPYed */
        return direct_send(b, conn, ids);
    }
    rv = copy_in(p, conn, copy_stage(p, b), b->copy.data, b->copy.len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    b->sent = 1;
    if (tries_insert(b)) {
        /* no key repeats in the batch: try it as new rows */
        b->insert = 1;
        return PQsendQuery(conn, apr_pstrcat(p, "SAVEPOINT " SAVEPOINT
                                             "; EXECUTE ", b->sql->inserter,
                                             "(", b->number, ", ",
                                             b->ids ? "'" : "",
                                             b->ids ? b->ids : "NULL",
                                             b->ids ? "'" : "", ", ",
                                             b->first, "); RELEASE "
                                             SAVEPOINT, NULL))
               ? APR_SUCCESS : APR_EGENERAL;
    }
    if (b->stage->skip) {
        b->stage->skip--;
    }
    return send_apply(b, conn);
}

apr_status_t bulkio_batch_resend(bulkio_batch_t *b, PGconn *conn)
{
    apr_status_t rv;

    rv = copy_in(b->pool, conn, copy_stage(b->pool, b), b->copy.data,
                 b->copy.len);
    return rv == APR_SUCCESS ? send_apply(b, conn) : rv;
}

apr_status_t bulkio_batch_send_new(bulkio_batch_t *b, PGconn *conn,
                                   const apr_int64_t *ids)
{
    if (!tries_insert(b)) {
        return APR_EINVAL;
    }
    b->only_new = 1;
    return bulkio_batch_send(b, conn, ids);
}

/* The result of what bulkio_batch_send() left running: of the statement,
 * the nth of the commands sent; all must have succeeded. */
static apr_status_t sent_result(bulkio_batch_t *b, PGconn *conn, int nth,
                                PGresult **pres)
{
    PGresult *res;
    apr_status_t rv = APR_SUCCESS;
    int i;

    b->sent = 0;
    *pres = NULL;
    for (i = 0; (res = PQgetResult(conn)); ++i) {
        if (bulkio_pq_result(b->pool, res) != APR_SUCCESS) {
            rv = APR_EGENERAL;
        }
        if (i == nth) {
            *pres = res;
        }
    }
    return *pres ? rv : APR_EGENERAL;
}

/* The insert statement of batch b ran: on success its rows are written
 * (*done); when it failed on an existing row, roll it back, and the batch
 * is applied instead. */
static apr_status_t insert_result(bulkio_batch_t *b, PGconn *conn,
                                  int *done)
{
    bulkio_stage_t *stage = b->stage;
    PGresult *res;
    apr_status_t rv;
    int again;

    b->insert = 0;
    /* the insert is the second command sent, the direct COPY's result the
     * first left */
    *done = sent_result(b, conn, !b->direct, &res) == APR_SUCCESS;
    if (*done) {
        stage->backoff = 0;
        b->inserted_all = 1;
        return apply_result(b, conn, "0", res, &again);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        return APR_EGENERAL;
    }
    stage->backoff = stage->backoff ? stage->backoff * 2 : 1;
    if (stage->backoff > MAX_SKIP) {
        stage->backoff = MAX_SKIP;
    }
    stage->skip = stage->backoff;
    rv = bulkio_pq_exec(b->pool, conn, "ROLLBACK TO SAVEPOINT " SAVEPOINT,
                        0, NULL, NULL);
    if (rv == APR_SUCCESS && b->only_new) {
        return APR_EAGAIN;
    }
    if (rv == APR_SUCCESS && b->direct) {
        /* the batch goes the usual way: staged, then applied */
        rv = copy_in(b->pool, conn, copy_stage(b->pool, b), b->copy.data,
                     b->copy.len);
    }
    return rv;
}

/* What job stored of its error entries so far, from its row (once per
 * run: a run that takes the job over goes on from what the runs before
 * committed). */
static apr_status_t read_kept(bulkio_batch_t *b, PGconn *conn,
                              const char *job)
{
    bulkio_stage_t *st = b->stage;
    PGresult *res;
    apr_status_t rv;

    rv = bulkio_pq_exec(b->pool, conn, "SELECT error_rows_stored,"
                        " error_bytes_stored, errors_truncated_at IS NOT NULL"
                        " FROM bulkio_jobs WHERE id = $1", 1, &job, &res);
    if (rv == APR_SUCCESS && PQntuples(res) != 1) {
        rv = APR_NOTFOUND;
    }
    if (rv == APR_SUCCESS) {
        st->kept_rows = apr_atoi64(PQgetvalue(res, 0, 0));
        st->kept_bytes = apr_atoi64(PQgetvalue(res, 0, 1));
        st->truncated = *PQgetvalue(res, 0, 2) == 't';
        st->kept_read = 1;
    }
    return rv;
}

/* Does the entry of e fit under the stage's caps? The entries stored are
 * those of the failed records before the first one that does not. */
static int fits(bulkio_stage_t *st, const entry_t *e)
{
    apr_int64_t bytes = e->raw ? (apr_int64_t)strlen(e->raw) : 0;

    if (st->truncated
        || (st->max_rows >= 0 && st->kept_rows + 1 > st->max_rows)
        || (st->max_bytes >= 0 && st->kept_bytes + bytes > st->max_bytes)) {
        return 0;
    }
    st->kept_rows++;
    st->kept_bytes += bytes;
    return 1;
}

/* Store the error entries of b's failed records for job, as many as the
 * job's caps leave room for, and what was stored in the job's row. */
static apr_status_t store_errors(bulkio_batch_t *b, PGconn *conn,
                                 apr_int64_t job)
{
    bulkio_stage_t *st = b->stage;
    apr_pool_t *p = b->pool;
    bulkio_buf_t errs;
    const char *fields[7], *params[5];
    const entry_t *e, *cut = NULL;
    apr_status_t rv;
    int i, capped = st->max_rows >= 0 || st->max_bytes >= 0;


    fields[0] = params[0] = apr_psprintf(p, "%" APR_INT64_T_FMT, job);
    if (capped && !st->kept_read
        && (rv = read_kept(b, conn, params[0])) != APR_SUCCESS) {
        return rv;
    }
    bulkio_buf_init(&errs, p, 4096);
    for (i = 0; i < b->entries->nelts; ++i) {
        e = &APR_ARRAY_IDX(b->entries, i, entry_t);
        if (e->verdict.type == BULKIO_ERR_NONE) {
            continue;
        }
        if (capped && !fits(st, e)) {
            if (!st->truncated) {
                st->truncated = 1;
                cut = e;
            }
            continue;
        }
        fields[1] = apr_psprintf(p, "%" APR_INT64_T_FMT, e->index);
        fields[2] = apr_psprintf(p, "%" APR_INT64_T_FMT, e->line);
        fields[3] = e->verdict.field;
        fields[4] = bulkio_errtype_name(e->verdict.type);
        fields[5] = e->verdict.message;
        fields[6] = e->raw;
        copy_row(&errs, 7, fields);
    }
    rv = APR_SUCCESS;
    if (errs.len) {
        rv = copy_in(p, conn, "COPY bulkio_job_errors (job_id, record_index,"
                     " line, field, error_type, error_message, record_data)"
                     " FROM STDIN", errs.data, errs.len);
    }
    if (rv == APR_SUCCESS && capped && (errs.len || cut)) {
        /* in the batch's transaction: committed with the entries */
        params[1] = apr_psprintf(p, "%" APR_INT64_T_FMT, st->kept_rows);
        params[2] = apr_psprintf(p, "%" APR_INT64_T_FMT, st->kept_bytes);
        params[3] = cut ? apr_psprintf(p, "%" APR_INT64_T_FMT, cut->index)
                        : NULL;
        params[4] = cut ? apr_psprintf(p, "%" APR_INT64_T_FMT, cut->line)
                        : NULL;
        rv = bulkio_pq_exec(p, conn, "UPDATE bulkio_jobs"
            " SET error_rows_stored = $2, error_bytes_stored = $3,"
            "     errors_truncated_at = coalesce(errors_truncated_at, $4),"
            "     errors_truncated_line = coalesce(errors_truncated_line, $5)"
            " WHERE id = $1", 5, params, NULL);
    }
    return rv;
}

/* Store the results of b's records for job (one row for the batch);
 * with sent, only send them (bulkio_results_store()). */
static apr_status_t store_results(bulkio_batch_t *b, PGconn *conn,
                                  apr_int64_t job, int *sent)
{
    bulkio_results_t rs;
    bulkio_result_t r;
    const entry_t *e;
    int i;

    bulkio_results_init(&rs, b->pool, (apr_size_t)b->entries->nelts * 48);
    for (i = 0; i < b->entries->nelts; ++i) {
        e = &APR_ARRAY_IDX(b->entries, i, entry_t);
        r.index = e->index;
        r.line = e->line;
        r.error = e->verdict.type;
        r.id = e->xid;
        if (e->verdict.type != BULKIO_ERR_NONE) {
            /* no row: the id the record carries, not one it would take */
            r.action = BULKIO_ACT_FAILED;
            r.id = e->given ? e->xid : NULL;
        }
        else if (b->stage->mode == BULKIO_MODE_DELETE) {
            r.action = BULKIO_ACT_DELETED;
        }
        else if (b->inserted_all || !e->existing) {
            r.action = BULKIO_ACT_INSERTED;
        }
        else {
            r.action = e->changed ? BULKIO_ACT_UPDATED
                                  : BULKIO_ACT_UNCHANGED;
        }
        bulkio_results_add(&rs, &r);
    }
    return bulkio_results_store(b->pool, conn, job, &rs, sent);
}

apr_status_t bulkio_batch_side_wait(bulkio_stage_t *stage)
{
    apr_status_t rv = APR_SUCCESS;
    PGresult *res;

    if (!stage || !stage->res_sent) {
        return APR_SUCCESS;
    }
    stage->res_sent = 0;
    while ((res = PQgetResult(stage->resconn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rv = APR_EGENERAL;
        }
        PQclear(res);
    }
    return rv;
}

/* The results and error entries of b, each through its connection. Those
 * that go through the stage's side connection (a run that commits
 * nothing before its end keeps them there) go in one transaction that
 * does not wait for its WAL to reach the disk: a crash restarts such a
 * run from its first record with its entries deleted
 * (bulkio_store_restart), and the commit that ends the job flushes them
 * with it. Results alone are only sent: the side's backend stores them
 * while the batch's works on the next batch. */
static apr_status_t store_entries(bulkio_batch_t *b, PGconn *conn,
                                  apr_int64_t job, int failed)
{
    bulkio_stage_t *st = b->stage;
    PGconn *resconn = st->resconn ? st->resconn : conn;
    PGconn *errconn = st->errconn ? st->errconn : conn;
    PGconn *side = st->results && resconn != conn ? resconn
                   : failed && errconn != conn ? errconn : NULL;
    apr_status_t rv = APR_SUCCESS;

    if (side && (rv = bulkio_batch_side_wait(st)) != APR_SUCCESS) {
        return rv;
    }
    if (side == resconn && st->results && !failed) {
        return store_results(b, resconn, job, &st->res_sent);
    }
    if (side) {
        rv = bulkio_pq_result(b->pool, PQexec(side, "BEGIN; SET LOCAL "
                                              "synchronous_commit TO off"));
    }
    if (rv == APR_SUCCESS && st->results) {
        rv = store_results(b, resconn, job, NULL);
    }
    if (rv == APR_SUCCESS && failed) {
        rv = store_errors(b, errconn, job);
    }
    if (side && rv == APR_SUCCESS) {
        rv = bulkio_pq_exec(b->pool, side, "COMMIT", 0, NULL, NULL);
    }
    if (side && rv != APR_SUCCESS) {
        bulkio_pq_rollback(side);
    }
    return rv;
}

apr_status_t bulkio_batch_finish(bulkio_batch_t *b, PGconn *conn,
                                 apr_int64_t job,
                                 bulkio_batch_result_t *result)
{
    apr_pool_t *p = b->pool;
    const char *params[4];
    const entry_t *e;
    PGresult *res;
    apr_status_t rv;
    int seg, i, again, done;

    memset(result, 0, sizeof(*result));
    done = 0;
    if (b->insert && (rv = insert_result(b, conn, &done)) != APR_SUCCESS) {
        return rv;
    }
    if (b->copy.len && !done) {
        for (seg = 0; seg <= b->segments; seg += !again) {
            params[0] = b->number;
            params[1] = apr_itoa(p, seg);
            params[2] = b->ids;
            params[3] = b->first;
            if (b->sent) {
                rv = sent_result(b, conn, 0, &res);
            }
            else {
                res = PQexecPrepared(conn, b->stage->apply, 4, params, NULL,
                                     NULL, 0);
                rv = bulkio_pq_result(p, res);
            }
            if (rv != APR_SUCCESS
                || (rv = apply_result(b, conn, params[1], res, &again))
                   != APR_SUCCESS) {
                return rv;
            }
        }
    }
    result->staged = b->copy.len && !(done && b->direct);
    result->updated = b->acts[0];
    result->inserted = b->acts[1];
    result->deleted = b->acts[2];
    for (i = 0; i < b->entries->nelts; ++i) {
        e = &APR_ARRAY_IDX(b->entries, i, entry_t);
        if (e->verdict.type == BULKIO_ERR_NONE) {
            result->applied++;
            result->inserted += b->inserted_all;
            continue;
        }
        result->failed++;
        result->by_type[e->verdict.type]++;
    }
    result->unchanged = result->applied - result->inserted - result->updated
                        - result->deleted;
    return store_entries(b, conn, job, result->failed > 0);
}
