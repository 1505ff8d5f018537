/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * Streaming import parsers. Three layers:
 *
 * - input: file blocks, gunzipped when the file starts with the gzip magic,
 *   handed out a byte at a time (bulkio_getc), counting lines, or taken
 *   from the block in runs that count their lines the same way (an NDJSON
 *   line up to its '\n', the ordinary bytes of a CSV field or of a JSON
 *   element);
 * - framing: each format cuts the byte stream into records (an NDJSON line,
 *   a JSON array element found by a small scanner, a CSV row found by a
 *   state machine), keeping at most max_record + 1 bytes of a record's text
 *   in rbuf while counting its full length in rtotal;
 * - records: a common check (size, NUL, UTF-8), then json-c (NDJSON, JSON)
 *   or the CSV fields make the json object.
 */

#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <json-c/json.h>
#include <zlib.h>

#include "bulkio_parse.h"

/* The file is read in blocks of this size; the fuzzing build makes it
 * tiny, so that records, BOMs and gzip members straddle blocks. */
#ifndef BULKIO_BLOCK
#define BULKIO_BLOCK (64 * 1024)
#endif

/* A byte buffer growing in the parser's pool (at most twice its final size
 * is ever allocated, and its final size is bounded by max_record). */
typedef struct {
    char *data;
    apr_size_t len;
    apr_size_t cap;
} bulkio_pbuf_t;

/* Where the JSON array scanner stands. */
typedef enum {
    BULKIO_JS_START,            /* before the '[' */
    BULKIO_JS_FIRST,            /* after '[': an element or ']' */
    BULKIO_JS_NEXT,             /* after ',': an element */
    BULKIO_JS_AFTER             /* after the closing ']' */
} bulkio_jstate_e;

/* Where the CSV row reader stands. */
typedef enum {
    BULKIO_CSV_FIELD,           /* at the start of a field */
    BULKIO_CSV_PLAIN,           /* in an unquoted field */
    BULKIO_CSV_QUOTED,          /* in a quoted field */
    BULKIO_CSV_QUOTE,           /* after a '"' in a quoted field */
    BULKIO_CSV_SKIP             /* the row failed: skip to the line end */
} bulkio_csv_e;

struct bulkio_parser_t {
    apr_pool_t *pool;
    apr_pool_t *rp;             /* the current record's, cleared per record */
    bulkio_spool_reader_t *fd;
    bulkio_format_e fmt;
    apr_size_t max_record;

    /* input */
    unsigned char *ibuf;        /* a file block (gzip: compressed input) */
    unsigned char *dbuf;        /* data (plain files: same as ibuf) */
    apr_size_t dpos;            /* next byte in dbuf */
    apr_size_t dlen;            /* bytes in dbuf */
    apr_off_t nread;            /* file bytes read */
    int gzip;
    int zinit;                  /* zs needs inflateEnd */
    int zopen;                  /* inside a gzip member */
    int file_eof;
    z_stream zs;
    const char *zerr;           /* corrupt gzip data, reported once the
                                 * bytes inflated before it are used */
    apr_status_t zerr_rv;       /* its status */
    apr_off_t inflated;         /* bytes inflated so far */
    apr_off_t max_inflated;     /* 0: no limit */
    apr_status_t status;        /* sticky APR_EOF or fatal error */
    const char *reason;         /* why fatal */
    int done;                   /* no records remain */

    /* framing */
    apr_int64_t line;           /* line of the next byte */
    apr_int64_t index;          /* index of the next record */
    bulkio_pbuf_t rbuf;         /* the record's text, max_record + 1 kept */
    apr_size_t rtotal;          /* the record's full length */
    apr_size_t rtail;           /* trailing whitespace bytes in it */

    /* NDJSON, JSON */
    json_tokener *tok;
    bulkio_jstate_e jstate;

    /* a file in another charset: each record's text (and a CSV row's
     * fields) recoded to UTF-8 through this spare buffer */
    bulkio_charset_e charset;
    bulkio_pbuf_t tbuf;

    /* CSV */
    bulkio_dialect_t dialect;
    int delim;                  /* the delimiter; 0 until detected */
    unsigned char csv_stop[256]; /* see bulkio_csv_set_delim() */
    bulkio_pbuf_t fbuf;         /* unquoted field contents, end to end */
    apr_array_header_t *fends;  /* end offset in fbuf of each field */
    const char **cols;          /* column names; NULL: column ignored */
    int ncols;                  /* -1 until the header is read */
};

static void bulkio_pbuf_init(bulkio_pbuf_t *b, apr_pool_t *p, apr_size_t cap)
{
    b->data = apr_palloc(p, cap);
    b->len = 0;
    b->cap = cap;
}

/* Make room for n more bytes and a terminating NUL. */
static void bulkio_pbuf_room(bulkio_pbuf_t *b, apr_pool_t *p, apr_size_t n)
{
    apr_size_t cap = b->cap;
    char *d;

    if (b->len + n < cap) {
        return;
    }
    while (b->len + n >= cap) {
        cap *= 2;
    }
    d = apr_palloc(p, cap);
    memcpy(d, b->data, b->len);
    b->data = d;
    b->cap = cap;
}

static void bulkio_pbuf_addc(bulkio_pbuf_t *b, apr_pool_t *p, char c)
{
    if (b->len + 1 >= b->cap) {
        bulkio_pbuf_room(b, p, 1);
    }
    b->data[b->len++] = c;
}

/* Append n bytes at s. */
static void bulkio_pbuf_add(bulkio_pbuf_t *b, apr_pool_t *p, const char *s,
                            apr_size_t n)
{
    bulkio_pbuf_room(b, p, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static int bulkio_is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- input ------------------------------------------------------------ */

static apr_status_t bulkio_fatal(bulkio_parser_t *ps, apr_status_t rv,
                                 const char *why)
{
    char err[120];

    if (rv == APR_EGENERAL || rv == APR_EINCOMPLETE || rv == APR_ENOSPC) {
        ps->reason = why;
    }
    else {
        ps->reason = apr_pstrcat(ps->pool, why, ": ",
                                 apr_strerror(rv, err, sizeof(err)), NULL);
    }
    ps->status = rv;
    return rv;
}

static apr_status_t bulkio_zcleanup(void *data)
{
    inflateEnd(data);
    return APR_SUCCESS;
}

static apr_status_t bulkio_tokcleanup(void *data)
{
    json_tokener_free(data);
    return APR_SUCCESS;
}

static apr_status_t bulkio_objcleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

/* Read more data, keeping the unconsumed bytes (fewer than a block).
 * APR_SUCCESS when at least one more byte came, APR_EOF, or fatal. */
static apr_status_t bulkio_fill(bulkio_parser_t *ps)
{
    apr_size_t keep = ps->dlen - ps->dpos, n;
    apr_status_t rv;
    int zrv;

    if (ps->status != APR_SUCCESS) {
        return ps->status;
    }
    if (ps->zerr) {
        return bulkio_fatal(ps, ps->zerr_rv, ps->zerr);
    }
    memmove(ps->dbuf, ps->dbuf + ps->dpos, keep);
    ps->dpos = 0;
    ps->dlen = keep;
    if (!ps->gzip) {
        n = BULKIO_BLOCK - keep;
        rv = bulkio_spool_read(ps->fd, ps->dbuf + keep, &n);
        if (rv == APR_EOF || (rv == APR_SUCCESS && n == 0)) {
            return APR_EOF;
        }
        if (rv != APR_SUCCESS) {
            return bulkio_fatal(ps, rv, "read error");
        }
        ps->nread += n;
        ps->dlen += n;
        return APR_SUCCESS;
    }
    while (ps->dlen == keep) {
        if (ps->zs.avail_in == 0 && !ps->file_eof) {
            n = BULKIO_BLOCK;
            rv = bulkio_spool_read(ps->fd, ps->ibuf, &n);
            if (rv == APR_EOF || (rv == APR_SUCCESS && n == 0)) {
                ps->file_eof = 1;
            }
            else if (rv != APR_SUCCESS) {
                return bulkio_fatal(ps, rv, "read error");
            }
            else {
                ps->nread += n;
                ps->zs.next_in = ps->ibuf;
                ps->zs.avail_in = (uInt)n;
            }
        }
        if (ps->zs.avail_in == 0 && ps->file_eof && !ps->zopen) {
            return APR_EOF;
        }
        /* at the end of the file inside a member, inflate may still hold
         * output that did not fit before: the stream is truncated only
         * when none comes */
        if (!ps->zopen) {           /* a new member starts */
            inflateReset(&ps->zs);
            ps->zopen = 1;
        }
        ps->zs.next_out = ps->dbuf + ps->dlen;
        ps->zs.avail_out = (uInt)(BULKIO_BLOCK - ps->dlen);
        zrv = inflate(&ps->zs, Z_NO_FLUSH);
        n = BULKIO_BLOCK - ps->zs.avail_out - ps->dlen;
        if (ps->max_inflated && ps->inflated + (apr_off_t)n
                                > ps->max_inflated) {
            /* the bytes up to the limit are used, then the file fails */
            n = (apr_size_t)(ps->max_inflated - ps->inflated);
            ps->inflated += (apr_off_t)n;
            ps->dlen += n;
            ps->zerr_rv = APR_ENOSPC;
            ps->zerr = apr_psprintf(ps->pool, "the file inflates past "
                                    "%" APR_OFF_T_FMT " bytes",
                                    ps->max_inflated);
            if (ps->dlen == keep) {
                return bulkio_fatal(ps, APR_ENOSPC, ps->zerr);
            }
            return APR_SUCCESS;
        }
        ps->inflated += (apr_off_t)n;
        ps->dlen = BULKIO_BLOCK - ps->zs.avail_out;
        if (zrv == Z_STREAM_END) {
            ps->zopen = 0;
        }
        else if (zrv != Z_OK && (zrv != Z_BUF_ERROR || ps->zs.avail_in)) {
            ps->zerr_rv = APR_EGENERAL;
            ps->zerr = apr_pstrcat(ps->pool, "corrupt gzip stream: ",
                                   ps->zs.msg ? ps->zs.msg : "inflate failed",
                                   NULL);
            /* the data inflated before the fault comes out first, however
             * the file was cut into reads */
            if (ps->dlen == keep) {
                return bulkio_fatal(ps, APR_EGENERAL, ps->zerr);
            }
        }
        else if (ps->dlen == keep && ps->zs.avail_in == 0 && ps->file_eof) {
            return bulkio_fatal(ps, APR_EINCOMPLETE, "truncated gzip stream");
        }
    }
    return APR_SUCCESS;
}

/* The next byte, or -1 at the end of the data (or on a fatal error,
 * which ps->status then holds). */
static int bulkio_getc(bulkio_parser_t *ps)
{
    int c;

    if (ps->dpos == ps->dlen && bulkio_fill(ps) != APR_SUCCESS) {
        return -1;
    }
    c = ps->dbuf[ps->dpos++];
    if (c == '\n') {
        ps->line++;
    }
    return c;
}

/* The next byte without consuming it, or -1. */
static int bulkio_peekc(bulkio_parser_t *ps)
{
    if (ps->dpos == ps->dlen && bulkio_fill(ps) != APR_SUCCESS) {
        return -1;
    }
    return ps->dbuf[ps->dpos];
}

/* Skip JSON whitespace; the next byte (not consumed), or -1. */
static int bulkio_skip_ws(bulkio_parser_t *ps)
{
    int c;

    while ((c = bulkio_peekc(ps)) >= 0 && bulkio_is_ws(c)) {
        bulkio_getc(ps);
    }
    return c;
}

/* ---- records ---------------------------------------------------------- */

/* The length of the valid UTF-8 character at s (n > 0 bytes there), or 0.
 * Overlong forms, surrogates and code points over U+10FFFF are invalid. */
static apr_size_t bulkio_utf8_char(const unsigned char *s, apr_size_t n)
{
    unsigned char lo = 0x80, hi = 0xbf;
    apr_size_t len, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;        /* overlong */
        hi = s[0] == 0xed ? 0x9f : 0xbf;        /* surrogates */
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;        /* overlong */
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;        /* over U+10FFFF */
    }
    else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf) {
            return 0;
        }
    }
    return len;
}

/* How many of the n bytes at s are ASCII other than NUL, from the start
 * (each of them a valid character on its own). */
static apr_size_t bulkio_ascii_run(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n && s[i] != 0 && s[i] < 0x80) {
        i++;
    }
    return i;
}

/* Invalid UTF-8 (what a spreadsheet's "CSV" in Windows-1252 or Latin-1
 * is), and how to import such a file. */
#define BULKIO_UTF8_HINT "invalid UTF-8: if the file is Windows-1252 or " \
    "Latin-1 (as spreadsheets often save CSV), import it again with " \
    "charset=windows-1252 or charset=iso-8859-1, or save it as UTF-8"

/* What is wrong with the encoding of s, or NULL. */
static const char *bulkio_utf8_check(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, k;

    while (i < n) {
        i += bulkio_ascii_run(u + i, n - i);
        if (i == n) {
            break;
        }
        if (u[i] == 0) {
            return "NUL byte";
        }
        if ((k = bulkio_utf8_char(u + i, n - i)) == 0) {
            return BULKIO_UTF8_HINT;
        }
        i += k;
    }
    return NULL;
}

/* At most BULKIO_RAW_MAX bytes of s as valid UTF-8 without NUL: whole
 * characters only, each bad byte replaced with U+FFFD. */
static const char *bulkio_raw(apr_pool_t *p, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = apr_palloc(p, BULKIO_RAW_MAX + 1);
    apr_size_t i = 0, o = 0, k;

    while (i < n && o < BULKIO_RAW_MAX) {
        /* a run of plain ASCII goes in at once */
        k = bulkio_ascii_run(u + i, n - i < BULKIO_RAW_MAX - o
                                    ? n - i : BULKIO_RAW_MAX - o);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        k = u[i] ? bulkio_utf8_char(u + i, n - i) : 0;
        if (o + (k ? k : 3) > BULKIO_RAW_MAX) {
            break;
        }
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
        else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* The code points of Windows-1252's bytes 0x80-0x9f (the five it leaves
 * undefined map to the C1 controls, as WHATWG's decoder does). */
static const apr_uint16_t bulkio_cp1252[32] = {
    0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
    0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178
};

/* Append the n bytes at s, in the parser's charset, to out as UTF-8
 * (at most three bytes each). */
static void bulkio_recode_add(bulkio_parser_t *ps, bulkio_pbuf_t *out,
                              const unsigned char *s, apr_size_t n)
{
    apr_size_t i, k;
    unsigned int cp;
    char *o;

    bulkio_pbuf_room(out, ps->pool, 3 * n);
    o = out->data + out->len;
    for (i = 0; i < n; i += k) {
        k = bulkio_ascii_run(s + i, n - i);
        memcpy(o, s + i, k);
        o += k;
        if (k || i == n) {
            continue;
        }
        k = 1;
        cp = s[i];
        if (ps->charset == BULKIO_CHARSET_WINDOWS_1252 && cp >= 0x80
            && cp < 0xa0) {
            cp = bulkio_cp1252[cp - 0x80];
        }
        if (cp < 0x80) {                /* a NUL: the check reports it */
            *o++ = (char)cp;
        }
        else if (cp < 0x800) {
            *o++ = (char)(0xc0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3f));
        }
        else {
            *o++ = (char)(0xe0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char)(0x80 | (cp & 0x3f));
        }
    }
    out->len = (apr_size_t)(o - out->data);
}

/* Recode b to UTF-8 (through the spare buffer, which b's old storage
 * becomes). */
static void bulkio_recode_buf(bulkio_parser_t *ps, bulkio_pbuf_t *b)
{
    bulkio_pbuf_t t = ps->tbuf;

    t.len = 0;
    bulkio_recode_add(ps, &t, (const unsigned char *)b->data, b->len);
    ps->tbuf = *b;
    *b = t;
}

/* Recode the record's text, and a CSV row's fields, from the file's
 * charset to UTF-8. Framing ran on the bytes as read: the charsets taken
 * are ASCII-compatible single-byte ones. */
static void bulkio_recode(bulkio_parser_t *ps)
{
    bulkio_pbuf_t t;
    apr_size_t start = 0, end;
    int i;

    if (ps->charset == BULKIO_CHARSET_UTF8) {
        return;
    }
    bulkio_recode_buf(ps, &ps->rbuf);
    if (ps->fmt != BULKIO_FMT_CSV) {
        return;
    }
    t = ps->tbuf;
    t.len = 0;
    for (i = 0; i < ps->fends->nelts; i++) {
        end = APR_ARRAY_IDX(ps->fends, i, apr_size_t);
        bulkio_recode_add(ps, &t, (const unsigned char *)ps->fbuf.data + start,
                          end - start);
        APR_ARRAY_IDX(ps->fends, i, apr_size_t) = t.len;
        start = end;
    }
    ps->tbuf = ps->fbuf;
    ps->fbuf = t;
}

static void bulkio_rec_reset(bulkio_parser_t *ps)
{
    ps->rbuf.len = 0;
    ps->rtotal = 0;
    ps->rtail = 0;
}

/* Append a byte of the record's text; past max_record + 1 bytes it is
 * counted only. */
static void bulkio_rec_addc(bulkio_parser_t *ps, int c)
{
    if (ps->rbuf.len <= ps->max_record) {
        bulkio_pbuf_addc(&ps->rbuf, ps->pool, (char)c);
    }
    ps->rtotal++;
    ps->rtail = bulkio_is_ws(c) ? ps->rtail + 1 : 0;
}

/* Append n bytes of the record's text, as bulkio_rec_addc() would one by
 * one. */
static void bulkio_rec_add(bulkio_parser_t *ps, const unsigned char *s,
                           apr_size_t n)
{
    apr_size_t keep = 0, ws = 0;

    if (ps->rbuf.len <= ps->max_record) {
        keep = ps->max_record + 1 - ps->rbuf.len;
        bulkio_pbuf_add(&ps->rbuf, ps->pool, (const char *)s,
                        n < keep ? n : keep);
    }
    ps->rtotal += n;
    while (ws < n && bulkio_is_ws(s[n - 1 - ws])) {
        ws++;
    }
    ps->rtail = ws == n ? ps->rtail + n : ws;
}

/* Drop the record's trailing whitespace. */
static void bulkio_rec_rtrim(bulkio_parser_t *ps)
{
    ps->rtotal -= ps->rtail;
    ps->rtail = 0;
    if (ps->rbuf.len > ps->rtotal) {
        ps->rbuf.len = ps->rtotal;
    }
}

/* The first fault of the record: too long, err (the framing's verdict),
 * bad encoding; NULL when none. */
static const char *bulkio_rec_check(bulkio_parser_t *ps, const char *err)
{
    if (ps->rtotal > ps->max_record) {
        return apr_psprintf(ps->rp, "record exceeds %" APR_SIZE_T_FMT
                            " bytes", ps->max_record);
    }
    return err ? err : bulkio_utf8_check(ps->rbuf.data, ps->rbuf.len);
}

/* Number the record in rbuf and set its raw text and error. */
static apr_status_t bulkio_rec_set(bulkio_parser_t *ps, bulkio_record_t *rec,
                                   apr_int64_t line, const char *error)
{
    rec->index = ps->index++;
    rec->line = line;
    rec->strings_only = ps->fmt == BULKIO_FMT_CSV;
    rec->raw = bulkio_raw(ps->rp, ps->rbuf.data, ps->rbuf.len);
    rec->error = error;
    if (error) {
        rec->obj = NULL;
    }
    return APR_SUCCESS;
}

/* Own obj until the record's pool is cleared. */
static json_object *bulkio_rec_own(bulkio_parser_t *ps, json_object *obj)
{
    if (obj) {
        apr_pool_cleanup_register(ps->rp, obj, bulkio_objcleanup,
                                  apr_pool_cleanup_null);
    }
    return obj;
}

/* Non-zero when a string in o holds a NUL (from a \u0000 escape). The
 * tokener bounds the recursion depth. */
static int bulkio_json_has_nul(json_object *o)
{
    apr_size_t i, n;

    switch (json_object_get_type(o)) {
    case json_type_string:
        return strlen(json_object_get_string(o))
               != (apr_size_t)json_object_get_string_len(o);
    case json_type_array:
        n = json_object_array_length(o);
        for (i = 0; i < n; i++) {
            if (bulkio_json_has_nul(json_object_array_get_idx(o, i))) {
                return 1;
            }
        }
        return 0;
    case json_type_object:
        {
            json_object_object_foreach(o, key, val) {
                (void)key;
                if (bulkio_json_has_nul(val)) {
                    return 1;
                }
            }
        }
        return 0;
    default:
        return 0;
    }
}

/* Parse the JSON text in rbuf into *pobj; NULL, or what is wrong. */
static const char *bulkio_json_object(bulkio_parser_t *ps, json_object **pobj)
{
    const char *s = ps->rbuf.data;
    apr_size_t n = ps->rbuf.len, end;
    enum json_tokener_error jerr;
    json_object *obj;

    ps->rbuf.data[n] = '\0';
    json_tokener_reset(ps->tok);
    /* the terminating NUL goes in too: it ends a top-level number (rbuf
     * holds no other NUL: bulkio_rec_check saw to that) */
    obj = bulkio_rec_own(ps, json_tokener_parse_ex(ps->tok, s, (int)n + 1));
    jerr = json_tokener_get_error(ps->tok);
    if (jerr != json_tokener_success) {
        return apr_pstrcat(ps->rp, "invalid JSON: ",
                           json_tokener_error_desc(jerr), NULL);
    }
    for (end = json_tokener_get_parse_end(ps->tok);
         end < n && bulkio_is_ws(s[end]); end++) {
    }
    if (end < n) {
        return "invalid JSON: trailing characters";
    }
    if (!json_object_is_type(obj, json_type_object)) {
        return "not a JSON object";
    }
    if (strstr(s, "\\u0000") && bulkio_json_has_nul(obj)) {
        return "NUL byte";
    }
    *pobj = obj;
    return NULL;
}

/* Finish a record whose text is in rbuf: check it, make its object. */
static apr_status_t bulkio_rec_emit(bulkio_parser_t *ps, bulkio_record_t *rec,
                                    apr_int64_t line, const char *err);

/* ---- NDJSON ----------------------------------------------------------- */

/* Take the rest of the line into the record, a block at a time, and the
 * line end; zero when the data ended first. */
static int bulkio_ndjson_line(bulkio_parser_t *ps)
{
    const unsigned char *s, *nl;
    apr_size_t n;

    for (;;) {
        if (ps->dpos == ps->dlen && bulkio_fill(ps) != APR_SUCCESS) {
            return 0;
        }
        s = ps->dbuf + ps->dpos;
        n = ps->dlen - ps->dpos;
        nl = memchr(s, '\n', n);
        if (nl) {
            n = (apr_size_t)(nl - s);
        }
        bulkio_rec_add(ps, s, n);
        ps->dpos += n;
        if (nl) {
            ps->dpos++;
            ps->line++;
            return 1;
        }
    }
}

/* Skip empty lines at once: a file may hold millions of them. */
static void bulkio_ndjson_skip_empty(bulkio_parser_t *ps)
{
    do {
        if (ps->dpos == ps->dlen && bulkio_fill(ps) != APR_SUCCESS) {
            return;
        }
        while (ps->dpos < ps->dlen && ps->dbuf[ps->dpos] == '\n') {
            ps->dpos++;
            ps->line++;
        }
    } while (ps->dpos == ps->dlen);
}

static apr_status_t bulkio_ndjson_next(bulkio_parser_t *ps,
                                       bulkio_record_t *rec)
{
    apr_int64_t line;
    int more;

    for (;;) {
        bulkio_ndjson_skip_empty(ps);
        line = ps->line;
        bulkio_rec_reset(ps);
        more = bulkio_ndjson_line(ps);
        if (!more && ps->rtotal == 0) {
            return APR_EOF;
        }
        if (ps->rtail < ps->rtotal) {   /* not blank */
            bulkio_rec_rtrim(ps);
            return bulkio_rec_emit(ps, rec, line, NULL);
        }
    }
}

/* ---- JSON array --------------------------------------------------------- */

/* A record for a fault outside the array's elements: its text is the rest
 * of the current line (up to BULKIO_RAW_MAX bytes). No record follows. */
static apr_status_t bulkio_json_fail(bulkio_parser_t *ps, bulkio_record_t *rec,
                                     const char *error)
{
    apr_int64_t line = ps->line;
    int c;

    ps->done = 1;
    bulkio_rec_reset(ps);
    while (ps->rbuf.len < BULKIO_RAW_MAX && ps->rbuf.len <= ps->max_record
           && (c = bulkio_getc(ps)) >= 0 && c != '\n') {
        bulkio_rec_addc(ps, c);
    }
    bulkio_rec_rtrim(ps);
    return bulkio_rec_set(ps, rec, line, error);
}

/* The bytes that end a run of bytes the element scanner only takes: 1
 * outside strings, 2 inside them. */
static const unsigned char bulkio_json_stop[256] = {
    ['"'] = 3, ['\\'] = 2, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
    [','] = 1
};

/* Take the bytes that follow in the current block and leave the element
 * scanner's state as it is (instr: inside a string, not after a '\\')
 * into the record, counting the lines they hold. */
static void bulkio_json_run(bulkio_parser_t *ps, int instr)
{
    const unsigned char *s = ps->dbuf + ps->dpos;
    apr_size_t n = ps->dlen - ps->dpos, i, lines = 0;
    unsigned char stop = instr ? 2 : 1;

    for (i = 0; i < n && !(bulkio_json_stop[s[i]] & stop); i++) {
        lines += s[i] == '\n';
    }
    bulkio_rec_add(ps, s, i);
    ps->dpos += i;
    ps->line += lines;
}

/* Scan one element up to the ',' or ']' that ends it at depth 0, outside
 * strings. The scanner keeps only a depth counter (no stack), so any depth
 * is safe here; json-c enforces BULKIO_JSON_MAX_DEPTH on the element. */
static apr_status_t bulkio_json_element(bulkio_parser_t *ps,
                                        bulkio_record_t *rec)
{
    apr_int64_t line = ps->line;
    apr_size_t depth = 0;
    int c, instr = 0, esc = 0;

    bulkio_rec_reset(ps);
    for (;;) {
        if (!esc) {
            bulkio_json_run(ps, instr);     /* the byte-wise steps, in bulk */
        }
        if ((c = bulkio_getc(ps)) < 0) {
            ps->done = 1;
            bulkio_rec_rtrim(ps);
            return bulkio_rec_emit(ps, rec, line, depth || instr
                                   ? "invalid JSON: unexpected end of data"
                                   : "truncated JSON array: missing ']'");
        }
        if (instr) {
            if (esc) {
                esc = 0;
            }
            else if (c == '\\') {
                esc = 1;
            }
            else if (c == '"') {
                instr = 0;
            }
        }
        else if (c == '"') {
            instr = 1;
        }
        else if (c == '{' || c == '[') {
            depth++;
        }
        else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
        else if (depth == 0 && (c == ',' || c == ']')) {
            ps->jstate = c == ',' ? BULKIO_JS_NEXT : BULKIO_JS_AFTER;
            break;
        }
        bulkio_rec_addc(ps, c);
    }
    bulkio_rec_rtrim(ps);
    return bulkio_rec_emit(ps, rec, line, ps->rtotal ? NULL
                           : "invalid JSON: missing array element");
}

static apr_status_t bulkio_json_next(bulkio_parser_t *ps,
                                     bulkio_record_t *rec)
{
    int c;

    if (ps->jstate == BULKIO_JS_START) {
        if (bulkio_skip_ws(ps) < 0) {
            return APR_EOF;
        }
        if (bulkio_peekc(ps) != '[') {
            return bulkio_json_fail(ps, rec, "expected a JSON array");
        }
        bulkio_getc(ps);
        ps->jstate = BULKIO_JS_FIRST;
    }
    if (ps->jstate != BULKIO_JS_AFTER) {
        c = bulkio_skip_ws(ps);
        if (c < 0) {
            ps->done = 1;
            bulkio_rec_reset(ps);
            return bulkio_rec_set(ps, rec, ps->line,
                                  "truncated JSON array: missing ']'");
        }
        if (c != ']' || ps->jstate != BULKIO_JS_FIRST) {
            return bulkio_json_element(ps, rec);
        }
        bulkio_getc(ps);            /* an empty array */
        ps->jstate = BULKIO_JS_AFTER;
    }
    ps->done = 1;
    if (bulkio_skip_ws(ps) < 0) {
        return APR_EOF;
    }
    return bulkio_json_fail(ps, rec, "trailing data after the JSON array");
}

/* ---- CSV -------------------------------------------------------------- */

static void bulkio_csv_endfield(bulkio_parser_t *ps)
{
    APR_ARRAY_PUSH(ps->fends, apr_size_t) = ps->fbuf.len;
}

/* Field i of the row just read. */
static const char *bulkio_csv_field(bulkio_parser_t *ps, int i,
                                    apr_size_t *plen)
{
    apr_size_t start = i ? APR_ARRAY_IDX(ps->fends, i - 1, apr_size_t) : 0;

    *plen = APR_ARRAY_IDX(ps->fends, i, apr_size_t) - start;
    return ps->fbuf.data + start;
}

/* Take delimiter c. ps->csv_stop marks the bytes that end a run of
 * ordinary bytes in a CSV state: 1 in an unquoted field, 2 in a row being
 * skipped; in a quoted field only '"' does. */
static void bulkio_csv_set_delim(bulkio_parser_t *ps, int c)
{
    ps->delim = c;
    memset(ps->csv_stop, 0, sizeof(ps->csv_stop));
    ps->csv_stop[(unsigned char)c] = 1;
    ps->csv_stop['"'] = 1;
    ps->csv_stop['\n'] = 3;
    ps->csv_stop['\r'] = 3;
}

/* Detect the delimiter from the header line: of ',' ';' tab '|', the one
 * found most often outside double quotes (a tie goes to the earlier in
 * that list; none at all: ','). The line is looked at as far as a block
 * holds it; nothing is consumed. */
static void bulkio_csv_detect(bulkio_parser_t *ps)
{
    static const char cands[] = ",;\t|";
    apr_size_t counts[4] = { 0, 0, 0, 0 }, i;
    const char *hit;
    int c, inq = 0, started = 0, best = 0;

    /* the buffer holds the line's end, or a full block of it */
    for (;;) {
        for (i = ps->dpos; i < ps->dlen; i++) {
            c = ps->dbuf[i];
            if (c == '\n' && started) {
                break;
            }
            started = started || (c != '\n' && c != '\r');
        }
        if (i < ps->dlen || ps->dlen - ps->dpos >= BULKIO_BLOCK || ps->zerr
            || bulkio_fill(ps) != APR_SUCCESS) {
            break;
        }
    }
    for (i = ps->dpos, started = 0; i < ps->dlen; i++) {
        c = ps->dbuf[i];
        if (c == '"') {
            inq = !inq;
        }
        else if (!inq && (c == '\n' || c == '\r')) {
            if (started) {
                break;
            }
        }
        else if (!inq && c && (hit = strchr(cands, c)) != NULL) {
            counts[hit - cands]++;
        }
        started = started || (c != '\n' && c != '\r');
    }
    for (i = 1; i < 4; i++) {
        if (counts[i] > counts[best]) {
            best = (int)i;
        }
    }
    bulkio_csv_set_delim(ps, cands[best]);
}

/* In state st, take the ordinary bytes that follow in the current block
 * (those that bulkio_csv_row() would take one by one without changing
 * state) into the record, and into the field unless st is
 * BULKIO_CSV_SKIP; a run stops before the record exceeds max_record. */
static void bulkio_csv_run(bulkio_parser_t *ps, bulkio_csv_e st)
{
    const unsigned char *s = ps->dbuf + ps->dpos;
    apr_size_t n = ps->dlen - ps->dpos, i = 0, lines = 0;
    unsigned char stop = st == BULKIO_CSV_SKIP ? 2 : 1;

    if (st != BULKIO_CSV_SKIP) {
        if (ps->rtotal >= ps->max_record) {
            return;
        }
        if (n > ps->max_record - ps->rtotal) {
            n = ps->max_record - ps->rtotal;
        }
    }
    if (st == BULKIO_CSV_QUOTED) {
        for (; i < n && s[i] != '"'; i++) {
            lines += s[i] == '\n';
        }
    }
    else {
        while (i < n && !(ps->csv_stop[s[i]] & stop)) {
            i++;
        }
    }
    bulkio_rec_add(ps, s, i);
    if (st != BULKIO_CSV_SKIP) {
        bulkio_pbuf_add(&ps->fbuf, ps->pool, (const char *)s, i);
    }
    ps->dpos += i;
    ps->line += lines;
}

/* Read one row (RFC 4180): its text without the line end into rbuf, its
 * fields into fbuf and fends. A quoted field runs on over line ends. A row
 * that fails (stray quote, too long) is skipped to the next line end,
 * quotes no longer counting. APR_EOF when no byte was left, else
 * APR_SUCCESS with *perr the row's fault or NULL. */
static apr_status_t bulkio_csv_row(bulkio_parser_t *ps, const char **perr)
{
    bulkio_csv_e st = BULKIO_CSV_FIELD;
    int c;

    *perr = NULL;
    bulkio_rec_reset(ps);
    ps->fbuf.len = 0;
    ps->fends->nelts = 0;
    for (;;) {
        if (st == BULKIO_CSV_PLAIN || st == BULKIO_CSV_QUOTED
            || st == BULKIO_CSV_SKIP) {
            bulkio_csv_run(ps, st);     /* the byte-wise steps, in bulk */
        }
        if ((c = bulkio_getc(ps)) < 0) {
            if (ps->rtotal == 0) {
                return APR_EOF;
            }
            if (st == BULKIO_CSV_QUOTED) {
                *perr = "unterminated quoted field";
            }
            break;
        }
        if (st != BULKIO_CSV_QUOTED) {
            if (c == '\n') {
                break;
            }
            if (c == '\r' && bulkio_peekc(ps) == '\n') {
                bulkio_getc(ps);
                break;
            }
        }
        bulkio_rec_addc(ps, c);
        if (ps->rtotal > ps->max_record) {
            st = BULKIO_CSV_SKIP;       /* bulkio_rec_check reports it */
        }
        switch (st) {
        case BULKIO_CSV_FIELD:
            if (c == '"') {
                st = BULKIO_CSV_QUOTED;
                break;
            }
            st = BULKIO_CSV_PLAIN;
            /* fall through */
        case BULKIO_CSV_PLAIN:
            if (c == ps->delim) {
                bulkio_csv_endfield(ps);
                st = BULKIO_CSV_FIELD;
            }
            else if (c == '"') {
                *perr = "stray quote in an unquoted field";
                st = BULKIO_CSV_SKIP;
            }
            else {
                bulkio_pbuf_addc(&ps->fbuf, ps->pool, (char)c);
            }
            break;
        case BULKIO_CSV_QUOTED:
            if (c == '"') {
                st = BULKIO_CSV_QUOTE;
            }
            else {
                bulkio_pbuf_addc(&ps->fbuf, ps->pool, (char)c);
            }
            break;
        case BULKIO_CSV_QUOTE:
            if (c == '"') {
                bulkio_pbuf_addc(&ps->fbuf, ps->pool, '"');
                st = BULKIO_CSV_QUOTED;
            }
            else if (c == ps->delim) {
                bulkio_csv_endfield(ps);
                st = BULKIO_CSV_FIELD;
            }
            else {
                *perr = "unexpected character after a closing quote";
                st = BULKIO_CSV_SKIP;
            }
            break;
        case BULKIO_CSV_SKIP:
            break;
        }
    }
    bulkio_csv_endfield(ps);
    return APR_SUCCESS;
}

/* The field header name (trimmed, lower-case) stands for: the one the
 * dialect's columns map it to, else the name itself. Marks the mapping
 * used in used. */
static const char *bulkio_csv_rename(bulkio_parser_t *ps, const char *name,
                                     char *used)
{
    int i;

    for (i = 0; i < ps->dialect.ncolumns; i++) {
        if (!strcmp(ps->dialect.from[i], name)) {
            used[i] = 1;
            return ps->dialect.to[i];
        }
    }
    return name;
}

/* Take the row just read as the header: names trimmed of ASCII whitespace
 * and lower-cased, then renamed by the dialect's columns; an empty name,
 * and every column but the last of those sharing a name, are ignored (a
 * later duplicate wins). NULL, or what is wrong: a mapped header the file
 * lacks. */
static const char *bulkio_csv_header(bulkio_parser_t *ps)
{
    apr_hash_t *seen = apr_hash_make(ps->rp);
    char used[BULKIO_DIALECT_MAX_COLUMNS] = { 0 }, *name;
    const char *s, *missing = NULL;
    bulkio_pbuf_t have;         /* the names, for a message: the first
                                 * ones, "..." after 200 bytes (a header
                                 * may have 100,000 columns) */
    apr_size_t len, k;
    int i, *prev;

    bulkio_pbuf_init(&have, ps->rp, 256);
    ps->ncols = ps->fends->nelts;
    ps->cols = apr_pcalloc(ps->pool, ps->ncols * sizeof(*ps->cols));
    for (i = 0; i < ps->ncols; i++) {
        s = bulkio_csv_field(ps, i, &len);
        while (len && apr_isspace(*s)) {
            s++;
            len--;
        }
        while (len && apr_isspace(s[len - 1])) {
            len--;
        }
        if (len == 0) {
            continue;
        }
        name = apr_pstrmemdup(ps->pool, s, len);
        for (k = 0; k < len; k++) {
            name[k] = (char)apr_tolower(name[k]);
        }
        if (have.len < 200) {
            bulkio_pbuf_add(&have, ps->rp, ", ", have.len ? 2 : 0);
            bulkio_pbuf_add(&have, ps->rp, name, len);
            if (have.len >= 200) {
                bulkio_pbuf_add(&have, ps->rp, ", ...", 5);
            }
            have.data[have.len] = '\0';
        }
        ps->cols[i] = bulkio_csv_rename(ps, name, used);
        len = strlen(ps->cols[i]);
        if ((prev = apr_hash_get(seen, ps->cols[i], len)) != NULL) {
            ps->cols[*prev] = NULL;
        }
        prev = apr_palloc(ps->rp, sizeof(*prev));
        *prev = i;
        apr_hash_set(seen, ps->cols[i], len, prev);
    }
    for (i = 0; i < ps->dialect.ncolumns; i++) {
        if (!used[i]) {
            missing = missing ? apr_pstrcat(ps->rp, missing, ", ",
                                            ps->dialect.from[i], NULL)
                              : ps->dialect.from[i];
        }
    }
    if (missing) {
        return apr_psprintf(ps->rp, "columns maps %s, which the header "
                            "lacks (it has: %s; names match ignoring case "
                            "and surrounding blanks)", missing,
                            have.len ? have.data : "no names");
    }
    return NULL;
}

/* The object of the row just read: column name -> string, empty cells
 * left out. NULL, or what is wrong. */
static const char *bulkio_csv_object(bulkio_parser_t *ps, json_object **pobj)
{
    json_object *obj;
    const char *s;
    apr_size_t len;
    int i;

    if (ps->fends->nelts != ps->ncols) {
        return apr_psprintf(ps->rp, "row has %d fields, header has %d",
                            ps->fends->nelts, ps->ncols);
    }
    obj = bulkio_rec_own(ps, json_object_new_object());
    for (i = 0; i < ps->ncols; i++) {
        s = bulkio_csv_field(ps, i, &len);
        if (ps->cols[i] && len) {
            /* the names are distinct (bulkio_csv_header; a header with a
             * NUL fails) and outlive the object: neither a lookup nor a
             * copy is needed */
            json_object_object_add_ex(obj, ps->cols[i],
                                      json_object_new_string_len(s, (int)len),
                                      JSON_C_OBJECT_ADD_KEY_IS_NEW
                                      | JSON_C_OBJECT_KEY_IS_CONSTANT);
        }
    }
    *pobj = obj;
    return NULL;
}

static apr_status_t bulkio_csv_next(bulkio_parser_t *ps, bulkio_record_t *rec)
{
    const char *err;
    apr_int64_t line;

    if (!ps->delim) {
        bulkio_csv_detect(ps);
    }
    for (;;) {
        line = ps->line;
        if (bulkio_csv_row(ps, &err) == APR_EOF) {
            return APR_EOF;
        }
        if (ps->rtotal == 0) {
            continue;                   /* an empty line */
        }
        if (ps->ncols >= 0) {
            return bulkio_rec_emit(ps, rec, line, err);
        }
        bulkio_recode(ps);
        if ((err = bulkio_rec_check(ps, err)) != NULL
            || (err = bulkio_csv_header(ps)) != NULL) {
            ps->done = 1;
            return bulkio_rec_set(ps, rec, line,
                                  apr_pstrcat(ps->rp, "invalid CSV header: ",
                                              err, NULL));
        }
    }
}

/* ---- API -------------------------------------------------------------- */

static apr_status_t bulkio_rec_emit(bulkio_parser_t *ps, bulkio_record_t *rec,
                                    apr_int64_t line, const char *err)
{
    bulkio_recode(ps);
    err = bulkio_rec_check(ps, err);
    if (!err) {
        err = ps->fmt == BULKIO_FMT_CSV ? bulkio_csv_object(ps, &rec->obj)
                                        : bulkio_json_object(ps, &rec->obj);
    }
    return bulkio_rec_set(ps, rec, line, err);
}

/* Read up to len bytes, short only at the end. */
static apr_status_t read_full(bulkio_spool_reader_t *rd, unsigned char *buf,
                              apr_size_t len, apr_size_t *pn)
{
    apr_size_t n;
    apr_status_t rv = APR_SUCCESS;

    *pn = 0;
    while (*pn < len) {
        n = len - *pn;
        if ((rv = bulkio_spool_read(rd, buf + *pn, &n)) != APR_SUCCESS) {
            break;
        }
        *pn += n;
    }
    return rv == APR_EOF ? APR_SUCCESS : rv;
}

apr_status_t bulkio_parser_open(bulkio_parser_t **pps, apr_pool_t *p,
                                const char *path, bulkio_format_e fmt,
                                apr_size_t max_record)
{
    bulkio_spool_reader_t *rd;
    apr_status_t rv;

    *pps = NULL;
    rv = bulkio_spool_open(&rd, p, path, NULL, 0);
    return rv == APR_SUCCESS ? bulkio_parser_open_spool(pps, p, rd, fmt,
                                                        max_record)
                             : rv;
}

apr_status_t bulkio_parser_open_spool(bulkio_parser_t **pps, apr_pool_t *p,
                                      bulkio_spool_reader_t *rd,
                                      bulkio_format_e fmt,
                                      apr_size_t max_record)
{
    bulkio_parser_t *ps;
    apr_size_t n;
    apr_status_t rv;

    *pps = NULL;
    if ((fmt != BULKIO_FMT_NDJSON && fmt != BULKIO_FMT_JSON
         && fmt != BULKIO_FMT_CSV)
        || max_record == 0) {
        return APR_EINVAL;
    }
    if (max_record > BULKIO_MAX_RECORD_LIMIT) {
        max_record = BULKIO_MAX_RECORD_LIMIT;   /* json-c takes int lengths */
    }
    ps = apr_pcalloc(p, sizeof(*ps));
    ps->pool = p;
    ps->fmt = fmt;
    ps->max_record = max_record;
    ps->line = 1;
    ps->ncols = -1;
    ps->fd = rd;
    if ((rv = apr_pool_create(&ps->rp, p)) != APR_SUCCESS) {
        return rv;
    }
    bulkio_pbuf_init(&ps->rbuf, p, 1024);
    bulkio_pbuf_init(&ps->fbuf, p, 1024);
    bulkio_pbuf_init(&ps->tbuf, p, 1024);
    bulkio_csv_set_delim(ps, ',');
    ps->fends = apr_array_make(p, 16, sizeof(apr_size_t));
    ps->tok = json_tokener_new_ex(BULKIO_JSON_MAX_DEPTH);
    if (!ps->tok) {
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(p, ps->tok, bulkio_tokcleanup,
                              apr_pool_cleanup_null);
    json_tokener_set_flags(ps->tok, JSON_TOKENER_STRICT);

    ps->ibuf = apr_palloc(p, BULKIO_BLOCK);
    rv = read_full(ps->fd, ps->ibuf, BULKIO_BLOCK, &n);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ps->nread = n;
    if (n >= 2 && ps->ibuf[0] == 0x1f && ps->ibuf[1] == 0x8b) {
        ps->gzip = 1;
        ps->dbuf = apr_palloc(p, BULKIO_BLOCK);
        if (inflateInit2(&ps->zs, 15 + 16) != Z_OK) {
            return APR_ENOMEM;
        }
        apr_pool_cleanup_register(p, &ps->zs, bulkio_zcleanup,
                                  apr_pool_cleanup_null);
        ps->zs.next_in = ps->ibuf;
        ps->zs.avail_in = (uInt)n;
    }
    else {
        ps->dbuf = ps->ibuf;
        ps->dlen = n;
    }

    /* skip a UTF-8 BOM */
    while (ps->dlen - ps->dpos < 3 && bulkio_fill(ps) == APR_SUCCESS) {
    }
    if (ps->status != APR_SUCCESS) {
        return ps->status;
    }
    if (ps->dlen - ps->dpos >= 3
        && !memcmp(ps->dbuf + ps->dpos, "\xef\xbb\xbf", 3)) {
        ps->dpos += 3;
    }
    *pps = ps;
    return APR_SUCCESS;
}

apr_status_t bulkio_parser_next(bulkio_parser_t *ps, bulkio_record_t *rec)
{
    apr_status_t rv;

    apr_pool_clear(ps->rp);
    memset(rec, 0, sizeof(*rec));
    if (ps->status != APR_SUCCESS) {
        return ps->status;
    }
    if (ps->done) {
        ps->status = APR_EOF;
        return APR_EOF;
    }
    switch (ps->fmt) {
    case BULKIO_FMT_NDJSON:
        rv = bulkio_ndjson_next(ps, rec);
        break;
    case BULKIO_FMT_JSON:
        rv = bulkio_json_next(ps, rec);
        break;
    default:
        rv = bulkio_csv_next(ps, rec);
        break;
    }
    if (ps->status != APR_SUCCESS) {    /* a fatal error while reading */
        apr_pool_clear(ps->rp);
        memset(rec, 0, sizeof(*rec));
        return ps->status;
    }
    if (rv == APR_EOF) {
        ps->status = APR_EOF;
    }
    return rv;
}

apr_off_t bulkio_parser_offset(const bulkio_parser_t *ps)
{
    if (ps->gzip) {
        return ps->nread - ps->zs.avail_in;
    }
    return ps->nread - (apr_off_t)(ps->dlen - ps->dpos);
}

const char *bulkio_parser_error(const bulkio_parser_t *ps)
{
    return ps->reason;
}

void bulkio_parser_limit_inflated(bulkio_parser_t *ps, apr_off_t max)
{
    ps->max_inflated = max > 0 ? max : 0;
}

void bulkio_parser_set_dialect(bulkio_parser_t *ps, const bulkio_dialect_t *d)
{
    ps->dialect = *d;
    ps->charset = d->charset;
    if (d->delimiter) {
        bulkio_csv_set_delim(ps, d->delimiter);
    }
    else {
        ps->delim = 0;
    }
}
