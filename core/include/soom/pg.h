/*
 * PostgreSQL: the connection pool, statements, results and their JSON.
 *
 * A process has one pool (struct soom_pg_pool), shared by its threads and
 * made after any fork: a connection belongs to one thread at a time, from
 * soom_pg_pool_acquire() to soom_pg_pool_release(). A request keeps the
 * connection it took in its `pg` slot and gives it back through a callback
 * on its arena, so no path can leak it. Outside of the server (CLI
 * commands) a direct connection, soom_pg_conn_open(), does the same work
 * without a pool.
 *
 * Statements take $n parameters as text (or binary) values, never SQL text
 * built from values. A failed statement returns a negative SOOM_E* code
 * mapped from its SQLSTATE (409 conflict, 422 invalid data, 503 database
 * unavailable, else 500); its details stay on the connection
 * (soom_pg_conn_error) until the next statement or the release.
 *
 * Results are opaque (struct soom_pg_result), owned by the caller and
 * freed with soom_pg_result_free(); values are borrowed from the result.
 * soom_pg_json_rows() writes them as JSON text typed by column type, which
 * is the hot path of a GET: no intermediate tree, no per-row allocation.
 *
 * No libpq type appears here; only core/src/pg_*.c include libpq-fe.h.
 */
#ifndef SOOM_PG_H
#define SOOM_PG_H

#include <stdbool.h>
#include <stdint.h>

#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/soom.h"

struct soom_config;
struct soom_pg_pool;
struct soom_pg_conn;
struct soom_pg_result;

/* ---- the pool ----------------------------------------------------------- */

/* A pool for cfg->database_url sized by cfg->pool_* (the settings pool.*);
 * the values are copied. It opens cfg->pool_min connections at once; a
 * database that is down is not an error here (the pool retries with
 * backoff and acquire fails fast meanwhile). Returns SOOM_OK with *out
 * owned by the caller (soom_pg_pool_free), or SOOM_ECONFIG when the URL is
 * empty. */
SOOM_API int soom_pg_pool_new(const struct soom_config *cfg, struct soom_pg_pool **out);

/* Closes every idle connection and frees the pool. Every connection must
 * have been released. Accepts NULL. */
SOOM_API void soom_pg_pool_free(struct soom_pg_pool *pool);

/* A connection for the calling thread: an idle one (verified with a round
 * trip when idle longer than pool.idle_check_ms, replaced when broken), a
 * new one while the pool has fewer than pool.max, or the next one released,
 * waiting in FIFO order at most pool.acquire_timeout_ms. Returns SOOM_OK,
 * or SOOM_EUNAVAIL at once when pool.max_waiting threads already wait or
 * the database is down, or after the timeout. Never blocks longer. */
SOOM_API int soom_pg_pool_acquire(struct soom_pg_pool *pool, struct soom_pg_conn **out);

/* Gives a connection back. One left inside a transaction is rolled back
 * (or closed when that fails) so the next holder always gets a clean
 * session; a broken one is closed and its place freed. Accepts NULL (and
 * closes a direct connection). */
SOOM_API void soom_pg_pool_release(struct soom_pg_conn *c);

struct soom_pg_pool_stats {
    size_t in_use;     /* connections held by threads */
    size_t idle;       /* connections in the pool */
    size_t waiting;    /* threads waiting for one */
    size_t max;        /* pool.max */
    uint64_t acquired; /* successful acquires */
    uint64_t failed;   /* acquires that returned SOOM_EUNAVAIL */
    uint64_t wait_ns;  /* total time threads spent waiting */
    uint64_t replaced; /* broken connections closed and replaced */
    bool down;         /* the last connection attempt failed */
};

/* For /ready: SOOM_OK when a connection can be had within `timeout_ms`
 * (at most pool.acquire_timeout_ms) and answers a round trip, else
 * SOOM_EUNAVAIL (at once while the database is down). */
SOOM_API int soom_pg_pool_check(struct soom_pg_pool *pool, long timeout_ms);

/* libpq's version ("15.10"), a static string. */
SOOM_API const char *soom_pg_lib_version(void);

/* A consistent snapshot of the counters (for /metrics and /ready). */
SOOM_API void soom_pg_pool_stats(struct soom_pg_pool *pool, struct soom_pg_pool_stats *st);

/* ---- the process-wide pool ---------------------------------------------- */

/* Makes the process's pool from the settings (call in each serving
 * process, after any fork, before serving). With an empty database_url
 * there is no pool and this returns SOOM_OK. Calling it again replaces
 * nothing: it returns SOOM_OK when a pool already exists. */
SOOM_API int soom_pg_pool_setup(const struct soom_config *cfg);

/* The process's pool, or NULL when there is none. When none was set up,
 * the first call with a non-NULL `cfg` (the app's settings) makes it, so a
 * request can reach the database even if the server did not call
 * soom_pg_pool_setup(). A pool inherited across fork() is dropped in the
 * child, never used. */
SOOM_API struct soom_pg_pool *soom_pg_pool_global(const struct soom_config *cfg);

/* Frees the process's pool (after the server stopped its threads). */
SOOM_API void soom_pg_pool_teardown(void);

/* ---- read replicas (database.replicas) ---------------------------------- */

/* The process's read replicas (database.replicas): a pool for each and a
 * monitor thread measuring their lag. Call after soom_pg_pool_setup, in
 * each serving process; SOOM_OK also when there are none (or when they
 * are set up already). A forked child forgets its parent's (never used).
 * Teardown stops the monitor and frees the pools, before the primary's. */
SOOM_API int soom_pg_replicas_setup(const struct soom_config *cfg);
SOOM_API void soom_pg_replicas_teardown(void);

/* True when the process has read replicas. */
SOOM_API bool soom_pg_replicas_enabled(void);

/* A connection to a usable replica (answering, lag within
 * database.max_replica_lag) that has replayed the WAL at least up to
 * `after_lsn` (0: any), chosen round robin. Returns SOOM_OK, or
 * SOOM_ENOTFOUND when there is none: the read goes to the primary. Given
 * back with soom_pg_pool_release(). */
SOOM_API int soom_pg_read_acquire(uint64_t after_lsn, struct soom_pg_conn **out);

/* True when `c` is a replica's connection. */
SOOM_API bool soom_pg_conn_is_replica(const struct soom_pg_conn *c);

/* Sets the replica of `c` aside (it failed to answer) until the monitor
 * finds it well again. */
SOOM_API void soom_pg_replica_failed(const struct soom_pg_conn *c);

/* Parses an LSN as PostgreSQL writes it ("16/B374D848"). */
SOOM_API bool soom_pg_lsn_parse(const char *s, uint64_t *out);

/* ---- direct connections ------------------------------------------------- */

/* A connection outside of any pool (CLI commands, migrations), to `url`,
 * with the session settings of `cfg` (NULL: the defaults). Returns SOOM_OK
 * with *out owned by the caller (soom_pg_conn_close), or SOOM_EUNAVAIL
 * with the reason in `err`. */
SOOM_API int soom_pg_conn_open(const char *url, const struct soom_config *cfg,
                               struct soom_pg_conn **out, char *err, size_t errlen);

/* Closes a direct connection. Accepts NULL. */
SOOM_API void soom_pg_conn_close(struct soom_pg_conn *c);

/* The server process id of the connection's session (for tests and logs). */
SOOM_API int soom_pg_conn_backend_pid(const struct soom_pg_conn *c);

/* True while the connection is inside a transaction block (also a failed
 * one, until it is rolled back). */
SOOM_API bool soom_pg_conn_in_transaction(const struct soom_pg_conn *c);

/* ---- statements --------------------------------------------------------- */

/* Runs `sql` with `nparams` $n parameters. values[i] == NULL is SQL NULL.
 * With `lengths` NULL every value is a NUL-terminated string; otherwise
 * values[i] has lengths[i] bytes and need not be terminated. `binary`
 * (NULL: all text) marks values sent in binary format (a bytea's raw
 * bytes); a text value holding a NUL byte is refused (SOOM_EINVALID), as
 * PostgreSQL text cannot hold one. Named prepared statements are cached per
 * connection by SQL text unless pool.prepared is false.
 *
 * A statement outside of a transaction that fails because the connection
 * broke (a terminated backend, a restarted server) is retried once on a
 * new connection. Returns SOOM_OK and, when `out` is not NULL, the result
 * (owned by the caller); or a SOOM_E* code from soom_pg_error_code(), with
 * the details in soom_pg_conn_error(). */
SOOM_API int soom_pg_exec(struct soom_pg_conn *c, const char *sql, int nparams,
                          const char *const *values, const size_t *lengths, const bool *binary,
                          struct soom_pg_result **out);

/* As soom_pg_exec(), for a write outside a transaction, which commits by
 * itself: it is never sent twice. Once it went out, a lost session or an
 * answer that never came returns SOOM_EUNKNOWN: the write may or may not
 * have been made. Inside a transaction it is soom_pg_exec(). */
SOOM_API int soom_pg_exec_once(struct soom_pg_conn *c, const char *sql, int nparams,
                               const char *const *values, const size_t *lengths, const bool *binary,
                               struct soom_pg_result **out);

/* Runs a script of one or more statements without parameters (the simple
 * query protocol: migrations). Not retried. Returns as soom_pg_exec(). */
SOOM_API int soom_pg_exec_script(struct soom_pg_conn *c, const char *sql);

/* BEGIN, COMMIT and ROLLBACK. Commit of a transaction that an error already
 * aborted rolls it back and returns SOOM_EINTERNAL; a commit whose session
 * was lost (or whose answer never came) once COMMIT went out returns
 * SOOM_EUNKNOWN: the transaction may or may not have committed. A session
 * lost before COMMIT took its transaction with it: SOOM_EUNAVAIL. */
SOOM_API int soom_pg_begin(struct soom_pg_conn *c);
SOOM_API int soom_pg_commit(struct soom_pg_conn *c);
SOOM_API int soom_pg_rollback(struct soom_pg_conn *c);

/* ---- errors ------------------------------------------------------------- */

/* The details of the last failed statement on a connection. Strings are
 * borrowed (valid until the connection's next statement or its release)
 * and "" when PostgreSQL did not send the field. */
struct soom_pg_error {
    char sqlstate[6]; /* "23505"; "" for a failure without one */
    const char *message;
    const char *detail;
    const char *constraint;
    const char *table;
    const char *column;
};

/* NULL when the last statement succeeded. */
SOOM_API const struct soom_pg_error *soom_pg_conn_error(const struct soom_pg_conn *c);

/* The SOOM code of a SQLSTATE: SOOM_ECONFLICT (409) for unique, foreign
 * key, exclusion and restrict violations; SOOM_EINVALID (422) for not-null
 * and check violations and data exceptions (class 22: bad text for a type,
 * out of range, too long, bad date...); SOOM_EUNAVAIL (503) for connection
 * failures, shutdowns, too many connections, statement timeouts,
 * serialization failures and deadlocks; SOOM_EINTERNAL (500) for anything
 * else. NULL or "" (no SQLSTATE: the connection failed) is SOOM_EUNAVAIL. */
SOOM_API int soom_pg_error_code(const char *sqlstate);

/* The problem type of a write whose commit's outcome is unknown
 * (SOOM_EUNKNOWN), answered 500 without Retry-After: the write may have
 * been made, so a plain retry could make it twice (docs/DATABASE.md). */
#define SOOM_PG_TYPE_COMMIT_UNKNOWN "urn:soom:problem:commit-unknown"

/* What a client may be told about a failed statement: the HTTP status, a
 * detail text and, when columns are to blame, a field error for each (one,
 * or every column of a CHECK constraint the catalog named, see
 * soom_pg_checks_set). Nothing of a 500 reaches the client (a generic
 * detail; log it with soom_pg_error_log). Strings are static or in `p`. */
#define SOOM_PG_PROBLEM_POINTERS 4
struct soom_pg_problem {
    int status;
    const char *detail;
    char pointer[128]; /* "/column", or "" */
    const char *code;  /* "unique", "foreign_key", "required", "check",
                        * "invalid", or NULL */
    char text[192];    /* room for a composed detail */
    /* the further columns of a CHECK over several, "/column" each */
    char also[SOOM_PG_PROBLEM_POINTERS - 1][128];
    int nalso;
};
SOOM_API void soom_pg_error_problem(const struct soom_pg_error *e, int code,
                                    struct soom_pg_problem *p);

/* The columns of the database's CHECK constraints, which PostgreSQL's
 * error does not name (it names the table and the constraint): the
 * serving process reads them from the catalog at start-up and sets them
 * here, for soom_pg_error_problem's pointers. Each entry is a table, a
 * constraint and its `ncolumns` column names; everything is copied, and
 * the list replaces the previous one (safe while requests run). */
struct soom_pg_check {
    const char *table;
    const char *constraint;
    const char *const *columns;
    size_t ncolumns;
};
SOOM_API void soom_pg_checks_set(const struct soom_pg_check *list, size_t n);

/* Writes a log line for a failed statement: error level for a 500 (and an
 * unknown outcome), warn for a 503, debug otherwise; every line carries
 * the SQLSTATE and the reason (`e` NULL: no connection could be had, said
 * so), the SOOM code's name and the SQL text. `request_id` may be NULL. */
SOOM_API void soom_pg_error_log(const struct soom_pg_error *e, int code, const char *sql,
                                const char *request_id);

/* ---- results ------------------------------------------------------------ */

SOOM_API int soom_pg_result_rows(const struct soom_pg_result *r);
SOOM_API int soom_pg_result_columns(const struct soom_pg_result *r);
/* The column's name, borrowed from the result. */
SOOM_API const char *soom_pg_result_name(const struct soom_pg_result *r, int col);
/* The column's type OID. */
SOOM_API unsigned soom_pg_result_type(const struct soom_pg_result *r, int col);
SOOM_API bool soom_pg_result_isnull(const struct soom_pg_result *r, int row, int col);
/* The value in PostgreSQL's text form, NUL-terminated, borrowed from the
 * result; "" for NULL. `len` may be NULL. */
SOOM_API const char *soom_pg_result_value(const struct soom_pg_result *r, int row, int col,
                                          size_t *len);
/* The index of the column named exactly `name`, or -1. */
SOOM_API int soom_pg_result_column(const struct soom_pg_result *r, const char *name);
/* Rows affected by an INSERT, UPDATE, DELETE, MERGE, COPY or a SELECT;
 * -1 for a command without a count (CREATE TABLE). */
SOOM_API long long soom_pg_result_affected(const struct soom_pg_result *r);
/* True when the statement returns rows (a SELECT, or ... RETURNING). */
SOOM_API bool soom_pg_result_has_rows(const struct soom_pg_result *r);
/* Frees a result. Accepts NULL. */
SOOM_API void soom_pg_result_free(struct soom_pg_result *r);
/* Frees `r` when the arena is reset or freed. */
SOOM_API void soom_pg_result_defer(struct soom_arena *a, struct soom_pg_result *r);

/* ---- JSON ---------------------------------------------------------------- */

/* numeric columns as JSON numbers instead of strings (numeric_as = "number") */
#define SOOM_PG_JSON_NUMERIC_NUMBER 1u

/* The flags that match the settings (numeric_as). */
SOOM_API unsigned soom_pg_json_flags(const struct soom_config *cfg);

/* Which columns a JSON object holds and under which names, in order:
 * built once (at start-up, from a resource's field list), then read-only
 * and shared by threads. `columns[i]` is a result column, `names[i]` its
 * output name (`names` NULL, or names[i] NULL: the column's name). Output
 * names are escaped once here. Owned by the caller (soom_pg_shape_free, which
 * accepts NULL). */
struct soom_pg_shape;
SOOM_API struct soom_pg_shape *soom_pg_shape_new(const char *const *columns,
                                                 const char *const *names, size_t n);
SOOM_API void soom_pg_shape_free(struct soom_pg_shape *s);

/* Marks field `i` of a shape as JSON text to be written compactly, without
 * the whitespace between tokens (the nested JSON PostgreSQL builds for
 * embedded relations). */
SOOM_API void soom_pg_shape_compact(struct soom_pg_shape *s, size_t i);

/* Makes field `i` of a shape an object of other result columns (a row
 * joined to each row: an embedded to-one relation), written with `names`
 * (NULL: the columns' names), and null when `null_column` is NULL. */
SOOM_API void soom_pg_shape_object(struct soom_pg_shape *s, size_t i, const char *null_column,
                                   const char *const *columns, const char *const *names, size_t n);

/* Appends row `row` as a JSON object; `shape` NULL: every column under its
 * own name, in result order. Returns SOOM_OK, SOOM_ENOTFOUND when there is
 * no such row, or SOOM_EINVAL when the shape names a column the result
 * lacks (nothing is written then). */
SOOM_API int soom_pg_json_row(const struct soom_pg_result *r, int row,
                              const struct soom_pg_shape *shape, unsigned flags,
                              struct soom_buf *out);

/* Appends every row as a JSON array of objects ("[]" when none). Errors as
 * soom_pg_json_row(). */
SOOM_API int soom_pg_json_rows(const struct soom_pg_result *r, const struct soom_pg_shape *shape,
                               unsigned flags, struct soom_buf *out);

/* Appends rows first .. first + n - 1 (the last first when `reversed`) as
 * a JSON array: a page. The shape is matched to the result once for all
 * of them. Errors as soom_pg_json_row(). */
SOOM_API int soom_pg_json_rows_range(const struct soom_pg_result *r, int first, int n,
                                     bool reversed, const struct soom_pg_shape *shape,
                                     unsigned flags, struct soom_buf *out);

/* Appends the value at (row, col) as JSON (null, a number, a string...). */
SOOM_API void soom_pg_json_value(const struct soom_pg_result *r, int row, int col, unsigned flags,
                                 struct soom_buf *out);

#endif
