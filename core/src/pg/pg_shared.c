/*
 * Shared statements: named prepared statements behind a pooler in
 * transaction mode (see pg_impl.h, docs/SCALING.md).
 *
 * An unnamed statement is parsed and planned by the server every time it
 * runs; a named one only once per server session. A pooler hands each
 * transaction to any of its server sessions, so a name one client
 * prepared is on some sessions and not on others, and a client cannot
 * tell which session it will get. The name therefore comes from the
 * statement's text (a 64-bit hash), the same for every client: whichever
 * client prepared it on a session, any client finds it there.
 *
 * Outside of a transaction only, where a failed statement aborts nothing:
 * Bind/Describe/Execute/Sync is sent first; the session answers 26000
 * (no such statement) or runs it. On 26000, Parse, Bind and Execute go in
 * one pipeline with one Sync, which the pooler keeps on one server
 * session; that one may be another session that has the statement
 * already (42P05), and then Bind is sent again. A statement whose plan
 * can no longer run there (0A000: its table's columns changed) is
 * replaced: DEALLOCATE, Parse, Bind and Execute in one pipeline (where
 * the session that gets it has no such statement, that is a miss again).
 * A few rounds at most, then unnamed. Each server session thus parses
 * each statement once, and again after its table changed.
 *
 * A pooler that resets its sessions after every transaction
 * (server_reset_query_always) leaves nothing to find: when most Binds of
 * the last WINDOW missed, the connection sends its statements unnamed for
 * the next PAUSE ones, then tries again.
 */
#include <stdatomic.h>
#include <string.h>

#include "hash.h"
#include "hex.h"
#include "pg_impl.h"
#include "soom/log.h"

#define WINDOW 64
#define PAUSE 4096
#define ROUNDS 3

/* "soom_s" and the 16 hex digits of the text's hash into `name` (23
 * bytes): on every statement run, so without a format. */
static void shared_name(char *name, const char *sql)
{
    uint64_t h = soom_hash_bytes(sql, strlen(sql), 0);
    memcpy(name, "soom_s", 6);
    for (int i = 0; i < 8; i++)
        hex_put_byte(name + 6 + 2 * i, (unsigned)(h >> (56 - 8 * i)));
    name[22] = '\0';
}

static bool sqlstate_is(const PGresult *res, const char *code)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s != NULL && strcmp(s, code) == 0;
}

/* A prepared statement whose plan can no longer run (its table's columns
 * changed). */
static bool stale(const PGresult *res)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    return sqlstate_is(res, "0A000") && msg != NULL && strstr(msg, "cached plan") != NULL;
}

static void say_paused(void)
{
    static atomic_bool said; /* once per process */
    if (atomic_exchange(&said, true))
        return;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO,
                   "database.shared_statements: the pooler's server sessions keep losing their "
                   "prepared statements (a reset after each transaction?); unnamed for a while");
    soom_log_end(&l);
}

/* Counts one first Bind, found or missed, and pauses the connection's
 * shared statements when most of a window missed. */
static void account(struct soom_pg_conn *c, bool missed)
{
    c->shared.tries++;
    c->shared.misses += missed;
    if (c->shared.tries < WINDOW)
        return;
    if (c->shared.misses * 2 > c->shared.tries) {
        c->shared.pause = PAUSE;
        say_paused();
    }
    c->shared.tries = c->shared.misses = 0;
}

/* Whether this statement may go named: known to the connection's cache
 * (which bounds how many names it spreads over the server sessions) and
 * not paused. */
static bool named(struct soom_pg_conn *c, const char *sql)
{
    if (c->shared.pause > 0) {
        c->shared.pause--;
        return false;
    }
    uint32_t h;
    struct pg_stmt *st = pg_stmt_find(c, sql, &h);
    if (st->sql != NULL)
        return true;
    if (c->nstmts >= PG_STMT_CACHE_MAX)
        return false;
    pg_stmt_store(c, st, sql, h);
    return true;
}

PGresult *pg_shared_run(struct soom_pg_conn *c, const char *sql, int n, const char *const *values,
                        const int *lengths, const int *formats)
{
    if (!named(c, sql))
        return pg_wait_params(c, sql, n, values, lengths, formats);
    char name[23], drop[34];
    shared_name(name, sql);
    enum { BIND, PARSE, REPLACE } step = BIND;
    for (int round = 0; round < ROUNDS; round++) {
        PGresult *res = step == BIND ? pg_wait_prepared(c, name, n, values, lengths, formats)
                                     : pg_wait_prepare_then(c, step == REPLACE ? drop : NULL, name,
                                                            sql, n, values, lengths, formats);
        if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR ||
            pg_conn_broken(c)) { /* an answer, or the session's end for run() */
            if (round == 0)
                account(c, false);
            return res;
        }
        bool missing = sqlstate_is(res, "26000"), exists = sqlstate_is(res, "42P05");
        bool replace = !missing && !exists && stale(res);
        if (!missing && !exists && !replace) {
            if (round == 0)
                account(c, false);
            return res; /* the statement's own error */
        }
        PQclear(res);
        if (round == 0)
            account(c, missing);
        step = missing ? PARSE : exists ? BIND : REPLACE;
        if (step == REPLACE) {
            memcpy(drop, "DEALLOCATE ", 11);
            memcpy(drop + 11, name, sizeof name);
        }
    }
    return pg_wait_params(c, sql, n, values, lengths, formats);
}
