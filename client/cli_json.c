/* bulkio: reading and printing the server's JSON documents. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"

/* The member key of o when it has the type, else NULL. */
static json_object *member(json_object *o, const char *key, json_type type)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v)
        && json_object_is_type(v, type)) {
        return v;
    }
    return NULL;
}

/* The member key of o when it is not null, else NULL. */
static json_object *value(json_object *o, const char *key)
{
    json_object *v;

    if (o && json_object_object_get_ex(o, key, &v)) {
        return v;
    }
    return NULL;
}

const char *cli_json_str(json_object *o, const char *key)
{
    json_object *v = member(o, key, json_type_string);

    return v ? json_object_get_string(v) : NULL;
}

const char *cli_json_str_or(json_object *o, const char *key,
                            const char *dflt)
{
    const char *s = cli_json_str(o, key);

    return s ? s : dflt;
}

int64_t cli_json_int(json_object *o, const char *key)
{
    json_object *v = value(o, key);

    return v ? json_object_get_int64(v) : 0;
}

int cli_json_bool(json_object *o, const char *key)
{
    json_object *v = member(o, key, json_type_boolean);

    return v && json_object_get_boolean(v);
}

double cli_json_num(json_object *o, const char *key, double dflt)
{
    json_object *v = value(o, key);

    return v ? json_object_get_double(v) : dflt;
}

json_object *cli_json_obj(json_object *o, const char *key)
{
    return member(o, key, json_type_object);
}

json_object *cli_json_arr(json_object *o, const char *key)
{
    return member(o, key, json_type_array);
}

double cli_json_time(json_object *o, const char *key)
{
    const char *s = cli_json_str(o, key), *p;
    struct tm tm;
    double frac = 0.0, off = 0.0;
    char *end;

    if (!s) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    if (!(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))) {
        return -1;
    }
    if (*p == '.') {
        frac = strtod(p, &end);
        p = end;
    }
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;

        if (sscanf(p + 1, "%d:%d", &hh, &mm) < 1) {
            return -1;
        }
        off = (*p == '-' ? -1 : 1) * (hh * 3600.0 + mm * 60.0);
    }
    else if (*p != 'Z' && *p != 'z') {
        return -1;
    }
    return (double)timegm(&tm) + frac - off;
}

json_object *cli_json_parse_object(const char *body)
{
    json_object *doc = body ? json_tokener_parse(body) : NULL;

    if (doc && !json_object_is_type(doc, json_type_object)) {
        json_object_put(doc);
        return NULL;
    }
    return doc;
}

void cli_json_print(json_object *doc)
{
    puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY
                                        | JSON_C_TO_STRING_SPACED
                                        | JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
}
