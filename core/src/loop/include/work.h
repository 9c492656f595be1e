/*
 * CPU-bound work off the loop.
 *
 * A call that computes for long (a password hash costs a quarter of a
 * second by design) would stall every connection of a loop thread. On a
 * fiber of the async server, soom_work_run() hands the call to a small
 * pool of helper threads (one per core at most, started when first
 * needed) and switches the fiber out until it is done; on a plain thread
 * (the threads models, commands) and inside a blocking scope it just calls
 * it. Either way it returns when fn has returned.
 */
#ifndef SOOM_WORK_H
#define SOOM_WORK_H

/* Runs fn(arg) and returns after it. fn must not touch the caller's Lua
 * state, fiber or loop: it may run on another thread. */
void soom_work_run(void (*fn)(void *), void *arg);

#endif
