/*
 * The query string of a list request, read against its plan: filters
 * (?score=5, ?score__gt=5, __gte, __lt, __lte, __in, __contains,
 * __icontains, __isnull), ?ordering=-score,id, ?fields=a,b, and the page
 * position (?cursor=, or ?limit=&offset=, or ?page=&page_size=). Unknown
 * parameters are ignored, as Django REST framework does; a known one with a
 * bad value is a 400 naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"
#include "soom/response.h"

#define MAX_LIMIT_DEFAULT 100

static bool param_is(const struct soom_kv *kv, const char *name)
{
    return kv->key_len == strlen(name) && memcmp(kv->key, name, kv->key_len) == 0;
}

static bool reject(struct soom_request *r, const char *fmt, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, fmt, what);
    soom_response_problem(r, 400, detail, NULL);
    return false;
}

/* A refused cursor: the problem names the parameter, as the query's
 * validation errors do. */
static bool reject_cursor(struct soom_request *r, const char *why)
{
    struct soom_buf e;
    soom_buf_init(&e);
    soom_buf_putc(&e, '[');
    soom_json_write_field_error(&e, "/cursor", why, "invalid", "query");
    soom_buf_putc(&e, ']');
    char detail[256];
    snprintf(detail, sizeof detail, "invalid cursor: %s", why);
    soom_response_problem(r, 400, detail, e.data);
    soom_buf_cleanup(&e);
    return false;
}

static int find_field(const struct soom_plan *p, const int *list, size_t n, const char *name,
                      size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *f = p->fields[list[i]].name;
        if (strlen(f) == len && memcmp(f, name, len) == 0)
            return list[i];
    }
    return -1;
}

/* ---- values --------------------------------------------------------------- */

static bool int_text(const char *v, size_t n)
{
    size_t i = v[0] == '-' ? 1 : 0;
    if (n <= i || n - i > 18)
        return false;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
    }
    return true;
}

static bool float_text(const char *v, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    char buf[72];
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    strtod(buf, &end);
    return *end == '\0';
}

/* Checks a filter value for its column; booleans are normalised. */
static bool value_ok(const struct plan_column *c, const char **v, size_t *n)
{
    if (c->array)
        return true;
    switch (c->kind) {
    case PLAN_KIND_INT: return int_text(*v, *n);
    case PLAN_KIND_FLOAT: return float_text(*v, *n);
    case PLAN_KIND_BOOL:
        if ((*n == 4 && memcmp(*v, "true", 4) == 0) || (*n == 1 && **v == '1')) {
            *v = "true", *n = 4;
            return true;
        }
        if ((*n == 5 && memcmp(*v, "false", 5) == 0) || (*n == 1 && **v == '0')) {
            *v = "false", *n = 5;
            return true;
        }
        return false;
    default: return true;
    }
}

/* "5,6" as the array literal {"5","6"}, each element checked. */
static bool in_list(struct plan_stmt *s, const struct plan_column *c, const char *v, size_t n,
                    int *param)
{
    struct soom_buf lit;
    soom_buf_init(&lit);
    soom_buf_putc(&lit, '{');
    size_t start = 0;
    bool ok = n > 0;
    for (size_t i = 0; i <= n && ok; i++) {
        if (i < n && v[i] != ',')
            continue;
        const char *e = v + start;
        size_t len = i - start;
        ok = value_ok(c, &e, &len);
        soom_buf_puts(&lit, start ? ",\"" : "\"");
        for (size_t k = 0; k < len && ok; k++) {
            if (e[k] == '"' || e[k] == '\\')
                soom_buf_putc(&lit, '\\');
            soom_buf_putc(&lit, e[k]);
        }
        soom_buf_putc(&lit, '"');
        start = i + 1;
    }
    soom_buf_putc(&lit, '}');
    if (ok)
        *param = plan_stmt_param(s, lit.data, lit.len, false);
    soom_buf_cleanup(&lit);
    return ok;
}

/* ---- filters --------------------------------------------------------------- */

/* The lookups a filter may name after "__", and the condition each writes
 * (positional arguments: 1 the quoted column, 2 the parameter's number). */
enum filter_op {
    FILTER_EQ,
    FILTER_GT,
    FILTER_GTE,
    FILTER_LT,
    FILTER_LTE,
    FILTER_IN,
    FILTER_CONTAINS,
    FILTER_ICONTAINS,
    FILTER_ISNULL,
    FILTER_NONE, /* not a known lookup */
};

static const struct {
    const char *suffix;
    const char *sql;       /* for a column of a scalar type */
    const char *array_sql; /* for an array column (NULL: as sql) */
} FILTERS[] = {
    [FILTER_EQ] = {"", "%1$s = $%2$d", NULL},
    [FILTER_GT] = {"gt", "%1$s > $%2$d", NULL},
    [FILTER_GTE] = {"gte", "%1$s >= $%2$d", NULL},
    [FILTER_LT] = {"lt", "%1$s < $%2$d", NULL},
    [FILTER_LTE] = {"lte", "%1$s <= $%2$d", NULL},
    [FILTER_IN] = {"in", "%1$s = ANY($%2$d)", NULL},
    [FILTER_CONTAINS] = {"contains", "strpos(%1$s::text, $%2$d) > 0", "$%2$d = ANY(%1$s)"},
    [FILTER_ICONTAINS] = {"icontains", "strpos(lower(%1$s::text), lower($%2$d)) > 0",
                          "$%2$d = ANY(%1$s)"},
    [FILTER_ISNULL] = {"isnull", NULL, NULL}, /* IS [NOT] NULL, by its value */
};

static enum filter_op filter_op(const char *p, size_t n)
{
    for (int i = FILTER_GT; i < FILTER_NONE; i++) {
        if (strlen(FILTERS[i].suffix) == n && memcmp(FILTERS[i].suffix, p, n) == 0)
            return (enum filter_op)i;
    }
    return FILTER_NONE;
}

static void filter_sql(struct soom_buf *sql, enum filter_op op, const struct plan_column *c,
                       int param)
{
    const char *f = c->array && FILTERS[op].array_sql ? FILTERS[op].array_sql : FILTERS[op].sql;
    soom_buf_printf(sql, f, c->quoted, param);
}

static void and (struct plan_list_query * q)
{
    soom_buf_puts(q->stmt.sql, q->has_where ? " AND " : " WHERE ");
    q->has_where = true;
}

/* A filter on column `c` (a column of the table, or the last field of a
 * path across relations, whose condition goes inside `prefix` ...
 * `suffix`). `sep` points to the "__" before the lookup, or is NULL. */
static bool filter_on(struct soom_request *r, struct plan_list_query *q,
                      const struct plan_column *c, const struct soom_kv *kv, const char *sep,
                      const char *prefix, const char *suffix)
{
    enum filter_op op = FILTER_EQ;
    if (sep != NULL) {
        op = filter_op(sep + 2, (size_t)(kv->key + kv->key_len - sep - 2));
        if (op == FILTER_NONE)
            return reject(r, "unknown filter operator in \"%s\"",
                          soom_arena_strndup(r->arena, kv->key, kv->key_len));
    }
    const char *v = kv->value;
    size_t n = kv->value_len;
    const char *param_name = soom_arena_strndup(r->arena, kv->key, kv->key_len);
    struct soom_buf *sql = q->stmt.sql;
    int param = 0;
    switch (op) {
    case FILTER_ISNULL: {
        bool yes = (n == 4 && memcmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1');
        bool no = (n == 5 && memcmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0');
        if (!yes && !no)
            return reject(r, "%s must be true or false", param_name);
        and(q);
        soom_buf_printf(sql, "%s%s IS %sNULL%s", prefix, c->quoted, yes ? "" : "NOT ", suffix);
        return true;
    }
    case FILTER_IN:
        if (!in_list(&q->stmt, c, v, n, &param))
            return reject(r, "%s has a value of the wrong type", param_name);
        break;
    case FILTER_CONTAINS:
    case FILTER_ICONTAINS: param = plan_stmt_param(&q->stmt, v, n, false); break;
    default:
        if (!value_ok(c, &v, &n))
            return reject(r, "%s has a value of the wrong type", param_name);
        param = plan_stmt_param(&q->stmt, v, n, false);
    }
    and(q);
    soom_buf_puts(sql, prefix);
    filter_sql(sql, op, c, param);
    soom_buf_puts(sql, suffix);
    return true;
}

/* The filter across relations whose name `key` starts with (followed by
 * its end or "__"), the longest one. */
static const struct plan_rfilter *rfilter_of(const struct soom_plan *p, const struct soom_kv *kv)
{
    const struct plan_rfilter *best = NULL;
    for (size_t i = 0; i < p->nrfilters; i++) {
        size_t len = strlen(p->rfilters[i].name);
        if (len <= kv->key_len && memcmp(kv->key, p->rfilters[i].name, len) == 0 &&
            (len == kv->key_len ||
             (kv->key_len > len + 2 && kv->key[len] == '_' && kv->key[len + 1] == '_')) &&
            (best == NULL || len > strlen(best->name)))
            best = &p->rfilters[i];
    }
    return best;
}

static bool add_filter(struct soom_request *r, const struct soom_plan *p, struct plan_list_query *q,
                       const struct soom_kv *kv)
{
    const struct plan_rfilter *rf = rfilter_of(p, kv);
    if (rf != NULL) {
        size_t len = strlen(rf->name);
        return filter_on(r, q, &rf->column, kv, len < kv->key_len ? kv->key + len : NULL,
                         rf->prefix, rf->suffix);
    }
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < kv->key_len; i++) {
        if (kv->key[i] == '_' && kv->key[i + 1] == '_') {
            sep = kv->key + i;
            break;
        }
    }
    size_t name_len = sep ? (size_t)(sep - kv->key) : kv->key_len;
    int f = find_field(p, p->filters, p->nfilters, kv->key, name_len);
    if (f < 0)
        return true; /* not a filter of this resource: ignored */
    return filter_on(r, q, &p->columns[p->fields[f].column], kv, sep, "", "");
}

/* ---- ordering and fields ----------------------------------------------------- */

/* The non-empty items of a comma-separated value, one at a time. */
struct items {
    const char *p, *end;
};

static bool next_item(struct items *it, const char **t, size_t *len)
{
    while (it->p < it->end) {
        const char *comma = memchr(it->p, ',', (size_t)(it->end - it->p));
        const char *stop = comma ? comma : it->end;
        *t = it->p;
        *len = (size_t)(stop - it->p);
        it->p = comma ? comma + 1 : it->end;
        if (*len > 0)
            return true;
    }
    return false;
}

static int rorder_of(const struct soom_plan *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nrorders; i++) {
        if (p->rorders[i].orderable && strlen(p->rorders[i].name) == len &&
            memcmp(p->rorders[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static bool parse_ordering(struct soom_request *r, const struct soom_plan *p,
                           struct plan_list_query *q, const struct soom_kv *kv)
{
    q->norder = 0;
    bool has_pk = false;
    struct items it = {kv->value, kv->value + kv->value_len};
    const char *t;
    size_t len;
    while (next_item(&it, &t, &len)) {
        bool desc = t[0] == '-';
        int f = find_field(p, p->orderable, p->norderable, t + desc, len - desc);
        int rel = f < 0 ? rorder_of(p, t + desc, len - desc) : -1;
        if (f < 0 && rel < 0)
            return reject(r, "cannot order by \"%s\"",
                          soom_arena_strndup(r->arena, t + desc, len - desc));
        if (q->norder == PLAN_MAX_ORDER - 1)
            return reject(r, "%s", "too many ordering terms");
        q->order[q->norder++] = (struct plan_order){rel < 0 ? p->fields[f].column : -1, desc, rel};
        has_pk |= rel < 0 && p->fields[f].column == p->pk;
    }
    if (q->norder == 0)
        return reject(r, "%s", "ordering is empty");
    if (!has_pk)
        q->order[q->norder++] = (struct plan_order){p->pk, false, -1};
    return true;
}

static bool parse_fields(struct soom_request *r, const struct soom_plan *p,
                         struct plan_list_query *q, const struct soom_kv *kv)
{
    bool *include = soom_arena_calloc(r->arena, (p->nfields + 1) * sizeof(bool));
    size_t n = 0;
    struct items it = {kv->value, kv->value + kv->value_len};
    const char *t;
    size_t len;
    while (next_item(&it, &t, &len)) {
        int f = -1;
        for (size_t k = 0; k < p->nfields; k++) {
            if (!p->fields[k].write_only && strlen(p->fields[k].name) == len &&
                memcmp(p->fields[k].name, t, len) == 0)
                f = (int)k;
        }
        if (f < 0)
            return reject(r, "unknown field \"%s\" in ?fields",
                          soom_arena_strndup(r->arena, t, len));
        if (include[f])
            return reject(r, "%s", "a field is repeated in ?fields");
        include[f] = true;
        n++;
    }
    if (n == 0)
        return reject(r, "%s", "?fields names no field");
    q->include = include;
    return true;
}

/* ---- page position ------------------------------------------------------------ */

static bool parse_long(struct soom_request *r, const struct soom_kv *kv, long min, long *out)
{
    const char *name = soom_arena_strndup(r->arena, kv->key, kv->key_len);
    if (!int_text(kv->value, kv->value_len) || kv->value[0] == '-')
        return reject(r, "%s must be a non-negative integer", name);
    long v = strtol(soom_arena_strndup(r->arena, kv->value, kv->value_len), NULL, 10);
    if (v < min)
        return reject(r, min == 1 ? "%s must be at least 1" : "%s must not be negative", name);
    *out = v;
    return true;
}

static bool parse_position(struct soom_request *r, const struct soom_plan *p,
                           struct plan_list_query *q, const struct soom_kv *kv)
{
    long max = p->max_page_size > 0 ? p->max_page_size : MAX_LIMIT_DEFAULT;
    if (p->page == PLAN_PAGE_CURSOR && param_is(kv, "cursor")) {
        const char *why;
        size_t nkeys = q->norder;
        if (soom_page_cursor_decode(kv->value, kv->value_len, q->fingerprint, nkeys, p->cursor_key,
                                    r->arena, &q->cursor, &why) != SOOM_OK)
            return reject_cursor(r, why);
        q->has_cursor = true;
        return true;
    }
    if ((p->page == PLAN_PAGE_CURSOR && param_is(kv, "page_size")) ||
        (p->page == PLAN_PAGE_KEYSET && (param_is(kv, "limit") || param_is(kv, "page_size")))) {
        if (!parse_long(r, kv, 1, &q->limit))
            return false;
        q->limit = q->limit > max ? max : q->limit;
        return true;
    }
    if (p->page != PLAN_PAGE_OFFSET)
        return true;
    if (param_is(kv, "limit") || param_is(kv, "page_size")) {
        if (!parse_long(r, kv, 1, &q->limit))
            return false;
        q->limit = q->limit > max ? max : q->limit;
    } else if (param_is(kv, "offset")) {
        return parse_long(r, kv, 0, &q->offset);
    } else if (param_is(kv, "page")) {
        long page;
        if (!parse_long(r, kv, 1, &page))
            return false;
        q->paged_by_number = true;
        q->offset = page; /* turned into an offset once the limit is known */
    }
    return true;
}

/* ?after=<value>: the rows past it in the keyset field's order */
static bool keyset_after(struct soom_request *r, const struct soom_plan *p,
                         struct plan_list_query *q, const struct soom_kv *kv)
{
    const struct plan_column *c = &p->columns[p->keyset.column];
    const char *v = kv->value;
    size_t n = kv->value_len;
    if (!value_ok(c, &v, &n))
        return reject(r, "%s has a value of the wrong type", p->keyset_param);
    int param = plan_stmt_param(&q->stmt, v, n, false);
    and(q);
    soom_buf_printf(q->stmt.sql, "%s %c $%d", c->quoted, p->keyset.desc ? '<' : '>', param);
    return true;
}

static uint32_t fingerprint(const struct soom_plan *p, const struct plan_list_query *q)
{
    /* the route first: two resources over one table and ordering are two
     * listings (their filters, owners and fields differ) */
    char terms[PLAN_MAX_ORDER + 2][72];
    const char *list[PLAN_MAX_ORDER + 2] = {p->route, p->table};
    for (size_t i = 0; i < q->norder; i++) {
        const struct plan_order *o = &q->order[i];
        snprintf(terms[i], sizeof terms[i], "%s%s", o->desc ? "-" : "",
                 o->rel >= 0 ? p->rorders[o->rel].name : p->columns[o->column].name);
        list[i + 2] = terms[i];
    }
    return soom_page_fingerprint(list, q->norder + 2);
}

bool plan_list_parse(struct soom_request *r, const struct soom_plan *p,
                     const struct plan_extra *extra, struct plan_list_query *q)
{
    memset(q, 0, sizeof *q);
    plan_stmt_init(&q->stmt, r->arena);
    memcpy(q->order, p->ordering, sizeof p->ordering);
    q->norder = p->nordering;
    q->shape = p->shape;
    q->limit = p->page_size > 0 ? p->page_size : 20;
    bool first = true;
    if (extra != NULL && extra->nconditions > 0) {
        soom_buf_puts(q->stmt.sql, " WHERE ");
        plan_stmt_conditions(&q->stmt, extra, &first);
        q->has_where = true;
    }
    /* ordering first: the cursor's fingerprint depends on it (keyset pages
     * keep the order of their field) */
    for (size_t i = 0; i < r->nquery && p->page != PLAN_PAGE_KEYSET; i++) {
        const struct soom_kv *kv = &r->query[i];
        if (param_is(kv, "ordering") && p->norderable > 0 && !parse_ordering(r, p, q, kv))
            return false;
    }
    q->fingerprint = fingerprint(p, q);
    for (size_t i = 0; i < r->nquery; i++) {
        const struct soom_kv *kv = &r->query[i];
        if (param_is(kv, "ordering") || (p->nembeds > 0 && param_is(kv, "expand")))
            continue;
        if (param_is(kv, "fields")) {
            if (!parse_fields(r, p, q, kv))
                return false;
        } else if (p->page == PLAN_PAGE_KEYSET && param_is(kv, p->keyset_param)) {
            if (!keyset_after(r, p, q, kv))
                return false;
        } else if (param_is(kv, "cursor") || param_is(kv, "limit") || param_is(kv, "offset") ||
                   param_is(kv, "page") || param_is(kv, "page_size")) {
            if (!parse_position(r, p, q, kv))
                return false;
        } else if (!add_filter(r, p, q, kv)) {
            return false;
        }
    }
    if (q->paged_by_number)
        q->offset = (q->offset - 1) * q->limit;
    struct plan_output out;
    if (!plan_output_parse(r, p, q->include, &out))
        return false;
    q->shape = out.shape;
    q->embeds = out.embeds;
    return true;
}

/* ---- SQL ------------------------------------------------------------------------ */

/* " ORDER BY ..." over the page's terms, as `cols` name them. */
static void order_by(const struct plan_list_query *q, const char *const *cols, bool backward,
                     struct soom_buf *sql)
{
    bool desc[PLAN_MAX_ORDER];
    for (size_t i = 0; i < q->norder; i++)
        desc[i] = q->order[i].desc;
    soom_page_order_sql(sql, cols, desc, q->norder, backward);
}

void plan_list_sql(const struct soom_plan *p, struct plan_list_query *q)
{
    /* The SELECT list: the output columns, then any ordering column not
     * among them (read for cursors, ignored by the JSON shape). */
    struct soom_buf sql;
    soom_buf_init(&sql);
    soom_buf_printf(&sql, "SELECT %s", p->returning);
    const char *cols[PLAN_MAX_ORDER];
    bool desc[PLAN_MAX_ORDER];
    for (size_t i = 0; i < q->norder; i++) {
        const struct plan_order *o = &q->order[i];
        cols[i] = soom_plan_order_sql(p, o);
        desc[i] = o->desc;
        if (o->rel >= 0)
            soom_buf_printf(&sql, ", %s AS \"%s\"", cols[i], p->rorders[o->rel].alias);
        else if (!p->returned[o->column])
            soom_buf_printf(&sql, ", %s", cols[i]);
    }
    soom_buf_printf(&sql, " FROM %s", p->table_quoted);
    q->where = soom_arena_strndup(q->stmt.arena, q->stmt.sql->data ? q->stmt.sql->data : "",
                                  q->stmt.sql->len);
    q->where_params = q->stmt.n;
    soom_buf_puts(&sql, q->where);
    bool backward = q->has_cursor && q->cursor.direction == SOOM_PAGE_PREV;
    if (q->has_cursor) {
        int first = (int)q->stmt.n + 1;
        for (size_t i = 0; i < q->cursor.nvalues; i++)
            plan_stmt_param(&q->stmt, q->cursor.values[i], q->cursor.lens[i], false);
        soom_buf_puts(&sql, q->has_where ? " AND " : " WHERE ");
        soom_page_keyset_sql(&sql, cols, desc, q->norder, backward, first);
    }
    soom_buf_putc(&sql, ' ');
    soom_page_order_sql(&sql, cols, desc, q->norder, backward);
    if (p->page != PLAN_PAGE_NONE)
        soom_buf_printf(&sql, " LIMIT %ld", q->limit + 1);
    if (p->page == PLAN_PAGE_OFFSET && q->offset > 0)
        soom_buf_printf(&sql, " OFFSET %ld", q->offset);
    soom_buf_clear(q->stmt.sql);
    if (q->embeds != 0) {
        /* the page first, then its relations: the subqueries run for the
         * page's rows only, in the page's order */
        const char *outer[PLAN_MAX_ORDER];
        for (size_t i = 0; i < q->norder; i++)
            outer[i] = soom_arena_printf(q->stmt.arena, "\"_t\".\"%s\"",
                                         soom_plan_order_name(p, &q->order[i]));
        struct soom_buf ob;
        soom_buf_init(&ob);
        order_by(q, outer, backward, &ob);
        plan_embed_select(p, q->embeds, sql.data, ob.data, q->stmt.sql);
        soom_buf_cleanup(&ob);
    } else {
        soom_buf_append(q->stmt.sql, sql.data, sql.len);
    }
    soom_buf_cleanup(&sql);
}

void plan_count_sql(struct soom_request *r, const struct soom_plan *p,
                    const struct plan_list_query *q, struct plan_stmt *count)
{
    plan_stmt_init(count, r->arena);
    soom_buf_printf(count->sql, "%sSELECT %s FROM %s%s",
                    p->count == PLAN_COUNT_PLANNED ? "EXPLAIN (FORMAT JSON) " : "",
                    p->count == PLAN_COUNT_PLANNED ? "1" : "count(*)", p->table_quoted,
                    q->where ? q->where : "");
    for (size_t i = 0; i < q->where_params; i++)
        plan_stmt_param(count, q->stmt.values[i], q->stmt.lens[i], q->stmt.binary[i]);
}
