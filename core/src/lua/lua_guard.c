/*
 * The panic function of worker states and its landing (see lua_guard.h).
 */
#include "lua_guard.h"

#include <lua.h>
#include <stdio.h>

#include "fiber.h"

static _Thread_local struct soom_lua_guard *thread_guard;

static struct soom_lua_guard **slot(void)
{
    struct soom_fiber *f = soom_fiber_current();
    return f != NULL ? (struct soom_lua_guard **)soom_fiber_local(f) : &thread_guard;
}

struct soom_lua_guard **soom_lua_guard_set(struct soom_lua_guard *g)
{
    struct soom_lua_guard **s = slot();
    *s = g;
    return s;
}

static int on_panic(lua_State *L)
{
    struct soom_lua_guard **s = slot();
    struct soom_lua_guard *g = *s;
    if (g == NULL)
        return 0; /* no landing: LuaJIT prints the error and exits */
    *s = NULL;
    const char *msg = lua_tostring(L, -1);
    snprintf(g->message, sizeof g->message, "%s",
             msg != NULL ? msg : "(the error object is not a string)");
    siglongjmp(g->jump, SOOM_LUA_GUARD_PANIC);
}

void soom_lua_guard_install(lua_State *L)
{
    lua_atpanic(L, on_panic);
}
