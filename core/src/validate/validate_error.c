/*
 * Validation errors: recording them during the collecting pass (pointer and
 * message built in the run's arena, only when an error really occurs), the
 * wording helpers, and the JSON array the 422 problem document carries.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "soom/json.h"
#include "validate_run.h"

static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s == '~' || *s == '/') ? 2 : 1;
    return n;
}

static char *put_escaped(char *w, const char *s)
{
    for (; *s; s++) {
        if (*s == '~' || *s == '/') {
            *w++ = '~';
            *w++ = *s == '~' ? '0' : '1';
        } else {
            *w++ = *s;
        }
    }
    return w;
}

static char *put_index(char *w, size_t i)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do
        *--p = (char)('0' + i % 10);
    while ((i /= 10) != 0);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(w, p, n);
    return w + n;
}

/* The RFC 6901 pointer of the current path (plus `key`). */
static const char *path_pointer(struct vctx *x, const char *key)
{
    size_t len = 1;
    for (unsigned i = 0; i < x->npath; i++)
        len += 1 + (x->path[i].key ? escaped_len(x->path[i].key) : 20);
    if (key != NULL)
        len += 1 + escaped_len(key);
    char *out = soom_arena_alloc(x->arena, len), *w = out;
    for (unsigned i = 0; i < x->npath; i++) {
        *w++ = '/';
        if (x->path[i].key != NULL)
            w = put_escaped(w, x->path[i].key);
        else
            w = put_index(w, x->path[i].index);
    }
    if (key != NULL) {
        *w++ = '/';
        w = put_escaped(w, key);
    }
    *w = '\0';
    return out;
}

bool vreport(struct vctx *x, const char *key, const char *code, const char *fmt, ...)
{
    if (!x->collect || x->full)
        return false;
    if (x->nerrs == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 8;
        struct soom_validate_error *e = soom_arena_alloc(x->arena, cap * sizeof *e);
        if (x->nerrs > 0)
            memcpy(e, x->errs, x->nerrs * sizeof *e);
        x->errs = e;
        x->cap = cap;
    }
    struct soom_validate_error *e = &x->errs[x->nerrs++];
    e->pointer = path_pointer(x, key);
    if (strchr(fmt, '%') == NULL) {
        e->detail = fmt; /* a constant message: no copy */
    } else {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        e->detail = soom_arena_strndup(x->arena, buf,
                                       k < 0                    ? 0
                                       : (size_t)k < sizeof buf ? (size_t)k
                                                                : sizeof buf - 1);
    }
    e->code = code;
    if (x->nerrs >= x->v->opts.max_errors)
        x->full = true;
    return false;
}

/* The run's scratch buffer, emptied: one allocation serves every message
 * of a run (vrun frees it). */
static struct soom_buf *scratch(struct vctx *x)
{
    soom_buf_clear(&x->scratch);
    return &x->scratch;
}

const char *vnum_text(struct vctx *x, double d)
{
    struct soom_buf *b = scratch(x);
    if (soom_json_write_number(b, d) != 0)
        soom_buf_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
    return soom_arena_strndup(x->arena, b->data, b->len);
}

const char *vtypes_text(struct vctx *x, unsigned mask)
{
    static const struct {
        unsigned bit;
        const char *name;
    } NAMES[] = {
        {VT_OBJECT, "an object"}, {VT_ARRAY, "an array"},     {VT_STRING, "a string"},
        {VT_NUMBER, "a number"},  {VT_INTEGER, "an integer"}, {VT_BOOLEAN, "a boolean"},
        {VT_NULL, "null"},
    };
    if (mask & VT_NUMBER)
        mask &= ~(unsigned)VT_INTEGER;
    char buf[160] = "";
    size_t total = 0, k = 0;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        total += (mask & NAMES[i].bit) != 0;
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (!(mask & NAMES[i].bit))
            continue;
        if (k > 0)
            strcat(buf, k + 1 == total ? " or " : ", ");
        strcat(buf, NAMES[i].name);
        k++;
    }
    return soom_arena_strndup(x->arena, buf, strlen(buf));
}

static const char *shorten(struct vctx *x, const struct soom_buf *b)
{
    return b->len > 60 ? soom_arena_printf(x->arena, "%.57s...", b->data)
                       : soom_arena_strndup(x->arena, b->data, b->len);
}

const char *vvalue_text(struct vctx *x, const cJSON *v)
{
    struct soom_buf *b = scratch(x);
    soom_json_print((const struct soom_json *)v, b);
    return shorten(x, b);
}

const char *vvalues_text(struct vctx *x, const cJSON *const *v, size_t n)
{
    struct soom_buf *b = scratch(x);
    soom_buf_putc(b, '[');
    for (size_t i = 0; i < n && b->len <= 60; i++) {
        if (i > 0)
            soom_buf_putc(b, ',');
        soom_json_print((const struct soom_json *)v[i], b);
    }
    soom_buf_putc(b, ']');
    return shorten(x, b);
}

void soom_validate_errors_json(const struct soom_validate_error *e, size_t n, const char *source,
                               struct soom_buf *out)
{
    soom_buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            soom_buf_putc(out, ',');
        soom_json_write_field_error(out, e[i].pointer, e[i].detail, e[i].code, source);
    }
    soom_buf_putc(out, ']');
}
