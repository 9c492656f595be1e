/* Unit tests of core/src/pg/pg_wait.c against a real PostgreSQL: sessions
 * used from fibers of one thread's loop, so that statements and the
 * pool's queue wait without holding the thread (many pg_sleep at once on
 * one thread, a FIFO queue of fibers, a timer that keeps firing meanwhile),
 * and a statement whose answer does not come within the budget abandoned
 * (the server cancels it). */
#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "pg_test.h"
#include "wait.h"

#define MS 1000000ull

static const char *url;
static char buf[256];

static struct soom_pg_pool *make_pool(long max, long timeout_ms)
{
    struct soom_config *cfg = pg_test_config(url);
    cfg->pool_min = 0;
    cfg->pool_max = max;
    cfg->pool_acquire_timeout_ms = timeout_ms;
    cfg->pool_max_waiting = 1000;
    struct soom_pg_pool *pool;
    CHECK_INT(soom_pg_pool_new(cfg, &pool), SOOM_OK);
    soom_config_free(cfg);
    return pool;
}

struct job {
    struct soom_pg_pool *pool;
    const char *sql;
    uint64_t budget_ms;
    int rc;
    int order;
    bool done;
    double took;
};

static int finished;

static void job_fiber(void *arg)
{
    struct job *j = arg;
    double t0 = pg_test_now();
    if (j->budget_ms)
        soom_wait_set_budget(soom_clock_ns() + j->budget_ms * MS);
    struct soom_pg_conn *c;
    j->rc = soom_pg_pool_acquire(j->pool, &c);
    if (j->rc == SOOM_OK) {
        j->rc = soom_pg_exec(c, j->sql, 0, NULL, NULL, NULL, NULL);
        soom_pg_pool_release(c);
    }
    j->took = pg_test_now() - t0;
    j->order = finished++;
    j->done = true;
}

/* Turns the loop until every job is done (or 10 s). */
static void run_all(struct soom_loop *l, struct job *jobs, int n)
{
    uint64_t end = soom_clock_ns() + 10000 * MS;
    for (int i = 0; i < n; i++)
        soom_fiber_run(l, job_fiber, &jobs[i]);
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++)
            left += !jobs[i].done;
        if (left == 0 || soom_clock_ns() > end)
            return;
        soom_loop_turn(l, 100 * MS);
    }
}

struct ticker {
    struct soom_loop_timer t;
    struct soom_loop *l;
    int ticks;
};

static void tick(struct soom_loop_timer *t)
{
    struct ticker *k = (struct ticker *)t;
    k->ticks++;
    soom_loop_timer_start(k->l, t, soom_clock_ns() + 10 * MS);
}

static void test_statements_overlap_on_one_thread(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct soom_pg_pool *pool = make_pool(20, 5000);
    struct job jobs[20];
    /* the twenty sessions first (password hashing makes connecting cost CPU) */
    for (int i = 0; i < 20; i++)
        jobs[i] = (struct job){pool, "SELECT 1", 0, -1, -1, false, 0};
    run_all(l, jobs, 20);
    for (int i = 0; i < 20; i++)
        jobs[i] = (struct job){pool, "SELECT pg_sleep(0.3)", 0, -1, -1, false, 0};
    struct ticker k = {{tick, 0, 0}, l, 0};
    soom_loop_timer_start(l, &k.t, soom_clock_ns() + 10 * MS);
    double t0 = pg_test_now();
    finished = 0;
    run_all(l, jobs, 20);
    double took = pg_test_now() - t0;
    for (int i = 0; i < 20; i++)
        CHECK_INT(jobs[i].rc, SOOM_OK);
    /* twenty 0.3 s statements on one thread: together (0.3 s), not one by
     * one (6 s) */
    CHECK(took < 2.0);
    CHECK(k.ticks >= 20); /* the loop kept turning meanwhile */
    soom_loop_timer_stop(l, &k.t);
    soom_pg_pool_free(pool);
    soom_loop_free(l);
}

static void test_pool_queue_of_fibers(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct soom_pg_pool *pool = make_pool(2, 5000);
    struct job jobs[8];
    for (int i = 0; i < 8; i++)
        jobs[i] = (struct job){pool, "SELECT pg_sleep(0.1)", 0, -1, -1, false, 0};
    finished = 0;
    double t0 = pg_test_now();
    run_all(l, jobs, 8);
    double took = pg_test_now() - t0;
    for (int i = 0; i < 8; i++)
        CHECK_INT(jobs[i].rc, SOOM_OK);
    /* two at a time, four rounds of 0.1 s, in arrival order */
    CHECK(took >= 0.38 && took < 3);
    for (int i = 2; i < 8; i++)
        CHECK(jobs[i].order >= jobs[i - 2].order);
    struct soom_pg_pool_stats st;
    soom_pg_pool_stats(pool, &st);
    CHECK_INT(st.in_use, 0);
    CHECK(st.wait_ns > 0);
    soom_pg_pool_free(pool);
    soom_loop_free(l);
}

static void test_budget_abandons_the_statement(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct soom_pg_pool *pool = make_pool(1, 5000);
    struct job j = {pool, "SELECT pg_sleep(5), 'soom_wait_test_marker'", 150, -1, -1, false, 0};
    finished = 0;
    run_all(l, &j, 1);
    CHECK_INT(j.rc, SOOM_EUNAVAIL);
    CHECK(j.took >= 0.14 && j.took < 1.5);
    /* the server was asked to cancel it, and the pool goes on */
    struct soom_pg_conn *c = pg_test_connect(url);
    const char *active = "1";
    for (int i = 0; i < 50 && strcmp(active, "0") != 0; i++) {
        pg_test_sleep_ms(50);
        active = pg_test_value(c,
                               "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                               "'%soom_wait_test_marker%' AND pid <> pg_backend_pid()",
                               buf, sizeof buf);
    }
    CHECK_STR(active, "0");
    soom_pg_conn_close(c);
    struct job again = {pool, "SELECT 1", 0, -1, -1, false, 0};
    run_all(l, &again, 1);
    CHECK_INT(again.rc, SOOM_OK);
    soom_pg_pool_free(pool);
    soom_loop_free(l);
}

int main(void)
{
    url = pg_test_setup("t_wait");
    RUN(test_statements_overlap_on_one_thread);
    RUN(test_pool_queue_of_fibers);
    RUN(test_budget_abandons_the_statement);
    soom_fiber_thread_cleanup();
    pg_test_teardown();
    return test_summary();
}
