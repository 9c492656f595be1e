/* Unit tests of core/src/pg/pg_pool.c against a real PostgreSQL: queueing of
 * more threads than connections (in FIFO order), max_waiting and the
 * acquire timeout, sessions released inside a transaction, terminated
 * backends, and a server that stops and comes back (a private cluster of
 * its own, so the other tests keep theirs). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "pg_test.h"

static const char *url;
static char buf[256];

static struct soom_pg_pool *make_pool(const char *db, long min, long max, long timeout_ms,
                                      long max_waiting, long idle_check_ms)
{
    struct soom_config *cfg = pg_test_config(db);
    cfg->pool_min = min;
    cfg->pool_max = max;
    cfg->pool_acquire_timeout_ms = timeout_ms;
    cfg->pool_max_waiting = max_waiting;
    cfg->pool_idle_check_ms = idle_check_ms;
    struct soom_pg_pool *pool;
    CHECK_INT(soom_pg_pool_new(cfg, &pool), SOOM_OK);
    soom_config_free(cfg);
    return pool;
}

static struct soom_pg_pool_stats stats(struct soom_pg_pool *pool)
{
    struct soom_pg_pool_stats st;
    soom_pg_pool_stats(pool, &st);
    return st;
}

/* ---- threads that acquire, hold and release ------------------------------ */

static atomic_int in_use_now, in_use_max, served;

struct worker {
    pthread_t thread;
    struct soom_pg_pool *pool;
    long hold_ms;
    int rc;
    int order; /* rank among the served */
    double waited;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    double t0 = pg_test_now();
    struct soom_pg_conn *c;
    w->rc = soom_pg_pool_acquire(w->pool, &c);
    w->waited = pg_test_now() - t0;
    if (w->rc != SOOM_OK)
        return NULL;
    w->order = atomic_fetch_add(&served, 1);
    int n = atomic_fetch_add(&in_use_now, 1) + 1;
    int max = atomic_load(&in_use_max);
    while (n > max && !atomic_compare_exchange_weak(&in_use_max, &max, n)) {
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_sleep(%g)", (double)w->hold_ms / 1000);
    if (soom_pg_exec(c, sql, 0, NULL, NULL, NULL, NULL) != SOOM_OK)
        w->rc = SOOM_EINTERNAL;
    atomic_fetch_sub(&in_use_now, 1);
    soom_pg_pool_release(c);
    return NULL;
}

static void start_worker(struct worker *w, struct soom_pg_pool *pool, long hold_ms)
{
    w->pool = pool;
    w->hold_ms = hold_ms;
    w->rc = -1;
    w->order = -1;
    pthread_create(&w->thread, NULL, worker_main, w);
}

static void wait_for_waiting(struct soom_pg_pool *pool, size_t n)
{
    for (int i = 0; i < 500 && stats(pool).waiting < n; i++)
        pg_test_sleep_ms(5);
    CHECK_INT(stats(pool).waiting, n);
}

/* ---- tests --------------------------------------------------------------- */

static void test_basic(void)
{
    struct soom_pg_pool *pool = make_pool(url, 2, 4, 1000, 10, 5000);
    struct soom_pg_pool_stats st = stats(pool);
    CHECK_INT(st.idle, 2); /* pool.min opened at once */
    CHECK_INT(st.in_use, 0);
    CHECK_INT(st.max, 4);
    CHECK(!st.down);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK_STR(pg_test_value(c, "SELECT 6 * 7", buf, sizeof buf), "42");
    /* the session is set up for the converters */
    CHECK_STR(pg_test_value(c, "SHOW TimeZone", buf, sizeof buf), "UTC");
    CHECK_STR(pg_test_value(c, "SHOW statement_timeout", buf, sizeof buf), "30s");
    st = stats(pool);
    CHECK_INT(st.in_use, 1);
    CHECK_INT(st.idle, 1);
    soom_pg_pool_release(c);
    st = stats(pool);
    CHECK_INT(st.in_use, 0);
    CHECK_INT(st.idle, 2);
    CHECK_INT(st.acquired, 1);
    soom_pg_pool_release(NULL);
    soom_pg_pool_free(pool);

    struct soom_config *cfg = pg_test_config("");
    CHECK_INT(soom_pg_pool_new(cfg, &pool), SOOM_ECONFIG);
    soom_config_free(cfg);
}

static void test_queue(void)
{
    struct soom_pg_pool *pool = make_pool(url, 0, 3, 10000, 100, 5000);
    struct worker w[12];
    atomic_store(&in_use_max, 0);
    atomic_store(&served, 0);
    for (int i = 0; i < 12; i++)
        start_worker(&w[i], pool, 50);
    for (int i = 0; i < 12; i++) {
        pthread_join(w[i].thread, NULL);
        CHECK_INT(w[i].rc, SOOM_OK);
    }
    CHECK(atomic_load(&in_use_max) <= 3);
    CHECK(atomic_load(&in_use_max) >= 2);
    struct soom_pg_pool_stats st = stats(pool);
    CHECK_INT(st.acquired, 12);
    CHECK_INT(st.in_use, 0);
    CHECK_INT(st.waiting, 0);
    CHECK(st.idle <= 3);
    CHECK(st.wait_ns > 0);
    soom_pg_pool_free(pool);
}

static void test_fifo(void)
{
    struct soom_pg_pool *pool = make_pool(url, 1, 1, 5000, 10, 5000);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    atomic_store(&served, 0);
    struct worker a, b;
    start_worker(&a, pool, 10);
    wait_for_waiting(pool, 1);
    start_worker(&b, pool, 10);
    wait_for_waiting(pool, 2);
    soom_pg_pool_release(c);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    CHECK_INT(a.rc, SOOM_OK);
    CHECK_INT(b.rc, SOOM_OK);
    CHECK_INT(a.order, 0);
    CHECK_INT(b.order, 1);
    soom_pg_pool_free(pool);
}

static void test_max_waiting(void)
{
    struct soom_pg_pool *pool = make_pool(url, 1, 1, 5000, 1, 5000);
    struct soom_pg_conn *c, *c2;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    struct worker a;
    start_worker(&a, pool, 10);
    wait_for_waiting(pool, 1);
    /* the queue is full: refused at once, not after the timeout */
    double t0 = pg_test_now();
    CHECK_INT(soom_pg_pool_acquire(pool, &c2), SOOM_EUNAVAIL);
    CHECK(pg_test_now() - t0 < 0.1);
    CHECK(c2 == NULL);
    soom_pg_pool_release(c);
    pthread_join(a.thread, NULL);
    CHECK_INT(a.rc, SOOM_OK);
    CHECK_INT(stats(pool).failed, 1);
    soom_pg_pool_free(pool);

    /* max_waiting = 0: nobody waits */
    pool = make_pool(url, 1, 1, 5000, 0, 5000);
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    t0 = pg_test_now();
    CHECK_INT(soom_pg_pool_acquire(pool, &c2), SOOM_EUNAVAIL);
    CHECK(pg_test_now() - t0 < 0.1);
    soom_pg_pool_release(c);
    soom_pg_pool_free(pool);
}

static void test_timeout(void)
{
    struct soom_pg_pool *pool = make_pool(url, 1, 1, 200, 10, 5000);
    struct soom_pg_conn *c, *c2;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    double t0 = pg_test_now();
    CHECK_INT(soom_pg_pool_acquire(pool, &c2), SOOM_EUNAVAIL);
    double waited = pg_test_now() - t0;
    CHECK(waited >= 0.18 && waited < 1.5);
    struct soom_pg_pool_stats st = stats(pool);
    CHECK_INT(st.waiting, 0);
    CHECK_INT(st.failed, 1);
    /* the connection still goes to the next one asking */
    soom_pg_pool_release(c);
    CHECK_INT(soom_pg_pool_acquire(pool, &c2), SOOM_OK);
    soom_pg_pool_release(c2);
    soom_pg_pool_free(pool);
}

static void test_release_in_transaction(void)
{
    struct soom_pg_pool *pool = make_pool(url, 1, 1, 1000, 10, 5000);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK_INT(pg_test_exec(c, "CREATE TABLE p_tx (n int)"), SOOM_OK);
    int pid = soom_pg_conn_backend_pid(c);
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK_INT(pg_test_exec(c, "INSERT INTO p_tx VALUES (1)"), SOOM_OK);
    soom_pg_pool_release(c); /* inside the transaction */
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK_INT(soom_pg_conn_backend_pid(c), pid); /* the same session, */
    CHECK(!soom_pg_conn_in_transaction(c));      /* rolled back */
    CHECK_STR(pg_test_value(c, "SELECT count(*) FROM p_tx", buf, sizeof buf), "0");
    /* a failed transaction too */
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK(soom_pg_exec_script(c, "SELECT nope") != SOOM_OK);
    soom_pg_pool_release(c);
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK(!soom_pg_conn_in_transaction(c));
    CHECK(soom_pg_conn_error(c) == NULL);
    CHECK_STR(pg_test_value(c, "SELECT 1", buf, sizeof buf), "1");
    soom_pg_pool_release(c);
    soom_pg_pool_free(pool);
}

static void terminate_pids(const int *pids, int n)
{
    struct soom_pg_conn *admin = pg_test_connect(url);
    char sql[160];
    for (int i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pids[i]);
        CHECK_STR(pg_test_value(admin, sql, buf, sizeof buf), "t");
    }
    for (int i = 0; i < n; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pids[i]);
        for (int k = 0; k < 100 && strcmp(pg_test_value(admin, sql, buf, sizeof buf), "0"); k++)
            pg_test_sleep_ms(20);
    }
    /* A backend leaves pg_stat_activity before its last step of exiting,
     * which sends its FATAL message and closes the socket: until then its
     * client sees nothing to read. Let the exit finish. */
    pg_test_sleep_ms(100);
    soom_pg_conn_close(admin);
}

static void check_terminated(long idle_check_ms)
{
    struct soom_pg_pool *pool = make_pool(url, 0, 2, 1000, 10, idle_check_ms);
    struct soom_pg_conn *a, *b;
    CHECK_INT(soom_pg_pool_acquire(pool, &a), SOOM_OK);
    CHECK_INT(soom_pg_pool_acquire(pool, &b), SOOM_OK);
    int pids[2] = {soom_pg_conn_backend_pid(a), soom_pg_conn_backend_pid(b)};
    soom_pg_pool_release(a);
    soom_pg_pool_release(b);
    terminate_pids(pids, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(soom_pg_pool_acquire(pool, &a), SOOM_OK);
        /* replaced on acquire, before any statement found it dead */
        int fresh = soom_pg_conn_backend_pid(a);
        CHECK(fresh != pids[0] && fresh != pids[1]);
        CHECK_STR(pg_test_value(a, "SELECT 'alive'", buf, sizeof buf), "alive");
        int pid = soom_pg_conn_backend_pid(a);
        CHECK(pid != pids[0] && pid != pids[1]);
        soom_pg_pool_release(a);
    }
    CHECK(stats(pool).replaced >= 1);
    CHECK_INT(stats(pool).failed, 0);
    /* terminated while held, outside a transaction: retried on a new session */
    CHECK_INT(soom_pg_pool_acquire(pool, &a), SOOM_OK);
    pids[0] = soom_pg_conn_backend_pid(a);
    terminate_pids(pids, 1);
    CHECK_STR(pg_test_value(a, "SELECT 'again'", buf, sizeof buf), "again");
    soom_pg_pool_release(a);
    soom_pg_pool_free(pool);
}

static void test_terminated(void)
{
    check_terminated(60000); /* noticed on the socket, no round trip */
    check_terminated(0);     /* verified by a round trip on every acquire */
}

/* ---- a server that stops and starts again ------------------------------- */

static int pg_sh(const char *cmd, const char *dir, int port)
{
    const char *sh = getenv("SOOM_TEST_PG_SH");
    if (sh == NULL || sh[0] == '\0') {
        fprintf(stderr, "  SOOM_TEST_PG_SH (the path of tests/support/pg.sh) is not set\n");
        return -1;
    }
    char line[1024];
    snprintf(line, sizeof line, "SOOM_TEST_PG_DIR=%s SOOM_TEST_PG_PORT=%d '%s' %s >/dev/null", dir,
             port, sh, cmd);
    return system(line);
}

/* A TCP port free on 127.0.0.1 a moment ago (the kernel's choice). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static struct soom_pg_conn *acquire_within(struct soom_pg_pool *pool, double seconds)
{
    struct soom_pg_conn *c = NULL;
    double end = pg_test_now() + seconds;
    while (pg_test_now() < end) {
        if (soom_pg_pool_acquire(pool, &c) == SOOM_OK)
            return c;
        pg_test_sleep_ms(100);
    }
    return NULL;
}

static void test_down_and_up(void)
{
    char dir[128], db[256];
    snprintf(dir, sizeof dir, "/tmp/soom-test-pg-pool-%ld", (long)getpid());
    /* a cluster of its own, on a port free a moment ago rather than one
     * derived from the pid (which met ephemeral ports of other tests):
     * should another process take it first, another port */
    int port = -1, rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        port = free_port();
        rc = pg_sh("start", dir, port);
    }
    CHECK_INT(rc, 0);
    if (rc != 0)
        return;
    snprintf(db, sizeof db, "postgresql://soom:soom@127.0.0.1:%d/soom", port);
    struct soom_pg_pool *pool = make_pool(db, 1, 2, 2000, 10, 60000);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK_STR(pg_test_value(c, "SELECT 1", buf, sizeof buf), "1");
    soom_pg_pool_release(c);

    CHECK_INT(soom_pg_pool_check(pool, 1000), SOOM_OK);
    CHECK_INT(pg_sh("stop", dir, port), 0);
    CHECK_INT(soom_pg_pool_check(pool, 1000), SOOM_EUNAVAIL);
    /* down: fails fast, again and again, never waits out the timeout */
    for (int i = 0; i < 5; i++) {
        double t0 = pg_test_now();
        CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_EUNAVAIL);
        CHECK(pg_test_now() - t0 < 0.5);
    }
    CHECK(stats(pool).down);
    CHECK_INT(stats(pool).in_use, 0);

    /* back: the same pool recovers by itself */
    CHECK_INT(pg_sh("start", dir, port), 0);
    c = acquire_within(pool, 15);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK_STR(pg_test_value(c, "SELECT 'back'", buf, sizeof buf), "back");
        soom_pg_pool_release(c);
    }
    CHECK(!stats(pool).down);
    CHECK_INT(soom_pg_pool_check(pool, 1000), SOOM_OK);

    /* a held connection whose server went away: the statement is a 503 */
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    CHECK_INT(pg_sh("stop", dir, port), 0);
    double t0 = pg_test_now();
    CHECK_INT(soom_pg_exec(c, "SELECT 1", 0, NULL, NULL, NULL, NULL), SOOM_EUNAVAIL);
    CHECK(pg_test_now() - t0 < 1.0);
    soom_pg_pool_release(c);
    CHECK_INT(stats(pool).in_use, 0);
    soom_pg_pool_free(pool);

    char rm[320];
    snprintf(rm, sizeof rm, "rm -rf '%s' '%s.lock'", dir, dir);
    CHECK_INT(system(rm), 0);
}

static void test_global(void)
{
    struct soom_config *cfg = pg_test_config("");
    CHECK_INT(soom_pg_pool_setup(cfg), SOOM_OK); /* no URL: no pool, no error */
    CHECK(soom_pg_pool_global(NULL) == NULL);
    CHECK(soom_pg_pool_global(cfg) == NULL);
    soom_config_free(cfg);
    cfg = pg_test_config(url);
    CHECK_INT(soom_pg_pool_setup(cfg), SOOM_OK);
    struct soom_pg_pool *pool = soom_pg_pool_global(NULL);
    CHECK(pool != NULL);
    CHECK_INT(soom_pg_pool_setup(cfg), SOOM_OK);
    CHECK(soom_pg_pool_global(cfg) == pool);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_pool_acquire(pool, &c), SOOM_OK);
    soom_pg_pool_release(c);
    soom_pg_pool_teardown();
    CHECK(soom_pg_pool_global(NULL) == NULL);
    /* made on first use when the server did not set it up */
    pool = soom_pg_pool_global(cfg);
    CHECK(pool != NULL);
    soom_pg_pool_teardown();
    soom_config_free(cfg);
}

int main(void)
{
    url = pg_test_setup("t_pool");
    RUN(test_basic);
    RUN(test_queue);
    RUN(test_fifo);
    RUN(test_max_waiting);
    RUN(test_timeout);
    RUN(test_release_in_transaction);
    RUN(test_terminated);
    RUN(test_global);
    RUN(test_down_and_up);
    pg_test_teardown();
    return test_summary();
}
