/*
 * The request's database connection: taken from the process's pool the
 * first time the request needs one, kept in r->pg for the rest of the
 * request, and given back by a callback on the request's arena, so no path
 * (an error, a Lua failure, a client gone) can leak it.
 */
#include "request_impl.h"
#include "soom/error.h"
#include "soom/pg.h"

static void release_deferred(void *data)
{
    struct soom_request *r = data;
    soom_pg_pool_release(r->pg);
    r->pg = NULL;
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
    }
    *out = r->pg;
    return SOOM_OK;
}
