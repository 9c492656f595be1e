/*
 * Waiting, the same call on a fiber and on a plain thread.
 *
 * On a fiber of the async server a wait switches the fiber out and lets
 * its loop serve other requests meanwhile; on a thread of the other
 * models (and on a fiber inside a blocking scope) it blocks the thread
 * with poll(), a condition variable or nanosleep(). Code that waits
 * through these functions (the database pool and statements, outbound
 * HTTP, sleeps) thus runs unchanged under every server model.
 *
 * Every wait ends at the budget at the latest: the deadline of the request
 * being served (request_timeout), set per fiber or per thread.
 */
#ifndef SOOM_WAIT_H
#define SOOM_WAIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct soom_fiber;
struct soom_loop;
struct soom_waiter;

/* Waits until `fd` is ready for `events` (SOOM_LOOP_IN, SOOM_LOOP_OUT), has
 * an error or was hung up, or until `deadline` (a soom_clock_ns() instant,
 * 0: none). Returns SOOM_OK (the caller then tries its operation again) or
 * SOOM_ETIMEDOUT. */
int soom_wait_fd(int fd, unsigned events, uint64_t deadline);

/* soom_wait_fd() for a socket named by `key` (soom_loop_fd_arm): on a
 * fiber, the wait reuses the registration of the key's last wait on the
 * same loop. */
int soom_wait_fd_key(int fd, uint64_t key, unsigned events, uint64_t deadline);

/* The socket `key` is next waited on by another thread: the calling
 * fiber's loop drops what it kept for it (soom_loop_fd_forget). */
void soom_wait_fd_forget(int fd, uint64_t key);

/* Sleeps until `deadline`. Returns SOOM_OK, or SOOM_ETIMEDOUT when the
 * budget ended the sleep early. */
int soom_wait_until(uint64_t deadline);

/* A condition to wait on under a mutex, woken from any thread. Lives with
 * the waiter (on its stack), from soom_waiter_wait() until it returns. */
struct soom_waiter {
    pthread_cond_t cond;      /* a thread's wait */
    struct soom_fiber *fiber; /* or a fiber's */
    struct soom_loop *loop;
    uint64_t token;
    bool woken;
};

/* Waits, with `m` held on entry and on return (released meanwhile), until
 * soom_waiter_wake() or `deadline`. Returns SOOM_OK when woken, else
 * SOOM_ETIMEDOUT (and a wake may still have come meanwhile: the caller
 * reads its own state under `m`). */
int soom_waiter_wait(struct soom_waiter *w, pthread_mutex_t *m, uint64_t deadline);

/* Wakes the waiter; call with its mutex held. Never switches fibers: a
 * fiber is resumed by its loop afterwards. */
void soom_waiter_wake(struct soom_waiter *w);

/* Whether `w` (waiting, under its mutex) is not a fiber of the calling
 * thread's loop. */
bool soom_waiter_elsewhere(const struct soom_waiter *w);

/* The deadline every wait of the calling fiber (or thread) ends by; 0:
 * none. soom_wait_set_budget() returns the previous one. */
uint64_t soom_wait_budget(void);
uint64_t soom_wait_set_budget(uint64_t deadline);

/* True when a wait here would switch fibers rather than block. */
bool soom_wait_switches(void);

/* Between begin and end, waits block the thread even on a fiber: for code
 * that cannot be switched out (a C function called by Lua that cannot
 * yield). Nests. */
void soom_wait_block_begin(void);
void soom_wait_block_end(void);

#endif
