/*
 * The connection pool, the process-wide pool and direct connections (see
 * soom/pg.h).
 *
 * One mutex guards the pool's counters, its idle list (a stack: the most
 * recently used connection goes out first, so the cold ones age and get
 * verified) and a FIFO queue of waiters. Each waiter waits on its own
 * soom_waiter (wait.h: a fiber of the async server is switched out, its
 * thread serves other requests meanwhile; a thread of the other models
 * sleeps on a condition variable) and a releasing thread hands its
 * connection straight to the first one, so a connection cannot be stolen
 * by a newcomer and waiters are served in arrival order. When a broken
 * connection is closed instead, the first waiter receives its "slot" and
 * opens a new one.
 *
 * Connecting, verifying and rolling back happen outside the lock. While
 * the database is down (the last connection attempt failed) attempts are
 * spaced by an exponential backoff and every acquire that would need a new
 * connection fails at once: a request gets a 503, never a hang, and the
 * first attempt after the backoff (one thread probes) brings the pool back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "ops_metrics.h"
#include "pg_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"
#include "wait.h"

#define MS 1000000ull
#define BACKOFF_FIRST_NS (100 * MS)
#define BACKOFF_MAX_NS (2000 * MS)

enum waiter_state { W_WAITING, W_CONN, W_SLOT };

struct waiter {
    struct soom_waiter wake;
    struct waiter *next;
    struct soom_pg_conn *conn; /* handed over (W_CONN) */
    enum waiter_state state;
};

struct soom_pg_pool {
    pthread_mutex_t lock;
    struct pg_settings set;
    struct soom_pg_conn *idle;
    size_t nidle, nbusy, nopening;
    struct waiter *whead, *wtail;
    size_t nwaiting;
    bool down, probing;
    uint64_t retry_at, backoff;
    uint64_t acquired, failed, wait_ns, replaced;
};

/* ---- connecting with backoff ------------------------------------------- */

/* Opens c->pg unless the database is known to be down and its backoff has
 * not run out (or another thread is probing it). Lock not held. */
static int pool_connect(struct soom_pg_pool *pool, struct soom_pg_conn *c)
{
    pthread_mutex_lock(&pool->lock);
    bool was_down = pool->down;
    if (was_down && (pool->probing || soom_clock_ns() < pool->retry_at)) {
        pthread_mutex_unlock(&pool->lock);
        return SOOM_EUNAVAIL;
    }
    pool->probing = was_down;
    pthread_mutex_unlock(&pool->lock);

    char err[256];
    int rc = pg_conn_connect(c, err, sizeof err);

    pthread_mutex_lock(&pool->lock);
    if (was_down)
        pool->probing = false;
    bool went_down = rc != SOOM_OK && !pool->down;
    bool came_back = rc == SOOM_OK && pool->down;
    if (rc == SOOM_OK) {
        pool->down = false;
        pool->backoff = 0;
    } else {
        pool->down = true;
        pool->backoff = pool->backoff == 0 ? BACKOFF_FIRST_NS : pool->backoff * 2;
        if (pool->backoff > BACKOFF_MAX_NS)
            pool->backoff = BACKOFF_MAX_NS;
        pool->retry_at = soom_clock_ns() + pool->backoff;
    }
    pthread_mutex_unlock(&pool->lock);

    if (rc != SOOM_OK)
        soom_metrics_pool_connect_error();
    if (went_down) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot connect to the database");
        soom_log_str(&l, "error", err);
        soom_log_end(&l);
    } else if (came_back) {
        soom_log_msg(SOOM_LOG_INFO, "database connection restored");
    }
    return rc;
}

int pg_conn_reconnect(struct soom_pg_conn *c)
{
    pg_conn_disconnect(c);
    if (c->pool == NULL) {
        char err[256];
        return pg_conn_connect(c, err, sizeof err);
    }
    int rc = pool_connect(c->pool, c);
    if (rc == SOOM_OK) {
        pthread_mutex_lock(&c->pool->lock);
        c->pool->replaced++;
        soom_metrics_pool_reconnect();
        pthread_mutex_unlock(&c->pool->lock);
    }
    return rc;
}

/* ---- waiters ------------------------------------------------------------- */

static struct waiter *pop_waiter(struct soom_pg_pool *pool)
{
    struct waiter *w = pool->whead;
    if (w != NULL) {
        pool->whead = w->next;
        if (pool->whead == NULL)
            pool->wtail = NULL;
        pool->nwaiting--;
    }
    return w;
}

static void remove_waiter(struct soom_pg_pool *pool, struct waiter *w)
{
    struct waiter **p = &pool->whead, *prev = NULL;
    while (*p != NULL && *p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = w->next;
    if (pool->wtail == w)
        pool->wtail = prev;
    pool->nwaiting--;
}

/* A place was freed (a connection closed): the first waiter may open a new
 * connection in it. Lock held. */
static void give_slot(struct soom_pg_pool *pool)
{
    struct waiter *w = pop_waiter(pool);
    if (w == NULL)
        return;
    pool->nopening++;
    w->state = W_SLOT;
    soom_waiter_wake(&w->wake);
}

/* Queues the calling thread until it is handed a connection or a slot, or
 * the deadline passes (then it leaves the queue, state W_WAITING). */
static void wait_turn(struct soom_pg_pool *pool, struct waiter *w, uint64_t deadline)
{
    w->state = W_WAITING;
    w->next = NULL;
    if (pool->wtail != NULL)
        pool->wtail->next = w;
    else
        pool->whead = w;
    pool->wtail = w;
    pool->nwaiting++;
    while (w->state == W_WAITING) {
        int rc = soom_waiter_wait(&w->wake, &pool->lock, deadline);
        if (rc == SOOM_ETIMEDOUT && w->state == W_WAITING) {
            remove_waiter(pool, w);
            break;
        }
    }
}

/* ---- acquire and release ------------------------------------------------- */

/* Opens a connection in a slot already counted in nopening. */
static int open_conn(struct soom_pg_pool *pool, struct soom_pg_conn **out)
{
    struct soom_pg_conn *c = xcalloc(1, sizeof *c);
    c->pool = pool;
    c->set = &pool->set;
    int rc = pool_connect(pool, c);
    pthread_mutex_lock(&pool->lock);
    pool->nopening--;
    if (rc == SOOM_OK) {
        pool->nbusy++;
        pthread_mutex_unlock(&pool->lock);
        *out = c;
        return SOOM_OK;
    }
    /* Let the next waiter try too: it fails fast while the database is
     * down, instead of waiting out its timeout. */
    give_slot(pool);
    pthread_mutex_unlock(&pool->lock);
    pg_conn_free(c);
    return rc;
}

/* Hands out an idle connection (counted busy), verified or replaced. */
static int take_idle(struct soom_pg_pool *pool, struct soom_pg_conn *c, bool check)
{
    if (pg_conn_alive(c, check))
        return SOOM_OK;
    pg_conn_disconnect(c);
    int rc = pool_connect(pool, c);
    pthread_mutex_lock(&pool->lock);
    pool->replaced++;
    soom_metrics_pool_reconnect();
    if (rc != SOOM_OK) {
        pool->nbusy--;
        give_slot(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    if (rc != SOOM_OK)
        pg_conn_free(c);
    return rc;
}

/* Counts the acquire that began at `start`; `timed_out` when it found no
 * connection in time (a full queue, or its wait ran out). */
static int finish_acquire(struct soom_pg_pool *pool, int rc, struct soom_pg_conn *c,
                          struct soom_pg_conn **out, uint64_t start, bool timed_out)
{
    soom_metrics_pool_acquire(soom_clock_ns() - start, timed_out);
    pthread_mutex_lock(&pool->lock);
    if (rc == SOOM_OK)
        pool->acquired++;
    else
        pool->failed++;
    pthread_mutex_unlock(&pool->lock);
    *out = rc == SOOM_OK ? c : NULL;
    return rc;
}

static int pool_acquire(struct soom_pg_pool *pool, long timeout_ms, struct soom_pg_conn **out)
{
    struct soom_pg_conn *c = NULL;
    uint64_t start = soom_clock_ns();
    pthread_mutex_lock(&pool->lock);
    if (pool->idle != NULL) {
        c = pool->idle;
        pool->idle = c->next;
        pool->nidle--;
        pool->nbusy++;
        bool check =
            pool->down || start - c->idle_since_ns >= (uint64_t)pool->set.idle_check_ms * MS;
        pthread_mutex_unlock(&pool->lock);
        int rc = take_idle(pool, c, check);
        return finish_acquire(pool, rc, c, out, start, false);
    }
    if (pool->nbusy + pool->nopening < (size_t)pool->set.max) {
        pool->nopening++;
        pthread_mutex_unlock(&pool->lock);
        int rc = open_conn(pool, &c);
        return finish_acquire(pool, rc, c, out, start, false);
    }
    if (pool->nwaiting >= (size_t)pool->set.max_waiting || timeout_ms == 0) {
        pthread_mutex_unlock(&pool->lock);
        return finish_acquire(pool, SOOM_EUNAVAIL, NULL, out, start, true);
    }
    struct waiter w;
    wait_turn(pool, &w, start + (uint64_t)timeout_ms * MS);
    pool->wait_ns += soom_clock_ns() - start;
    enum waiter_state state = w.state;
    pthread_mutex_unlock(&pool->lock);
    if (state == W_CONN)
        return finish_acquire(pool, SOOM_OK, w.conn, out, start, false);
    if (state == W_SLOT) {
        int rc = open_conn(pool, &c);
        return finish_acquire(pool, rc, c, out, start, false);
    }
    return finish_acquire(pool, SOOM_EUNAVAIL, NULL, out, start, true);
}

int soom_pg_pool_acquire(struct soom_pg_pool *pool, struct soom_pg_conn **out)
{
    return pool_acquire(pool, pool->set.acquire_timeout_ms, out);
}

void soom_pg_pool_release(struct soom_pg_conn *c)
{
    if (c == NULL)
        return;
    struct soom_pg_pool *pool = c->pool;
    if (pool == NULL) {
        soom_pg_conn_close(c); /* a direct connection */
        return;
    }
    pg_conn_clear_error(c);
    c->tx_lost = false;
    bool keep = pg_conn_clean(c);
    if (!keep)
        pg_conn_disconnect(c);
    pthread_mutex_lock(&pool->lock);
    pool->nbusy--;
    if (keep) {
        struct waiter *w = pop_waiter(pool);
        if (w != NULL) {
            /* a waiter on another thread: this loop lets the socket go
             * (after the lock; the session is the waiter's once woken) */
            bool away = soom_waiter_elsewhere(&w->wake);
            int fd = PQsocket(c->pg);
            uint64_t key = c->sock_key;
            pool->nbusy++;
            w->conn = c;
            w->state = W_CONN;
            soom_waiter_wake(&w->wake);
            pthread_mutex_unlock(&pool->lock);
            if (away)
                soom_wait_fd_forget(fd, key);
            return;
        }
        c->idle_since_ns = soom_clock_ns();
        c->next = pool->idle;
        pool->idle = c;
        pool->nidle++;
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    pool->replaced++;
    soom_metrics_pool_reconnect();
    give_slot(pool);
    pthread_mutex_unlock(&pool->lock);
    pg_conn_free(c);
}

/* ---- the pool ------------------------------------------------------------ */

struct soom_pg_pool *pg_pool_new_url(const struct soom_config *cfg, const char *url)
{
    struct soom_pg_pool *pool = xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->lock, NULL);
    pg_settings_init(&pool->set, cfg, url);
    /* Warm up pool.min connections; a database that is down now is the
     * backoff's business, not a start-up failure. */
    for (long i = 0; i < pool->set.min; i++) {
        struct soom_pg_conn *c;
        pool->nopening++;
        if (open_conn(pool, &c) != SOOM_OK)
            break;
        soom_pg_pool_release(c);
    }
    return pool;
}

int soom_pg_pool_new(const struct soom_config *cfg, struct soom_pg_pool **out)
{
    *out = NULL;
    if (cfg->database_url == NULL || cfg->database_url[0] == '\0')
        return SOOM_ECONFIG;
    *out = pg_pool_new_url(cfg, NULL);
    return SOOM_OK;
}

void soom_pg_pool_free(struct soom_pg_pool *pool)
{
    if (pool == NULL)
        return;
    if (pool->nbusy > 0) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_WARN, "database pool freed with connections in use");
        soom_log_int(&l, "in_use", (long long)pool->nbusy);
        soom_log_end(&l);
    }
    while (pool->idle != NULL) {
        struct soom_pg_conn *c = pool->idle;
        pool->idle = c->next;
        pg_conn_free(c);
    }
    pg_settings_cleanup(&pool->set);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int soom_pg_pool_check(struct soom_pg_pool *pool, long timeout_ms)
{
    struct soom_pg_conn *c;
    if (timeout_ms > pool->set.acquire_timeout_ms)
        timeout_ms = pool->set.acquire_timeout_ms;
    int rc = pool_acquire(pool, timeout_ms, &c);
    if (rc != SOOM_OK)
        return rc;
    rc = pg_conn_alive(c, true) ? SOOM_OK : SOOM_EUNAVAIL;
    soom_pg_pool_release(c);
    return rc;
}

void soom_pg_pool_stats(struct soom_pg_pool *pool, struct soom_pg_pool_stats *st)
{
    pthread_mutex_lock(&pool->lock);
    st->in_use = pool->nbusy;
    st->idle = pool->nidle;
    st->waiting = pool->nwaiting;
    st->max = (size_t)pool->set.max;
    st->acquired = pool->acquired;
    st->failed = pool->failed;
    st->wait_ns = pool->wait_ns;
    st->replaced = pool->replaced;
    st->down = pool->down;
    pthread_mutex_unlock(&pool->lock);
}

/* ---- the process-wide pool ----------------------------------------------- */

static _Atomic(struct soom_pg_pool *) global_pool;
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child must not use its parent's connections: their sockets are shared
 * with the parent, and even closing one would end the parent's session.
 * The child forgets the pool (its memory and descriptors stay unused). */
static void atfork_child(void)
{
    atomic_store(&global_pool, NULL);
    pthread_mutex_init(&global_lock, NULL);
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* Settings known not to work behind a pooler in transaction mode. */
static void pooler_warnings(const struct soom_config *cfg)
{
    if (!cfg->pooler_transaction)
        return;
    soom_log_msg(SOOM_LOG_INFO, "database.pooler: no named prepared statements, no session "
                                "state");
    const char *urls[] = {cfg->database_url, cfg->database_replicas};
    for (int i = 0; i < 2; i++) {
        if (strstr(urls[i], "options=") != NULL)
            soom_log_msg(SOOM_LOG_WARN,
                         "database.pooler: the URL sets startup options (options=...), which "
                         "PgBouncer refuses unless it lists them in ignore_startup_parameters; "
                         "and what they set would not follow the transactions");
    }
}

int soom_pg_pool_setup(const struct soom_config *cfg)
{
    pthread_once(&atfork_once, atfork_register);
    if (cfg->database_url == NULL || cfg->database_url[0] == '\0')
        return SOOM_OK;
    pthread_mutex_lock(&global_lock);
    int rc = SOOM_OK;
    if (atomic_load(&global_pool) == NULL) {
        struct soom_pg_pool *pool;
        pooler_warnings(cfg);
        rc = soom_pg_pool_new(cfg, &pool);
        if (rc == SOOM_OK)
            atomic_store(&global_pool, pool);
    }
    pthread_mutex_unlock(&global_lock);
    return rc;
}

struct soom_pg_pool *soom_pg_pool_global(const struct soom_config *cfg)
{
    struct soom_pg_pool *pool = atomic_load_explicit(&global_pool, memory_order_acquire);
    if (pool != NULL || cfg == NULL)
        return pool;
    soom_pg_pool_setup(cfg);
    return atomic_load(&global_pool);
}

void soom_pg_pool_teardown(void)
{
    pthread_mutex_lock(&global_lock);
    struct soom_pg_pool *pool = atomic_exchange(&global_pool, NULL);
    pthread_mutex_unlock(&global_lock);
    soom_pg_pool_free(pool);
}

/* ---- direct connections -------------------------------------------------- */

int soom_pg_conn_open(const char *url, const struct soom_config *cfg, struct soom_pg_conn **out,
                      char *err, size_t errlen)
{
    struct pg_settings *set = xcalloc(1, sizeof *set);
    pg_settings_init(set, cfg, url);
    struct soom_pg_conn *c = xcalloc(1, sizeof *c);
    c->set = set;
    int rc = pg_conn_connect(c, err, errlen);
    if (rc != SOOM_OK) {
        pg_settings_cleanup(set);
        free(set);
        free(c);
        *out = NULL;
        return rc;
    }
    *out = c;
    return SOOM_OK;
}

void soom_pg_conn_close(struct soom_pg_conn *c)
{
    if (c == NULL)
        return;
    if (c->pool != NULL) {
        soom_pg_pool_release(c);
        return;
    }
    struct pg_settings *set = (struct pg_settings *)c->set;
    pg_conn_free(c);
    pg_settings_cleanup(set);
    free(set);
}
