/*
 * Throttle counters in PostgreSQL (throttle_backend = "postgres"), for
 * limits that hold across processes and replicas: one row per key in an
 * unlogged table (no WAL: counters are worth losing in a crash, not a
 * write per request to the log), bumped by one atomic upsert whose row
 * lock serializes concurrent hits, so the count is exact however many
 * servers share the database. The same fixed windows as in memory, on the
 * database's clock, so replicas with skewed clocks agree.
 *
 * The table is made by the first hit of each process when it is missing;
 * rows whose window ended long ago are deleted now and then, by a request
 * of this process (one in CLEAN_EVERY), on its own connection.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"

#define CLEAN_EVERY 4096

static const char CREATE_SQL[] =
    "CREATE UNLOGGED TABLE IF NOT EXISTS soom_throttle (key text PRIMARY KEY, expires timestamptz "
    "NOT NULL, hits bigint NOT NULL)";

static const char HIT_SQL[] =
    "INSERT INTO soom_throttle AS t (key, expires, hits) VALUES ($1, now() + $2::bigint * interval "
    "'1 second', 1) ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN t.expires <= now() THEN 1 "
    "ELSE t.hits + 1 END, expires = CASE WHEN t.expires <= now() THEN now() + $2::bigint * "
    "interval "
    "'1 second' ELSE t.expires END RETURNING hits, ceil(extract(epoch FROM t.expires - "
    "now()))::bigint";

static const char CLEAN_SQL[] =
    "DELETE FROM soom_throttle WHERE expires < now() - interval '1 minute'";

static _Atomic unsigned long hits_since_clean;
static _Atomic bool table_ready;

/* Makes the table on this process's first hit (IF NOT EXISTS: once made,
 * by whichever replica came first, it stays). Two replicas starting at
 * once may race on the catalog: the loser's duplicate error means the
 * table is there. */
static int ensure_table(struct soom_request *r)
{
    if (atomic_load_explicit(&table_ready, memory_order_acquire))
        return SOOM_OK;
    struct soom_pg_result *res;
    int rc = access_query(r, CREATE_SQL, 0, NULL, &res, ACCESS_Q_QUIET);
    if (rc != SOOM_OK && r->pg != NULL) {
        const struct soom_pg_error *e = soom_pg_conn_error(r->pg);
        if (e != NULL && (strcmp(e->sqlstate, "23505") == 0 || strcmp(e->sqlstate, "42P07") == 0))
            rc = SOOM_OK;
    }
    if (rc == SOOM_OK)
        atomic_store_explicit(&table_ready, true, memory_order_release);
    return SOOM_OK; /* a failure shows again, answered, on the hit itself */
}

int access_throttle_hit_pg(struct soom_request *r, const struct access_throttle *t, const char *key,
                           size_t n, long *hits, long *reset)
{
    char period[24];
    snprintf(period, sizeof period, "%ld", t->period);
    const char *values[] = {soom_arena_strndup(r->arena, key, n), period};
    struct soom_pg_result *res;
    ensure_table(r);
    int rc = access_query(r, HIT_SQL, 2, values, &res, 0);
    if (rc != SOOM_OK)
        return rc;
    *hits = strtol(soom_pg_result_value(res, 0, 0, NULL), NULL, 10);
    *reset = strtol(soom_pg_result_value(res, 0, 1, NULL), NULL, 10);
    if (*reset < 1)
        *reset = 1;
    if (atomic_fetch_add_explicit(&hits_since_clean, 1, memory_order_relaxed) % CLEAN_EVERY ==
        CLEAN_EVERY - 1) {
        struct soom_pg_result *gone;
        access_query(r, CLEAN_SQL, 0, NULL, &gone, ACCESS_Q_QUIET);
    }
    return SOOM_OK;
}
