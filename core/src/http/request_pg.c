/*
 * The request's database connection: taken from the process's pool the
 * first time the request needs one, kept in r->pg for the rest of the
 * request, and given back by a callback on the request's arena, so no path
 * (an error, a Lua failure, a client gone) can leak it; the pipeline gives it
 * back earlier, as soon as the response is made. With pool.trace the
 * session's application_name names the request's trace, for the server's
 * slow-query log and pg_stat_activity: one statement when the connection is
 * taken, so it is off by default.
 */
#include <stdio.h>
#include <string.h>

#include "request_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/pg.h"

void soom_request_pg_release(struct soom_request *r)
{
    soom_pg_pool_release(r->pg);
    r->pg = NULL;
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
