/*
 * Embedded relations in a plan's output: which embeds a request gets (the
 * resource's, narrowed by ?fields=, widened by ?expand=), the JSON shape
 * that goes with them, and the statement that computes them.
 *
 * Everything happens in the action's one statement, whose own SQL becomes
 * the inner part, so its WHERE, ORDER BY and LIMIT (and every unqualified
 * name in them) stay as they are:
 *
 *   SELECT "_t".*, <embeds> FROM (<select>) AS "_t" [LEFT JOIN ...] ORDER BY ...
 *   WITH "_t" AS (<insert or update ... RETURNING>) SELECT "_t".*, ... FROM "_t" ...
 *
 * A to-one embed of plain columns is a LEFT JOIN: its columns come back
 * beside the row's and the core writes them as a nested object, with the
 * same conversions as the row's own (the cheapest form: PostgreSQL builds
 * no JSON). Any other embed (to-many, many-to-many, nested) is a
 * correlated subquery written at start-up from the models
 * (lua/soom/core/embed.lua) over the outer row "_t", in which PostgreSQL
 * builds the related row (json_build_object) or rows (json_agg); its JSON
 * is copied into the response compacted (PostgreSQL's json text has spaces
 * after its separators).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "plan_internal.h"
#include "soom/pg.h"
#include "soom/response.h"

static const char *embed_alias(size_t i, char *buf, size_t n)
{
    snprintf(buf, n, "_e%u", (unsigned)(i % 1000));
    return buf;
}

struct soom_pg_shape *plan_shape_new(const struct soom_plan *p, const bool *include,
                                     unsigned expand, unsigned *embeds)
{
    const char **cols = xcalloc(p->nfields + 1, sizeof(char *));
    const char **names = xcalloc(p->nfields + 1, sizeof(char *));
    bool *compact = xcalloc(p->nfields + 1, sizeof(bool));
    int *joined = xcalloc(p->nfields + 1, sizeof(int)); /* embed + 1 of an object field */
    char aliases[PLAN_MAX_EMBEDS][16];
    size_t n = 0;
    *embeds = 0;
    for (size_t i = 0; i < p->nfields; i++) {
        const struct plan_field *f = &p->fields[i];
        if (f->write_only || (include != NULL && !include[i]))
            continue;
        if (f->embed >= 0) {
            const struct plan_embed *e = &p->embeds[f->embed];
            if (!e->expand || (expand & (1u << f->embed))) {
                *embeds |= 1u << f->embed;
                cols[n] = embed_alias((size_t)f->embed, aliases[f->embed], sizeof aliases[0]);
                compact[n] = e->join == NULL;
                joined[n] = e->join != NULL ? f->embed + 1 : 0;
            } else if (f->column >= 0) {
                cols[n] = p->columns[f->column].name; /* the key, not expanded */
            } else {
                continue; /* a to-many relation not asked for */
            }
        } else {
            cols[n] = p->columns[f->column].name;
        }
        names[n++] = f->name;
    }
    struct soom_pg_shape *s = soom_pg_shape_new(cols, names, n);
    for (size_t i = 0; i < n; i++) {
        if (compact[i])
            soom_pg_shape_compact(s, i);
        if (joined[i]) {
            const struct plan_embed *e = &p->embeds[joined[i] - 1];
            soom_pg_shape_object(s, i, e->null_col, (const char *const *)e->cols,
                                 (const char *const *)e->names, e->ncols);
        }
    }
    free(cols);
    free(names);
    free(compact);
    free(joined);
    return s;
}

static bool reject(struct soom_request *r, const char *fmt, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, fmt, what);
    soom_response_problem(r, 400, detail, NULL);
    return false;
}

bool plan_expand_parse(struct soom_request *r, const struct soom_plan *p, const char *v, size_t n,
                       unsigned *expand)
{
    const char *end = v + n;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        size_t len = (size_t)((comma ? comma : end) - v);
        bool found = len == 0;
        for (size_t i = 0; i < p->nembeds && !found; i++) {
            const char *name = p->fields[p->embeds[i].field].name;
            if (strlen(name) == len && memcmp(name, v, len) == 0) {
                *expand |= 1u << i;
                found = true;
            }
        }
        if (!found)
            return reject(r, "cannot expand \"%s\"", soom_arena_strndup(r->arena, v, len));
        v = comma ? comma + 1 : end;
    }
    return true;
}

static void free_shape(void *s)
{
    soom_pg_shape_free(s);
}

bool plan_output_parse(struct soom_request *r, const struct soom_plan *p, const bool *include,
                       struct plan_output *out)
{
    unsigned expand = 0;
    bool asked = include != NULL;
    for (size_t i = 0; i < r->nquery && p->nembeds > 0; i++) {
        const struct soom_kv *kv = &r->query[i];
        if (kv->key_len == 6 && memcmp(kv->key, "expand", 6) == 0) {
            if (!plan_expand_parse(r, p, kv->value, kv->value_len, &expand))
                return false;
            asked = true;
        }
    }
    if (!asked) {
        out->shape = p->shape;
        out->embeds = p->default_embeds;
        return true;
    }
    struct soom_pg_shape *s = plan_shape_new(p, include, expand, &out->embeds);
    soom_arena_defer(r->arena, free_shape, s);
    out->shape = s;
    return true;
}

static void embed_columns(const struct soom_plan *p, unsigned embeds, struct soom_buf *sql)
{
    char alias[16];
    soom_buf_puts(sql, "SELECT \"_t\".*");
    for (size_t i = 0; i < p->nembeds; i++) {
        if (!(embeds & (1u << i)))
            continue;
        if (p->embeds[i].join != NULL)
            soom_buf_puts(sql, p->embeds[i].select);
        else
            soom_buf_printf(sql, ", %s AS \"%s\"", p->embeds[i].sql,
                            embed_alias(i, alias, sizeof alias));
    }
}

static void embed_joins(const struct soom_plan *p, unsigned embeds, struct soom_buf *sql)
{
    for (size_t i = 0; i < p->nembeds; i++) {
        if ((embeds & (1u << i)) && p->embeds[i].join != NULL)
            soom_buf_puts(sql, p->embeds[i].join);
    }
}

void plan_embed_select(const struct soom_plan *p, unsigned embeds, const char *inner,
                       const char *order_by, struct soom_buf *sql)
{
    embed_columns(p, embeds, sql);
    soom_buf_printf(sql, " FROM (%s) AS \"_t\"", inner);
    embed_joins(p, embeds, sql);
    if (order_by != NULL)
        soom_buf_printf(sql, " %s", order_by);
}

static void plan_embed_with(const struct soom_plan *p, unsigned embeds, const char *write,
                            struct soom_buf *sql)
{
    soom_buf_printf(sql, "WITH \"_t\" AS (%s) ", write);
    embed_columns(p, embeds, sql);
    soom_buf_puts(sql, " FROM \"_t\"");
    embed_joins(p, embeds, sql);
}

void plan_embed_wrap(struct plan_stmt *s, const struct soom_plan *p, unsigned embeds, bool write)
{
    if (embeds == 0)
        return;
    char *inner = soom_arena_strndup(s->arena, s->sql->data ? s->sql->data : "", s->sql->len);
    soom_buf_clear(s->sql);
    if (write)
        plan_embed_with(p, embeds, inner, s->sql);
    else
        plan_embed_select(p, embeds, inner, NULL, s->sql);
}
