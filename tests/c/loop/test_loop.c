/* The event loop, fibers and waits (core/src/loop/): timers in order,
 * tasks posted from other threads, fibers waiting on sockets, sleeps and
 * wake-ups from another thread, budgets, and the same waits on a plain
 * thread, and work handed to helper threads while the loop goes on. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "soom/error.h"
#include "test.h"
#include "wait.h"
#include "work.h"

#define MS 1000000ull

/* ---- timers ---------------------------------------------------------------- */

struct stamp {
    struct soom_loop_timer t;
    int id;
    int *order;
    int *n;
};

static void stamp_fired(struct soom_loop_timer *t)
{
    struct stamp *s = (struct stamp *)t;
    s->order[(*s->n)++] = s->id;
}

static void test_timers_fire_in_order(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    int order[8], n = 0;
    struct stamp s[5];
    uint64_t now = soom_clock_ns();
    int delays[5] = {30, 10, 50, 20, 40};
    for (int i = 0; i < 5; i++) {
        s[i] = (struct stamp){{stamp_fired, 0, 0}, i, order, &n};
        soom_loop_timer_start(l, &s[i].t, now + (uint64_t)delays[i] * MS);
    }
    soom_loop_timer_stop(l, &s[2].t);                /* the 50 ms one never fires */
    soom_loop_timer_start(l, &s[4].t, now + 5 * MS); /* moved first */
    while (n < 4 && soom_clock_ns() < now + 2000 * MS)
        soom_loop_turn(l, 100 * MS);
    CHECK_INT(n, 4);
    int want[4] = {4, 1, 3, 0};
    for (int i = 0; i < 4; i++)
        CHECK_INT(order[i], want[i]);
    CHECK(soom_clock_ns() - now >= 30 * MS);
    soom_loop_free(l);
}

/* ---- posts ----------------------------------------------------------------- */

struct counter {
    pthread_mutex_t lock;
    int n;
    struct soom_loop *l;
};

static void count_task(void *arg, uint64_t token)
{
    struct counter *c = arg;
    c->n += (int)token;
}

static void *poster(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < 1000; i++)
        soom_loop_post(c->l, count_task, c, 1);
    return NULL;
}

static void test_posts_from_other_threads(void)
{
    struct counter c = {PTHREAD_MUTEX_INITIALIZER, 0, NULL};
    CHECK_INT(soom_loop_new(&c.l), SOOM_OK);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, poster, &c);
    uint64_t end = soom_clock_ns() + 5000 * MS;
    while (c.n < 4000 && soom_clock_ns() < end)
        soom_loop_turn(c.l, 50 * MS);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    soom_loop_turn(c.l, 0);
    CHECK_INT(c.n, 4000);
    soom_loop_free(c.l);
}

/* ---- every post wakes a blocked loop ------------------------------------------ */

/* This program is linked with --wrap=pthread_mutex_unlock
 * (tests/CMakeLists.txt): on a thread that asks, each unlock is followed by
 * a pause, which widens the moment between a post's unlock of the queue and
 * its wake-up of the loop, so that the loop, woken by another post, takes
 * the queue in between. A wake-up flag cleared then (instead of when the
 * eventfd is read) stayed set with nothing left to read, and every later
 * post waited for some other event to wake the loop. */
int __real_pthread_mutex_unlock(pthread_mutex_t *m);
static _Thread_local bool slow_unlock;

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m)
{
    int rc = __real_pthread_mutex_unlock(m);
    if (slow_unlock)
        usleep(100);
    return rc;
}

#define PINGERS 2
#define PINGS 3000

struct pingpong {
    struct soom_loop *l;
    atomic_int done[PINGERS];
    _Atomic uint64_t slowest;
};

struct ping {
    struct pingpong *pp;
    int side;
};

static void pinged(void *arg, uint64_t token)
{
    (void)token;
    struct ping *p = arg;
    atomic_fetch_add(&p->pp->done[p->side], 1);
}

/* Posts a task and waits for it to run, PINGS times. */
static void *pinger(void *arg)
{
    struct ping *p = arg;
    slow_unlock = true;
    for (int k = 1; k <= PINGS; k++) {
        uint64_t t0 = soom_clock_ns();
        soom_loop_post(p->pp->l, pinged, p, 0);
        while (atomic_load(&p->pp->done[p->side]) < k) {
            if (soom_clock_ns() - t0 > 3000 * MS)
                return NULL; /* lost for good: the checks below say so */
        }
        uint64_t took = soom_clock_ns() - t0, was = atomic_load(&p->pp->slowest);
        while (took > was && !atomic_compare_exchange_weak(&p->pp->slowest, &was, took))
            ;
    }
    return NULL;
}

static void test_every_post_wakes_a_blocked_loop(void)
{
    struct pingpong pp = {.slowest = 0};
    CHECK_INT(soom_loop_new(&pp.l), SOOM_OK);
    struct ping pings[PINGERS];
    pthread_t t[PINGERS];
    for (int i = 0; i < PINGERS; i++) {
        atomic_init(&pp.done[i], 0);
        pings[i] = (struct ping){&pp, i};
        pthread_create(&t[i], NULL, pinger, &pings[i]);
    }
    /* the loop blocks up to a second a turn: only a post's wake-up ends a
     * turn sooner */
    uint64_t end = soom_clock_ns() + 30000 * MS;
    for (int i = 0; i < PINGERS; i++)
        while (atomic_load(&pp.done[i]) < PINGS && soom_clock_ns() < end)
            soom_loop_turn(pp.l, 1000 * MS);
    for (int i = 0; i < PINGERS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(atomic_load(&pp.done[i]), PINGS);
    }
    CHECK(atomic_load(&pp.slowest) < 500 * MS);
    soom_loop_free(pp.l);
}

/* ---- fibers on sockets ------------------------------------------------------- */

struct reader {
    int fd;
    char got[16];
    int rc;
    bool done;
};

static void read_fiber(void *arg)
{
    struct reader *r = arg;
    r->rc = soom_wait_fd(r->fd, SOOM_LOOP_IN, soom_clock_ns() + 2000 * MS);
    if (r->rc == SOOM_OK) {
        ssize_t n = read(r->fd, r->got, sizeof r->got - 1);
        r->got[n > 0 ? n : 0] = '\0';
    }
    r->done = true;
}

static void test_fiber_waits_for_a_socket(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    int sv[2], sw[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sw);
    struct reader a = {sv[0], "", -1, false}, b = {sw[0], "", -1, false};
    CHECK(!soom_fiber_run(l, read_fiber, &a)); /* both wait */
    CHECK(!soom_fiber_run(l, read_fiber, &b));
    CHECK(write(sw[1], "two", 3) == 3); /* the second is ready first */
    while (!b.done)
        soom_loop_turn(l, 100 * MS);
    CHECK(!a.done);
    CHECK_STR(b.got, "two");
    CHECK(write(sv[1], "one", 3) == 3);
    while (!a.done)
        soom_loop_turn(l, 100 * MS);
    CHECK_STR(a.got, "one");
    CHECK_INT(a.rc, SOOM_OK);
    /* the same descriptor waited on again, then timing out */
    struct reader c = {sv[0], "", -1, false};
    CHECK(!soom_fiber_run(l, read_fiber, &c));
    uint64_t t0 = soom_clock_ns();
    CHECK(soom_fiber_current() == NULL); /* back on the thread's stack */
    while (!c.done)
        soom_loop_turn(l, 100 * MS);
    CHECK_INT(c.rc, SOOM_ETIMEDOUT);
    CHECK(soom_clock_ns() - t0 >= 1900 * MS);
    for (int i = 0; i < 2; i++)
        close(sv[i]), close(sw[i]);
    soom_loop_free(l);
}

/* A socket named by a key keeps its registration between waits; readiness
 * with no wait armed must not make the loop spin, and a new socket on a
 * reused number (another key) must be registered again. */
struct keyed_reader {
    int fd;
    uint64_t key;
    int rc;
    bool done;
};

static void keyed_read_fiber(void *arg)
{
    struct keyed_reader *r = arg;
    r->rc = soom_wait_fd_key(r->fd, r->key, SOOM_LOOP_IN, soom_clock_ns() + 2000 * MS);
    char buf[16];
    if (r->rc == SOOM_OK)
        CHECK(read(r->fd, buf, sizeof buf) > 0);
    r->done = true;
}

static void keyed_read(struct soom_loop *l, int fd, int peer, uint64_t key)
{
    struct keyed_reader r = {fd, key, -1, false};
    CHECK(!soom_fiber_run(l, keyed_read_fiber, &r));
    CHECK(write(peer, "x", 1) == 1);
    while (!r.done)
        soom_loop_turn(l, 100 * MS);
    CHECK_INT(r.rc, SOOM_OK);
}

static void test_keyed_waits_keep_their_registration(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    keyed_read(l, sv[0], sv[1], 7);
    keyed_read(l, sv[0], sv[1], 7); /* the kept registration */
    /* readable with nobody waiting: the loop still blocks */
    CHECK(write(sv[1], "y", 1) == 1);
    soom_loop_turn(l, 50 * MS);
    uint64_t t0 = soom_clock_ns();
    soom_loop_turn(l, 50 * MS);
    CHECK(soom_clock_ns() - t0 >= 40 * MS);
    char buf[4];
    CHECK(read(sv[0], buf, sizeof buf) == 1);
    keyed_read(l, sv[0], sv[1], 7); /* registered again */
    /* handed to another loop: not even one wake-up here */
    soom_loop_fd_forget(l, sv[0], 7);
    CHECK(write(sv[1], "z", 1) == 1);
    t0 = soom_clock_ns();
    soom_loop_turn(l, 50 * MS);
    CHECK(soom_clock_ns() - t0 >= 40 * MS);
    CHECK(read(sv[0], buf, sizeof buf) == 1);
    keyed_read(l, sv[0], sv[1], 7);
    /* the number reused by another socket */
    int old = sv[0];
    close(sv[0]), close(sv[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK(sv[0] == old || sv[1] == old);
    int fd = sv[0] == old ? sv[0] : sv[1], peer = sv[0] == old ? sv[1] : sv[0];
    keyed_read(l, fd, peer, 8);
    close(sv[0]), close(sv[1]);
    soom_loop_free(l);
}

/* ---- many fibers sleeping at once -------------------------------------------- */

static int slept;

static void sleep_fiber(void *arg)
{
    (void)arg;
    if (soom_wait_until(soom_clock_ns() + 100 * MS) == SOOM_OK)
        slept++;
}

static void test_thousand_fibers_sleep_at_once(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    slept = 0;
    uint64_t t0 = soom_clock_ns();
    for (int i = 0; i < 1000; i++)
        CHECK(!soom_fiber_run(l, sleep_fiber, NULL));
    while (slept < 1000 && soom_clock_ns() - t0 < 5000 * MS)
        soom_loop_turn(l, 50 * MS);
    CHECK_INT(slept, 1000);
    uint64_t took = soom_clock_ns() - t0;
    CHECK(took >= 100 * MS && took < 1000 * MS);
    soom_loop_free(l);
}

/* ---- waiters woken from another thread --------------------------------------- */

struct handoff {
    pthread_mutex_t lock;
    struct soom_waiter w;
    bool queued;
    int value;
    int rc;
    bool done;
};

static void waiter_fiber(void *arg)
{
    struct handoff *h = arg;
    pthread_mutex_lock(&h->lock);
    h->queued = true;
    h->rc = soom_waiter_wait(&h->w, &h->lock, soom_clock_ns() + 3000 * MS);
    h->queued = false;
    pthread_mutex_unlock(&h->lock);
    h->done = true;
}

static void *waker(void *arg)
{
    struct handoff *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        if (h->queued) {
            h->value = 42;
            soom_waiter_wake(&h->w);
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        pthread_mutex_unlock(&h->lock);
        usleep(1000);
    }
}

static void test_waiter_woken_across_threads(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct handoff h;
    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.lock, NULL);
    h.rc = -1;
    CHECK(!soom_fiber_run(l, waiter_fiber, &h));
    pthread_t t;
    pthread_create(&t, NULL, waker, &h);
    uint64_t t0 = soom_clock_ns();
    while (!h.done && soom_clock_ns() - t0 < 5000 * MS)
        soom_loop_turn(l, 100 * MS);
    pthread_join(t, NULL);
    CHECK(h.done);
    CHECK_INT(h.rc, SOOM_OK);
    CHECK_INT(h.value, 42);
    CHECK(soom_clock_ns() - t0 < 2000 * MS);
    /* the same on a plain thread: a condition variable */
    h.done = false, h.value = 0, h.rc = -1;
    pthread_create(&t, NULL, waker, &h);
    waiter_fiber(&h);
    pthread_join(t, NULL);
    CHECK_INT(h.rc, SOOM_OK);
    CHECK_INT(h.value, 42);
    soom_loop_free(l);
}

/* ---- budgets ------------------------------------------------------------------ */

struct budgeted {
    int rc;
    uint64_t took;
    bool done;
};

static void budget_fiber(void *arg)
{
    struct budgeted *b = arg;
    uint64_t t0 = soom_clock_ns();
    soom_wait_set_budget(t0 + 50 * MS);
    b->rc = soom_wait_until(t0 + 5000 * MS);
    b->took = soom_clock_ns() - t0;
    b->done = true;
}

static void test_budget_ends_waits(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct budgeted b = {0, 0, false};
    CHECK(!soom_fiber_run(l, budget_fiber, &b));
    while (!b.done)
        soom_loop_turn(l, 100 * MS);
    CHECK_INT(b.rc, SOOM_ETIMEDOUT);
    CHECK(b.took >= 45 * MS && b.took < 1000 * MS);
    /* on a plain thread, the budget is the thread's */
    uint64_t t0 = soom_clock_ns();
    soom_wait_set_budget(t0 + 30 * MS);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK_INT(soom_wait_fd(sv[0], SOOM_LOOP_IN, 0), SOOM_ETIMEDOUT);
    CHECK(soom_clock_ns() - t0 < 1000 * MS);
    soom_wait_set_budget(0);
    close(sv[0]), close(sv[1]);
    soom_loop_free(l);
}

static void noop_fiber(void *arg)
{
    (*(int *)arg)++;
}

static void test_fibers_are_reused(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    int n = 0;
    for (int i = 0; i < 10000; i++)
        CHECK(soom_fiber_run(l, noop_fiber, &n));
    CHECK_INT(n, 10000);
    soom_fiber_thread_cleanup();
    soom_loop_free(l);
}

/* ---- work off the loop ------------------------------------------------------ */

struct busy {
    pthread_t caller, ran_on;
    uint64_t until;
};

static void busy_work(void *arg)
{
    struct busy *b = arg;
    b->ran_on = pthread_self();
    while (soom_clock_ns() < b->until)
        ; /* CPU, as a password hash spends it */
}

struct worker_fiber {
    struct busy busy;
    uint64_t finished;
    bool done;
};

static void work_fiber(void *arg)
{
    struct worker_fiber *w = arg;
    soom_wait_set_budget(soom_clock_ns() + 10 * MS); /* no end to a wait on a helper */
    soom_work_run(busy_work, &w->busy);
    w->finished = soom_clock_ns();
    w->done = true;
}

static void test_work_leaves_the_loop_free(void)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    struct worker_fiber w;
    memset(&w, 0, sizeof w);
    w.busy.caller = pthread_self();
    w.busy.until = soom_clock_ns() + 300 * MS;
    CHECK(!soom_fiber_run(l, work_fiber, &w));
    /* while the helper computes, the loop runs a thousand other fibers */
    slept = 0;
    for (int i = 0; i < 1000; i++)
        CHECK(!soom_fiber_run(l, sleep_fiber, NULL));
    uint64_t t0 = soom_clock_ns(), slept_at = 0;
    while ((!w.done || slept < 1000) && soom_clock_ns() - t0 < 5000 * MS) {
        soom_loop_turn(l, 50 * MS);
        if (slept == 1000 && slept_at == 0)
            slept_at = soom_clock_ns();
    }
    CHECK(w.done);
    CHECK_INT(slept, 1000);
    CHECK(slept_at < w.finished); /* the sleeps ended while the work went on */
    CHECK(!pthread_equal(w.busy.ran_on, w.busy.caller));
    CHECK(w.finished >= w.busy.until); /* the 10 ms budget did not cut the wait */
    /* on a plain thread it runs there */
    struct busy b = {pthread_self(), 0, soom_clock_ns() + MS};
    soom_work_run(busy_work, &b);
    CHECK(pthread_equal(b.ran_on, b.caller));
    soom_fiber_thread_cleanup();
    soom_loop_free(l);
}

int main(void)
{
    RUN(test_timers_fire_in_order);
    RUN(test_posts_from_other_threads);
    RUN(test_every_post_wakes_a_blocked_loop);
    RUN(test_fiber_waits_for_a_socket);
    RUN(test_keyed_waits_keep_their_registration);
    RUN(test_thousand_fibers_sleep_at_once);
    RUN(test_waiter_woken_across_threads);
    RUN(test_budget_ends_waits);
    RUN(test_fibers_are_reused);
    RUN(test_work_leaves_the_loop_free);
    soom_fiber_thread_cleanup();
    return test_summary();
}
