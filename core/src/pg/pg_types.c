/*
 * Text-form conversions of PostgreSQL values shared by the JSON writer and
 * the Lua rows (see pg_types.h). The session is set up with DateStyle ISO
 * and bytea_output hex (pg_conn.c), so these parse exactly the forms the
 * server sends; anything unexpected is passed on as text rather than
 * guessed at.
 */
#include "pg_types.h"
#include "hex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "soom/base64.h"

/* PostgreSQL's MAXDIM: an array has at most 6 dimensions. */
#define ARRAY_MAX_DEPTH 6

struct array_type {
    unsigned oid, elem;
};

static const struct array_type ARRAYS[] = {
    {199, PG_OID_JSON},          {1000, PG_OID_BOOL},    {1001, PG_OID_BYTEA},
    {1002, PG_OID_CHAR},         {1003, PG_OID_NAME},    {1005, PG_OID_INT2},
    {1007, PG_OID_INT4},         {1009, PG_OID_TEXT},    {1014, PG_OID_BPCHAR},
    {1015, PG_OID_VARCHAR},      {1016, PG_OID_INT8},    {1021, PG_OID_FLOAT4},
    {1022, PG_OID_FLOAT8},       {1028, PG_OID_OID},     {1115, PG_OID_TIMESTAMP},
    {1182, PG_OID_DATE},         {1183, PG_OID_TIME},    {1185, PG_OID_TIMESTAMPTZ},
    {1187, 1186 /* interval */}, {1231, PG_OID_NUMERIC}, {1270, 1266 /* timetz */},
    {2951, PG_OID_UUID},         {3807, PG_OID_JSONB},
};

enum pg_kind pg_type_kind(unsigned oid, unsigned *elem)
{
    switch (oid) {
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_OID: return PG_KIND_INT;
    case PG_OID_INT8: return PG_KIND_INT8;
    case PG_OID_FLOAT4:
    case PG_OID_FLOAT8: return PG_KIND_FLOAT;
    case PG_OID_NUMERIC: return PG_KIND_NUMERIC;
    case PG_OID_BOOL: return PG_KIND_BOOL;
    case PG_OID_JSON:
    case PG_OID_JSONB: return PG_KIND_JSON;
    case PG_OID_BYTEA: return PG_KIND_BYTEA;
    case PG_OID_TIMESTAMPTZ: return PG_KIND_TIMESTAMPTZ;
    case PG_OID_TIMESTAMP: return PG_KIND_TIMESTAMP;
    default: break;
    }
    for (size_t i = 0; i < sizeof ARRAYS / sizeof ARRAYS[0]; i++) {
        if (ARRAYS[i].oid == oid) {
            if (elem != NULL)
                *elem = ARRAYS[i].elem;
            return PG_KIND_ARRAY;
        }
    }
    return PG_KIND_STRING;
}

/* ---- timestamps ---------------------------------------------------------- */

size_t pg_iso_timestamp(const char *p, size_t n, bool tz, char *out)
{
    const char *space = n > 0 && p[0] >= '0' && p[0] <= '9' ? memchr(p, ' ', n) : NULL;
    /* "infinity", or an era suffix ("... BC") that ISO 8601 cannot say */
    if (space == NULL || memchr(space + 1, ' ', n - (size_t)(space + 1 - p)) != NULL) {
        memcpy(out, p, n);
        return n;
    }
    size_t date = (size_t)(space - p);
    memcpy(out, p, date);
    out[date] = 'T';
    const char *time = space + 1, *end = p + n;
    if (!tz) {
        memcpy(out + date + 1, time, (size_t)(end - time));
        return n;
    }
    /* The offset starts at the first sign after the time. */
    const char *sign = time;
    while (sign < end && *sign != '+' && *sign != '-')
        sign++;
    memcpy(out + date + 1, time, (size_t)(end - time));
    size_t len = n;
    if (end - sign == 3) {
        /* "+00" -> "+00:00" */
        memcpy(out + len, ":00", 3);
        len += 3;
    }
    return len;
}

/* ---- bytea --------------------------------------------------------------- */

static bool is_hex_bytea(const char *p, size_t n)
{
    return n >= 2 && p[0] == '\\' && p[1] == 'x';
}

size_t pg_bytea_decode(const char *p, size_t n, char *out)
{
    size_t o = 0;
    if (is_hex_bytea(p, n)) {
        for (size_t i = 2; i + 1 < n; i += 2) {
            int hi = hex_value((unsigned char)p[i]), lo = hex_value((unsigned char)p[i + 1]);
            if (hi < 0 || lo < 0)
                break;
            out[o++] = (char)(hi << 4 | lo);
        }
        return o;
    }
    /* escape format: \\ is a backslash, \ooo an octal byte */
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n && p[i + 1] == '\\') {
            out[o++] = '\\';
            i++;
        } else if (p[i] == '\\' && i + 3 < n && p[i + 1] >= '0' && p[i + 1] <= '3') {
            out[o++] = (char)((p[i + 1] - '0') << 6 | (p[i + 2] - '0') << 3 | (p[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = p[i];
        }
    }
    return o;
}

void pg_bytea_write_base64(struct soom_buf *out, const char *p, size_t n)
{
    /* Hex output decodes in chunks of whole base64 groups straight into
     * the buffer; the rare escape format goes through one copy. */
    unsigned char chunk[768];
    size_t bytes = is_hex_bytea(p, n) ? (n - 2) / 2 : n;
    soom_buf_reserve(out, (bytes + 2) / 3 * 4 + 2);
    char *w = out->data + out->len;
    *w++ = '"';
    if (is_hex_bytea(p, n)) {
        size_t i = 2;
        while (i + 1 < n) {
            size_t k = 0;
            for (; k < sizeof chunk && i + 1 < n; k++, i += 2) {
                int hi = hex_value((unsigned char)p[i]), lo = hex_value((unsigned char)p[i + 1]);
                if (hi < 0 || lo < 0) {
                    i = n;
                    break;
                }
                chunk[k] = (unsigned char)(hi << 4 | lo);
            }
            w = soom_base64_write(w, chunk, k, false);
        }
    } else {
        char *raw = xmalloc(n);
        size_t k = pg_bytea_decode(p, n, raw);
        w = soom_base64_write(w, (const unsigned char *)raw, k, false);
        free(raw);
    }
    *w++ = '"';
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

/* ---- arrays -------------------------------------------------------------- */

struct walker {
    const char *p, *end;
    const struct pg_array_visitor *v;
    void *ud;
    struct soom_buf *scratch;
};

/* A quoted element at w->p (on the opening quote). */
static int walk_quoted(struct walker *w)
{
    const char *start = ++w->p;
    bool escaped = false;
    while (w->p < w->end && *w->p != '"') {
        if (*w->p == '\\') {
            escaped = true;
            w->p++;
        }
        w->p++;
    }
    if (w->p >= w->end)
        return -1;
    size_t len = (size_t)(w->p - start);
    w->p++;
    if (!escaped) {
        w->v->element(w->ud, start, len, false);
        return 0;
    }
    soom_buf_clear(w->scratch);
    soom_buf_reserve(w->scratch, len);
    char *o = w->scratch->data;
    for (size_t i = 0; i < len; i++) {
        if (start[i] == '\\' && i + 1 < len)
            i++;
        *o++ = start[i];
    }
    w->scratch->len = (size_t)(o - w->scratch->data);
    w->scratch->data[w->scratch->len] = '\0';
    w->v->element(w->ud, w->scratch->data, w->scratch->len, false);
    return 0;
}

static int walk_level(struct walker *w, int depth)
{
    if (w->p >= w->end || *w->p != '{' || depth > ARRAY_MAX_DEPTH)
        return -1;
    w->p++;
    w->v->begin(w->ud);
    if (w->p < w->end && *w->p == '}') {
        w->p++;
        w->v->end(w->ud);
        return 0;
    }
    for (;;) {
        if (w->p >= w->end)
            return -1;
        if (*w->p == '{') {
            if (walk_level(w, depth + 1) != 0)
                return -1;
        } else if (*w->p == '"') {
            if (walk_quoted(w) != 0)
                return -1;
        } else {
            const char *start = w->p;
            while (w->p < w->end && *w->p != ',' && *w->p != '}')
                w->p++;
            size_t len = (size_t)(w->p - start);
            bool isnull = len == 4 && strncasecmp(start, "NULL", 4) == 0;
            w->v->element(w->ud, start, len, isnull);
        }
        if (w->p >= w->end)
            return -1;
        if (*w->p == ',') {
            w->p++;
            continue;
        }
        if (*w->p == '}') {
            w->p++;
            w->v->end(w->ud);
            return 0;
        }
        return -1;
    }
}

int pg_array_walk(const char *p, size_t n, const struct pg_array_visitor *v, void *ud,
                  struct soom_buf *scratch)
{
    struct walker w = {p, p + n, v, ud, scratch};
    if (n > 0 && p[0] == '[') {
        /* explicit bounds: "[0:2]={...}" */
        const char *eq = memchr(p, '=', n);
        if (eq == NULL)
            return -1;
        w.p = eq + 1;
    }
    return walk_level(&w, 1);
}
