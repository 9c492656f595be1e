/*
 * Statements, transactions, results and errors (see soom/pg.h).
 *
 * A statement runs as a cached named prepared statement (Parse once per
 * session, then Bind/Execute only) or, with pool.prepared off, as an
 * unnamed one (PQexecParams), which is what PgBouncer in transaction mode
 * needs. Results are PGresults: struct soom_pg_result is never defined,
 * the pointer is libpq's, so a result costs no allocation of ours.
 *
 * Retrying: a statement is sent again once, on a new session, only when
 * the session broke and no transaction was open before it (a terminated
 * backend, a restarted server), and when a cached statement went stale
 * (DEALLOCATE ALL by someone, a table whose columns changed). Inside a
 * transaction a broken session is an error until the holder rolls back,
 * so the rest of a transaction never runs on a new session by accident.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pg_impl.h"
#include "soom/error.h"
#include "soom/log.h"

/* Past this many distinct statements a session runs the rest unnamed:
 * SQL built at run time (IN lists of every length) must not grow the
 * cache without bound. */
#define STMT_CACHE_MAX 1024
#define MAX_PARAMS 65535
#define STACK_PARAMS 16

/* ---- errors -------------------------------------------------------------- */

void pg_conn_clear_error(struct soom_pg_conn *c)
{
    if (c->err_res != NULL)
        PQclear(c->err_res);
    c->err_res = NULL;
    c->failed = false;
}

void pg_conn_fail(struct soom_pg_conn *c, const char *sqlstate, const char *message)
{
    pg_conn_clear_error(c);
    c->failed = true;
    snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "%s", sqlstate);
    snprintf(c->err_text, sizeof c->err_text, "%s", message);
    c->err.message = c->err_text;
    c->err.detail = c->err.constraint = c->err.table = c->err.column = "";
}

static const char *field(const PGresult *res, int code)
{
    const char *v = res != NULL ? PQresultErrorField(res, code) : NULL;
    return v != NULL ? v : "";
}

/* Records the error of `res` (which the connection now owns). */
static void set_error(struct soom_pg_conn *c, PGresult *res)
{
    pg_conn_clear_error(c);
    c->failed = true;
    c->err_res = res;
    snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "%s", field(res, PG_DIAG_SQLSTATE));
    const char *msg = field(res, PG_DIAG_MESSAGE_PRIMARY);
    if (*msg == '\0') {
        /* no server message: libpq's own, which changes with the next call */
        snprintf(c->err_text, sizeof c->err_text, "%s",
                 res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
        size_t n = strlen(c->err_text);
        while (n > 0 && c->err_text[n - 1] == '\n')
            c->err_text[--n] = '\0';
        msg = c->err_text;
    }
    c->err.message = msg;
    c->err.detail = field(res, PG_DIAG_MESSAGE_DETAIL);
    c->err.constraint = field(res, PG_DIAG_CONSTRAINT_NAME);
    c->err.table = field(res, PG_DIAG_TABLE_NAME);
    c->err.column = field(res, PG_DIAG_COLUMN_NAME);
}

static bool conn_broken(const struct soom_pg_conn *c)
{
    return c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD;
}

static int error_code(const struct soom_pg_conn *c)
{
    return conn_broken(c) ? SOOM_EUNAVAIL : soom_pg_error_code(c->err.sqlstate);
}

const struct soom_pg_error *soom_pg_conn_error(const struct soom_pg_conn *c)
{
    return c->failed ? &c->err : NULL;
}

/* ---- the statement cache ------------------------------------------------- */

static uint32_t hash_sql(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static struct pg_stmt *stmt_slot(const struct soom_pg_conn *c, const char *sql, uint32_t h)
{
    size_t mask = c->capstmts - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct pg_stmt *s = &c->stmts[i];
        if (s->sql == NULL || (s->hash == h && strcmp(s->sql, sql) == 0))
            return s;
    }
}

static void stmt_grow(struct soom_pg_conn *c)
{
    struct pg_stmt *old = c->stmts;
    size_t oldcap = c->capstmts;
    c->capstmts = oldcap ? oldcap * 2 : 32;
    c->stmts = xcalloc(c->capstmts, sizeof *c->stmts);
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].sql != NULL)
            *stmt_slot(c, old[i].sql, old[i].hash) = old[i];
    }
    free(old);
}

void pg_stmt_cache_clear(struct soom_pg_conn *c)
{
    for (size_t i = 0; i < c->capstmts; i++) {
        free(c->stmts[i].sql);
        c->stmts[i].sql = NULL;
    }
    c->nstmts = 0;
}

/* Runs `sql` once, through the cache when prepared statements are on. */
static PGresult *run_prepared(struct soom_pg_conn *c, const char *sql, int n,
                              const char *const *values, const int *lengths, const int *formats)
{
    if (!c->set->prepared || (c->nstmts >= STMT_CACHE_MAX && c->capstmts > 0))
        return PQexecParams(c->pg, sql, n, NULL, values, lengths, formats, 0);
    if (c->nstmts * 2 >= c->capstmts)
        stmt_grow(c);
    uint32_t h = hash_sql(sql);
    struct pg_stmt *st = stmt_slot(c, sql, h);
    char name[24];
    if (st->sql == NULL) {
        unsigned id = c->next_stmt_id++;
        snprintf(name, sizeof name, "soom_%u", id);
        PGresult *res = PQprepare(c->pg, name, sql, n, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return res;
        PQclear(res);
        st->sql = xstrdup(sql);
        st->hash = h;
        st->id = id;
        c->nstmts++;
    }
    snprintf(name, sizeof name, "soom_%u", st->id);
    return PQexecPrepared(c->pg, name, n, values, lengths, formats, 0);
}

/* A cached statement the server no longer has or can no longer run. */
static bool stale_statement(const struct soom_pg_conn *c)
{
    return strcmp(c->err.sqlstate, "26000") == 0 ||
           (strcmp(c->err.sqlstate, "0A000") == 0 && strstr(c->err.message, "cached plan") != NULL);
}

/* ---- parameters ---------------------------------------------------------- */

struct params {
    const char **values;
    int *lengths;
    int *formats;
    const char *sv[STACK_PARAMS];
    int sl[STACK_PARAMS], sf[STACK_PARAMS];
    struct soom_buf copy; /* NUL-terminated copies of sized text values */
};

static void params_cleanup(struct params *pp)
{
    if (pp->values != pp->sv) {
        free(pp->values);
        free(pp->lengths);
        free(pp->formats);
    }
    soom_buf_cleanup(&pp->copy);
}

/* libpq reads text values up to their NUL, so sized ones are copied with
 * one (into a single buffer), and a NUL inside one is refused rather than
 * silently cutting the value short. */
static int params_prepare(struct params *pp, struct soom_pg_conn *c, int n,
                          const char *const *values, const size_t *lengths, const bool *binary)
{
    soom_buf_init(&pp->copy);
    pp->values = pp->sv;
    pp->lengths = pp->sl;
    pp->formats = pp->sf;
    if (n > STACK_PARAMS) {
        pp->values = xmalloc((size_t)n * sizeof *pp->values);
        pp->lengths = xmalloc((size_t)n * sizeof *pp->lengths);
        pp->formats = xmalloc((size_t)n * sizeof *pp->formats);
    }
    size_t *offsets = lengths != NULL ? xmalloc((size_t)n * sizeof *offsets) : NULL;
    int rc = SOOM_OK;
    for (int i = 0; i < n && rc == SOOM_OK; i++) {
        const char *v = values[i];
        size_t len = v == NULL ? 0 : lengths != NULL ? lengths[i] : strlen(v);
        bool bin = binary != NULL && binary[i];
        pp->values[i] = v;
        pp->lengths[i] = (int)len;
        pp->formats[i] = bin ? 1 : 0;
        if (len > INT_MAX) {
            pg_conn_fail(c, "54000", "a parameter is larger than 2 GB");
            rc = SOOM_EINVALID;
        } else if (v != NULL && !bin && lengths != NULL) {
            if (memchr(v, '\0', len) != NULL) {
                pg_conn_fail(c, "22021", "a text value contains a NUL character");
                rc = SOOM_EINVALID;
            }
            offsets[i] = pp->copy.len;
            soom_buf_append(&pp->copy, v, len);
            soom_buf_putc(&pp->copy, '\0');
        }
    }
    for (int i = 0; i < n && rc == SOOM_OK && offsets != NULL; i++) {
        if (values[i] != NULL && !pp->formats[i])
            pp->values[i] = pp->copy.data + offsets[i];
    }
    free(offsets);
    return rc;
}

/* ---- running ------------------------------------------------------------- */

static bool result_ok(ExecStatusType s)
{
    return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY;
}

/* Runs a statement (simple: the whole text with PQexec, for scripts and
 * transaction control), with the retries described at the top. */
static int run(struct soom_pg_conn *c, const char *sql, bool simple, int n, const struct params *pp,
               struct soom_pg_result **out)
{
    for (int attempt = 0;; attempt++) {
        if (c->tx_lost) {
            pg_conn_fail(c, "08006", "the connection was lost inside a transaction");
            return SOOM_EUNAVAIL;
        }
        /* Known broken before anything is sent: reconnecting is safe. */
        if (conn_broken(c) && pg_conn_reconnect(c) != SOOM_OK) {
            if (!c->failed)
                pg_conn_fail(c, "08006", "the database is unavailable");
            return SOOM_EUNAVAIL;
        }
        bool idle_before = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
        PGresult *res = simple ? PQexec(c->pg, sql)
                               : run_prepared(c, sql, n, pp->values, pp->lengths, pp->formats);
        ExecStatusType s = PQresultStatus(res);
        if (res != NULL && result_ok(s)) {
            pg_conn_clear_error(c);
            if (out != NULL)
                *out = (struct soom_pg_result *)res;
            else
                PQclear(res);
            return SOOM_OK;
        }
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) {
            /* the session is mid-COPY: not worth rescuing */
            PQclear(res);
            pg_conn_disconnect(c);
            pg_conn_fail(c, "0A000", "COPY is not supported here");
            return SOOM_EINTERNAL;
        }
        set_error(c, res);
        bool broken = conn_broken(c);
        if (broken && !idle_before)
            c->tx_lost = true;
        if (attempt > 0 || !idle_before)
            return error_code(c);
        if (broken)
            continue;
        if (stale_statement(c)) {
            PQclear(PQexec(c->pg, "DEALLOCATE ALL"));
            pg_stmt_cache_clear(c);
            continue;
        }
        return error_code(c);
    }
}

int soom_pg_exec(struct soom_pg_conn *c, const char *sql, int nparams, const char *const *values,
                 const size_t *lengths, const bool *binary, struct soom_pg_result **out)
{
    if (out != NULL)
        *out = NULL;
    pg_conn_clear_error(c);
    if (nparams < 0 || nparams > MAX_PARAMS || (nparams > 0 && values == NULL)) {
        pg_conn_fail(c, "54023", "too many parameters");
        return SOOM_EINVAL;
    }
    struct params pp;
    int rc = params_prepare(&pp, c, nparams, values, lengths, binary);
    if (rc == SOOM_OK)
        rc = run(c, sql, false, nparams, &pp, out);
    params_cleanup(&pp);
    return rc;
}

int soom_pg_exec_script(struct soom_pg_conn *c, const char *sql)
{
    pg_conn_clear_error(c);
    return run(c, sql, true, 0, NULL, NULL);
}

int soom_pg_begin(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    return run(c, "BEGIN", true, 0, NULL, NULL);
}

int soom_pg_commit(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    if (!c->tx_lost && !conn_broken(c) && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        PQclear(PQexec(c->pg, "ROLLBACK"));
        pg_conn_fail(c, "25P02", "the transaction was aborted by an earlier error");
        return SOOM_EINTERNAL;
    }
    return run(c, "COMMIT", true, 0, NULL, NULL);
}

int soom_pg_rollback(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    /* A lost session took its transaction with it: nothing to undo. */
    c->tx_lost = false;
    if (conn_broken(c))
        return SOOM_OK;
    return run(c, "ROLLBACK", true, 0, NULL, NULL);
}

/* ---- error mapping ------------------------------------------------------- */

static bool state_is(const char *s, const char *want)
{
    return strcmp(s, want) == 0;
}

int soom_pg_error_code(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return SOOM_EUNAVAIL;
    if (strncmp(s, "23", 2) == 0)
        return state_is(s, "23502") || state_is(s, "23514") ? SOOM_EINVALID : SOOM_ECONFLICT;
    if (strncmp(s, "22", 2) == 0)
        return SOOM_EINVALID;
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0 || state_is(s, "57P01") ||
        state_is(s, "57P02") || state_is(s, "57P03") || state_is(s, "57014") ||
        state_is(s, "40001") || state_is(s, "40P01") || state_is(s, "55P03"))
        return SOOM_EUNAVAIL;
    return SOOM_EINTERNAL;
}

/* The columns of a "Key (a, b)=(...)" detail into `out`; true when there
 * is exactly one. */
static bool key_columns(const char *detail, char *out, size_t outlen)
{
    const char *k = strstr(detail, "Key (");
    const char *end = k != NULL ? strstr(k, ")=(") : NULL;
    out[0] = '\0';
    if (end == NULL)
        return false;
    k += 5;
    snprintf(out, outlen, "%.*s", (int)(end - k), k);
    return strchr(out, ',') == NULL;
}

/* "/column" as a JSON pointer (~ and / escaped). */
static void set_pointer(struct soom_pg_problem *p, const char *column)
{
    size_t o = 0;
    if (column == NULL || column[0] == '\0')
        return;
    p->pointer[o++] = '/';
    for (; *column && o + 3 < sizeof p->pointer; column++) {
        if (*column == '~' || *column == '/') {
            p->pointer[o++] = '~';
            p->pointer[o++] = *column == '~' ? '0' : '1';
        } else {
            p->pointer[o++] = *column;
        }
    }
    p->pointer[o] = '\0';
}

static void conflict_problem(const struct soom_pg_error *e, struct soom_pg_problem *p)
{
    char cols[96];
    bool one = key_columns(e->detail, cols, sizeof cols);
    if (one)
        set_pointer(p, cols);
    if (state_is(e->sqlstate, "23505")) {
        p->code = "unique";
        if (cols[0] != '\0')
            snprintf(p->text, sizeof p->text, "a row with the same %s already exists", cols);
        p->detail = cols[0] != '\0' ? p->text : "a row with the same values already exists";
    } else if (state_is(e->sqlstate, "23503") && strstr(e->detail, "is not present") != NULL) {
        p->code = "foreign_key";
        p->detail = "the referenced row does not exist";
    } else if (state_is(e->sqlstate, "23503") || state_is(e->sqlstate, "23001")) {
        p->code = "foreign_key";
        p->pointer[0] = '\0';
        p->detail = "the row is still referenced by other rows";
    } else {
        p->code = "conflict";
        p->detail = "the row conflicts with an existing row";
    }
}

void soom_pg_error_problem(const struct soom_pg_error *e, int code, struct soom_pg_problem *p)
{
    static const struct soom_pg_error NONE = {"", "", "", "", "", ""};
    memset(p, 0, sizeof *p);
    if (e == NULL)
        e = &NONE;
    p->status = soom_error_status(code);
    switch (code) {
    case SOOM_ECONFLICT: conflict_problem(e, p); break;
    case SOOM_EINVALID:
        set_pointer(p, e->column);
        if (state_is(e->sqlstate, "23502")) {
            p->code = "required";
            p->detail = "a value is required";
        } else if (state_is(e->sqlstate, "23514")) {
            p->code = "check";
            snprintf(p->text, sizeof p->text, "a value fails the check %s", e->constraint);
            p->detail = e->constraint[0] != '\0' ? p->text : "a value fails a check";
        } else {
            /* class 22: the message is about the value sent */
            p->code = "invalid";
            snprintf(p->text, sizeof p->text, "%s", e->message);
            p->detail = p->text;
        }
        break;
    case SOOM_EUNAVAIL: p->detail = "the database is unavailable; try again later"; break;
    default: p->detail = "the server hit an error; the request id is in the log"; break;
    }
}

void soom_pg_error_log(const struct soom_pg_error *e, int code, const char *sql,
                       const char *request_id)
{
    enum soom_log_level level = code == SOOM_EUNAVAIL                             ? SOOM_LOG_WARN
                                : code == SOOM_ECONFLICT || code == SOOM_EINVALID ? SOOM_LOG_DEBUG
                                                                                  : SOOM_LOG_ERROR;
    struct soom_log_line l;
    soom_log_begin(&l, level, "database error");
    if (request_id != NULL)
        soom_log_str(&l, "request_id", request_id);
    if (e != NULL) {
        soom_log_str(&l, "sqlstate", e->sqlstate);
        soom_log_str(&l, "error", e->message);
        if (e->detail[0] != '\0')
            soom_log_str(&l, "detail", e->detail);
        if (e->constraint[0] != '\0')
            soom_log_str(&l, "constraint", e->constraint);
    }
    if (sql != NULL)
        soom_log_str(&l, "sql", sql);
    soom_log_end(&l);
}

/* ---- results ------------------------------------------------------------- */

#define RES(r) ((const PGresult *)(r))

int soom_pg_result_rows(const struct soom_pg_result *r)
{
    return PQntuples(RES(r));
}

int soom_pg_result_columns(const struct soom_pg_result *r)
{
    return PQnfields(RES(r));
}

const char *soom_pg_result_name(const struct soom_pg_result *r, int col)
{
    return PQfname(RES(r), col);
}

unsigned soom_pg_result_type(const struct soom_pg_result *r, int col)
{
    return (unsigned)PQftype(RES(r), col);
}

bool soom_pg_result_isnull(const struct soom_pg_result *r, int row, int col)
{
    return PQgetisnull(RES(r), row, col) != 0;
}

const char *soom_pg_result_value(const struct soom_pg_result *r, int row, int col, size_t *len)
{
    if (len != NULL)
        *len = (size_t)PQgetlength(RES(r), row, col);
    return PQgetvalue(RES(r), row, col);
}

int soom_pg_result_column(const struct soom_pg_result *r, const char *name)
{
    int n = PQnfields(RES(r));
    for (int i = 0; i < n; i++) {
        if (strcmp(PQfname(RES(r), i), name) == 0)
            return i;
    }
    return -1;
}

long long soom_pg_result_affected(const struct soom_pg_result *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return t != NULL && t[0] != '\0' ? strtoll(t, NULL, 10) : -1;
}

bool soom_pg_result_has_rows(const struct soom_pg_result *r)
{
    return PQresultStatus(RES(r)) == PGRES_TUPLES_OK;
}

void soom_pg_result_free(struct soom_pg_result *r)
{
    PQclear((PGresult *)r);
}

static void result_free_deferred(void *r)
{
    PQclear(r);
}

void soom_pg_result_defer(struct soom_arena *a, struct soom_pg_result *r)
{
    soom_arena_defer(a, result_free_deferred, r);
}
