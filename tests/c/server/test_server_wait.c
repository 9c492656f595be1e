/*
 * Unit tests of core/src/server/server_wait.c: tickets woken once, by a
 * resume or by their deadline, never confused with a later ticket, and
 * deadlines expiring in order.
 */
#include <pthread.h>
#include <time.h>

#include "server_wait.h"
#include "soom/error.h"
#include "test.h"

#define MAX_UNPARKED 64

static pthread_mutex_t unparked_lock = PTHREAD_MUTEX_INITIALIZER;
static void *unparked[MAX_UNPARKED];
static int nunparked;

static void record_unpark(void *conn)
{
    pthread_mutex_lock(&unparked_lock);
    if (nunparked < MAX_UNPARKED)
        unparked[nunparked] = conn;
    nunparked++;
    pthread_mutex_unlock(&unparked_lock);
}

static int unparked_count(void)
{
    pthread_mutex_lock(&unparked_lock);
    int n = nunparked;
    pthread_mutex_unlock(&unparked_lock);
    return n;
}

static void reset_unparked(void)
{
    pthread_mutex_lock(&unparked_lock);
    nunparked = 0;
    pthread_mutex_unlock(&unparked_lock);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to 5 s for `n` unparks. */
static bool await_unparked(int n)
{
    for (int i = 0; i < 500 && unparked_count() < n; i++)
        sleep_ms(10);
    return unparked_count() >= n;
}

static const uint64_t MS = 1000000u;

static void test_woken_before_parked(void)
{
    int value = 7;
    uint64_t t = soom_wait_arm(5000 * MS);
    CHECK(t != 0);
    CHECK_INT(soom_wait_wake(t, &value, false), SOOM_OK);
    CHECK_INT(soom_wait_wake(t, NULL, false), SOOM_ENOTFOUND); /* once only */
    CHECK(!soom_wait_park(t, &value));                         /* the server goes on at once */
    void *result;
    bool timed_out;
    soom_wait_take(t, &result, &timed_out);
    CHECK(result == &value);
    CHECK(!timed_out);
    CHECK_INT(soom_wait_wake(t, NULL, false), SOOM_ENOTFOUND); /* retired */
    CHECK_INT((long long)soom_wait_pending(), 0);
}

struct waker {
    uint64_t ticket;
    void *result;
    int rc;
};

static void *wake_later(void *arg)
{
    struct waker *w = arg;
    sleep_ms(20);
    w->rc = soom_wait_wake(w->ticket, w->result, false);
    return NULL;
}

static void test_parked_then_woken_from_another_thread(void)
{
    reset_unparked();
    int conn = 1, value = 2;
    struct waker w = {soom_wait_arm(5000 * MS), &value, -1};
    CHECK(soom_wait_park(w.ticket, &conn));
    pthread_t th;
    pthread_create(&th, NULL, wake_later, &w);
    CHECK(await_unparked(1));
    pthread_join(th, NULL);
    CHECK_INT(w.rc, SOOM_OK);
    CHECK(unparked[0] == &conn);
    void *result;
    bool timed_out;
    soom_wait_take(w.ticket, &result, &timed_out);
    CHECK(result == &value && !timed_out);
}

static void test_the_deadline_wakes_a_forgotten_ticket(void)
{
    reset_unparked();
    int conn = 3;
    uint64_t t = soom_wait_arm(30 * MS);
    CHECK(soom_wait_park(t, &conn));
    CHECK(await_unparked(1));
    CHECK(unparked[0] == &conn);
    CHECK_INT(soom_wait_wake(t, NULL, false), SOOM_ENOTFOUND); /* too late */
    void *result = &conn;
    bool timed_out = false;
    soom_wait_take(t, &result, &timed_out);
    CHECK(result == NULL && timed_out);
}

static void test_deadlines_expire_in_order(void)
{
    reset_unparked();
    enum { N = 10 };
    int conns[N];
    uint64_t tickets[N];
    /* armed latest deadline first: the heap must still pop the earliest */
    for (int i = 0; i < N; i++) {
        tickets[i] = soom_wait_arm((uint64_t)(N - i) * 15 * MS);
        CHECK(soom_wait_park(tickets[i], &conns[i]));
    }
    CHECK(await_unparked(N));
    for (int i = 0; i < N; i++)
        CHECK(unparked[i] == &conns[N - 1 - i]);
    for (int i = 0; i < N; i++) {
        void *result;
        bool timed_out;
        soom_wait_take(tickets[i], &result, &timed_out);
        CHECK(timed_out);
    }
}

static void test_a_woken_ticket_leaves_the_timer_and_its_slot_is_reused(void)
{
    reset_unparked();
    int conn = 4;
    uint64_t a = soom_wait_arm(40 * MS);
    CHECK(soom_wait_park(a, &conn));
    CHECK_INT(soom_wait_wake(a, NULL, false), SOOM_OK);
    CHECK(await_unparked(1));
    void *result;
    bool timed_out;
    soom_wait_take(a, &result, &timed_out);
    sleep_ms(80); /* past the old deadline: nothing more may fire */
    CHECK_INT(unparked_count(), 1);
    uint64_t b = soom_wait_arm(5000 * MS); /* the same slot, a new ticket */
    CHECK(b != a);
    CHECK_INT(soom_wait_wake(a, NULL, false), SOOM_ENOTFOUND);
    CHECK_INT(soom_wait_wake(b, NULL, false), SOOM_OK);
    soom_wait_take(b, &result, &timed_out);
    CHECK_INT((long long)soom_wait_pending(), 0);
}

static void *block_on(void *arg)
{
    soom_wait_block(*(uint64_t *)arg);
    return NULL;
}

static void test_a_blocked_thread_is_woken(void)
{
    int value = 5;
    struct waker w = {soom_wait_arm(5000 * MS), &value, -1};
    pthread_t blocked, waker;
    pthread_create(&blocked, NULL, block_on, &w.ticket);
    pthread_create(&waker, NULL, wake_later, &w);
    pthread_join(blocked, NULL); /* returns only once woken */
    pthread_join(waker, NULL);
    CHECK_INT(w.rc, SOOM_OK);
    void *result;
    bool timed_out;
    soom_wait_take(w.ticket, &result, &timed_out);
    CHECK(result == &value && !timed_out);
    /* and by the deadline */
    uint64_t t = soom_wait_arm(20 * MS);
    soom_wait_block(t);
    soom_wait_take(t, &result, &timed_out);
    CHECK(timed_out);
}

static void *churn(void *arg)
{
    (void)arg;
    int conn;
    for (int i = 0; i < 2000; i++) {
        uint64_t t = soom_wait_arm((uint64_t)(1 + i % 7) * MS);
        if (i % 3 != 0)
            soom_wait_wake(t, NULL, false);
        if (soom_wait_park(t, &conn))
            soom_wait_wake(t, NULL, false); /* or the timer was first */
        void *result;
        bool timed_out;
        soom_wait_take(t, &result, &timed_out);
    }
    return NULL;
}

static void test_many_threads_at_once(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, churn, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_INT((long long)soom_wait_pending(), 0);
}

int main(void)
{
    CHECK_INT(soom_wait_arm(MS), 0); /* not set up */
    CHECK_INT(soom_wait_setup(record_unpark), SOOM_OK);
    RUN(test_woken_before_parked);
    RUN(test_parked_then_woken_from_another_thread);
    RUN(test_the_deadline_wakes_a_forgotten_ticket);
    RUN(test_deadlines_expire_in_order);
    RUN(test_a_woken_ticket_leaves_the_timer_and_its_slot_is_reused);
    RUN(test_a_blocked_thread_is_woken);
    RUN(test_many_threads_at_once);
    soom_wait_teardown();
    return test_summary();
}
