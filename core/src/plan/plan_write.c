/*
 * A create or update body turned into statement parameters, one per
 * writable field present in the body: the serializer's input side.
 * A number goes as its text when a double may not hold it (soom/json.h),
 * so 10^20 reaches a numeric column whole and a bigint one as an integer
 * it can refuse by name.
 *
 * Read-only fields and keys that are not fields are ignored, as Django
 * REST framework does. Each JSON value is sent in the text form its column
 * takes: numbers and booleans as text, JSON columns as the value's JSON
 * text, array columns as an array literal, bytea from base64. PostgreSQL
 * checks the rest (a string that is not an integer, a bad date...), and its
 * error comes back as a 422 naming the field.
 */
/* The body is read straight from its cJSON tree, the request pipeline's own
 * parse: no second representation of it. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"
#include "soom/base64.h"
#include "soom/json.h"
#include "soom/response.h"

static bool field_error(struct soom_request *r, const char *field, const char *detail,
                        const char *code)
{
    struct soom_buf e;
    soom_buf_init(&e);
    soom_buf_putc(&e, '[');
    soom_json_write_field_error(&e, soom_arena_printf(r->arena, "/%s", field), detail, code,
                                "body");
    soom_buf_putc(&e, ']');
    soom_response_problem(r, 422, "the body does not fit the resource", e.data);
    soom_buf_cleanup(&e);
    return false;
}

/* A scalar's text form; false for objects and arrays. */
static bool scalar_text(const cJSON *v, struct soom_buf *out)
{
    if (cJSON_IsString(v)) {
        soom_buf_puts(out, v->valuestring);
    } else if (cJSON_IsNumber(v) && v->valuestring != NULL) {
        soom_buf_puts(out, v->valuestring); /* every digit of a big one (soom/json.h) */
    } else if (cJSON_IsNumber(v)) {
        soom_json_write_number(out, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        soom_buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
    } else {
        return false;
    }
    return true;
}

/* A JSON array as a PostgreSQL array literal: {"a","b"}, {{1,2},{3,4}}. */
static bool array_literal(const cJSON *v, struct soom_buf *out)
{
    soom_buf_putc(out, '{');
    for (const cJSON *e = v->child; e != NULL; e = e->next) {
        if (e != v->child)
            soom_buf_putc(out, ',');
        if (cJSON_IsArray(e)) {
            if (!array_literal(e, out))
                return false;
            continue;
        }
        if (cJSON_IsNull(e)) {
            soom_buf_puts(out, "NULL");
            continue;
        }
        struct soom_buf t;
        soom_buf_init(&t);
        if (!scalar_text(e, &t)) /* an object in a json[] column */
            soom_json_print((const struct soom_json *)e, &t);
        soom_buf_putc(out, '"');
        for (size_t i = 0; i < t.len; i++) {
            if (t.data[i] == '"' || t.data[i] == '\\')
                soom_buf_putc(out, '\\');
            soom_buf_putc(out, t.data[i]);
        }
        soom_buf_putc(out, '"');
        soom_buf_cleanup(&t);
    }
    soom_buf_putc(out, '}');
    return true;
}

/* A base64 string (either alphabet, padding optional) as bytes. */
static bool base64_bytes(const char *s, struct soom_buf *out)
{
    size_t n = strlen(s), len;
    soom_buf_reserve(out, n * 3 / 4 + 1);
    if (!soom_base64_decode(s, n, false, (unsigned char *)out->data + out->len, &len))
        return false;
    out->len += len;
    return true;
}

/* A number for an integer column: its digits when it fits the column's
 * width, false otherwise (a fraction, or out of range), so the 422 names
 * the field rather than leaving PostgreSQL to refuse an unnamed parameter.
 * A number whose text was kept (soom/json.h) is judged by its text: 10^20
 * is refused, 9223372036854775807 taken whole. */
static bool integer_text(const cJSON *v, unsigned bits, struct soom_buf *out)
{
    const char *t = v->valuestring;
    long long max = bits == 16 ? 32767LL : bits == 32 ? 2147483647LL : 9223372036854775807LL;
    long long n;
    if (t != NULL) {
        if (strpbrk(t, ".eE") != NULL)
            return false; /* more digits than a double holds: not surely integral */
        errno = 0;
        n = strtoll(t, NULL, 10);
        if (errno == ERANGE)
            return false;
    } else {
        double d = v->valuedouble;
        if (d != floor(d) || fabs(d) > 9007199254740992.0)
            return false;
        n = (long long)d;
    }
    if (n > max || n < -max - 1)
        return false;
    soom_json_write_int(out, n);
    return true;
}

/* The parameter for one value; false after answering 422. */
static bool add_value(struct soom_request *r, const struct plan_column *c, const char *field,
                      const cJSON *v, struct plan_stmt *s, int *param)
{
    if (cJSON_IsNull(v)) {
        *param = plan_stmt_param(s, NULL, 0, false);
        return true;
    }
    struct soom_buf t;
    soom_buf_init(&t);
    bool ok = true, binary = false;
    if (c->kind == PLAN_KIND_JSON && !c->array) {
        soom_json_print((const struct soom_json *)v, &t);
    } else if (c->array) {
        ok = cJSON_IsArray(v) && array_literal(v, &t);
        if (!ok)
            field_error(r, field, "must be an array", "type");
    } else if (c->kind == PLAN_KIND_INT && cJSON_IsNumber(v)) {
        ok = integer_text(v, c->int_bits, &t);
        if (!ok)
            field_error(
                r, field,
                soom_arena_printf(r->arena, "must be an integer that fits %u bits", c->int_bits),
                "range");
    } else if (c->kind == PLAN_KIND_BYTEA) {
        ok = cJSON_IsString(v) && base64_bytes(v->valuestring, &t);
        binary = true;
        if (!ok)
            field_error(r, field, "must be a base64 string", "type");
    } else {
        ok = scalar_text(v, &t);
        if (!ok)
            field_error(r, field, "must not be an object or an array", "type");
    }
    if (ok)
        *param = plan_stmt_param(s, t.data ? t.data : "", t.len, binary);
    soom_buf_cleanup(&t);
    return ok;
}

int plan_write_values(struct soom_request *r, const struct soom_plan *p,
                      const struct soom_json *body, struct plan_stmt *s, bool update,
                      struct soom_buf *columns, struct soom_buf *values)
{
    const cJSON *obj = (const cJSON *)body;
    if (!cJSON_IsObject(obj)) {
        soom_response_problem(r, 400, "the body must be a JSON object", NULL);
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        const struct plan_field *f = &p->fields[i];
        if (f->read_only)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);
        const char *key = f->name;
        if (v == NULL && f->alt != NULL) { /* a relation's id under its column's name */
            v = cJSON_GetObjectItemCaseSensitive(obj, f->alt);
            key = f->alt;
        }
        if (v == NULL)
            continue;
        const struct plan_column *c = &p->columns[f->column];
        int param;
        if (!add_value(r, c, key, v, s, &param))
            return -1;
        if (update) {
            soom_buf_printf(columns, "%s%s = $%d", n ? ", " : "", c->quoted, param);
        } else {
            soom_buf_printf(columns, "%s%s", n ? ", " : "", c->quoted);
            soom_buf_printf(values, "%s$%d", n ? ", " : "", param);
        }
        n++;
    }
    return n;
}
