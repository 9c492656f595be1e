/* Unit tests of core/src/lua/lua_guard.c: an error raised by a C API call
 * outside every protected call (a __gc finalizer that raises, run by a
 * collection step) lands at the guard instead of exiting the process. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdbool.h>
#include <string.h>

#include "lua_guard.h"
#include "test.h"

/* Garbage whose finalizers raise, then allocations from C until a
 * collection step runs one of them. Returns whether it escaped to the
 * guard, with its message in g->message. */
static bool escape(lua_State *L, struct soom_lua_guard *g)
{
    lua_gc(L, LUA_GCSTOP, 0); /* no collection while the garbage is made */
    CHECK_INT(luaL_dostring(L, "for i = 1, 20000 do "
                               "local p = newproxy(true) "
                               "getmetatable(p).__gc = function() error('finalizer raised') end "
                               "end"),
              0);
    lua_gc(L, LUA_GCRESTART, 0);
    if (sigsetjmp(g->jump, 0) != 0)
        return true;
    soom_lua_guard_set(g);
    for (int i = 0; i < 1000000; i++) {
        lua_pushfstring(L, "garbage %d", i);
        lua_pop(L, 1);
    }
    soom_lua_guard_set(NULL);
    return false;
}

static void test_an_error_outside_protected_calls_lands_at_the_guard(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    soom_lua_guard_install(L);
    struct soom_lua_guard g;
    CHECK(escape(L, &g));
    CHECK(strstr(g.message, "finalizer raised") != NULL);
    /* the state can still be closed (its finalizers run protected there) */
    lua_close(L);
}

int main(void)
{
    RUN(test_an_error_outside_protected_calls_lands_at_the_guard);
    return test_summary();
}
