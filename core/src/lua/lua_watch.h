/*
 * handler_timeout: stopping Lua that runs too long without waiting.
 *
 * Each Lua state has a watch. The dispatcher starts it around every run of
 * a request's coroutine (each lua_resume) and the waits of C functions
 * pause it, so the limit applies to each stretch of Lua between waits, in
 * every server model. The reaper thread checks the watches a few times a
 * second (soom_lua_watch_check). A stretch past its deadline gets a signal
 * on its thread, whose handler sets an instruction-count hook, as LuaJIT's
 * own profiler does from its signal: the interpreter calls the hook at its
 * next instruction, and the hook raises an error in the handler that
 * unwinds as any error does. The request is answered 503 and the state
 * stays in service.
 *
 * Compiled code (a JIT trace) never calls hooks, so a loop compiled into a
 * trace that never leaves it is stopped the hard way: after a grace period
 * a second signal, when it lands while the thread runs compiled code or
 * LuaJIT itself (its program counter outside every other object's code,
 * so no lock of libc or of ours is held), jumps back to the dispatcher.
 * That state cannot be trusted any more: it is taken out of service and
 * closed once its last request is done, and the thread loads a fresh one.
 */
#ifndef SOOM_LUA_WATCH_H
#define SOOM_LUA_WATCH_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lua_State;

struct soom_lua_watch {
    struct lua_State *L;
    pthread_t thread;
    atomic_uint_fast64_t deadline; /* 0: no Lua running */
    atomic_int stage;              /* signals sent for this stretch: 0, 1 (hook), 2 (hard) */
    atomic_uint_fast64_t signalled_at;
    uint64_t timeout_ns; /* of the current request */
    double timeout_s;    /* the same, as given (0 before the first stretch) */
    sigjmp_buf *jump;    /* where a hard stop lands */
    bool hooked;
    bool stopped; /* the hook raised in this stretch */
};

/* Installs the signal handler and notes where every object's code lives
 * (once per process, after the app and its modules are loaded). */
void soom_lua_watch_setup(void);

void soom_lua_watch_init(struct soom_lua_watch *w, struct lua_State *L);

/* The value a hard stop lands with (siglongjmp): the dispatcher keeps one
 * jump per request for it and for a panic (SOOM_LUA_GUARD_PANIC, 1). */
#define SOOM_LUA_WATCH_HARD_STOP 2

/* Around a lua_resume on the calling thread: starts a stretch of at most
 * `timeout_s` seconds (0: no limit) whose hard stop lands at `jump` with
 * SOOM_LUA_WATCH_HARD_STOP; end returns whether the hook stopped it.
 * After a hard stop, call soom_lua_watch_lost() instead of end. */
void soom_lua_watch_begin(struct soom_lua_watch *w, double timeout_s, sigjmp_buf *jump);
bool soom_lua_watch_end(struct soom_lua_watch *w);
void soom_lua_watch_lost(struct soom_lua_watch *w);

/* Around a blocking wait inside a stretch (a C function of Lua that could
 * not yield): the wait is not the handler's time; resume starts the
 * stretch anew. No-ops outside a stretch. */
void soom_lua_watch_pause(struct lua_State *L);
void soom_lua_watch_resume(struct lua_State *L);

/* The reaper's pass over one watch: signals a stretch past its deadline,
 * and again, harder, once `grace_ns` went by without it ending. */
void soom_lua_watch_check(struct soom_lua_watch *w, uint64_t now, uint64_t grace_ns);

#endif
