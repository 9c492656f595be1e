/*
 * The event loop: one per worker thread of the async server, over epoll.
 *
 * A loop watches file descriptors (level-triggered callbacks for sockets it
 * keeps, such as libmicrohttpd's epoll set or libcurl's sockets), keeps
 * one-shot timers in a heap, and runs tasks posted to it from any thread
 * (an eventfd wakes it). Fibers (fiber.h) and waits (wait.h) are built on
 * it: a fiber that waits for a socket, a timer or a wake-up from another
 * thread is switched out and resumed by the loop when that happens.
 *
 * A loop belongs to the thread that runs it; every function here except
 * soom_loop_post() and soom_loop_stop() must be called on that thread.
 * Watches and timers are owned by the caller (usually embedded in a larger
 * struct) and must be cleared or stopped before their memory goes away.
 * Callbacks never run nested inside another callback of the same loop: a
 * task posted, a timer or a readiness is always handled from the loop's
 * top level.
 */
#ifndef SOOM_LOOP_H
#define SOOM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct soom_loop;

/* Readiness bits, the epoll ones. */
#define SOOM_LOOP_IN 0x001u
#define SOOM_LOOP_OUT 0x004u
#define SOOM_LOOP_ERR 0x008u
#define SOOM_LOOP_HUP 0x010u

/* A loop for the calling thread. Returns SOOM_OK with *out owned by the caller
 * (soom_loop_free, which accepts NULL), or SOOM_EIO when the kernel
 * refuses an epoll set or an eventfd. */
int soom_loop_new(struct soom_loop **out);
void soom_loop_free(struct soom_loop *l);

/* The loop the calling thread is running (turning), NULL when none. */
struct soom_loop *soom_loop_current(void);

/* Runs the loop until soom_loop_stop(). */
void soom_loop_run(struct soom_loop *l);

/* One turn of the loop: runs posted tasks, waits at most `max_ns` (0: not
 * at all; UINT64_MAX: until something happens) for readiness or the next
 * timer, and handles what came. */
void soom_loop_turn(struct soom_loop *l, uint64_t max_ns);

/* The soom_clock_ns() time read when the current turn began or last woke
 * (one clock read per wake-up, for the loop and its callbacks). */
uint64_t soom_loop_now(const struct soom_loop *l);

/* Makes soom_loop_run() return after the current turn. Any thread. */
void soom_loop_stop(struct soom_loop *l);

/* Runs fn(arg) in soom_loop_free(), before the loop goes, for what was
 * built on it (a thread's outbound HTTP client). */
typedef void (*soom_loop_free_fn)(void *arg);
void soom_loop_at_free(struct soom_loop *l, soom_loop_free_fn fn, void *arg);

/* Called before the loop blocks; returns the longest the loop may block
 * in ns (UINT64_MAX: no limit). The server runs libmicrohttpd from it. */
typedef uint64_t (*soom_loop_prepare_fn)(void *arg);
void soom_loop_set_prepare(struct soom_loop *l, soom_loop_prepare_fn fn, void *arg);

/* ---- watches -------------------------------------------------------------- */

struct soom_loop_watch;
typedef void (*soom_loop_watch_fn)(struct soom_loop_watch *w, unsigned events);

struct soom_loop_watch {
    soom_loop_watch_fn cb;
    int fd;          /* -1 while not watching */
    unsigned events; /* SOOM_LOOP_IN | SOOM_LOOP_OUT */
};

/* Prepares a watch that calls `cb` (before its first soom_loop_watch). */
void soom_loop_watch_init(struct soom_loop_watch *w, soom_loop_watch_fn cb);

/* Watches `fd` for `events` (level-triggered). Calling it again changes
 * the events (or the fd). Returns SOOM_OK or SOOM_EIO. */
int soom_loop_watch(struct soom_loop *l, struct soom_loop_watch *w, int fd, unsigned events);

/* Stops watching (before the fd is closed). A pending readiness of this
 * watch in the current turn is dropped. Accepts a watch not watching. */
void soom_loop_unwatch(struct soom_loop *l, struct soom_loop_watch *w);

/* ---- timers --------------------------------------------------------------- */

struct soom_loop_timer;
typedef void (*soom_loop_timer_fn)(struct soom_loop_timer *t);

struct soom_loop_timer {
    soom_loop_timer_fn cb;
    uint64_t at;  /* soom_clock_ns() deadline */
    size_t index; /* in the heap; 0: not started */
};

/* Starts (or moves) a one-shot timer for the soom_clock_ns() instant `at`. */
void soom_loop_timer_start(struct soom_loop *l, struct soom_loop_timer *t, uint64_t at);

/* Stops a timer; accepts one that is not started. */
void soom_loop_timer_stop(struct soom_loop *l, struct soom_loop_timer *t);

/* ---- tasks ---------------------------------------------------------------- */

/* Runs fn(arg, token) on the loop's thread at its next turn. Safe from any
 * thread; from the loop's own thread it never runs fn before returning. */
typedef void (*soom_loop_task_fn)(void *arg, uint64_t token);
void soom_loop_post(struct soom_loop *l, soom_loop_task_fn fn, void *arg, uint64_t token);

/* ---- one-shot descriptor waits (for wait.c) -------------------------------- */

/* Arms a one-shot wait for `events` on `fd`: at the first readiness (or
 * error, or hang-up) fn(arg, token) runs, once, from the loop's top level. One wait per fd
 * at a time. `key` names the socket behind `fd` (unique for its whole
 * life, never reused; 0: unknown): the loop then keeps its registration
 * between waits, so the next wait of the same key for the same events
 * costs no system call (waits for input only). Returns SOOM_OK or
 * SOOM_EIO (an fd epoll refuses, such as a regular file). */
int soom_loop_fd_arm(struct soom_loop *l, int fd, uint64_t key, unsigned events,
                     soom_loop_task_fn fn, void *arg, uint64_t token);

/* The socket `key` is next waited on elsewhere (another loop's thread):
 * drops the registration this loop kept for it, which would otherwise
 * wake this loop at its next readiness only to be removed then. */
void soom_loop_fd_forget(struct soom_loop *l, int fd, uint64_t key);

/* Forgets a wait that did not fire (it timed out), so a late readiness
 * calls nothing. */
void soom_loop_fd_disarm(struct soom_loop *l, int fd);

#endif
