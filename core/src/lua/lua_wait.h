/*
 * C functions of Lua that wait (soom.db, soom.http, soom.sleep, a generic
 * resource's statements): how they wait without holding the thread.
 *
 * LuaJIT keeps the running coroutine in its global state, so a fiber must
 * not switch out while Lua is running on it. A C function that must wait
 * therefore yields the request's coroutine (LuaJIT yields across pcall and
 * metamethods) after leaving what to do in the request; lua_resume()
 * returns to the dispatcher, which does the waiting on the request's fiber
 * (where switching out is safe: no Lua frame is on it any more), pushes the
 * results on the coroutine and resumes it, so the C function appears to
 * return them. Handler code reads as if the call had blocked.
 *
 * When the call cannot yield (no fiber: the threads models, a command; a
 * coroutine the app made; a C function in between, such as a table.sort
 * comparator), the same work runs at once and its waits block the thread.
 */
#ifndef SOOM_LUA_WAIT_H
#define SOOM_LUA_WAIT_H

#include <stdbool.h>

struct lua_State;
struct soom_request;

/* The work of a waiting call: waits as it needs, then pushes the call's
 * results on `L` and returns how many. It must not raise (it may run on a
 * coroutine that is not running). `r` is the request, or NULL outside one. */
typedef int (*soom_lua_wait_fn)(struct lua_State *L, struct soom_request *r, void *arg);

/* True when a call on `L` can yield to the dispatcher: `L` is the running
 * request's coroutine, on a fiber, and nothing in between forbids a yield.
 * A caller that will yield copies what `arg` needs out of the Lua stack
 * (into the request's arena) first. */
bool soom_lua_wait_can_yield(struct lua_State *L);

/* Runs fn(arg): by yielding when `yield` (from soom_lua_wait_can_yield),
 * else at once, blocking. Use as `return soom_lua_wait(L, yield, fn, arg);`
 * in a lua_CFunction. */
int soom_lua_wait(struct lua_State *L, bool yield, soom_lua_wait_fn fn, void *arg);

/* For the dispatcher, after lua_resume(co) yielded: runs the pending work
 * of the request (on its fiber) and returns the number of results it
 * pushed on `co`, or -1 when the coroutine yielded for no call of ours. */
int soom_lua_wait_pending(struct lua_State *co, struct soom_request *r);

#endif
