/*
 * One PostgreSQL session (see pg_impl.h): connecting with the session
 * settings the converters rely on, checking and cleaning a session before
 * it is handed out, the cache of named prepared statements, and the last
 * error. Knows nothing of pools (pg_pool.c) or of running statements
 * (pg_query.c); both build on it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "pg_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"

/* ---- settings and the session ------------------------------------------- */

void pg_settings_init(struct pg_settings *s, const struct soom_config *cfg, const char *url)
{
    struct soom_config *defaults = cfg == NULL ? soom_config_new() : NULL;
    if (cfg == NULL)
        cfg = defaults;
    s->url = xstrdup(url != NULL ? url : cfg->database_url);
    s->min = cfg->pool_min;
    s->max = cfg->pool_max;
    s->acquire_timeout_ms = cfg->pool_acquire_timeout_ms;
    s->max_waiting = cfg->pool_max_waiting;
    s->idle_check_ms = cfg->pool_idle_check_ms;
    s->statement_timeout_ms = cfg->pool_statement_timeout_ms;
    s->prepared = cfg->pool_prepared && !cfg->pooler_transaction;
    s->pooler = cfg->pooler_transaction;
    s->shared = cfg->pooler_transaction && cfg->shared_statements;
    char local[512];
    snprintf(local, sizeof local,
             "SELECT set_config('statement_timeout', '%ld', true), "
             "set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), "
             "set_config('IntervalStyle', 'iso_8601', true), "
             "set_config('extra_float_digits', '1', true), "
             "set_config('bytea_output', 'hex', true)",
             s->statement_timeout_ms);
    s->local_sql = xstrdup(local);
    char begin[560];
    snprintf(begin, sizeof begin, "BEGIN; %s", local);
    s->begin_sql = xstrdup(begin);
    /* The same values held by every session of the role: set by the role
     * or database defaults, the configuration file or built in, never by
     * a session (another client of the pooler may have set those). */
    char held[640];
    snprintf(held, sizeof held,
             "SELECT count(*) = 6 FROM pg_settings WHERE source NOT IN ('session', 'client') AND "
             "((name = 'statement_timeout' AND setting = '%ld') OR (name = 'TimeZone' AND "
             "setting = 'UTC') OR (name = 'DateStyle' AND setting = 'ISO, YMD') OR "
             "(name = 'IntervalStyle' AND setting = 'iso_8601') OR (name = "
             "'extra_float_digits' AND setting = '1') OR (name = 'bytea_output' AND "
             "setting = 'hex'))",
             s->statement_timeout_ms);
    s->held_sql = xstrdup(held);
    soom_config_free(defaults);
}

/* the keys of sessions' sockets (struct soom_pg_conn.sock_key); 0 is none */
static atomic_uint_fast64_t next_sock_key = 1;

static void copy_error(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg != NULL ? msg : "unknown error");
    size_t n = strlen(err);
    while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/* NOTICEs (DROP ... IF EXISTS, cascades) go to the debug log instead of
 * libpq's default, stderr. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    if (!soom_log_enabled(SOOM_LOG_DEBUG))
        return;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_DEBUG, "database notice");
    soom_log_str(&l, "notice", message);
    soom_log_end(&l);
}

/* A statement of the connection's setup failed: its reason in err, the
 * session closed. */
static int setup_failed(struct soom_pg_conn *c, PGresult *res, char *err, size_t errlen)
{
    copy_error(err, errlen,
               res != NULL     ? PQresultErrorMessage(res)
               : c->pg != NULL ? PQerrorMessage(c->pg)
                               : "the database did not answer in time");
    PQclear(res);
    pg_conn_disconnect(c);
    return SOOM_EUNAVAIL;
}

/* Behind a pooler: whether the role's defaults already hold the session
 * settings (then statements go without them), else they come with each
 * transaction (local_sql). */
static int check_held(struct soom_pg_conn *c, char *err, size_t errlen)
{
    PGresult *res = pg_wait_exec(c, c->set->held_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return setup_failed(c, res, err, errlen);
    }
    c->settings_held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    static atomic_bool said; /* once per process, of the pool's sessions */
    if (c->pool != NULL && !atomic_exchange(&said, true)) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_INFO,
                       c->settings_held
                           ? "database.pooler: the role's defaults hold the session settings"
                           : "database.pooler: each transaction sets the session settings; "
                             "the role's defaults could hold them (docs/SCALING.md)");
        soom_log_end(&l);
    }
    return SOOM_OK;
}

int pg_conn_connect(struct soom_pg_conn *c, char *err, size_t errlen)
{
    /* Our defaults come before the URL, so the URL may override them;
     * client_encoding comes after it: JSON output needs UTF-8. */
    static const char *const KEYS[] = {"fallback_application_name",
                                       "connect_timeout",
                                       "keepalives",
                                       "keepalives_idle",
                                       "dbname",
                                       "client_encoding",
                                       NULL};
    const char *values[] = {"soom", "5", "1", "30", c->set->url, "UTF8", NULL};
    pg_stmt_cache_clear(c); /* of a session abandoned mid-statement */
    PGconn *pg = pg_wait_connect(KEYS, values);
    if (pg == NULL) {
        copy_error(err, errlen, "could not connect: timeout expired");
        return SOOM_EUNAVAIL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        copy_error(err, errlen, PQerrorMessage(pg));
        PQfinish(pg);
        return SOOM_EUNAVAIL;
    }
    PQsetNoticeProcessor(pg, notice_to_log, NULL);
    c->pg = pg;
    c->sock_key = atomic_fetch_add_explicit(&next_sock_key, 1, memory_order_relaxed);
    c->tx_lost = false;
    if (c->set->pooler)
        return check_held(c, err, errlen);
    /* Output formats the converters rely on (pg_types.c): ISO dates in
     * UTC, shortest exact floats, hex bytea, ISO 8601 intervals. */
    char setup[320];
    snprintf(setup, sizeof setup,
             "SET statement_timeout = %ld; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
             "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1; "
             "SET bytea_output = 'hex'",
             c->set->statement_timeout_ms);
    PGresult *res = pg_wait_exec(c, setup);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return setup_failed(c, res, err, errlen);
    }
    PQclear(res);
    return SOOM_OK;
}

void pg_conn_disconnect(struct soom_pg_conn *c)
{
    pg_stmt_cache_clear(c);
    c->timed_out = false;
    if (c->pg != NULL)
        PQfinish(c->pg);
    c->pg = NULL;
}

void pg_conn_free(struct soom_pg_conn *c)
{
    pg_conn_clear_error(c);
    pg_conn_disconnect(c);
    free(c->stmts);
    free(c);
}

/* True when the session can be handed out: no error seen on the socket
 * (reading what arrived while idle is how a terminated backend shows) and,
 * with `roundtrip`, an empty query answered. */
bool pg_conn_alive(struct soom_pg_conn *c, bool roundtrip)
{
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        return false;
    /* A live idle session has nothing to read: one peek (it consumes
     * nothing) says so, where libpq's reads below take two system calls
     * on every acquire. */
    char byte;
    bool quiet = recv(PQsocket(c->pg), &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                 (errno == EAGAIN || errno == EWOULDBLOCK);
    /* A terminated backend leaves a FATAL message then the end of the
     * stream; one read may stop after the message, the second sees the
     * end. On a live idle session both return at once with nothing. */
    for (int i = 0; !quiet && i < 2; i++) {
        if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK)
            return false;
    }
    if (!roundtrip)
        return true;
    PGresult *res = pg_wait_exec(c, "");
    bool ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
    PQclear(res);
    return ok && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}

/* Makes the session clean for its next holder: a transaction left open (or
 * failed) is rolled back. False when it cannot be, or a result is still
 * pending: then the connection must be closed. */
bool pg_conn_clean(struct soom_pg_conn *c)
{
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
        return false;
    switch (PQtransactionStatus(c->pg)) {
    case PQTRANS_IDLE: return true;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR: {
        PGresult *res = pg_wait_exec(c, "ROLLBACK");
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        return ok && c->pg != NULL && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    }
    default: return false;
    }
}

void pg_settings_cleanup(struct pg_settings *s)
{
    free(s->url);
    free(s->local_sql);
    free(s->begin_sql);
    free(s->held_sql);
    s->url = s->local_sql = s->begin_sql = s->held_sql = NULL;
}

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

void pg_conn_set_error(struct soom_pg_conn *c, PGresult *res)
{
    pg_conn_clear_error(c);
    c->failed = true;
    c->err_res = res;
    snprintf(c->err.sqlstate, sizeof c->err.sqlstate, "%s", field(res, PG_DIAG_SQLSTATE));
    const char *msg = field(res, PG_DIAG_MESSAGE_PRIMARY);
    if (*msg == '\0') {
        /* no server message: libpq's own, which changes with the next call */
        snprintf(c->err_text, sizeof c->err_text, "%s",
                 res != NULL     ? PQresultErrorMessage(res)
                 : c->pg != NULL ? PQerrorMessage(c->pg)
                                 : "the connection was lost");
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

bool pg_conn_broken(const struct soom_pg_conn *c)
{
    return c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD;
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

struct pg_stmt *pg_stmt_find(struct soom_pg_conn *c, const char *sql, uint32_t *hash)
{
    if (c->nstmts * 2 >= c->capstmts)
        stmt_grow(c);
    *hash = hash_sql(sql);
    return stmt_slot(c, sql, *hash);
}

unsigned pg_stmt_store(struct soom_pg_conn *c, struct pg_stmt *slot, const char *sql, uint32_t hash)
{
    slot->sql = xstrdup(sql);
    slot->hash = hash;
    slot->id = c->next_stmt_id++;
    c->nstmts++;
    return slot->id;
}

/* ---- accessors ----------------------------------------------------------- */

int soom_pg_conn_backend_pid(const struct soom_pg_conn *c)
{
    return c->pg != NULL ? PQbackendPID(c->pg) : 0;
}

bool soom_pg_conn_in_transaction(const struct soom_pg_conn *c)
{
    if (c->tx_lost)
        return true;
    PGTransactionStatusType s = c->pg != NULL ? PQtransactionStatus(c->pg) : PQTRANS_UNKNOWN;
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR;
}

const char *soom_pg_lib_version(void)
{
    static char v[24];
    if (v[0] == '\0') {
        int n = PQlibVersion(); /* 150010 for 15.10 (10 and later) */
        snprintf(v, sizeof v, "%d.%d", n / 10000, n % 100);
    }
    return v;
}
