/*
 * Running a plan's actions on the request's pooled connection, and the C
 * fast path that answers a request from route to response without Lua.
 *
 *   list      SELECT ... WHERE <filters> ORDER BY ... LIMIT   -> 200 [rows] or a page
 *   retrieve  SELECT ... WHERE <lookup> = $1                  -> 200 row | 404
 *   create    INSERT ... RETURNING ...                        -> 201 row + Location
 *   update    UPDATE ... SET ... WHERE <lookup> RETURNING ... -> 200 row | 404
 *   destroy   DELETE ... WHERE <lookup>                       -> 204 | 404
 *
 * Each action is one statement (built and run by plan_stmt.c), atomic by
 * itself; a request never sees a half-done write. A write is never sent
 * twice: a session lost while it ran is a commit-unknown answer, which a
 * client retries safely only with an Idempotency-Key (pipeline_idem.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "soom/response.h"

/* ---- responses -------------------------------------------------------------------- */

static void respond_row(struct soom_request *r, const struct plan_output *out,
                        const struct soom_pg_result *res, int status)
{
    struct soom_buf *b = soom_response_buffer();
    soom_pg_json_row(res, 0, out->shape, soom_pg_json_flags(r->config), b);
    r->status = status;
    soom_response_take(r, b, "application/json");
}

static void not_found(struct soom_request *r)
{
    soom_response_problem(r, 404, "no such object", NULL);
}

/* The lookup value from the route; false (and a 404) when it cannot be one
 * of the lookup column's values. */
static bool lookup_value(struct soom_request *r, const struct soom_plan *p, struct plan_stmt *s,
                         int *param)
{
    size_t n;
    const char *v = soom_request_param(r, p->lookup_param, strlen(p->lookup_param), &n);
    if (v == NULL) {
        not_found(r);
        return false;
    }
    if (p->columns[p->lookup].kind == PLAN_KIND_INT) {
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9' || n > 18) {
                not_found(r);
                return false;
            }
        }
    }
    *param = plan_stmt_param(s, v, n, false);
    return true;
}

/* " WHERE <lookup> = $n [AND extra...]" */
static bool where_lookup(struct soom_request *r, const struct soom_plan *p,
                         const struct plan_extra *extra, struct plan_stmt *s)
{
    int param;
    if (!lookup_value(r, p, s, &param))
        return false;
    /* pieces, not a format: this runs on every request by key */
    soom_buf_puts(s->sql, " WHERE ");
    soom_buf_puts(s->sql, p->columns[p->lookup].quoted);
    soom_buf_puts(s->sql, " = $");
    soom_json_write_int(s->sql, param);
    bool first = false;
    plan_stmt_conditions(s, extra, &first);
    return true;
}

/* ---- actions ------------------------------------------------------------------------ */

static long long planned_rows(const struct soom_pg_result *res)
{
    const char *plan = soom_pg_result_value(res, 0, 0, NULL);
    const char *at = plan ? strstr(plan, "\"Plan Rows\":") : NULL;
    return at ? strtoll(at + 12, NULL, 10) : -1;
}

static void run_list(struct soom_request *r, const struct soom_plan *p,
                     const struct plan_extra *extra)
{
    struct plan_list_query q;
    if (!plan_list_parse(r, p, extra, &q))
        return;
    plan_list_sql(p, &q);
    long long count = -1;
    if (p->page == PLAN_PAGE_OFFSET && p->count != PLAN_COUNT_NONE) {
        struct plan_stmt cs;
        struct soom_pg_result *cres;
        plan_count_sql(r, p, &q, &cs);
        cs.read = true;
        if (plan_stmt_exec(r, &cs, &cres, true) != SOOM_OK)
            return;
        count = p->count == PLAN_COUNT_PLANNED
                    ? planned_rows(cres)
                    : strtoll(soom_pg_result_value(cres, 0, 0, NULL), NULL, 10);
    }
    struct soom_pg_result *res;
    q.stmt.read = true;
    if (plan_stmt_exec(r, &q.stmt, &res, true) != SOOM_OK)
        return;
    struct soom_buf *b = soom_response_buffer();
    plan_page_write(r, p, &q, res, count, b);
    r->status = 200;
    soom_response_take(r, b, "application/json");
}

/* Runs a statement that yields the designated row: 404 without one, else
 * 200 with it. */
static void respond_found(struct soom_request *r, const struct plan_output *out,
                          struct plan_stmt *s)
{
    struct soom_pg_result *res;
    if (plan_stmt_exec(r, s, &res, false) != SOOM_OK)
        return;
    if (soom_pg_result_rows(res) == 0)
        return not_found(r);
    respond_row(r, out, res, 200);
}

static void run_retrieve(struct soom_request *r, const struct soom_plan *p,
                         const struct plan_extra *extra)
{
    struct plan_output out;
    if (!plan_output_parse(r, p, NULL, &out))
        return;
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    soom_buf_puts(s.sql, "SELECT ");
    soom_buf_puts(s.sql, p->returning);
    soom_buf_puts(s.sql, " FROM ");
    soom_buf_puts(s.sql, p->table_quoted);
    if (!where_lookup(r, p, extra, &s))
        return;
    bool for_update = extra != NULL && extra->for_update;
    soom_buf_puts(s.sql, for_update ? " LIMIT 1 FOR UPDATE" : " LIMIT 1");
    s.read = !for_update;
    plan_embed_wrap(&s, p, out.embeds, false);
    respond_found(r, &out, &s);
}

/* Location of a created object: the collection's path and its key. */
static void set_location(struct soom_request *r, const struct soom_plan *p,
                         const struct soom_pg_result *res)
{
    int col = soom_pg_result_column(res, p->columns[p->pk].name);
    if (col < 0)
        return;
    const char *key = soom_pg_result_value(res, 0, col, NULL);
    size_t n = r->path_len;
    while (n > 1 && r->path[n - 1] == '/')
        n--;
    char *loc = soom_arena_printf(r->arena, "%.*s/%s", (int)n, r->path, key);
    soom_response_header(r, "Location", loc);
}

static bool body_object(struct soom_request *r)
{
    if (r->json == NULL) {
        soom_response_problem(r, 400, "a JSON object body is required", NULL);
        return false;
    }
    return true;
}

/* The owner column set to the request's user, after the body's values. */
static int owner_value(struct soom_request *r, const struct soom_plan *p, struct plan_stmt *s,
                       int n, struct soom_buf *cols, struct soom_buf *vals)
{
    if (n < 0 || p->owner < 0)
        return n;
    int param = plan_stmt_param(s, r->user->id, r->user->id_len, false);
    soom_buf_printf(cols, "%s%s", n ? ", " : "", p->columns[p->owner].quoted);
    soom_buf_printf(vals, "%s$%d", n ? ", " : "", param);
    return n + 1;
}

static void run_create(struct soom_request *r, const struct soom_plan *p)
{
    struct plan_output out;
    if (!body_object(r) || !plan_output_parse(r, p, NULL, &out))
        return;
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    s.plan = p;
    s.write = true;
    struct soom_buf cols, vals;
    soom_buf_init(&cols);
    soom_buf_init(&vals);
    int n = owner_value(r, p, &s, plan_write_values(r, p, r->json, &s, false, &cols, &vals), &cols,
                        &vals);
    if (n >= 0) {
        if (n == 0)
            soom_buf_printf(s.sql, "INSERT INTO %s DEFAULT VALUES RETURNING %s", p->table_quoted,
                            p->returning);
        else
            soom_buf_printf(s.sql, "INSERT INTO %s (%s) VALUES (%s) RETURNING %s", p->table_quoted,
                            cols.data, vals.data, p->returning);
    }
    soom_buf_cleanup(&cols);
    soom_buf_cleanup(&vals);
    if (n >= 0)
        plan_embed_wrap(&s, p, out.embeds, true);
    struct soom_pg_result *res;
    if (n < 0 || plan_stmt_exec(r, &s, &res, false) != SOOM_OK)
        return;
    set_location(r, p, res);
    respond_row(r, &out, res, 201);
}

static void run_update(struct soom_request *r, const struct soom_plan *p,
                       const struct plan_extra *extra)
{
    struct plan_output out;
    if (!body_object(r) || !plan_output_parse(r, p, NULL, &out))
        return;
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    s.plan = p;
    struct soom_buf sets;
    soom_buf_init(&sets);
    int n = plan_write_values(r, p, r->json, &s, true, &sets, NULL);
    s.write = n > 0;
    if (n > 0)
        soom_buf_printf(s.sql, "UPDATE %s SET %s", p->table_quoted, sets.data);
    else if (n == 0)
        soom_buf_printf(s.sql, "SELECT %s FROM %s", p->returning, p->table_quoted);
    soom_buf_cleanup(&sets);
    if (n < 0 || !where_lookup(r, p, extra, &s))
        return;
    if (n > 0)
        soom_buf_printf(s.sql, " RETURNING %s", p->returning);
    plan_embed_wrap(&s, p, out.embeds, n > 0);
    respond_found(r, &out, &s);
}

static void run_destroy(struct soom_request *r, const struct soom_plan *p,
                        const struct plan_extra *extra)
{
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    s.write = true;
    soom_buf_printf(s.sql, "DELETE FROM %s", p->table_quoted);
    if (!where_lookup(r, p, extra, &s))
        return;
    struct soom_pg_result *res;
    if (plan_stmt_exec(r, &s, &res, false) != SOOM_OK)
        return;
    if (soom_pg_result_affected(res) == 0)
        return not_found(r);
    r->status = 204;
    r->responded = true;
}

/* The conditions of `extra` and the owner's: the request's user. */
static const struct plan_extra *owned(struct soom_request *r, const struct soom_plan *p,
                                      const struct plan_extra *extra, struct plan_extra *out)
{
    if (p->owner < 0)
        return extra;
    size_t n = extra ? extra->nconditions : 0;
    struct plan_condition *c = soom_arena_calloc(r->arena, (n + 1) * sizeof *c);
    if (n > 0)
        memcpy(c, extra->conditions, n * sizeof *c);
    const char **param = soom_arena_alloc(r->arena, sizeof *param);
    *param = soom_arena_strndup(r->arena, r->user->id, r->user->id_len);
    c[n].sql = soom_arena_printf(r->arena, "%s = $1", p->columns[p->owner].quoted);
    c[n].nparams = 1;
    c[n].params = param;
    *out = (struct plan_extra){c, n + 1, extra ? extra->for_update : false};
    return out;
}

void soom_plan_run(struct soom_request *r, const struct soom_plan *p, unsigned action,
                   const struct plan_extra *extra)
{
    struct plan_extra mine;
    if (p->owner >= 0 && r->user == NULL) {
        /* the access chain refuses anonymous requests first; a handler
         * that runs an action by hand without a user sees nothing */
        soom_response_problem(r, 403, "You do not have permission to perform this action.", NULL);
        r->responded = true;
        return;
    }
    extra = owned(r, p, extra, &mine);
    switch (action) {
    case PLAN_LIST: run_list(r, p, extra); break;
    case PLAN_RETRIEVE: run_retrieve(r, p, extra); break;
    case PLAN_CREATE: run_create(r, p); break;
    case PLAN_UPDATE: run_update(r, p, extra); break;
    case PLAN_DESTROY: run_destroy(r, p, extra); break;
    default: soom_response_problem(r, 405, "this method is not allowed here", NULL);
    }
    r->responded = true;
}

void soom_plan_respond(struct soom_request *r, const struct soom_plan *p)
{
    soom_plan_run(r, p, soom_plan_action(p, r->method), NULL);
}
