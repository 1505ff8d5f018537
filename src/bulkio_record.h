/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_RECORD_H
#define BULKIO_RECORD_H

#include <apr_pools.h>
#include <json-c/json.h>

/*
 * The types the import stages share: a record as a parser hands it on,
 * and the verdict on a record. Parsers, the validator and the batch writer
 * know each other only through these.
 */

/** The three resources. */
typedef enum {
    BULKIO_RES_USERS = 0,
    BULKIO_RES_ARTICLES,
    BULKIO_RES_COMMENTS
} bulkio_resource_e;

/** Why a record failed; BULKIO_ERR_NONE for a record that applies. */
typedef enum {
    BULKIO_ERR_NONE = 0,
    BULKIO_ERR_PARSE,
    BULKIO_ERR_VALIDATION,
    BULKIO_ERR_FOREIGN_KEY,
    BULKIO_ERR_DUPLICATE,
    BULKIO_ERR_NOT_FOUND
} bulkio_errtype_e;

/** The last error type (the size of arrays indexed by type - 1). */
#define BULKIO_ERR_LAST BULKIO_ERR_NOT_FOUND

/** How an import writes its records (docs/rules.md, "Modes"). */
typedef enum {
    BULKIO_MODE_UPSERT = 0, /**< insert new keys, update only the fields a
                                 record carries */
    BULKIO_MODE_INSERT,     /**< new keys only: an existing one fails */
    BULKIO_MODE_UPDATE,     /**< existing keys only, fields as upsert */
    BULKIO_MODE_REPLACE,    /**< upsert; a missing field takes its default */
    BULKIO_MODE_DELETE      /**< delete the rows the records name */
} bulkio_mode_e;

/** Do records of mode carry only the fields they change? */
#define BULKIO_MODE_PARTIAL(m) \
    ((m) == BULKIO_MODE_UPSERT || (m) == BULKIO_MODE_UPDATE)

/** One record out of a parser. */
typedef struct {
    apr_int64_t index;     /**< 0-based position in the file */
    apr_int64_t line;      /**< 1-based line where the record starts */
    json_object *obj;      /**< the record, or NULL when it failed to parse;
                                owned by the parser, valid until the next
                                call to it */
    int strings_only;      /**< CSV: every value is a string to interpret */
    const char *raw;       /**< the record's text (at most a few KiB, for
                                error reports), valid like obj */
    const char *error;     /**< why it failed to parse, when obj is NULL */
} bulkio_record_t;

/** The verdict on one record. */
typedef struct {
    bulkio_errtype_e type;
    const char *field;     /**< the field at fault, or NULL */
    const char *message;
} bulkio_verdict_t;

/** "PARSE_ERROR" etc.; NULL for BULKIO_ERR_NONE. */
const char *bulkio_errtype_name(bulkio_errtype_e type);

/** The resource named name, or -1. */
int bulkio_resource_from_name(const char *name);

/** The mode named name, or -1 (NULL: the default, upsert). */
int bulkio_mode_from_name(const char *name);

/** "upsert", "insert", "update", "replace" or "delete". */
const char *bulkio_mode_name(bulkio_mode_e mode);

/** The modes' names, for messages: "upsert, insert, ...". */
#define BULKIO_MODE_NAMES "upsert, insert, update, replace, delete"

/** "users", "articles" or "comments". */
const char *bulkio_resource_name(bulkio_resource_e res);

#endif /* BULKIO_RECORD_H */
