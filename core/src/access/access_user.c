/*
 * Users as the classes find them (see access_impl.h): the user table's
 * quoted names and the SELECT list every lookup shares, a result row into
 * the request's user, users to and from the cache's bytes, and the one
 * function through which every lookup of this module reaches PostgreSQL
 * (the request's pooled connection, errors answered as the plans answer
 * them).
 *
 * The row's fields reach Lua as PostgreSQL writes them with to_jsonb(),
 * minus the password column: no user document ever holds a hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "soom/response.h"

char *access_ident(const char *name)
{
    if (name == NULL)
        return NULL;
    size_t n = strlen(name);
    if (n == 0 || n > 63 || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return NULL;
    }
    char *q = xmalloc(n + 3);
    q[0] = '"';
    memcpy(q + 1, name, n);
    q[n + 1] = '"';
    q[n + 2] = '\0';
    return q;
}

char *access_table(const char *name)
{
    const char *dot = name ? strchr(name, '.') : NULL;
    if (dot == NULL)
        return access_ident(name);
    char schema[64];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof schema)
        return NULL;
    memcpy(schema, name, n);
    schema[n] = '\0';
    char *a = access_ident(schema), *b = access_ident(dot + 1);
    char *q = NULL;
    if (a != NULL && b != NULL) {
        q = xmalloc(strlen(a) + strlen(b) + 2);
        sprintf(q, "%s.%s", a, b);
    }
    free(a);
    free(b);
    return q;
}

/* Quotes `name` into *out; false (with the message) when it is not a plain
 * identifier. A NULL name is allowed when `optional`. */
static bool ident_into(char **out, const char *name, bool optional, const char *what,
                       const char *owner, char *err, size_t errlen)
{
    *out = access_ident(name);
    if (*out != NULL || (name == NULL && optional))
        return true;
    snprintf(err, errlen, "%s: %s must be a table or column name ([a-z_][a-z0-9_]*), not \"%s\"",
             owner, what, name ? name : "");
    return false;
}

int access_user_init(struct access_user *u, const struct access_user_spec *s, const char *owner,
                     char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->table = access_table(s->table);
    if (u->table == NULL) {
        snprintf(err, errlen, "%s: the user table must be a table name, not \"%s\"", owner,
                 s->table ? s->table : "");
        return SOOM_ECONFIG;
    }
    if (!ident_into(&u->id, s->id, false, "the user id column", owner, err, errlen) ||
        !ident_into(&u->username, s->username, true, "the username column", owner, err, errlen) ||
        !ident_into(&u->password, s->password, true, "the password column", owner, err, errlen) ||
        !ident_into(&u->is_active, s->is_active, true, "is_active", owner, err, errlen) ||
        !ident_into(&u->is_staff, s->is_staff, true, "is_staff", owner, err, errlen) ||
        !ident_into(&u->is_superuser, s->is_superuser, true, "is_superuser", owner, err, errlen))
        return SOOM_ECONFIG;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, "u.%s::text, ", u->id);
    if (u->is_active)
        soom_buf_printf(&b, "u.%s, ", u->is_active);
    else
        soom_buf_puts(&b, "true, ");
    if (u->is_staff)
        soom_buf_printf(&b, "u.%s, ", u->is_staff);
    else
        soom_buf_puts(&b, "false, ");
    if (u->is_superuser)
        soom_buf_printf(&b, "u.%s, ", u->is_superuser);
    else
        soom_buf_puts(&b, "false, ");
    if (s->password != NULL)
        soom_buf_printf(&b, "(to_jsonb(u) - '%s')::text", s->password);
    else
        soom_buf_puts(&b, "to_jsonb(u)::text");
    u->select = soom_buf_detach(&b, NULL);
    if (s->password != NULL)
        u->password_literal = xstrdup(s->password);
    return SOOM_OK;
}

void access_user_cleanup(struct access_user *u)
{
    free(u->table);
    free(u->id);
    free(u->username);
    free(u->password);
    free(u->is_active);
    free(u->is_staff);
    free(u->is_superuser);
    free(u->password_literal);
    free(u->select);
    memset(u, 0, sizeof *u);
}

static bool is_integer_text(const char *p, size_t n)
{
    size_t i = n > 0 && p[0] == '-' ? 1 : 0;
    if (i == n || n - i > 16)
        return false;
    for (; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static bool truth(const struct soom_pg_result *res, int col)
{
    const char *v = soom_pg_result_value(res, 0, col, NULL);
    return v != NULL && v[0] == 't';
}

static const char *copy_col(struct soom_request *r, const struct soom_pg_result *res, int col,
                            size_t *n)
{
    size_t len = 0;
    const char *v =
        soom_pg_result_isnull(res, 0, col) ? NULL : soom_pg_result_value(res, 0, col, &len);
    *n = len;
    return v ? soom_arena_strndup(r->arena, v, len) : NULL;
}

const struct soom_request_user *access_user_from_row(struct soom_request *r,
                                                     const struct soom_pg_result *res, int auth_col,
                                                     bool *active)
{
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    u->id = copy_col(r, res, 0, &u->id_len);
    if (u->id == NULL)
        u->id = "", u->id_len = 0;
    u->id_is_int = is_integer_text(u->id, u->id_len);
    *active = truth(res, 1);
    u->is_staff = truth(res, 2);
    u->is_superuser = truth(res, 3);
    u->doc = copy_col(r, res, 4, &u->doc_len);
    if (u->doc == NULL)
        u->doc = "{}", u->doc_len = 2;
    if (auth_col >= 0)
        u->auth = copy_col(r, res, auth_col, &u->auth_len);
    return u;
}

const struct soom_request_user *access_user_of_id(struct soom_request *r, const char *id, size_t n,
                                                  bool is_int)
{
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    u->id = soom_arena_strndup(r->arena, id, n);
    u->id_len = n;
    u->id_is_int = is_int;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_puts(&b, "{\"id\":");
    if (is_int)
        soom_buf_append(&b, id, n);
    else
        soom_json_write_string(&b, id, n);
    soom_buf_putc(&b, '}');
    u->doc = soom_arena_strndup(r->arena, b.data, b.len);
    u->doc_len = b.len;
    soom_buf_cleanup(&b);
    return u;
}

/* ---- the cache's bytes: flags, then three length-prefixed strings -------------- */

static void put_part(struct soom_buf *b, const char *p, size_t n, bool present)
{
    uint32_t len = present ? (uint32_t)n : UINT32_MAX;
    soom_buf_append(b, (const char *)&len, sizeof len);
    if (present)
        soom_buf_append(b, p, n);
}

void access_user_serialize(const struct soom_request_user *u, struct soom_buf *out)
{
    char flags = (char)((u->id_is_int ? 1 : 0) | (u->is_staff ? 2 : 0) | (u->is_superuser ? 4 : 0));
    soom_buf_putc(out, flags);
    put_part(out, u->id, u->id_len, true);
    put_part(out, u->doc, u->doc_len, true);
    put_part(out, u->auth, u->auth_len, u->auth != NULL);
}

static const char *take_part(struct soom_request *r, const char **p, const char *end, size_t *n)
{
    uint32_t len;
    if ((size_t)(end - *p) < sizeof len)
        return NULL;
    memcpy(&len, *p, sizeof len);
    *p += sizeof len;
    if (len == UINT32_MAX || (size_t)(end - *p) < len) {
        *n = 0;
        return NULL;
    }
    const char *v = soom_arena_strndup(r->arena, *p, len);
    *p += len;
    *n = len;
    return v;
}

const struct soom_request_user *access_user_deserialize(struct soom_request *r, const char *p,
                                                        size_t n)
{
    const char *end = p + n;
    if (n < 1)
        return NULL;
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    u->id_is_int = (p[0] & 1) != 0;
    u->is_staff = (p[0] & 2) != 0;
    u->is_superuser = (p[0] & 4) != 0;
    p++;
    u->id = take_part(r, &p, end, &u->id_len);
    u->doc = take_part(r, &p, end, &u->doc_len);
    u->auth = take_part(r, &p, end, &u->auth_len);
    return u->id != NULL && u->doc != NULL ? u : NULL;
}

/* ---- statements ------------------------------------------------------------------ */

int access_login_lookup(struct soom_request *r, const char *sql, const char *username,
                        struct access_login *out)
{
    memset(out, 0, sizeof *out);
    struct soom_pg_result *row;
    int rc = access_query(r, sql, 1, &username, &row, ACCESS_Q_BAD_VALUE_MISSES);
    if (rc == SOOM_ENOTFOUND || (rc == SOOM_OK && soom_pg_result_rows(row) == 0))
        return SOOM_OK;
    if (rc != SOOM_OK)
        return rc;
    out->user = access_user_from_row(r, row, -1, &out->active);
    if (!soom_pg_result_isnull(row, 0, ACCESS_USER_COLUMNS))
        out->hash = soom_pg_result_value(row, 0, ACCESS_USER_COLUMNS, &out->hash_len);
    return SOOM_OK;
}

int access_query(struct soom_request *r, const char *sql, int n, const char *const *values,
                 struct soom_pg_result **out, unsigned flags)
{
    struct soom_pg_conn *c = NULL;
    int rc = soom_request_pg(r, &c);
    if (rc == SOOM_ECONFIG) {
        soom_log_msg(SOOM_LOG_ERROR, "authentication needs a database: set database_url");
        if (flags & ACCESS_Q_QUIET)
            return rc;
        soom_response_problem(r, 500, "the server has no database configured", NULL);
        return rc;
    }
    if (rc == SOOM_OK)
        rc = soom_pg_exec(c, sql, n, values, NULL, NULL, out);
    if (rc == SOOM_OK) {
        soom_pg_result_defer(r->arena, *out);
        return SOOM_OK;
    }
    const struct soom_pg_error *e = c ? soom_pg_conn_error(c) : NULL;
    if (rc == SOOM_EINVALID && (flags & ACCESS_Q_BAD_VALUE_MISSES) && e != NULL &&
        strncmp(e->sqlstate, "22", 2) == 0)
        return SOOM_ENOTFOUND;
    soom_pg_error_log(e, rc, sql, r->request_id);
    if (flags & ACCESS_Q_QUIET)
        return rc;
    if (rc == SOOM_EUNAVAIL) {
        soom_response_header(r, "Retry-After", "1");
        soom_response_problem(r, 503, "the database is unavailable; try again later", NULL);
    } else {
        /* a lookup's own statement failed (a table or column that does not
         * exist): the operator's problem, never the client's */
        soom_response_problem(r, 500, "the server hit an error; the request id is in the log",
                              NULL);
    }
    return rc;
}
