/*
 * Waiting calls of Lua (see lua_wait.h): the pending work lives in the
 * request (r->lua_wait, in its arena) from the yield until the dispatcher
 * runs it.
 */
#include "lua_wait.h"

#include <lua.h>

#include "lua_watch.h"
#include "request_impl.h"
#include "wait.h"

struct lua_wait {
    soom_lua_wait_fn fn;
    void *arg;
};

bool soom_lua_wait_can_yield(lua_State *L)
{
    struct soom_request *r = soom_request_current();
    if (r == NULL || r->lua_co != L || !soom_wait_switches())
        return false;
#ifdef SOOM_HAVE_LUA_ISYIELDABLE
    return lua_isyieldable(L) != 0;
#else
    return true; /* a yield across a C boundary then raises, naming it */
#endif
}

int soom_lua_wait(lua_State *L, bool yield, soom_lua_wait_fn fn, void *arg)
{
    struct soom_request *r = soom_request_current();
    if (yield) {
        struct lua_wait *w = soom_arena_alloc(r->arena, sizeof *w);
        *w = (struct lua_wait){fn, arg};
        r->lua_wait = w;
        return lua_yield(L, 0);
    }
    /* at once: the wait blocks the thread, and is no time of the handler's */
    soom_wait_block_begin();
    soom_lua_watch_pause(L);
    int n = fn(L, r, arg);
    soom_lua_watch_resume(L);
    soom_wait_block_end();
    return n;
}

int soom_lua_wait_pending(lua_State *co, struct soom_request *r)
{
    struct lua_wait *w = r->lua_wait;
    if (w == NULL)
        return -1;
    r->lua_wait = NULL;
    lua_settop(co, 0);
    return w->fn(co, r, w->arg);
}
