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
 * Each action is one statement, atomic by itself; a request never sees a
 * half-done write. Database errors become problems (409 for a unique or
 * foreign-key violation, 422 for bad data, 503 with Retry-After when the
 * database is unavailable, 500 otherwise with the details logged only).
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

/* ---- statements ------------------------------------------------------------ */

static void buf_free(void *b)
{
    soom_buf_cleanup(b);
}

void plan_stmt_init(struct plan_stmt *s, struct soom_arena *a)
{
    memset(s, 0, sizeof *s);
    s->arena = a;
    s->sql = soom_arena_alloc(a, sizeof *s->sql);
    soom_buf_init(s->sql);
    soom_arena_defer(a, buf_free, s->sql);
}

int plan_stmt_param(struct plan_stmt *s, const char *v, size_t len, bool binary)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **values = soom_arena_alloc(s->arena, cap * sizeof(char *));
        size_t *lens = soom_arena_alloc(s->arena, cap * sizeof(size_t));
        bool *bin = soom_arena_alloc(s->arena, cap * sizeof(bool));
        if (s->n > 0) {
            memcpy(values, s->values, s->n * sizeof(char *));
            memcpy(lens, s->lens, s->n * sizeof(size_t));
            memcpy(bin, s->binary, s->n * sizeof(bool));
        }
        s->values = values, s->lens = lens, s->binary = bin, s->cap = cap;
    }
    s->values[s->n] = v ? soom_arena_strndup(s->arena, v, len) : NULL;
    s->lens[s->n] = len;
    s->binary[s->n] = binary;
    return (int)++s->n;
}

void plan_stmt_conditions(struct plan_stmt *s, const struct plan_extra *extra, bool *first)
{
    for (size_t i = 0; extra != NULL && i < extra->nconditions; i++) {
        const struct plan_condition *c = &extra->conditions[i];
        int base = (int)s->n;
        for (size_t k = 0; k < c->nparams; k++) {
            const char *v = c->params[k];
            plan_stmt_param(s, v, v ? strlen(v) : 0, false);
        }
        soom_buf_puts(s->sql, *first ? "(" : " AND (");
        *first = false;
        /* renumber $n by the parameters already in the statement */
        for (const char *t = c->sql; *t;) {
            if (*t == '$' && t[1] >= '0' && t[1] <= '9') {
                char *end;
                long n = strtol(t + 1, &end, 10);
                soom_buf_printf(s->sql, "$%ld", n + base);
                t = end;
            } else {
                soom_buf_putc(s->sql, *t++);
            }
        }
        soom_buf_putc(s->sql, ')');
    }
}

/* ---- errors -------------------------------------------------------------------- */

static void answer_db_error(struct soom_request *r, struct soom_pg_conn *c, int code,
                            const char *sql, bool bad_input_400)
{
    const struct soom_pg_error *e = c ? soom_pg_conn_error(c) : NULL;
    soom_pg_error_log(e, code, sql, r->request_id);
    struct soom_pg_problem pb;
    soom_pg_error_problem(e, code, &pb);
    if (pb.status == 503)
        soom_response_header(r, "Retry-After", "1");
    if (pb.status == 422 && bad_input_400) {
        soom_response_problem(r, 400, "a query parameter has a value of the wrong type", NULL);
        return;
    }
    if (pb.pointer[0] != '\0' && pb.code != NULL) {
        struct soom_buf errs;
        soom_buf_init(&errs);
        soom_buf_puts(&errs, "[{\"pointer\":");
        soom_json_write_string(&errs, pb.pointer, strlen(pb.pointer));
        soom_buf_puts(&errs, ",\"detail\":");
        soom_json_write_string(&errs, pb.detail, strlen(pb.detail));
        soom_buf_puts(&errs, ",\"code\":");
        soom_json_write_string(&errs, pb.code, strlen(pb.code));
        soom_buf_puts(&errs, ",\"source\":\"body\"}]");
        soom_response_problem(r, pb.status, pb.detail, errs.data);
        soom_buf_cleanup(&errs);
        return;
    }
    soom_response_problem(r, pb.status, pb.detail, NULL);
}

int plan_stmt_exec(struct soom_request *r, struct plan_stmt *s, struct soom_pg_result **out,
                   bool bad_input_400)
{
    struct soom_pg_conn *c = NULL;
    int rc = soom_request_pg(r, &c);
    if (rc == SOOM_ECONFIG) {
        soom_log_msg(SOOM_LOG_ERROR, "a generic resource needs a database: set database_url");
        soom_response_problem(r, 500, "the server has no database configured", NULL);
        return rc;
    }
    if (rc != SOOM_OK) {
        answer_db_error(r, NULL, rc, s->sql->data, false);
        return rc;
    }
    rc = soom_pg_exec(c, s->sql->data, (int)s->n, s->values, s->lens, s->binary, out);
    if (rc != SOOM_OK) {
        answer_db_error(r, c, rc, s->sql->data, bad_input_400);
        return rc;
    }
    soom_pg_result_defer(r->arena, *out);
    return SOOM_OK;
}

/* ---- responses -------------------------------------------------------------------- */

static void respond_row(struct soom_request *r, const struct soom_plan *p,
                        const struct soom_pg_result *res, int status)
{
    struct soom_buf *b = soom_response_buffer();
    soom_pg_json_row(res, 0, p->shape, soom_pg_json_flags(r->config), b);
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
    soom_buf_printf(s->sql, " WHERE %s = $%d", p->columns[p->lookup].quoted, param);
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
        if (plan_stmt_exec(r, &cs, &cres, true) != SOOM_OK)
            return;
        count = p->count == PLAN_COUNT_PLANNED
                    ? planned_rows(cres)
                    : strtoll(soom_pg_result_value(cres, 0, 0, NULL), NULL, 10);
    }
    struct soom_pg_result *res;
    if (plan_stmt_exec(r, &q.stmt, &res, true) != SOOM_OK)
        return;
    struct soom_buf *b = soom_response_buffer();
    plan_page_write(r, p, &q, res, count, b);
    r->status = 200;
    soom_response_take(r, b, "application/json");
}

/* Runs a statement that yields the designated row: 404 without one, else
 * 200 with it. */
static void respond_found(struct soom_request *r, const struct soom_plan *p, struct plan_stmt *s)
{
    struct soom_pg_result *res;
    if (plan_stmt_exec(r, s, &res, false) != SOOM_OK)
        return;
    if (soom_pg_result_rows(res) == 0)
        return not_found(r);
    respond_row(r, p, res, 200);
}

static void run_retrieve(struct soom_request *r, const struct soom_plan *p,
                         const struct plan_extra *extra)
{
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    soom_buf_printf(s.sql, "SELECT %s FROM %s", p->returning, p->table_quoted);
    if (!where_lookup(r, p, extra, &s))
        return;
    soom_buf_puts(s.sql, " LIMIT 1");
    respond_found(r, p, &s);
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

static void run_create(struct soom_request *r, const struct soom_plan *p)
{
    if (!body_object(r))
        return;
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    struct soom_buf cols, vals;
    soom_buf_init(&cols);
    soom_buf_init(&vals);
    int n = plan_write_values(r, p, r->json, &s, false, &cols, &vals);
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
    struct soom_pg_result *res;
    if (n < 0 || plan_stmt_exec(r, &s, &res, false) != SOOM_OK)
        return;
    set_location(r, p, res);
    respond_row(r, p, res, 201);
}

static void run_update(struct soom_request *r, const struct soom_plan *p,
                       const struct plan_extra *extra)
{
    if (!body_object(r))
        return;
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    struct soom_buf sets;
    soom_buf_init(&sets);
    int n = plan_write_values(r, p, r->json, &s, true, &sets, NULL);
    if (n > 0)
        soom_buf_printf(s.sql, "UPDATE %s SET %s", p->table_quoted, sets.data);
    else if (n == 0)
        soom_buf_printf(s.sql, "SELECT %s FROM %s", p->returning, p->table_quoted);
    soom_buf_cleanup(&sets);
    if (n < 0 || !where_lookup(r, p, extra, &s))
        return;
    if (n > 0)
        soom_buf_printf(s.sql, " RETURNING %s", p->returning);
    respond_found(r, p, &s);
}

static void run_destroy(struct soom_request *r, const struct soom_plan *p,
                        const struct plan_extra *extra)
{
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
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

void soom_plan_run(struct soom_request *r, const struct soom_plan *p, unsigned action,
                   const struct plan_extra *extra)
{
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
