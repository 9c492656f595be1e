/*
 * The request's database connection: taken from the process's pool the
 * first time the request needs one, kept in r->pg for the rest of the
 * request, and given back by a callback on the request's arena, so no path
 * (an error, a Lua failure, a client gone) can leak it; the pipeline gives it
 * back earlier, as soon as the response is made. With pool.trace the
 * session's application_name names the request's trace, for the server's
 * slow-query log and pg_stat_activity: one statement when the connection is
 * taken, so it is off by default.
 *
 * With read replicas (database.replicas) a read may take a replica's
 * connection instead (r->pg_read), and a write leaves a read-your-writes
 * token: the Soom-Read-After header (docs/SCALING.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "request_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/pg.h"
#include "soom/response.h"
#include "soom/router.h"

#define READ_AFTER "Soom-Read-After"

void soom_request_pg_release(struct soom_request *r)
{
    soom_pg_pool_release(r->pg);
    r->pg = NULL;
    soom_pg_pool_release(r->pg_read);
    r->pg_read = NULL;
}

static void release_deferred(void *data)
{
    soom_request_pg_release(data);
}

/* A failure here is not the request's: the statement that follows reports
 * a broken session itself. */
static void name_session(struct soom_request *r)
{
    char name[64];
    snprintf(name, sizeof name, "soom/%s", r->trace.trace_id);
    const char *values[] = {name};
    soom_pg_exec(r->pg, "SELECT set_config('application_name', $1, false)", 1, values, NULL, NULL,
                 NULL);
}

int soom_request_pg(struct soom_request *r, struct soom_pg_conn **out)
{
    if (r->pg == NULL) {
        struct soom_pg_pool *pool = soom_pg_pool_global(r->config);
        if (pool == NULL)
            return SOOM_ECONFIG;
        int rc = soom_pg_pool_acquire(pool, &r->pg);
        if (rc != SOOM_OK)
            return rc;
        soom_arena_defer(r->arena, release_deferred, r);
        if (r->config->pool_trace && r->trace.trace_id[0] != '\0')
            name_session(r);
    }
    *out = r->pg;
    return SOOM_OK;
}

/* ---- reads on replicas ------------------------------------------------- */

/* The position a read must see (the client's Soom-Read-After): 0 when
 * none; one that does not parse sends the read to the primary. */
static uint64_t read_after(const struct soom_request *r)
{
    size_t n;
    const char *v = soom_request_header(r, READ_AFTER, sizeof READ_AFTER - 1, &n);
    if (v == NULL)
        return 0;
    char text[40];
    uint64_t lsn;
    if (n >= sizeof text)
        return UINT64_MAX;
    memcpy(text, v, n);
    text[n] = '\0';
    return soom_pg_lsn_parse(text, &lsn) ? lsn : UINT64_MAX;
}

/* The connection for a read: the primary's once the request used it (it
 * sees its own writes), else the replica's this request holds, or a new
 * replica's, or the primary's when none is usable. */
static int read_conn(struct soom_request *r, struct soom_pg_conn **out)
{
    if (r->pg != NULL || r->read_primary || !soom_pg_replicas_enabled())
        return soom_request_pg(r, out);
    if (r->pg_read == NULL) {
        if (soom_pg_read_acquire(read_after(r), &r->pg_read) != SOOM_OK) {
            r->read_primary = true;
            return soom_request_pg(r, out);
        }
        soom_arena_defer(r->arena, release_deferred, r);
    }
    *out = r->pg_read;
    return SOOM_OK;
}

/* A failure of the replica rather than of the statement. */
static bool replica_trouble(const struct soom_pg_conn *c)
{
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    if (e == NULL || e->sqlstate[0] == '\0')
        return true;
    return strncmp(e->sqlstate, "08", 2) == 0 || strncmp(e->sqlstate, "57P", 3) == 0 ||
           strcmp(e->sqlstate, "40001") == 0; /* a conflict with recovery */
}

int soom_request_pg_read_exec(struct soom_request *r, const char *sql, int n,
                              const char *const *values, const size_t *lengths, const bool *binary,
                              struct soom_pg_result **out, struct soom_pg_conn **used)
{
    struct soom_pg_conn *c = NULL;
    *used = NULL;
    int rc = read_conn(r, &c);
    if (rc != SOOM_OK)
        return rc;
    rc = soom_pg_exec(c, sql, n, values, lengths, binary, out);
    if (rc != SOOM_OK && c == r->pg_read && replica_trouble(c)) {
        soom_pg_replica_failed(c);
        soom_pg_pool_release(r->pg_read);
        r->pg_read = NULL;
        r->read_primary = true;
        rc = soom_request_pg(r, &c);
        if (rc != SOOM_OK)
            return rc;
        rc = soom_pg_exec(c, sql, n, values, lengths, binary, out);
    }
    *used = c;
    return rc;
}

/* ---- the read-your-writes token ----------------------------------------- */

void soom_request_pg_done(struct soom_request *r)
{
    bool unsafe = (r->method & (SOOM_GET | SOOM_HEAD | SOOM_OPTIONS)) == 0;
    if (unsafe && r->pg != NULL && soom_pg_replicas_enabled() &&
        !soom_pg_conn_in_transaction(r->pg)) {
        struct soom_pg_result *res = NULL;
        if (soom_pg_exec(r->pg, "SELECT pg_current_wal_insert_lsn()::text", 0, NULL, NULL, NULL,
                         &res) == SOOM_OK)
            soom_response_header(r, READ_AFTER, soom_pg_result_value(res, 0, 0, NULL));
        soom_pg_result_free(res);
    }
    soom_request_pg_release(r);
}
