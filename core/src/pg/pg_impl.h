/*
 * The inside of a connection: pg_conn.c owns the session (connect,
 * disconnect, session set-up, the prepared-statement cache, the last
 * error); pg_pool.c pools sessions and reconnects them with backoff;
 * pg_query.c runs statements on them. Private to this folder, because it
 * includes libpq.
 *
 * A connection struct outlives the libpq connection in it: when the
 * session breaks, the struct stays with its holder and gets a new PGconn
 * (pg_conn_reconnect), so a request's `pg` slot never dangles.
 */
#ifndef SOOM_PG_IMPL_H
#define SOOM_PG_IMPL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "soom/pg.h"

/* What a connection needs from the settings, copied from the config. */
struct pg_settings {
    char *url;
    long min, max;
    long acquire_timeout_ms;
    long max_waiting;
    long idle_check_ms;
    long statement_timeout_ms;
    bool prepared;
    /* Behind a pooler in transaction mode (database.pooler): no session
     * state. The session settings are not SET at connect; `local_sql`
     * sets them with set_config(..., true) in each transaction instead:
     * after BEGIN (`begin_sql`), and before a statement outside of one,
     * in the same pipeline (one implicit transaction); unless every
     * session of the role has them from its defaults (`held_sql`, asked
     * at connect: ALTER ROLE ... SET, docs/SCALING.md). */
    bool pooler;
    /* Behind the pooler, a statement outside of a transaction runs as a
     * named prepared statement whose name comes from its text, the same
     * on every server session (pg_shared.c). */
    bool shared;
    char *local_sql;
    char *begin_sql;
    char *held_sql;
};

/* A cached named prepared statement. */
struct pg_stmt {
    char *sql; /* NULL: free slot */
    uint32_t hash;
    unsigned id; /* named "soom_<id>" on the server */
};

struct soom_pg_conn {
    PGconn *pg;
    /* names pg's socket to the event loop (soom_wait_fd_key): a new one
     * for each session, so a socket number reused is not taken for the
     * registration of the one before */
    uint64_t sock_key;
    struct soom_pg_pool *pool; /* NULL for a direct connection */
    const struct pg_settings *set;
    struct soom_pg_conn *next; /* in the pool's idle list */
    uint64_t idle_since_ns;
    /* The session broke inside a transaction: statements fail until the
     * holder rolls back, rather than silently running on a new session
     * outside of the transaction they belong to. */
    bool tx_lost;
    /* The last wait for the server ran out of time and the session was
     * abandoned (pg_wait.c): not worth a retry. */
    bool timed_out;
    /* Behind a pooler: the role's defaults hold the session settings. */
    bool settings_held;

    /* Shared statements (pg_shared.c): of the last `tries` Binds, how
     * many found no statement; while `pause` > 0 statements go unnamed. */
    struct {
        unsigned tries, misses, pause;
    } shared;

    /* statement cache, open addressing keyed by SQL text */
    struct pg_stmt *stmts;
    size_t nstmts, capstmts;
    unsigned next_stmt_id;

    /* the last error */
    bool failed;
    PGresult *err_res;
    struct soom_pg_error err;
    char err_text[256];
};

/* Copies what a connection needs from `cfg` (defaults when NULL); `url`
 * overrides cfg->database_url when not NULL. pg_settings_cleanup frees
 * the copy. */
void pg_settings_init(struct pg_settings *s, const struct soom_config *cfg, const char *url);
void pg_settings_cleanup(struct pg_settings *s);

/* True when a transaction or a statement must carry the session settings
 * itself (behind a pooler whose sessions do not hold them already). */
static inline bool pg_conn_local_settings(const struct soom_pg_conn *c)
{
    return c->set->pooler && !c->settings_held;
}

/* Opens c->pg for c->set->url and prepares the session (statement timeout,
 * UTC, ISO dates). Returns SOOM_OK or SOOM_EUNAVAIL with libpq's reason
 * in `err`. */
int pg_conn_connect(struct soom_pg_conn *c, char *err, size_t errlen);

/* Closes c->pg and forgets the statement cache. */
void pg_conn_disconnect(struct soom_pg_conn *c);

/* Disconnects and frees the struct (not its settings). */
void pg_conn_free(struct soom_pg_conn *c);

/* True when the session can be handed out: no error seen on the socket
 * (reading what arrived while idle is how a terminated backend shows) and,
 * with `roundtrip`, an empty query answered. */
bool pg_conn_alive(struct soom_pg_conn *c, bool roundtrip);

/* Makes the session clean for its next holder: a transaction left open (or
 * failed) is rolled back. False when it cannot be, or a result is still
 * pending: then the connection must be closed. */
bool pg_conn_clean(struct soom_pg_conn *c);

/* True when the session is gone (never opened, or broken). */
bool pg_conn_broken(const struct soom_pg_conn *c);

/* Replaces a broken session with a new one (pg_pool.c). For a pooled
 * connection this honours the pool's backoff: it fails at once while the
 * database is known to be down. Returns SOOM_OK or SOOM_EUNAVAIL. */
int pg_conn_reconnect(struct soom_pg_conn *c);

/* The cache slot of `sql` (growing the cache first when it is half full),
 * with the text's hash in `hash`: a slot whose `sql` is NULL is free, and
 * pg_stmt_store() fills it once the statement is prepared on the server as
 * "soom_<c->next_stmt_id>". Returns the id stored. */
struct pg_stmt *pg_stmt_find(struct soom_pg_conn *c, const char *sql, uint32_t *hash);
unsigned pg_stmt_store(struct soom_pg_conn *c, struct pg_stmt *slot, const char *sql,
                       uint32_t hash);

/* Past this many distinct statements a session runs the rest unnamed:
 * SQL built at run time (IN lists of every length) must not grow the
 * cache (or, behind a pooler, the server sessions) without bound. */
#define PG_STMT_CACHE_MAX 1024

/* Drops every cached statement (the session they lived in is gone). */
void pg_stmt_cache_clear(struct soom_pg_conn *c);

/* Forgets the last error (and frees its result). */
void pg_conn_clear_error(struct soom_pg_conn *c);

/* Records the error of `res`, which the connection now owns. */
void pg_conn_set_error(struct soom_pg_conn *c, PGresult *res);

/* Records a failure with no server result (a broken connection, a refused
 * parameter). */
void pg_conn_fail(struct soom_pg_conn *c, const char *sqlstate, const char *message);

/* A pool for `url` (NULL: cfg->database_url) sized by the settings, its
 * pool.min connections opened (pg_pool.c). */
struct soom_pg_pool *pg_pool_new_url(const struct soom_config *cfg, const char *url);

/* ---- waiting for the server (pg_wait.c) ----------------------------------- */

/* PQexec, PQexecParams, PQprepare and PQexecPrepared on c->pg, waiting
 * through wait.h (a fiber switches out, a thread polls). Each returns the
 * statement's last result (owned by the caller), or NULL when it could not
 * be sent or the session broke (libpq's message is on c->pg), or when the
 * answer did not come in time: then the session was abandoned (c->pg is
 * NULL and c->timed_out set; the caller records the failure, 57014, and
 * the statement cache is dropped by the next connect). */
PGresult *pg_wait_exec(struct soom_pg_conn *c, const char *sql);
PGresult *pg_wait_params(struct soom_pg_conn *c, const char *sql, int n, const char *const *values,
                         const int *lengths, const int *formats);
PGresult *pg_wait_prepare(struct soom_pg_conn *c, const char *name, const char *sql, int n);
PGresult *pg_wait_prepared(struct soom_pg_conn *c, const char *name, int n,
                           const char *const *values, const int *lengths, const int *formats);

/* `prefix` (no parameters, its result dropped) then the statement, in one
 * pipeline with one Sync: one round trip and one implicit transaction, so
 * what the prefix sets locally holds for the statement only. Returns as
 * pg_wait_params(); the prefix's error, if any, wins. */
PGresult *pg_wait_params_after(struct soom_pg_conn *c, const char *prefix, const char *sql, int n,
                               const char *const *values, const int *lengths, const int *formats);

/* `before` (no parameters, its result dropped; NULL: none), then the
 * statement `name` prepared from `sql`, then run, in one pipeline with one
 * Sync (one implicit transaction: behind a pooler, one server session).
 * Returns as pg_wait_params(); the first error, if any, wins. */
PGresult *pg_wait_prepare_then(struct soom_pg_conn *c, const char *before, const char *name,
                               const char *sql, int n, const char *const *values,
                               const int *lengths, const int *formats);

/* ---- shared statements (pg_shared.c) -------------------------------------- */

/* Runs `sql` outside of a transaction behind a pooler as the named
 * statement shared by every server session ("soom_s<hash of sql>"):
 * Bind/Execute only where a server session has it already; Parse, Bind
 * and Execute in one pipeline where it has not. Unnamed when the server
 * sessions keep losing their statements (a reset after every
 * transaction) and past PG_STMT_CACHE_MAX statements; one whose plan
 * went stale on a session is replaced there. Returns as pg_wait_params(). */
PGresult *pg_shared_run(struct soom_pg_conn *c, const char *sql, int n, const char *const *values,
                        const int *lengths, const int *formats);

/* PQconnectdbParams through PQconnectStartParams and PQconnectPoll,
 * bounded by the URL's connect_timeout (5 s by default); the session is
 * left in non-blocking mode. NULL when it timed out; else check
 * PQstatus(). */
PGconn *pg_wait_connect(const char *const *keys, const char *const *values);

#endif
