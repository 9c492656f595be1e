/* Unit tests of core/src/lua/lua_mem.c: lua_memory_limit's counting
 * allocator (refusals only while armed, in interpreted and compiled code;
 * the count follows frees; a state closed behind it gives its memory
 * back). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "lua_mem.h"
#include "test.h"

#define LIMIT (32u << 20)

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Runs `code` on a coroutine of L, armed as a request's Lua is. */
static int run_armed(struct soom_lua_mem *m, lua_State *L, const char *code)
{
    lua_State *co = lua_newthread(L);
    CHECK_INT(luaL_loadstring(co, code), 0);
    m->armed = true;
    int rc = lua_resume(co, 0);
    m->armed = false;
    lua_pop(L, 1);
    return rc;
}

static void test_refused_past_the_limit_when_armed(void)
{
    static const char *CODE[] = {
        /* interpreted: strings */
        "local t = {} for i = 1, 1e6 do t[i] = string.rep('x', 4096) .. i end",
        /* a loop the JIT compiles: tables */
        "local t = {} for i = 1, 1e8 do t[i] = { i, i, i, i } end",
    };
    for (size_t i = 0; i < sizeof CODE / sizeof CODE[0]; i++) {
        struct soom_lua_mem m;
        lua_State *L = luaL_newstate();
        soom_lua_mem_install(&m, L, LIMIT);
        luaL_openlibs(L);
        CHECK_INT(run_armed(&m, L, CODE[i]), LUA_ERRMEM);
        CHECK(m.over);
        CHECK(m.used <= LIMIT);
        lua_gc(L, LUA_GCCOLLECT, 0);
        CHECK(m.used < LIMIT / 4); /* the garbage went, and was counted out */
        soom_lua_mem_close(&m, L);
    }
}

static void test_unarmed_never_refused(void)
{
    struct soom_lua_mem m;
    lua_State *L = luaL_newstate();
    soom_lua_mem_install(&m, L, 1u << 20);
    luaL_openlibs(L);
    CHECK_INT(luaL_dostring(L, "big = string.rep('x', 4 * 1024 * 1024)"), 0);
    CHECK(!m.over);
    CHECK(m.used > 4u << 20);
    soom_lua_mem_close(&m, L);
}

static void test_closed_states_give_memory_back(void)
{
    long before = 0;
    for (int i = 0; i < 6; i++) {
        struct soom_lua_mem m;
        lua_State *L = luaL_newstate();
        soom_lua_mem_install(&m, L, LIMIT);
        luaL_openlibs(L);
        run_armed(&m, L, "local t = {} for i = 1, 1e6 do t[i] = string.rep('y', 4096) .. i end");
        soom_lua_mem_close(&m, L);
        if (i == 0)
            before = rss_kb();
    }
    /* five more states of 32 MB each: none of them stayed mapped */
    CHECK(rss_kb() - before < 16 * 1024);
}

static void test_no_limit_no_wrapper(void)
{
    struct soom_lua_mem m;
    lua_State *L = luaL_newstate();
    void *ud;
    lua_Alloc own = lua_getallocf(L, &ud);
    soom_lua_mem_install(&m, L, 0);
    CHECK(lua_getallocf(L, &ud) == own);
    soom_lua_mem_close(&m, L);
}

int main(void)
{
    RUN(test_refused_past_the_limit_when_armed);
    RUN(test_unarmed_never_refused);
    RUN(test_closed_states_give_memory_back);
    RUN(test_no_limit_no_wrapper);
    return test_summary();
}
