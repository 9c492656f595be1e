/*
 * Statements under construction for the plans (see plan_internal.h): SQL
 * text and numbered parameters in the request's arena, conditions written
 * by apps renumbered into them, and running one on the request's pooled
 * connection with database errors answered as problems (409 for a unique
 * or foreign-key violation, 422 for bad data, 503 with Retry-After when the
 * database is unavailable, a commit-unknown 500 without it when a write's
 * session was lost while it ran, 500 otherwise with the details logged
 * only). Writes are never sent twice.
 * The leaf the other plan_*.c files build on.
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

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || (unsigned char)c >= 0x80;
}

/* The end of a '...' literal (E'...' with backslash escapes) or a "..."
 * identifier opening at `t`; a doubled quote stays inside. */
static const char *quote_end(const char *t, bool escapes)
{
    char q = *t++;
    for (; *t; t++) {
        if (escapes && *t == '\\' && t[1] != '\0')
            t++;
        else if (*t == q && t[1] == q)
            t++;
        else if (*t == q)
            return t + 1;
    }
    return t;
}

/* The end of a $tag$...$tag$ string opening at `t`, or NULL when `t`
 * opens none ($1 is a parameter, not a tag). */
static const char *dollar_end(const char *t)
{
    const char *p = t + 1;
    if (*p >= '0' && *p <= '9')
        return NULL;
    while (*p != '\0' && *p != '$' && ident_char(*p))
        p++;
    if (*p != '$')
        return NULL;
    size_t tag = (size_t)(p - t) + 1;
    for (const char *e = p + 1; *e; e++) {
        if (strncmp(e, t, tag) == 0)
            return e + tag;
    }
    return t + strlen(t);
}

/* The end of the quoted text opening at `t` in `sql`, NULL when there is
 * none: what is inside is copied as it is, never renumbered. */
static const char *quoted_end(const char *sql, const char *t)
{
    bool after_ident = t > sql && ident_char(t[-1]);
    if (*t == '\'') {
        bool e =
            after_ident && (t[-1] == 'E' || t[-1] == 'e') && (t - 1 == sql || !ident_char(t[-2]));
        return quote_end(t, e);
    }
    if (*t == '"')
        return quote_end(t, false);
    if (*t == '$' && !after_ident)
        return dollar_end(t);
    return NULL;
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
        /* renumber $n by the parameters already in the statement, leaving
         * literals, quoted identifiers and dollar-quoted text alone */
        for (const char *t = c->sql; *t;) {
            const char *end = quoted_end(c->sql, t);
            if (end != NULL) {
                soom_buf_append(s->sql, t, (size_t)(end - t));
                t = end;
            } else if (*t == '$' && t[1] >= '0' && t[1] <= '9' &&
                       (t == c->sql || !ident_char(t[-1]))) {
                char *digits_end;
                long n = strtol(t + 1, &digits_end, 10);
                soom_buf_printf(s->sql, "$%ld", n + base);
                t = digits_end;
            } else {
                soom_buf_putc(s->sql, *t++);
            }
        }
        soom_buf_putc(s->sql, ')');
    }
}

/* ---- errors -------------------------------------------------------------------- */

/* "/name" as a JSON pointer (~ and / escaped) into `out`. */
static void pointer_to(char *out, size_t size, const char *name)
{
    size_t o = 0;
    out[o++] = '/';
    for (; *name != '\0' && o + 3 < size; name++) {
        if (*name == '~' || *name == '/') {
            out[o++] = '~';
            out[o++] = *name == '~' ? '0' : '1';
        } else {
            out[o++] = *name;
        }
    }
    out[o] = '\0';
}

/* A write's error names the serializer's field, not the column it writes
 * ("/category" for category_id, "/title" for name), in its pointer and in
 * a conflict's detail, the one detail that names the column. */
static const struct plan_field *pointer_field(const struct soom_plan *p, const char *ptr)
{
    for (size_t i = 0; p != NULL && ptr[0] == '/' && i < p->nfields; i++) {
        const struct plan_field *f = &p->fields[i];
        if (f->read_only || f->column < 0 || strcmp(p->columns[f->column].name, ptr + 1))
            continue;
        return f;
    }
    return NULL;
}

static void field_pointer(const struct soom_plan *p, struct soom_pg_problem *pb)
{
    const struct plan_field *f = pointer_field(p, pb->pointer);
    if (f != NULL) {
        if (pb->code != NULL && strcmp(pb->code, "unique") == 0 &&
            strcmp(f->name, pb->pointer + 1) != 0) {
            snprintf(pb->text, sizeof pb->text, "a row with the same %s already exists", f->name);
            pb->detail = pb->text;
        }
        pointer_to(pb->pointer, sizeof pb->pointer, f->name);
    }
    for (int i = 0; i < pb->nalso; i++) {
        f = pointer_field(p, pb->also[i]);
        if (f != NULL)
            pointer_to(pb->also[i], sizeof pb->also[i], f->name);
    }
}

static void answer_db_error(struct soom_request *r, struct soom_pg_conn *c, int code,
                            const struct plan_stmt *s, bool bad_input_400)
{
    const struct soom_pg_error *e = c ? soom_pg_conn_error(c) : NULL;
    soom_pg_error_log(e, code, s->sql->data, r->request_id);
    struct soom_pg_problem pb;
    soom_pg_error_problem(e, code, &pb);
    field_pointer(s->plan, &pb);
    if (pb.status == 503)
        soom_response_header(r, "Retry-After", "1");
    if (code == SOOM_EUNKNOWN) {
        /* no Retry-After: a plain retry could make the write twice */
        soom_response_problem_type(r, pb.status, SOOM_PG_TYPE_COMMIT_UNKNOWN, pb.detail, NULL);
        return;
    }
    if (pb.status == 422 && bad_input_400) {
        soom_response_problem(r, 400, "a query parameter has a value of the wrong type", NULL);
        return;
    }
    if (pb.pointer[0] != '\0' && pb.code != NULL) {
        struct soom_buf errs;
        soom_buf_init(&errs);
        soom_buf_putc(&errs, '[');
        soom_json_write_field_error(&errs, pb.pointer, pb.detail, pb.code, "body");
        for (int i = 0; i < pb.nalso; i++) {
            soom_buf_putc(&errs, ',');
            soom_json_write_field_error(&errs, pb.also[i], pb.detail, pb.code, "body");
        }
        soom_buf_putc(&errs, ']');
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
    int rc;
    if (s->read) {
        rc = soom_request_pg_read_exec(r, s->sql->data, (int)s->n, s->values, s->lens, s->binary,
                                       out, &c);
    } else {
        rc = soom_request_pg(r, &c);
        if (rc == SOOM_OK) /* a write is never sent twice: its outcome may be unknown */
            rc = (s->write ? soom_pg_exec_once : soom_pg_exec)(c, s->sql->data, (int)s->n,
                                                               s->values, s->lens, s->binary, out);
    }
    if (rc == SOOM_ECONFIG) {
        soom_log_msg(SOOM_LOG_ERROR, "a generic resource needs a database: set database_url");
        soom_response_problem(r, 500, "the server has no database configured", NULL);
        return rc;
    }
    if (rc != SOOM_OK && c == NULL) {
        answer_db_error(r, NULL, rc, s, false);
        return rc;
    }
    if (rc != SOOM_OK) {
        answer_db_error(r, c, rc, s, bad_input_400);
        return rc;
    }
    soom_pg_result_defer(r->arena, *out);
    return SOOM_OK;
}
