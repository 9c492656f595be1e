/*
 * Query-string coercion: turning "?page=2&tags=a,b&active=true" into
 * {"page": 2, "tags": ["a", "b"], "active": true} with the types the schema
 * declares, then validating that object like a body.
 *
 * The type of a parameter is read from the compiled schema: the root's
 * "properties" (then "patternProperties", then "additionalProperties"),
 * looking through "$ref" and "allOf"; a union (["integer", "null"], or an
 * anyOf of typed branches) tries the stricter types first. An array
 * parameter takes every occurrence of its key, each split on commas; any
 * other parameter must appear once. A value that fits none of its types is
 * reported with the keyword "type" and kept as a string, and validation
 * errors at the same pointer are then dropped so one bad value gives one
 * error. docs/VALIDATION.md states the rules for users.
 */
#include <stdlib.h>
#include <string.h>

#include "soom/error.h"
#include "validate_run.h"

#define ANY_TYPE 0 /* nothing declared: keep the string */

static const struct vnode *property_schema(const struct vnode *n, const char *key, int depth)
{
    if (n == NULL || depth > 16)
        return NULL;
    for (size_t i = 0; i < n->nprops; i++)
        if (strcmp(n->props[i].name, key) == 0)
            return n->props[i].schema;
    for (size_t i = 0; i < n->npatterns; i++)
        if (vregex_match(n->patterns[i].re, key, strlen(key), NULL) > 0)
            return n->patterns[i].schema;
    const struct vnode *s = property_schema(n->ref, key, depth + 1);
    for (size_t i = 0; s == NULL && i < n->nall_of; i++)
        s = property_schema(n->all_of[i], key, depth + 1);
    return s != NULL ? s : n->additional;
}

/* The types a schema declares, looking through $ref, allOf and unions. */
static unsigned declared_types(const struct vnode *n, int depth)
{
    if (n == NULL || depth > 16)
        return ANY_TYPE;
    if (n->has & H_TYPE)
        return n->types;
    unsigned m = declared_types(n->ref, depth + 1);
    for (size_t i = 0; m == ANY_TYPE && i < n->nall_of; i++)
        m = declared_types(n->all_of[i], depth + 1);
    struct vnode *const *lists[] = {n->any_of, n->one_of};
    size_t lens[] = {n->nany_of, n->none_of};
    for (int l = 0; m == ANY_TYPE && l < 2; l++) {
        unsigned u = 0;
        for (size_t i = 0; i < lens[l]; i++) {
            unsigned t = declared_types(lists[l][i], depth + 1);
            if (t == ANY_TYPE) {
                u = ANY_TYPE;
                break;
            }
            u |= t;
        }
        m = u;
    }
    return m;
}

static const struct vnode *items_schema(const struct vnode *n, int depth)
{
    if (n == NULL || depth > 16)
        return NULL;
    if (n->items != NULL)
        return n->items;
    const struct vnode *s = items_schema(n->ref, depth + 1);
    for (size_t i = 0; s == NULL && i < n->nall_of; i++)
        s = items_schema(n->all_of[i], depth + 1);
    return s;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n, double *out)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i != n || n > 64)
        return false;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return true;
}

static bool text_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A value for (s, n) of one of `types`, or NULL. */
static cJSON *coerce(const char *s, size_t n, unsigned types)
{
    if (types == ANY_TYPE)
        return cJSON_CreateString(s);
    double d;
    if ((types & (VT_NUMBER | VT_INTEGER)) && json_number(s, n, &d)) {
        cJSON *num = cJSON_CreateNumber(d);
        if ((types & VT_NUMBER) || vjson_is_integer(num))
            return num;
        cJSON_Delete(num);
    }
    if (types & VT_BOOLEAN) {
        if (text_is(s, n, "true") || text_is(s, n, "1"))
            return cJSON_CreateTrue();
        if (text_is(s, n, "false") || text_is(s, n, "0"))
            return cJSON_CreateFalse();
    }
    if ((types & VT_NULL) && text_is(s, n, "null"))
        return cJSON_CreateNull();
    if (types & VT_STRING)
        return cJSON_CreateString(s);
    return NULL;
}

struct qstate {
    struct vctx x; /* for vreport: path and error list */
    cJSON *obj;
};

static const char *type_words(struct vctx *x, unsigned types)
{
    return vtypes_text(x, types);
}

static void add_value(struct qstate *q, cJSON *into, const char *s, size_t n, unsigned types,
                      const char *key, bool indexed, size_t index)
{
    char *copy = soom_arena_strndup(q->x.arena, s, n);
    cJSON *v = memchr(s, '\0', n) == NULL ? coerce(copy, n, types) : NULL;
    if (v == NULL) {
        q->x.path[0] = (struct vseg){key, 0};
        q->x.path[1] = (struct vseg){NULL, index};
        q->x.npath = indexed ? 2 : 1;
        vreport(&q->x, NULL, "type", "must be %s",
                memchr(s, '\0', n) != NULL ? "text without NUL characters"
                                           : type_words(&q->x, types));
        v = cJSON_CreateString(copy);
    }
    if (cJSON_IsArray(into))
        cJSON_AddItemToArray(into, v);
    else
        cJSON_AddItemToObject(into, key, v);
}

static void add_param(struct qstate *q, const struct soom_validate_param *p, size_t first,
                      size_t count, const char *key)
{
    const struct vnode *prop = property_schema(q->x.v->root, key, 0);
    unsigned types = declared_types(prop, 0);
    if (types != ANY_TYPE && (types & VT_ARRAY)) {
        unsigned elem = declared_types(items_schema(prop, 0), 0);
        cJSON *arr = cJSON_AddArrayToObject(q->obj, key);
        size_t index = 0;
        for (size_t i = first; i < count; i++) {
            if (p[i].key_len != strlen(key) || memcmp(p[i].key, key, p[i].key_len) != 0)
                continue;
            const char *s = p[i].value, *end = s + p[i].value_len;
            while (s < end) {
                const char *comma = memchr(s, ',', (size_t)(end - s));
                const char *stop = comma != NULL ? comma : end;
                add_value(q, arr, s, (size_t)(stop - s), elem, key, true, index++);
                s = comma != NULL ? comma + 1 : end;
                if (comma != NULL && s == end)
                    add_value(q, arr, s, 0, elem, key, true, index++); /* "a," */
            }
        }
        return;
    }
    size_t seen = 0, last = first;
    for (size_t i = first; i < count; i++)
        if (p[i].key_len == strlen(key) && memcmp(p[i].key, key, p[i].key_len) == 0)
            seen++, last = i;
    if (seen > 1) {
        q->x.path[0] = (struct vseg){key, 0};
        q->x.npath = 1;
        vreport(&q->x, NULL, "type", "must be given once, not %zu times", seen);
    }
    add_value(q, q->obj, p[last].value, p[last].value_len, types, key, false, 0);
}

static bool seen_before(const struct soom_validate_param *p, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (p[j].key_len == p[i].key_len && memcmp(p[j].key, p[i].key, p[i].key_len) == 0)
            return true;
    return false;
}

/* Appends the validation errors not at a pointer a coercion error took. */
static void merge_errors(struct qstate *q, const struct soom_validate_error *e, size_t n)
{
    size_t coerced = q->x.nerrs;
    for (size_t i = 0; i < n && !q->x.full; i++) {
        bool dup = false;
        for (size_t k = 0; k < coerced && !dup; k++)
            dup = strcmp(q->x.errs[k].pointer, e[i].pointer) == 0;
        if (dup)
            continue;
        q->x.npath = 0;
        vreport(&q->x, NULL, e[i].code, "%s", e[i].detail);
        q->x.errs[q->x.nerrs - 1].pointer = e[i].pointer;
    }
}

int soom_validate_query(const struct soom_validator *v, const struct soom_validate_param *params,
                        size_t n, struct soom_arena *arena, struct soom_json **out,
                        struct soom_validate_error **errors, size_t *nerrors)
{
    *out = NULL;
    *errors = NULL;
    *nerrors = 0;
    if (v == NULL || (params == NULL && n > 0))
        return SOOM_EINVAL;
    struct qstate q;
    memset(&q, 0, sizeof q);
    q.x.v = v;
    q.x.arena = arena;
    q.x.collect = true;
    struct vseg path[2];
    q.x.path = path;
    q.x.path_cap = 2;
    q.obj = cJSON_CreateObject();
    for (size_t i = 0; i < n && !q.x.full; i++) {
        if (seen_before(params, i))
            continue;
        const char *key = soom_arena_strndup(arena, params[i].key, params[i].key_len);
        add_param(&q, params, i, n, key);
    }
    *out = (struct soom_json *)q.obj;
    struct soom_validate_error *verrs = NULL;
    size_t nv = 0;
    int rc = vrun(v, q.obj, arena, &verrs, &nv);
    if (rc != SOOM_OK)
        merge_errors(&q, verrs, nv);
    soom_buf_cleanup(&q.x.scratch);
    *errors = q.x.errs;
    *nerrors = q.x.nerrs;
    return q.x.nerrs == 0 ? SOOM_OK : SOOM_EINVALID;
}
