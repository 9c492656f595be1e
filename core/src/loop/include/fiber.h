/*
 * Fibers: stackful coroutines of a loop's thread, so that C code which
 * reads as blocking (a plan running two statements, the pool's queue, a
 * statement retried on a new session) waits without holding the thread.
 *
 * A fiber runs a function on a stack of its own. When that code waits
 * (wait.h), the fiber is switched out and control returns to whoever
 * switched it in: the loop, or the caller of soom_fiber_run(). The loop
 * switches it back in when the wait is over, from its top level only, so
 * fibers never nest. Fibers never leave the thread that made them, which
 * keeps thread-local state valid across a wait.
 *
 * Lua must not be running on a fiber that switches out (LuaJIT keeps the
 * running coroutine in its global state): a Lua call that waits yields
 * its coroutine first, and the C code waits after lua_resume() returned.
 *
 * Stacks are mmap'ed with a guard page and reused: a finished fiber goes
 * back to its thread's free list, so steady traffic maps nothing.
 */
#ifndef SOOM_FIBER_H
#define SOOM_FIBER_H

#include <stdbool.h>
#include <stdint.h>

struct soom_loop;
struct soom_fiber;

typedef void (*soom_fiber_fn)(void *arg);

/* Runs fn(arg) on a fiber of loop `l` (the calling thread's), now, until
 * fn returns or waits. Returns true when fn returned; false when it is
 * waiting, in which case the loop resumes it and fn finishes later (fn
 * itself does whatever must follow). Must not be called on a fiber. */
bool soom_fiber_run(struct soom_loop *l, soom_fiber_fn fn, void *arg);

/* The fiber running on this thread; NULL on the thread's own stack. */
struct soom_fiber *soom_fiber_current(void);

/* A pointer slot of the fiber's user, kept with the fiber across its
 * waits as a thread-local is across a blocking wait (the Lua dispatcher
 * keeps where an error escaping Lua lands). NULL when the fiber starts. */
void **soom_fiber_local(struct soom_fiber *f);

/* The loop a fiber belongs to. */
struct soom_loop *soom_fiber_loop(const struct soom_fiber *f);

/* Starts a wait of the running fiber `f`: returns the token that wakes
 * this wait (and no other), for soom_fiber_wake(). */
uint64_t soom_fiber_wait_begin(struct soom_fiber *f);

/* Switches `f` out until soom_fiber_wake() with the token of the current
 * wait, or until `deadline` (a soom_clock_ns() instant; 0: none). Returns
 * SOOM_OK when woken, SOOM_ETIMEDOUT at the deadline. */
int soom_fiber_wait(struct soom_fiber *f, uint64_t deadline);

/* Wakes fiber `arg` if `token` is still its current wait's (a stale wake
 * is ignored). A soom_loop_task_fn: runs on the fiber's loop thread, at
 * the loop's top level (post it there from anywhere else). */
void soom_fiber_wake(void *arg, uint64_t token);

/* The running fiber's deadline budget: every wait of the fiber ends by
 * then at the latest (the request's request_timeout). 0: none. */
uint64_t soom_fiber_budget(const struct soom_fiber *f);
void soom_fiber_set_budget(struct soom_fiber *f, uint64_t deadline);

/* Frees the calling thread's idle fibers (at thread exit). */
void soom_fiber_thread_cleanup(void);

#endif
