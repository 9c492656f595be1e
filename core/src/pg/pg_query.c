/*
 * Statements, transactions and results (see soom/pg.h); the errors they
 * record are mapped by pg_error.c. Every round trip waits through
 * pg_wait.c, so it switches a fiber out rather than holding the thread
 * under the async server.
 *
 * A statement runs as a cached named prepared statement (Parse once per
 * session, then Bind/Execute only) or, with pool.prepared off, as an
 * unnamed one (PQexecParams), which is what PgBouncer in transaction mode
 * needs. Behind such a pooler (database.pooler) no session state is relied
 * upon: the session settings travel with every transaction (pg_impl.h).
 * Results are PGresults: struct soom_pg_result is never defined,
 * the pointer is libpq's, so a result costs no allocation of ours.
 *
 * Retrying: a statement is sent again once, on a new session, only when
 * the session broke and no transaction was open before it (a terminated
 * backend, a restarted server), and when a cached statement went stale
 * (DEALLOCATE ALL by someone, a table whose columns changed). Inside a
 * transaction a broken session is an error until the holder rolls back,
 * so the rest of a transaction never runs on a new session by accident.
 *
 * A write outside a transaction (soom_pg_exec_once) and a COMMIT are never
 * sent twice: once the server may have received one, a lost session (or
 * an answer that never came) leaves its outcome unknown, SOOM_EUNKNOWN,
 * which a client must not be told to simply retry. (A pooled session
 * that the server ended while it was idle is found and replaced when it
 * is taken from the pool, pg_conn_alive, before anything is sent.)
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pg_impl.h"
#include "soom/error.h"
#include "soom/log.h"

#define MAX_PARAMS 65535
#define STACK_PARAMS 16

/* "soom_<id>" into `name` (24 bytes): on every statement run, so without
 * a format. */
static void stmt_name(char *name, unsigned id)
{
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id != 0);
    memcpy(name, "soom_", 5);
    for (size_t i = 0; i < n; i++)
        name[5 + i] = digits[n - 1 - i];
    name[5 + n] = '\0';
}

/* Runs `sql` once, through the cache when prepared statements are on. */
static PGresult *run_prepared(struct soom_pg_conn *c, const char *sql, int n,
                              const char *const *values, const int *lengths, const int *formats)
{
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    if (pg_conn_local_settings(c) && idle)
        return pg_wait_params_after(c, c->set->local_sql, sql, n, values, lengths, formats);
    if (c->set->shared && idle)
        return pg_shared_run(c, sql, n, values, lengths, formats);
    if (!c->set->prepared || (c->nstmts >= PG_STMT_CACHE_MAX && c->capstmts > 0))
        return pg_wait_params(c, sql, n, values, lengths, formats);
    uint32_t h;
    struct pg_stmt *st = pg_stmt_find(c, sql, &h);
    char name[24];
    if (st->sql == NULL) {
        stmt_name(name, c->next_stmt_id);
        PGresult *res = pg_wait_prepare(c, name, sql, n);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return res;
        PQclear(res);
        pg_stmt_store(c, st, sql, h);
    }
    stmt_name(name, st->id);
    return pg_wait_prepared(c, name, n, values, lengths, formats);
}

/* A cached statement the server no longer has or can no longer run. */
static bool stale_statement(const struct soom_pg_conn *c)
{
    return strcmp(c->err.sqlstate, "26000") == 0 ||
           (strcmp(c->err.sqlstate, "0A000") == 0 && strstr(c->err.message, "cached plan") != NULL);
}

/* A session abandoned because its answer did not come in time. */
static int timed_out(struct soom_pg_conn *c)
{
    pg_conn_fail(c, "57014", "the database did not answer in time");
    return SOOM_EUNAVAIL;
}

/* Whether a statement may run twice (RETRY: reads, set-up, BEGIN), must
 * not (ONCE: a write outside a transaction), or is the COMMIT. */
enum run_mode { RUN_RETRY, RUN_ONCE, RUN_COMMIT };

/* The session was lost (or gave no answer in time) after a statement that
 * may have committed went out. */
static int unknown(struct soom_pg_conn *c)
{
    if (!c->failed)
        pg_conn_fail(c, "08006", "the connection was lost while the statement ran");
    return SOOM_EUNKNOWN;
}

static int error_code(const struct soom_pg_conn *c)
{
    return pg_conn_broken(c) ? SOOM_EUNAVAIL : soom_pg_error_code(c->err.sqlstate);
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

/* Runs a statement (simple: the whole text in one simple query, for
 * scripts and transaction control), with the retries described at the
 * top. A statement whose answer did not come in time is not retried: its
 * session was abandoned, and the time is gone. */
static int run(struct soom_pg_conn *c, const char *sql, bool simple, int n, const struct params *pp,
               enum run_mode mode, struct soom_pg_result **out)
{
    for (int attempt = 0;; attempt++) {
        if (c->tx_lost) {
            pg_conn_fail(c, "08006", "the connection was lost inside a transaction");
            return SOOM_EUNAVAIL;
        }
        /* Known broken before anything is sent: reconnecting is safe. */
        if (pg_conn_broken(c) && pg_conn_reconnect(c) != SOOM_OK) {
            if (!c->failed)
                pg_conn_fail(c, "08006", "the database is unavailable");
            return SOOM_EUNAVAIL;
        }
        bool idle_before = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
        /* a write outside a transaction commits by itself, as COMMIT does */
        bool commits = mode == RUN_COMMIT || (mode == RUN_ONCE && idle_before);
        PGresult *res = simple ? pg_wait_exec(c, sql)
                               : run_prepared(c, sql, n, pp->values, pp->lengths, pp->formats);
        if (res == NULL && c->timed_out) {
            if (!idle_before)
                c->tx_lost = true;
            int rc = timed_out(c);
            return commits ? SOOM_EUNKNOWN : rc;
        }
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
        pg_conn_set_error(c, res);
        bool broken = pg_conn_broken(c);
        if (broken && !idle_before)
            c->tx_lost = true;
        if (broken && commits) {
            if (mode == RUN_COMMIT)
                c->tx_lost = false; /* the transaction is over, whatever became of it */
            return unknown(c);
        }
        if (attempt > 0 || !idle_before)
            return error_code(c);
        if (broken)
            continue;
        if (stale_statement(c)) {
            PQclear(pg_wait_exec(c, "DEALLOCATE ALL"));
            pg_stmt_cache_clear(c);
            if (c->timed_out)
                return timed_out(c);
            continue;
        }
        return error_code(c);
    }
}

static int exec(struct soom_pg_conn *c, const char *sql, int nparams, const char *const *values,
                const size_t *lengths, const bool *binary, enum run_mode mode,
                struct soom_pg_result **out)
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
        rc = run(c, sql, false, nparams, &pp, mode, out);
    params_cleanup(&pp);
    return rc;
}

int soom_pg_exec(struct soom_pg_conn *c, const char *sql, int nparams, const char *const *values,
                 const size_t *lengths, const bool *binary, struct soom_pg_result **out)
{
    return exec(c, sql, nparams, values, lengths, binary, RUN_RETRY, out);
}

int soom_pg_exec_once(struct soom_pg_conn *c, const char *sql, int nparams,
                      const char *const *values, const size_t *lengths, const bool *binary,
                      struct soom_pg_result **out)
{
    return exec(c, sql, nparams, values, lengths, binary, RUN_ONCE, out);
}

int soom_pg_exec_script(struct soom_pg_conn *c, const char *sql)
{
    pg_conn_clear_error(c);
    return run(c, sql, true, 0, NULL, RUN_RETRY, NULL);
}

int soom_pg_begin(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    return run(c, pg_conn_local_settings(c) ? c->set->begin_sql : "BEGIN", true, 0, NULL, RUN_RETRY,
               NULL);
}

int soom_pg_commit(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    if (!c->tx_lost && !pg_conn_broken(c) && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        PQclear(pg_wait_exec(c, "ROLLBACK"));
        if (c->timed_out)
            return timed_out(c);
        pg_conn_fail(c, "25P02", "the transaction was aborted by an earlier error");
        return SOOM_EINTERNAL;
    }
    return run(c, "COMMIT", true, 0, NULL, RUN_COMMIT, NULL);
}

int soom_pg_rollback(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    /* A lost session took its transaction with it: nothing to undo. */
    c->tx_lost = false;
    if (pg_conn_broken(c))
        return SOOM_OK;
    return run(c, "ROLLBACK", true, 0, NULL, RUN_RETRY, NULL);
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
