/*
 * Compiling a generic resource's spec into a plan (see plan.h): identifiers
 * checked and quoted once, types classified, the output shape built, the
 * default ordering made total by the primary key.
 */
#include "plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "plan_internal.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"
#include "soom/router.h"

static bool ident_ok(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (const char *c = s; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    }
    return strlen(s) < 64;
}

/* "schema.table" or "table", each part checked, as a quoted identifier. */
static char *quote_table(const char *t)
{
    const char *dot = strchr(t, '.');
    if (dot == NULL) {
        if (!ident_ok(t))
            return NULL;
        char *q = xmalloc(strlen(t) + 3);
        sprintf(q, "\"%s\"", t);
        return q;
    }
    char *schema = xstrndup(t, (size_t)(dot - t));
    bool ok = ident_ok(schema) && ident_ok(dot + 1);
    char *q = NULL;
    if (ok) {
        q = xmalloc(strlen(t) + 5);
        sprintf(q, "\"%s\".\"%s\"", schema, dot + 1);
    }
    free(schema);
    return q;
}

static enum plan_kind kind_of(const char *type, bool *array)
{
    char base[64];
    size_t n = strcspn(type, "([");
    snprintf(base, sizeof base, "%.*s", (int)n, type);
    *array = strstr(type, "[]") != NULL;
    static const char *const INTS[] = {"smallint", "integer",   "int",     "int2",
                                       "int4",     "int8",      "bigint",  "smallserial",
                                       "serial",   "bigserial", "serial4", "serial8"};
    for (size_t i = 0; i < sizeof INTS / sizeof INTS[0]; i++) {
        if (strcasecmp(base, INTS[i]) == 0)
            return PLAN_KIND_INT;
    }
    if (strcasecmp(base, "real") == 0 || strncasecmp(base, "double", 6) == 0 ||
        strcasecmp(base, "float4") == 0 || strcasecmp(base, "float8") == 0 ||
        strcasecmp(base, "numeric") == 0 || strcasecmp(base, "decimal") == 0)
        return PLAN_KIND_FLOAT;
    if (strcasecmp(base, "boolean") == 0 || strcasecmp(base, "bool") == 0)
        return PLAN_KIND_BOOL;
    if (strcasecmp(base, "json") == 0 || strcasecmp(base, "jsonb") == 0)
        return PLAN_KIND_JSON;
    if (strcasecmp(base, "bytea") == 0)
        return PLAN_KIND_BYTEA;
    return PLAN_KIND_TEXT;
}

/* The width of an integer type, which a body's number must fit. */
static unsigned char int_bits_of(const char *type)
{
    size_t n = strcspn(type, "([");
    static const char *const SMALL[] = {"smallint", "int2", "smallserial", "serial2"};
    static const char *const MID[] = {"integer", "int", "int4", "serial", "serial4"};
    for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++)
        if (strlen(SMALL[i]) == n && strncasecmp(type, SMALL[i], n) == 0)
            return 16;
    for (size_t i = 0; i < sizeof MID / sizeof MID[0]; i++)
        if (strlen(MID[i]) == n && strncasecmp(type, MID[i], n) == 0)
            return 32;
    return 64;
}

static int column_index(const struct soom_plan *p, const char *name)
{
    for (size_t i = 0; i < p->ncolumns; i++) {
        if (strcmp(p->columns[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

static int field_index(const struct soom_plan *p, const char *name)
{
    for (size_t i = 0; i < p->nfields; i++) {
        if (strcmp(p->fields[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return false;                                                                              \
    } while (0)

static bool add_columns(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    p->columns = xcalloc(s->ncolumns, sizeof p->columns[0]);
    for (size_t i = 0; i < s->ncolumns; i++) {
        const struct plan_spec_column *c = &s->columns[i];
        if (!ident_ok(c->name)) {
            snprintf(err, errlen, "model field \"%s\" is not a valid column name",
                     c->name ? c->name : "?");
            return false;
        }
        struct plan_column *pc = &p->columns[p->ncolumns++];
        pc->name = xstrdup(c->name);
        pc->quoted = xmalloc(strlen(c->name) + 3);
        sprintf(pc->quoted, "\"%s\"", c->name);
        pc->kind = kind_of(c->type ? c->type : "text", &pc->array);
        pc->int_bits = int_bits_of(c->type ? c->type : "bigint");
        pc->nullable = c->nullable;
        pc->read_only = c->read_only;
    }
    return true;
}

/* The LEFT JOIN form of a to-one embed: its clause and select list. */
static bool add_join(struct soom_plan *p, struct plan_embed *e, const struct plan_spec_field *f,
                     char *err, size_t errlen)
{
    char *table = quote_table(f->join_table);
    if (table == NULL || !ident_ok(f->join_remote)) {
        free(table);
        FAIL("field \"%s\": the embedded table or its key is not a valid name", f->name);
    }
    size_t k = (size_t)(e - p->embeds);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, " LEFT JOIN %s AS \"_j%u\" ON \"_j%u\".\"%s\" = \"_t\".%s", table,
                    (unsigned)k, (unsigned)k, f->join_remote, p->columns[e->local].quoted);
    free(table);
    e->join = soom_buf_detach(&b, NULL);
    soom_buf_init(&b);
    e->cols = xcalloc(f->njoin + 1, sizeof(char *));
    e->names = xcalloc(f->njoin + 1, sizeof(char *));
    for (size_t i = 0; i < f->njoin; i++, e->ncols++) {
        if (!ident_ok(f->join_columns[i])) {
            soom_buf_cleanup(&b);
            FAIL("field \"%s\": \"%s\" is not a valid column name", f->name, f->join_columns[i]);
        }
        e->cols[i] = xmalloc(32);
        snprintf(e->cols[i], 32, "_e%u_%u", (unsigned)k, (unsigned)i);
        e->names[i] = xstrdup(f->join_names[i] ? f->join_names[i] : f->join_columns[i]);
        soom_buf_printf(&b, ", \"_j%u\".\"%s\" AS \"%s\"", (unsigned)k, f->join_columns[i],
                        e->cols[i]);
        if (e->null_col == NULL && strcmp(f->join_columns[i], f->join_remote) == 0)
            e->null_col = xstrdup(e->cols[i]); /* the key itself says whether a row joined */
    }
    if (e->null_col == NULL) {
        e->null_col = xmalloc(24);
        snprintf(e->null_col, 24, "_e%uk", (unsigned)k);
        soom_buf_printf(&b, ", \"_j%u\".\"%s\" AS \"%s\"", (unsigned)k, f->join_remote,
                        e->null_col);
    }
    e->select = soom_buf_detach(&b, NULL);
    return true;
}

static bool add_embed(struct soom_plan *p, const struct plan_spec_field *f, struct plan_field *pf,
                      char *err, size_t errlen)
{
    int local = column_index(p, f->embed_local ? f->embed_local : "");
    if (local < 0)
        FAIL("field \"%s\": the embed reads \"%s\", which is not a field of the model", f->name,
             f->embed_local ? f->embed_local : "?");
    if (p->nembeds == PLAN_MAX_EMBEDS)
        FAIL("more than %d embedded relations", PLAN_MAX_EMBEDS);
    struct plan_embed *e = &p->embeds[p->nembeds];
    e->sql = xstrdup(f->embed_sql);
    e->local = local;
    e->field = (int)(pf - p->fields);
    e->many = f->embed_many;
    e->expand = f->embed_expand;
    pf->embed = (int)p->nembeds++; /* counted first: soom_plan_free frees a half-made one */
    return f->join_table == NULL || f->embed_many || add_join(p, e, f, err, errlen);
}

static bool add_field(struct soom_plan *p, const struct plan_spec_field *f, char *err,
                      size_t errlen)
{
    /* an embed without a key column of its own (to-many, or the reverse of
     * a one-to-one) writes nothing */
    bool many = f->embed_sql != NULL && (f->embed_many || f->column == NULL);
    int col = many ? -1 : column_index(p, f->column ? f->column : f->name);
    if (col < 0 && !many)
        FAIL("field \"%s\" names no field of the model", f->name);
    if (field_index(p, f->name) >= 0)
        FAIL("field \"%s\" is listed twice", f->name);
    struct plan_field *pf = &p->fields[p->nfields++];
    pf->name = xstrdup(f->name);
    pf->column = col;
    pf->embed = -1;
    pf->read_only = many || f->read_only || p->columns[col].read_only;
    pf->write_only = f->write_only;
    pf->alt = f->alt != NULL && strcmp(f->alt, f->name) != 0 ? xstrdup(f->alt) : NULL;
    return f->embed_sql == NULL || add_embed(p, f, pf, err, errlen);
}

static bool add_fields(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    p->fields = xcalloc(s->nfields ? s->nfields : 1, sizeof p->fields[0]);
    p->embeds = xcalloc(s->nfields ? s->nfields : 1, sizeof p->embeds[0]);
    for (size_t i = 0; i < s->nfields; i++) {
        const struct plan_spec_field *f = &s->fields[i];
        if (!add_field(p, f, err, errlen))
            return false;
        struct plan_field *pf = &p->fields[p->nfields - 1];
        int col = pf->column;
        for (size_t k = 0; k + 1 < p->nfields && !pf->read_only; k++) {
            if (p->fields[k].column == col && !p->fields[k].read_only) {
                snprintf(err, errlen,
                         "fields \"%s\" and \"%s\" both write column \"%s\": make one "
                         "read_only",
                         p->fields[k].name, f->name, p->columns[col].name);
                return false;
            }
        }
    }
    return true;
}

/* Field names (output names) to field indexes, checking each. */
static int *field_list(struct soom_plan *p, const char *const *names, size_t n, const char *what,
                       char *err, size_t errlen)
{
    int *out = xcalloc(n ? n : 1, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        out[i] = field_index(p, names[i]);
        if (out[i] >= 0 && p->fields[out[i]].column < 0) {
            snprintf(err, errlen,
                     "%s \"%s\" is a to-many relation: name one of its fields "
                     "(\"%s__id\")",
                     what, names[i], names[i]);
            free(out);
            return NULL;
        }
        if (out[i] < 0) {
            snprintf(err, errlen, "%s \"%s\" is not one of the resource's fields", what, names[i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

/* An ordering term ("-score") to a column: a field's output name, a
 * model column, or an ordering across relations. */
static bool order_term(const struct soom_plan *p, const char *term, struct plan_order *o)
{
    o->desc = term[0] == '-';
    o->rel = -1;
    const char *name = term + (o->desc || term[0] == '+');
    int f = field_index(p, name);
    o->column = f >= 0 ? p->fields[f].column : column_index(p, name);
    for (size_t i = 0; o->column < 0 && i < p->nrorders; i++) {
        if (strcmp(p->rorders[i].name, name) == 0)
            o->rel = (int)i;
    }
    return o->column >= 0 || o->rel >= 0;
}

static bool order_nullable(const struct soom_plan *p, const struct plan_order *o)
{
    return o->rel >= 0 ? p->rorders[o->rel].nullable : p->columns[o->column].nullable;
}

const char *soom_plan_order_sql(const struct soom_plan *p, const struct plan_order *o)
{
    return o->rel >= 0 ? p->rorders[o->rel].sql : p->columns[o->column].quoted;
}

const char *soom_plan_order_name(const struct soom_plan *p, const struct plan_order *o)
{
    return o->rel >= 0 ? p->rorders[o->rel].alias : p->columns[o->column].name;
}

static bool add_ordering(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    if (s->nordering >= PLAN_MAX_ORDER) {
        snprintf(err, errlen, "ordering has more than %d terms", PLAN_MAX_ORDER - 1);
        return false;
    }
    bool has_pk = false;
    for (size_t i = 0; i < s->nordering; i++) {
        if (!order_term(p, s->ordering[i], &p->ordering[i])) {
            snprintf(err, errlen, "ordering \"%s\" names no field", s->ordering[i]);
            return false;
        }
        if (p->page == PLAN_PAGE_CURSOR && order_nullable(p, &p->ordering[i])) {
            snprintf(err, errlen,
                     "cursor pagination orders by \"%s\", which may be null: order by "
                     "non-null fields",
                     s->ordering[i]);
            return false;
        }
        has_pk |= p->ordering[i].column == p->pk;
    }
    p->nordering = s->nordering;
    if (!has_pk) /* the tie-breaker that makes every position unique */
        p->ordering[p->nordering++] = (struct plan_order){p->pk, false, -1};
    return true;
}

static char *json_name(const char *name)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_write_string(&b, name, strlen(name));
    return soom_buf_detach(&b, NULL);
}

/* Keyset pages walk one unique, non-null field (the primary key by
 * default), in its own order, from the value the client passes back. */
static bool add_keyset(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    const char *field = s->keyset_field ? s->keyset_field : p->columns[p->pk].name;
    if (!order_term(p, field, &p->keyset)) {
        snprintf(err, errlen, "keyset pagination field \"%s\" names no field", field);
        return false;
    }
    if (p->keyset.rel >= 0) {
        snprintf(err, errlen, "keyset pagination field \"%s\" must be a field of the model", field);
        return false;
    }
    if (p->columns[p->keyset.column].nullable) {
        snprintf(err, errlen, "keyset pagination field \"%s\" may be null", field);
        return false;
    }
    p->ordering[0] = p->keyset;
    p->nordering = 1;
    p->keyset_param = xstrdup(s->keyset_param ? s->keyset_param : "after");
    p->results_json = json_name(s->results_key ? s->results_key : "results");
    p->next_json = json_name(s->next_key ? s->next_key : "next");
    return true;
}

static void add_returned(struct soom_plan *p, int col, struct soom_buf *b)
{
    if (col < 0 || p->returned[col])
        return;
    p->returned[col] = true;
    soom_buf_printf(b, "%s%s", b->len ? ", " : "", p->columns[col].quoted);
}

/* The columns every statement returns (each once: a subquery's columns are
 * read by name) and the default output shape. */
static void build_output(struct soom_plan *p)
{
    struct soom_buf b;
    soom_buf_init(&b);
    p->returned = xcalloc(p->ncolumns + 1, sizeof(bool));
    for (size_t i = 0; i < p->nfields; i++) {
        if (!p->fields[i].write_only)
            add_returned(p, p->fields[i].column, &b);
    }
    for (size_t i = 0; i < p->nembeds; i++)
        add_returned(p, p->embeds[i].local, &b);
    if (b.len == 0)
        add_returned(p, p->pk, &b);
    p->returning = soom_buf_detach(&b, NULL);
    p->shape = plan_shape_new(p, NULL, 0, &p->default_embeds);
}

static bool add_relations(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    p->rfilters = xcalloc(s->nrfilters + 1, sizeof p->rfilters[0]);
    for (size_t i = 0; i < s->nrfilters; i++) {
        const struct plan_spec_rfilter *f = &s->rfilters[i];
        if (f->name == NULL || f->prefix == NULL || f->column == NULL || f->suffix == NULL)
            FAIL("a filter across relations is incomplete");
        struct plan_rfilter *rf = &p->rfilters[p->nrfilters++];
        rf->name = xstrdup(f->name);
        rf->prefix = xstrdup(f->prefix);
        rf->suffix = xstrdup(f->suffix);
        rf->column.name = xstrdup(f->name);
        rf->column.quoted = xstrdup(f->column);
        rf->column.kind = kind_of(f->type ? f->type : "text", &rf->column.array);
        rf->column.nullable = true;
    }
    p->rorders = xcalloc(s->nrorders + 1, sizeof p->rorders[0]);
    for (size_t i = 0; i < s->nrorders; i++) {
        const struct plan_spec_rorder *o = &s->rorders[i];
        if (o->name == NULL || o->sql == NULL)
            FAIL("an ordering across relations is incomplete");
        struct plan_rorder *ro = &p->rorders[p->nrorders];
        ro->name = xstrdup(o->name);
        ro->sql = xstrdup(o->sql);
        ro->alias = xmalloc(16);
        snprintf(ro->alias, 16, "_o%u", (unsigned)(p->nrorders % 1000));
        ro->nullable = o->nullable;
        ro->orderable = o->orderable;
        p->nrorders++;
        if (ro->orderable && p->page == PLAN_PAGE_CURSOR && ro->nullable)
            FAIL("ordering field \"%s\" may be null, which cursor pagination cannot order by",
                 ro->name);
    }
    return true;
}

/* Fills `p` from the spec; false with a message in `err` on the first part
 * of the spec at fault. */
static bool compile(struct soom_plan *p, const struct plan_spec *s, char *err, size_t errlen)
{
    p->lookup = -1;
    p->page = s->page;
    p->page_size = s->page_size;
    p->max_page_size = s->max_page_size;
    p->count = s->count;
    p->actions = s->actions;
    p->fast = s->fast & s->actions;
    p->table = xstrdup(s->table ? s->table : "");
    p->table_quoted = quote_table(p->table);
    if (p->table_quoted == NULL)
        FAIL("model table \"%s\" is not a valid table name", p->table);
    if (!add_columns(p, s, err, errlen) || !add_fields(p, s, err, errlen) ||
        !add_relations(p, s, err, errlen))
        return false;
    p->pk = column_index(p, s->primary_key ? s->primary_key : "id");
    if (p->pk < 0)
        FAIL("primary key \"%s\" is not a field of the model",
             s->primary_key ? s->primary_key : "id");
    if (s->lookup_field != NULL) {
        int f = field_index(p, s->lookup_field);
        p->lookup = f >= 0 ? p->fields[f].column : column_index(p, s->lookup_field);
        if (p->lookup < 0)
            FAIL("lookup_field \"%s\" is not a field of the model", s->lookup_field);
        p->lookup_param = xstrdup(s->lookup_param ? s->lookup_param : s->lookup_field);
    }
    p->owner = -1;
    if (s->owner_field != NULL) {
        p->owner = column_index(p, s->owner_field);
        if (p->owner < 0)
            FAIL("owner_field \"%s\" is not a field of the model", s->owner_field);
        p->columns[p->owner].read_only = true; /* set from the user, never from a body */
        for (size_t i = 0; i < p->nfields; i++)
            if (p->fields[i].column == p->owner)
                p->fields[i].read_only = true;
    }
    p->filters = field_list(p, s->filters, s->nfilters, "filter field", err, errlen);
    if (p->filters == NULL)
        return false;
    p->nfilters = s->nfilters;
    p->orderable =
        field_list(p, s->ordering_fields, s->nordering_fields, "ordering field", err, errlen);
    if (p->orderable == NULL)
        return false;
    p->norderable = s->nordering_fields;
    for (size_t i = 0; i < p->norderable && p->page == PLAN_PAGE_CURSOR; i++) {
        if (p->columns[p->fields[p->orderable[i]].column].nullable)
            FAIL("ordering field \"%s\" may be null, which cursor pagination cannot order by",
                 p->fields[p->orderable[i]].name);
    }
    if (!add_ordering(p, s, err, errlen))
        return false;
    if (p->page == PLAN_PAGE_KEYSET && !add_keyset(p, s, err, errlen))
        return false;
    build_output(p);
    p->route = xstrdup(s->route != NULL ? s->route : "");
    p->cursor_key = soom_page_key_new(s->secret_key, &p->random_key);
    if (soom_page_key_fallbacks(p->cursor_key, s->secret_key_fallbacks) != SOOM_OK)
        FAIL("%s", "secret_key_fallbacks holds more than 7 keys");
    return true;
}

int soom_plan_new(const struct plan_spec *s, struct soom_plan **out, char *err, size_t errlen)
{
    struct soom_plan *p = xcalloc(1, sizeof *p);
    if (!compile(p, s, err, errlen)) {
        soom_plan_free(p);
        *out = NULL;
        return SOOM_EINVAL;
    }
    *out = p;
    return SOOM_OK;
}

void soom_plan_free(struct soom_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->ncolumns; i++) {
        free(p->columns[i].name);
        free(p->columns[i].quoted);
    }
    for (size_t i = 0; i < p->nfields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].alt);
    }
    for (size_t i = 0; i < p->nembeds; i++) {
        struct plan_embed *e = &p->embeds[i];
        free(e->sql);
        free(e->join);
        free(e->select);
        free(e->null_col);
        for (size_t k = 0; k < e->ncols; k++) {
            free(e->cols[k]);
            free(e->names[k]);
        }
        free(e->cols);
        free(e->names);
    }
    for (size_t i = 0; i < p->nrfilters; i++) {
        free(p->rfilters[i].name);
        free(p->rfilters[i].prefix);
        free(p->rfilters[i].suffix);
        free(p->rfilters[i].column.name);
        free(p->rfilters[i].column.quoted);
    }
    for (size_t i = 0; i < p->nrorders; i++) {
        free(p->rorders[i].name);
        free(p->rorders[i].sql);
        free(p->rorders[i].alias);
    }
    free(p->embeds);
    free(p->rfilters);
    free(p->rorders);
    free(p->returned);
    free(p->columns);
    free(p->fields);
    free(p->filters);
    free(p->orderable);
    free(p->table);
    free(p->table_quoted);
    free(p->lookup_param);
    free(p->returning);
    free(p->keyset_param);
    free(p->results_json);
    free(p->next_json);
    free(p->route);
    soom_pg_shape_free(p->shape);
    soom_page_key_free(p->cursor_key);
    free(p);
}

unsigned soom_plan_action(const struct soom_plan *p, unsigned method)
{
    unsigned a;
    if (p->lookup < 0) {
        a = method == SOOM_GET || method == SOOM_HEAD ? PLAN_LIST
            : method == SOOM_POST                     ? PLAN_CREATE
                                                      : 0;
    } else {
        a = method == SOOM_GET || method == SOOM_HEAD    ? PLAN_RETRIEVE
            : method == SOOM_PUT || method == SOOM_PATCH ? PLAN_UPDATE
            : method == SOOM_DELETE                      ? PLAN_DESTROY
                                                         : 0;
    }
    return a & p->actions;
}
