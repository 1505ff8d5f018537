/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

#ifndef BULKIO_VALIDATE_H
#define BULKIO_VALIDATE_H

#include <apr_pools.h>

#include "bulkio_record.h"

/*
 * The record validator: checks one record against the rules of docs/rules.md
 * (shape, type, required, range) and turns it into the normalized column
 * texts the batch writer copies into PostgreSQL. Foreign keys and
 * duplicates are left to the batch writer.
 *
 * Columns, in order:
 *   users:    external_id, email, name, role, active, created_at, updated_at
 *   articles: external_id, slug, title, body, author_id, tags,
 *             published_at, status
 *   comments: external_id, article_id, user_id, body, created_at
 */

/**
 * The number of columns a valid record of res yields.
 * @return the count, or 0 for an unknown resource
 */
int bulkio_validate_ncols(bulkio_resource_e res);

/**
 * The names of the columns a valid record of res yields, in order
 * (bulkio_validate_ncols() of them).
 * @return a static array, or NULL for an unknown resource
 */
const char *const *bulkio_validate_colnames(bulkio_resource_e res);

/**
 * Validate rec (rec->obj a JSON object; rec->strings_only set when it came
 * from CSV, so every value is a string to interpret) for res.
 *
 * On success v->type is BULKIO_ERR_NONE and cols[0..ncols) receive the
 * normalized texts, allocated from p; NULL means "absent" where a column has
 * no default. The rules of mode replace (bulkio_validate_mode()). On failure v->type is BULKIO_ERR_VALIDATION, v->field names
 * the first field at fault (in column order; "id" for external_id),
 * v->message says why, and cols is left untouched. Every verdict string is
 * static or allocated from p.
 */
void bulkio_validate(apr_pool_t *p, bulkio_resource_e res,
                     const bulkio_record_t *rec, const char **cols,
                     bulkio_verdict_t *v);

/**
 * Validate rec for res as an import of mode writes it (docs/rules.md):
 * as bulkio_validate() for insert and replace; for upsert and update a
 * field the record does not carry is not required (the batch writer
 * requires it of a record that inserts), and an update must name its row
 * (id, or users email, articles slug); for delete only the id (or else
 * the natural key) is read, the other columns are NULL.
 * @param ppres the presence bits: bit i set when the record carries
 *        column i (a value or an explicit null: JSON null, or from CSV a
 *        cell of exactly \N); every bit but for upsert and update
 */
void bulkio_validate_mode(apr_pool_t *p, bulkio_resource_e res,
                          bulkio_mode_e mode, const bulkio_record_t *rec,
                          const char **cols, unsigned int *ppres,
                          bulkio_verdict_t *v);

#endif /* BULKIO_VALIDATE_H */
