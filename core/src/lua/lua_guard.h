/*
 * Errors that escape Lua outside every protected call.
 *
 * Between two runs of a request's coroutine the core works on the state
 * through the C API (a coroutine made, results pushed after a wait, the
 * handler's answer read). Those calls are outside lua_resume, so an error
 * raised in them (a __gc finalizer that raises, run by a collection step
 * any allocation may take) has no catcher, and LuaJIT would call the
 * panic function and exit the process. Worker states get a panic function
 * that jumps instead to the guard set by the dispatcher around that work;
 * the dispatcher answers 500, logs the error and replaces the state.
 *
 * A guard is set per fiber (soom_fiber_local) or, off fibers, per thread,
 * so that a request waiting on its fiber keeps its guard while others run
 * on the same thread.
 */
#ifndef SOOM_LUA_GUARD_H
#define SOOM_LUA_GUARD_H

#include <setjmp.h>
#include <stddef.h>

struct lua_State;

struct soom_lua_guard {
    sigjmp_buf jump;
    char message[512]; /* the escaped error, filled before the jump */
};

/* Makes L's panic function jump to the running guard (when one is set;
 * otherwise LuaJIT's panic stays what it was: a message and exit). */
void soom_lua_guard_install(struct lua_State *L);

/* A panic lands at the guard's jump with this value (a hard stop of the
 * watch, lua_watch.h, may land at the same jump with its own). */
#define SOOM_LUA_GUARD_PANIC 1

/* Sets `g` (or NULL: none) as the guard of the calling fiber or thread,
 * and returns where it is kept, for soom_lua_guard_clear (the same place
 * for as long as the fiber lives, so finding it once per dispatch is
 * enough). Use as: if (sigsetjmp(g.jump, 0) != 0) { the error escaped }
 * then slot = soom_lua_guard_set(&g), and soom_lua_guard_clear(slot)
 * when done. */
struct soom_lua_guard **soom_lua_guard_set(struct soom_lua_guard *g);

static inline void soom_lua_guard_clear(struct soom_lua_guard **slot)
{
    *slot = NULL;
}

#endif
