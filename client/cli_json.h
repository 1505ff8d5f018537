/* bulkio: reading and printing the server's JSON documents (json-c). */
#ifndef BULKIO_CLI_JSON_H
#define BULKIO_CLI_JSON_H

#include <stdint.h>

#include <json-c/json.h>

/** A string member, or NULL (also when o is NULL or it is no string). */
const char *cli_json_str(json_object *o, const char *key);

/** A string member, or dflt when there is none. */
const char *cli_json_str_or(json_object *o, const char *key,
                            const char *dflt);

/** An integer member, or 0. */
int64_t cli_json_int(json_object *o, const char *key);

/** A boolean member: 1 when it is true, else 0. */
int cli_json_bool(json_object *o, const char *key);

/** A number member, or dflt. */
double cli_json_num(json_object *o, const char *key, double dflt);

/** An object member, or NULL. */
json_object *cli_json_obj(json_object *o, const char *key);

/** An array member, or NULL. */
json_object *cli_json_arr(json_object *o, const char *key);

/**
 * A time member in RFC 3339 (as the server writes it).
 * @return seconds since the epoch, or -1
 */
double cli_json_time(json_object *o, const char *key);

/** Parse a body (may be NULL); NULL unless it is a JSON object. */
json_object *cli_json_parse_object(const char *body);

/** Print a document on standard output, pretty, and flush it. */
void cli_json_print(json_object *doc);

#endif /* BULKIO_CLI_JSON_H */
