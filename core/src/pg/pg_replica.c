/*
 * Read replicas (database.replicas; see soom/pg.h and docs/SCALING.md).
 *
 * Each replica has a pool of its own, like the primary's. One monitor
 * thread per process measures, every database.replica_check_ms, the
 * primary's WAL position (pg_current_wal_lsn()) and each replica's replay
 * position (pg_last_wal_replay_lsn()) on direct connections of its own. A
 * replica is usable while it answers, is still in recovery, and its lag is
 * within database.max_replica_lag.
 *
 * The lag is measured in LSNs, not from pg_last_xact_replay_timestamp():
 * on an idle primary that timestamp ages although the replica has nothing
 * left to replay. The monitor keeps a ring of recent (time, primary LSN)
 * samples; a replica that has replayed up to R lags by the age of the
 * oldest sample beyond R (0 when R is at or past the newest), which is how
 * long the primary has held changes the replica has not applied (to
 * within one check).
 *
 * Requests read the measurements without a lock (atomics); a request that
 * finds a replica broken reports it (soom_pg_replica_failed), so the next
 * reads go elsewhere before the monitor's next check.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "pg_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"

#define MS 1000000ull
#define SAMPLES 256

struct replica {
    char *url;
    struct soom_pg_pool *pool;
    struct pg_settings set;     /* the monitor's session's */
    struct soom_pg_conn *probe; /* the monitor's own session */
    _Atomic uint64_t replay_lsn;
    _Atomic bool usable;
    bool was_usable; /* the monitor's last verdict, for its log lines */
};

struct replicas {
    struct replica *r;
    size_t n;
    _Atomic size_t next; /* round robin over the usable ones */
    struct soom_pg_conn *primary;
    struct pg_settings probe_set;
    uint64_t lag_ns, every_ns;
    uint64_t t[SAMPLES], lsn[SAMPLES];
    size_t nsamples, head; /* ring: head is the next slot */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static struct replicas *global;

/* ---- LSNs ----------------------------------------------------------------- */

bool soom_pg_lsn_parse(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long hi = strtoull(s, &end, 16);
    if (end == s || *end != '/' || hi > 0xffffffffull)
        return false;
    const char *lo_s = end + 1;
    unsigned long long lo = strtoull(lo_s, &end, 16);
    if (end == lo_s || *end != '\0' || lo > 0xffffffffull || s[0] == '-' || lo_s[0] == '-')
        return false;
    *out = (hi << 32) | lo;
    return true;
}

/* The LSN in the first column of a one-row statement, 0 when it failed. */
static uint64_t probe_lsn(struct soom_pg_conn **c, const struct pg_settings *set, const char *sql,
                          bool *in_recovery)
{
    if (*c == NULL) {
        *c = xcalloc(1, sizeof **c); /* connected by the first statement */
        (*c)->set = set;
    }
    struct soom_pg_result *res = NULL;
    uint64_t lsn = 0;
    if (soom_pg_exec(*c, sql, 0, NULL, NULL, NULL, &res) == SOOM_OK &&
        soom_pg_result_rows(res) == 1 && !soom_pg_result_isnull(res, 0, 0)) {
        soom_pg_lsn_parse(soom_pg_result_value(res, 0, 0, NULL), &lsn);
        if (in_recovery != NULL)
            *in_recovery = strcmp(soom_pg_result_value(res, 0, 1, NULL), "t") == 0;
    }
    soom_pg_result_free(res);
    return lsn;
}

/* ---- the monitor ---------------------------------------------------------- */

/* How long the primary has held changes beyond `replayed`. */
static uint64_t lag_of(const struct replicas *rs, uint64_t replayed, uint64_t now)
{
    uint64_t oldest_beyond = 0;
    for (size_t k = 0; k < rs->nsamples; k++) {
        size_t i = (rs->head + SAMPLES - 1 - k) % SAMPLES; /* newest first */
        if (rs->lsn[i] <= replayed)
            break;
        oldest_beyond = rs->t[i];
    }
    return oldest_beyond == 0 ? 0 : now - oldest_beyond;
}

static void log_change(const struct replica *r, bool usable, uint64_t lag_ns, bool reachable)
{
    struct soom_log_line l;
    soom_log_begin(&l, usable ? SOOM_LOG_INFO : SOOM_LOG_WARN,
                   usable ? "read replica in use" : "read replica set aside");
    soom_log_int(&l, "replica", (long long)(r - global->r));
    soom_log_str(&l, "reason", usable ? "caught up" : reachable ? "lagging" : "unreachable");
    soom_log_int(&l, "lag_ms", (long long)(lag_ns / MS));
    soom_log_end(&l);
}

static void check_once(struct replicas *rs)
{
    uint64_t p = probe_lsn(&rs->primary, &rs->probe_set, "SELECT pg_current_wal_lsn()", NULL);
    uint64_t now = soom_clock_ns();
    if (p != 0) {
        rs->t[rs->head] = now;
        rs->lsn[rs->head] = p;
        rs->head = (rs->head + 1) % SAMPLES;
        if (rs->nsamples < SAMPLES)
            rs->nsamples++;
    }
    for (size_t i = 0; i < rs->n; i++) {
        struct replica *r = &rs->r[i];
        bool recovering = false;
        uint64_t replayed =
            probe_lsn(&r->probe, &r->set, "SELECT pg_last_wal_replay_lsn(), pg_is_in_recovery()",
                      &recovering);
        bool reachable = replayed != 0 && recovering;
        uint64_t lag = reachable ? lag_of(rs, replayed, soom_clock_ns()) : 0;
        bool usable = reachable && rs->nsamples > 0 && lag <= rs->lag_ns;
        if (reachable)
            atomic_store(&r->replay_lsn, replayed);
        atomic_store(&r->usable, usable);
        if (usable != r->was_usable)
            log_change(r, usable, lag, reachable);
        r->was_usable = usable;
    }
}

static void *monitor_main(void *arg)
{
    struct replicas *rs = arg;
    pthread_mutex_lock(&rs->lock);
    while (!rs->stop) {
        pthread_mutex_unlock(&rs->lock);
        check_once(rs);
        pthread_mutex_lock(&rs->lock);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + rs->every_ns;
        ts.tv_sec = (time_t)(at / 1000000000ull);
        ts.tv_nsec = (long)(at % 1000000000ull);
        while (!rs->stop && pthread_cond_timedwait(&rs->cond, &rs->lock, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&rs->lock);
    return NULL;
}

/* ---- set-up --------------------------------------------------------------- */

static void free_probe(struct soom_pg_conn *c)
{
    if (c != NULL)
        pg_conn_free(c);
}

/* The monitor's sessions: short statements, never prepared (the primary
 * may be reached through a pooler). */
static void probe_settings(struct pg_settings *set, const struct soom_config *cfg, const char *url)
{
    pg_settings_init(set, cfg, url);
    set->prepared = false;
    set->statement_timeout_ms = 2000;
}

static void atfork_child(void)
{
    global = NULL; /* the monitor thread stayed with the parent */
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

int soom_pg_replicas_setup(const struct soom_config *cfg)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    if (global != NULL || cfg->database_replicas == NULL || cfg->database_replicas[0] == '\0')
        return SOOM_OK;
    struct replicas *rs = xcalloc(1, sizeof *rs);
    char *list = xstrdup(cfg->database_replicas), *save = NULL;
    for (char *u = strtok_r(list, " \t\n", &save); u != NULL; u = strtok_r(NULL, " \t\n", &save)) {
        rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof *rs->r);
        struct replica *r = &rs->r[rs->n++];
        memset(r, 0, sizeof *r);
        r->url = xstrdup(u);
        r->pool = pg_pool_new_url(cfg, u);
        probe_settings(&r->set, cfg, u);
    }
    free(list);
    probe_settings(&rs->probe_set, cfg, NULL);
    rs->lag_ns = (uint64_t)(cfg->max_replica_lag * 1e9);
    rs->every_ns = (uint64_t)cfg->replica_check_ms * MS;
    pthread_mutex_init(&rs->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rs->cond, &ca);
    pthread_condattr_destroy(&ca);
    global = rs;
    check_once(rs); /* usable from the first request */
    if (pthread_create(&rs->thread, NULL, monitor_main, rs) != 0)
        soom_log_msg(SOOM_LOG_ERROR, "cannot start the read replicas' monitor");
    return SOOM_OK;
}

void soom_pg_replicas_teardown(void)
{
    struct replicas *rs = global;
    if (rs == NULL)
        return;
    pthread_mutex_lock(&rs->lock);
    rs->stop = true;
    pthread_cond_signal(&rs->cond);
    pthread_mutex_unlock(&rs->lock);
    pthread_join(rs->thread, NULL);
    global = NULL;
    for (size_t i = 0; i < rs->n; i++) {
        free_probe(rs->r[i].probe);
        pg_settings_cleanup(&rs->r[i].set);
        soom_pg_pool_free(rs->r[i].pool);
        free(rs->r[i].url);
    }
    free_probe(rs->primary);
    pg_settings_cleanup(&rs->probe_set);
    pthread_cond_destroy(&rs->cond);
    pthread_mutex_destroy(&rs->lock);
    free(rs->r);
    free(rs);
}

/* ---- reads ---------------------------------------------------------------- */

bool soom_pg_replicas_enabled(void)
{
    return global != NULL;
}

int soom_pg_read_acquire(uint64_t after_lsn, struct soom_pg_conn **out)
{
    *out = NULL;
    struct replicas *rs = global;
    if (rs == NULL)
        return SOOM_ENOTFOUND;
    size_t start = atomic_fetch_add_explicit(&rs->next, 1, memory_order_relaxed);
    for (size_t k = 0; k < rs->n; k++) {
        struct replica *r = &rs->r[(start + k) % rs->n];
        if (!atomic_load_explicit(&r->usable, memory_order_relaxed) ||
            atomic_load_explicit(&r->replay_lsn, memory_order_relaxed) < after_lsn)
            continue;
        if (soom_pg_pool_acquire(r->pool, out) == SOOM_OK)
            return SOOM_OK;
        atomic_store(&r->usable, false);
    }
    return SOOM_ENOTFOUND;
}

bool soom_pg_conn_is_replica(const struct soom_pg_conn *c)
{
    struct replicas *rs = global;
    for (size_t i = 0; rs != NULL && c != NULL && i < rs->n; i++) {
        if (c->pool == rs->r[i].pool)
            return true;
    }
    return false;
}

void soom_pg_replica_failed(const struct soom_pg_conn *c)
{
    struct replicas *rs = global;
    for (size_t i = 0; rs != NULL && c != NULL && i < rs->n; i++) {
        if (c->pool == rs->r[i].pool)
            atomic_store(&rs->r[i].usable, false);
    }
}
