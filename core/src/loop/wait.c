/*
 * Waits on fibers and threads (see wait.h). A fiber's wait arms the loop
 * (a one-shot descriptor wait, its timer, or a waiter that other threads
 * post a wake-up for) and switches out; a thread's wait is poll(),
 * pthread_cond_timedwait() or nanosleep().
 */
#include "wait.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "soom/error.h"

static _Thread_local uint64_t thread_budget;
static _Thread_local int blocking;

uint64_t soom_wait_budget(void)
{
    struct soom_fiber *f = soom_fiber_current();
    return f != NULL ? soom_fiber_budget(f) : thread_budget;
}

uint64_t soom_wait_set_budget(uint64_t deadline)
{
    struct soom_fiber *f = soom_fiber_current();
    uint64_t old = soom_wait_budget();
    if (f != NULL)
        soom_fiber_set_budget(f, deadline);
    else
        thread_budget = deadline;
    return old;
}

/* The earlier of `deadline` and the budget (0 meaning none for both). */
static uint64_t capped(uint64_t deadline)
{
    uint64_t b = soom_wait_budget();
    if (b != 0 && (deadline == 0 || b < deadline))
        return b;
    return deadline;
}

/* The fiber a wait may switch out, or NULL when it must block. */
static struct soom_fiber *switchable(void)
{
    return blocking == 0 ? soom_fiber_current() : NULL;
}

bool soom_wait_switches(void)
{
    return switchable() != NULL;
}

void soom_wait_block_begin(void)
{
    blocking++;
}

void soom_wait_block_end(void)
{
    blocking--;
}

static int timeout_ms(uint64_t deadline)
{
    if (deadline == 0)
        return -1;
    uint64_t now = soom_clock_ns();
    if (now >= deadline)
        return 0;
    uint64_t ms = (deadline - now + 999999u) / 1000000u;
    return ms > 86400000u ? 86400000 : (int)ms;
}

int soom_wait_fd(int fd, unsigned events, uint64_t deadline)
{
    return soom_wait_fd_key(fd, 0, events, deadline);
}

int soom_wait_fd_key(int fd, uint64_t key, unsigned events, uint64_t deadline)
{
    deadline = capped(deadline);
    struct soom_fiber *f = switchable();
    if (f == NULL) {
        struct pollfd p = {.fd = fd, .events = (short)events};
        for (;;) {
            int n = poll(&p, 1, timeout_ms(deadline));
            if (n > 0)
                return SOOM_OK;
            if (n == 0)
                return SOOM_ETIMEDOUT;
            if (errno != EINTR)
                return SOOM_OK; /* let the caller's operation report it */
        }
    }
    struct soom_loop *l = soom_fiber_loop(f);
    uint64_t token = soom_fiber_wait_begin(f);
    if (soom_loop_fd_arm(l, fd, key, events, soom_fiber_wake, f, token) != SOOM_OK)
        return SOOM_OK;
    int rc = soom_fiber_wait(f, deadline);
    if (rc != SOOM_OK)
        soom_loop_fd_disarm(l, fd);
    return rc;
}

void soom_wait_fd_forget(int fd, uint64_t key)
{
    struct soom_loop *l = soom_loop_current();
    if (l != NULL)
        soom_loop_fd_forget(l, fd, key);
}

int soom_wait_until(uint64_t deadline)
{
    uint64_t until = capped(deadline);
    if (until == 0)
        return SOOM_OK;
    struct soom_fiber *f = switchable();
    if (f != NULL) {
        soom_fiber_wait_begin(f);
        soom_fiber_wait(f, until); /* nothing else wakes it */
    } else {
        for (uint64_t now; (now = soom_clock_ns()) < until;) {
            uint64_t ns = until - now;
            struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
            nanosleep(&ts, NULL);
        }
    }
    return until < deadline ? SOOM_ETIMEDOUT : SOOM_OK;
}

/* ---- waiters -------------------------------------------------------------- */

static void thread_wait(struct soom_waiter *w, pthread_mutex_t *m, uint64_t deadline)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    struct timespec ts = {(time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u)};
    while (!w->woken) {
        int rc = deadline != 0 ? pthread_cond_timedwait(&w->cond, m, &ts)
                               : pthread_cond_wait(&w->cond, m);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_cond_destroy(&w->cond);
}

int soom_waiter_wait(struct soom_waiter *w, pthread_mutex_t *m, uint64_t deadline)
{
    deadline = capped(deadline);
    w->woken = false;
    w->fiber = switchable();
    if (w->fiber == NULL) {
        thread_wait(w, m, deadline);
    } else {
        w->loop = soom_fiber_loop(w->fiber);
        w->token = soom_fiber_wait_begin(w->fiber);
        pthread_mutex_unlock(m);
        soom_fiber_wait(w->fiber, deadline);
        pthread_mutex_lock(m);
    }
    return w->woken ? SOOM_OK : SOOM_ETIMEDOUT;
}

void soom_waiter_wake(struct soom_waiter *w)
{
    w->woken = true;
    if (w->fiber != NULL)
        soom_loop_post(w->loop, soom_fiber_wake, w->fiber, w->token);
    else
        pthread_cond_signal(&w->cond);
}

bool soom_waiter_elsewhere(const struct soom_waiter *w)
{
    struct soom_loop *l = soom_loop_current();
    return w->fiber == NULL || w->loop != l;
}
