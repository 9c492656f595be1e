/*
 * Result rows written straight to JSON text (see soom/pg.h), the hot path
 * of every read: no tree, no Lua, and no allocation per row. Per call, the
 * shape's fields are matched to result columns and each column's kind is
 * looked up once; per value, the text PostgreSQL sent is copied as it is
 * whenever it already is valid JSON (integers, floats, numerics as numbers,
 * json and jsonb) and converted otherwise.
 *
 * Type mapping (docs/DATABASE.md has the table):
 *   int2 int4 int8 oid        numbers, every digit kept (an int8 beyond
 *                             2^53 too: JSON numbers have no size limit)
 *   float4 float8             numbers; NaN and +-Infinity as null
 *   numeric                   a string ("12.50"), or a number with
 *                             SOOM_PG_JSON_NUMERIC_NUMBER (NaN: null)
 *   bool                      true / false
 *   json jsonb                embedded as they are
 *   timestamptz               "2026-11-29T02:13:31.123456+00:00" (UTC)
 *   timestamp                 "2026-11-29T02:13:31.123456"
 *   bytea                     base64
 *   arrays                    JSON arrays typed by their element type
 *   anything else             a string of PostgreSQL's text form
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pg_impl.h"
#include "pg_types.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/json.h"

#define STACK_COLUMNS 64
#define RES(r) ((const PGresult *)(r))

struct shape_field {
    char *column;
    char *key; /* "name": already escaped */
    size_t keylen;
    bool compact; /* JSON text written without the spaces between tokens */
    /* an object of other columns (a joined row), null when `column` is */
    struct soom_pg_shape *object;
};

/* A kind of this file only: JSON text copied without insignificant
 * whitespace (PostgreSQL's json builders put spaces after ':' and ','). */
#define KIND_JSON_COMPACT ((enum pg_kind)(PG_KIND_ARRAY + 1))

struct soom_pg_shape {
    size_t n;
    struct shape_field *fields;
};

struct soom_pg_shape *soom_pg_shape_new(const char *const *columns, const char *const *names,
                                        size_t n)
{
    struct soom_pg_shape *s = xcalloc(1, sizeof *s);
    s->n = n;
    s->fields = xcalloc(n, sizeof *s->fields);
    for (size_t i = 0; i < n; i++) {
        const char *name = names != NULL && names[i] != NULL ? names[i] : columns[i];
        struct soom_buf b;
        soom_buf_init(&b);
        soom_json_write_string(&b, name, strlen(name));
        soom_buf_putc(&b, ':');
        s->fields[i].column = xstrdup(columns[i]);
        s->fields[i].keylen = b.len;
        s->fields[i].key = soom_buf_detach(&b, NULL);
    }
    return s;
}

void soom_pg_shape_compact(struct soom_pg_shape *s, size_t i)
{
    if (i < s->n)
        s->fields[i].compact = true;
}

void soom_pg_shape_object(struct soom_pg_shape *s, size_t i, const char *null_column,
                          const char *const *columns, const char *const *names, size_t n)
{
    if (i >= s->n)
        return;
    soom_pg_shape_free(s->fields[i].object);
    free(s->fields[i].column);
    s->fields[i].column = xstrdup(null_column);
    s->fields[i].object = soom_pg_shape_new(columns, names, n);
}

void soom_pg_shape_free(struct soom_pg_shape *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->fields[i].column);
        free(s->fields[i].key);
        soom_pg_shape_free(s->fields[i].object);
    }
    free(s->fields);
    free(s);
}

unsigned soom_pg_json_flags(const struct soom_config *cfg)
{
    return cfg != NULL && cfg->numeric_as != NULL && strcmp(cfg->numeric_as, "number") == 0
               ? SOOM_PG_JSON_NUMERIC_NUMBER
               : 0;
}

/* ---- values -------------------------------------------------------------- */

struct writer {
    struct soom_buf *out;
    unsigned flags;
    struct soom_buf scratch; /* unescaped array elements; allocated on need */
};

static void write_value(struct writer *w, enum pg_kind kind, unsigned elem, const char *p,
                        size_t n);

static bool not_finite(const char *p, size_t n)
{
    return n > 0 && (p[0] == 'N' || p[0] == 'I' || (n > 1 && p[0] == '-' && p[1] == 'I'));
}

static void write_timestamp(struct writer *w, const char *p, size_t n, bool tz)
{
    char iso[80];
    if (n + PG_ISO_EXTRA > sizeof iso) {
        soom_json_write_string(w->out, p, n);
        return;
    }
    soom_json_write_string(w->out, iso, pg_iso_timestamp(p, n, tz, iso));
}

/* Array levels and elements as JSON arrays, commas placed by depth. */
struct array_writer {
    struct writer *w;
    enum pg_kind kind;
    unsigned elem;
    int depth;
    bool first[8];
};

static void array_sep(struct array_writer *a)
{
    if (a->depth > 0) {
        if (!a->first[a->depth])
            soom_buf_putc(a->w->out, ',');
        a->first[a->depth] = false;
    }
}

static void array_begin(void *ud)
{
    struct array_writer *a = ud;
    array_sep(a);
    soom_buf_putc(a->w->out, '[');
    a->first[++a->depth] = true;
}

static void array_end(void *ud)
{
    struct array_writer *a = ud;
    soom_buf_putc(a->w->out, ']');
    a->depth--;
}

static void array_element(void *ud, const char *p, size_t n, bool isnull)
{
    struct array_writer *a = ud;
    array_sep(a);
    if (isnull)
        soom_buf_append(a->w->out, "null", 4);
    else
        write_value(a->w, a->kind, 0, p, n);
}

static const struct pg_array_visitor ARRAY_JSON = {array_begin, array_end, array_element};

static void write_array(struct writer *w, unsigned elem, const char *p, size_t n)
{
    struct array_writer a = {w, pg_type_kind(elem, NULL), elem, 0, {false}};
    size_t mark = w->out->len;
    if (pg_array_walk(p, n, &ARRAY_JSON, &a, &w->scratch) != 0) {
        /* not an array literal after all: keep the text */
        w->out->len = mark;
        soom_json_write_string(w->out, p, n);
    }
}

/* Copies JSON text, dropping whitespace outside of strings. */
static void write_compact(struct soom_buf *out, const char *p, size_t n)
{
    soom_buf_reserve(out, n);
    char *d = out->data + out->len;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_string) {
            *d++ = c;
            if (c == '\\' && i + 1 < n)
                *d++ = p[++i];
            else if (c == '"')
                in_string = false;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            *d++ = c;
            in_string = c == '"';
        }
    }
    out->len = (size_t)(d - out->data);
}

static void write_value(struct writer *w, enum pg_kind kind, unsigned elem, const char *p, size_t n)
{
    if (kind == KIND_JSON_COMPACT) {
        write_compact(w->out, p, n);
        return;
    }
    switch (kind) {
    case PG_KIND_INT:
    case PG_KIND_INT8:
    case PG_KIND_JSON: soom_buf_append(w->out, p, n); break;
    case PG_KIND_FLOAT:
        if (not_finite(p, n))
            soom_buf_append(w->out, "null", 4);
        else
            soom_buf_append(w->out, p, n);
        break;
    case PG_KIND_NUMERIC:
        if (!(w->flags & SOOM_PG_JSON_NUMERIC_NUMBER))
            soom_json_write_string(w->out, p, n);
        else if (not_finite(p, n))
            soom_buf_append(w->out, "null", 4);
        else
            soom_buf_append(w->out, p, n);
        break;
    case PG_KIND_BOOL:
        if (n > 0 && p[0] == 't')
            soom_buf_append(w->out, "true", 4);
        else
            soom_buf_append(w->out, "false", 5);
        break;
    case PG_KIND_BYTEA: pg_bytea_write_base64(w->out, p, n); break;
    case PG_KIND_TIMESTAMPTZ:
    case PG_KIND_TIMESTAMP: write_timestamp(w, p, n, kind == PG_KIND_TIMESTAMPTZ); break;
    case PG_KIND_ARRAY: write_array(w, elem, p, n); break;
    case PG_KIND_STRING: soom_json_write_string(w->out, p, n); break;
    }
}

/* ---- rows ---------------------------------------------------------------- */

/* What one call needs per output field: its column, kind and key. */
struct plan {
    size_t n;
    int *col;
    enum pg_kind *kind;
    unsigned *elem;
    const char **key;
    size_t *keylen;
    struct plan **sub;    /* per field: the plan of an object of columns, or NULL */
    struct soom_buf keys; /* the keys of a call without a shape */
    int scol[STACK_COLUMNS];
    enum pg_kind skind[STACK_COLUMNS];
    unsigned selem[STACK_COLUMNS];
    const char *skey[STACK_COLUMNS];
    size_t skeylen[STACK_COLUMNS];
    struct plan *ssub[STACK_COLUMNS];
};

static void plan_cleanup(struct plan *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        if (pl->sub[i] != NULL) {
            plan_cleanup(pl->sub[i]);
            free(pl->sub[i]);
        }
    }
    if (pl->col != pl->scol) {
        free(pl->col);
        free(pl->kind);
        free(pl->elem);
        free(pl->key);
        free(pl->keylen);
        free(pl->sub);
    }
    soom_buf_cleanup(&pl->keys);
}

static int find_column(const PGresult *res, const char *name)
{
    int n = PQnfields(res);
    for (int i = 0; i < n; i++) {
        if (strcmp(PQfname(res, i), name) == 0)
            return i;
    }
    return -1;
}

static int plan_make(struct plan *pl, const PGresult *res, const struct soom_pg_shape *shape)
{
    size_t n = shape != NULL ? shape->n : (size_t)PQnfields(res);
    pl->n = n;
    soom_buf_init(&pl->keys);
    pl->col = pl->scol, pl->kind = pl->skind, pl->elem = pl->selem;
    pl->key = pl->skey, pl->keylen = pl->skeylen, pl->sub = pl->ssub;
    if (n > STACK_COLUMNS) {
        pl->col = xmalloc(n * sizeof *pl->col);
        pl->kind = xmalloc(n * sizeof *pl->kind);
        pl->elem = xmalloc(n * sizeof *pl->elem);
        pl->key = xmalloc(n * sizeof *pl->key);
        pl->keylen = xmalloc(n * sizeof *pl->keylen);
        pl->sub = xmalloc(n * sizeof *pl->sub);
    }
    for (size_t i = 0; i < n; i++)
        pl->sub[i] = NULL;
    size_t *offsets = shape == NULL ? pl->keylen : NULL;
    for (size_t i = 0; i < n; i++) {
        int col = shape != NULL ? find_column(res, shape->fields[i].column) : (int)i;
        if (col < 0)
            return SOOM_EINVAL;
        pl->col[i] = col;
        pl->elem[i] = 0;
        pl->kind[i] = pg_type_kind((unsigned)PQftype(res, col), &pl->elem[i]);
        if (shape != NULL && shape->fields[i].compact && pl->kind[i] == PG_KIND_JSON)
            pl->kind[i] = KIND_JSON_COMPACT;
        if (shape != NULL && shape->fields[i].object != NULL) {
            pl->sub[i] = xmalloc(sizeof(struct plan));
            if (plan_make(pl->sub[i], res, shape->fields[i].object) != SOOM_OK)
                return SOOM_EINVAL;
        }
        if (shape != NULL) {
            pl->key[i] = shape->fields[i].key;
            pl->keylen[i] = shape->fields[i].keylen;
        } else {
            /* offsets first: the buffer may move while it grows */
            size_t at = pl->keys.len;
            const char *name = PQfname(res, col);
            soom_json_write_string(&pl->keys, name, strlen(name));
            soom_buf_putc(&pl->keys, ':');
            offsets[i] = at;
        }
    }
    /* keylen[] held the offsets; each is read before it is replaced */
    for (size_t i = 0; shape == NULL && i < n; i++) {
        size_t start = offsets[i], end = i + 1 < n ? offsets[i + 1] : pl->keys.len;
        pl->key[i] = pl->keys.data + start;
        pl->keylen[i] = end - start;
    }
    return SOOM_OK;
}

static void write_row(struct writer *w, const PGresult *res, int row, const struct plan *pl)
{
    soom_buf_putc(w->out, '{');
    for (size_t i = 0; i < pl->n; i++) {
        if (i > 0)
            soom_buf_putc(w->out, ',');
        soom_buf_append(w->out, pl->key[i], pl->keylen[i]);
        int col = pl->col[i];
        if (PQgetisnull(res, row, col))
            soom_buf_append(w->out, "null", 4);
        else if (pl->sub[i] != NULL)
            write_row(w, res, row, pl->sub[i]);
        else
            write_value(w, pl->kind[i], pl->elem[i], PQgetvalue(res, row, col),
                        (size_t)PQgetlength(res, row, col));
    }
    soom_buf_putc(w->out, '}');
}

/* Rows [first, last) (in reverse when `reversed`), the shape matched once. */
static int write_range(const PGresult *res, int first, int last, bool reversed, bool array,
                       const struct soom_pg_shape *shape, unsigned flags, struct soom_buf *out)
{
    struct plan pl;
    int rc = plan_make(&pl, res, shape);
    if (rc == SOOM_OK) {
        struct writer w = {out, flags, {NULL, 0, 0}};
        if (array)
            soom_buf_putc(out, '[');
        for (int i = first; i < last; i++) {
            if (i > first)
                soom_buf_putc(out, ',');
            write_row(&w, res, reversed ? first + last - 1 - i : i, &pl);
        }
        if (array)
            soom_buf_putc(out, ']');
        soom_buf_cleanup(&w.scratch);
    }
    plan_cleanup(&pl);
    return rc;
}

static int write_rows(const PGresult *res, int first, int last, bool array,
                      const struct soom_pg_shape *shape, unsigned flags, struct soom_buf *out)
{
    return write_range(res, first, last, false, array, shape, flags, out);
}

int soom_pg_json_row(const struct soom_pg_result *r, int row, const struct soom_pg_shape *shape,
                     unsigned flags, struct soom_buf *out)
{
    if (row < 0 || row >= PQntuples(RES(r)))
        return SOOM_ENOTFOUND;
    return write_rows(RES(r), row, row + 1, false, shape, flags, out);
}

int soom_pg_json_rows(const struct soom_pg_result *r, const struct soom_pg_shape *shape,
                      unsigned flags, struct soom_buf *out)
{
    return write_rows(RES(r), 0, PQntuples(RES(r)), true, shape, flags, out);
}

int soom_pg_json_rows_range(const struct soom_pg_result *r, int first, int n, bool reversed,
                            const struct soom_pg_shape *shape, unsigned flags, struct soom_buf *out)
{
    int rows = PQntuples(RES(r));
    if (first < 0 || n < 0 || first + n > rows)
        return SOOM_ENOTFOUND;
    return write_range(RES(r), first, first + n, reversed, true, shape, flags, out);
}

void soom_pg_json_value(const struct soom_pg_result *r, int row, int col, unsigned flags,
                        struct soom_buf *out)
{
    const PGresult *res = RES(r);
    if (PQgetisnull(res, row, col)) {
        soom_buf_append(out, "null", 4);
        return;
    }
    struct writer w = {out, flags, {NULL, 0, 0}};
    unsigned elem = 0;
    enum pg_kind kind = pg_type_kind((unsigned)PQftype(res, col), &elem);
    write_value(&w, kind, elem, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
    soom_buf_cleanup(&w.scratch);
}
