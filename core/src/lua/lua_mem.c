/*
 * The counting allocator of lua_memory_limit (see lua_mem.h).
 */
#include "lua_mem.h"

#include <lua.h>

static void *counted(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct soom_lua_mem *m = ud;
    if (nsize > osize && m->armed && m->used + (nsize - osize) > m->limit) {
        m->over = true;
        return NULL; /* LuaJIT raises "not enough memory" */
    }
    void *p = m->alloc(m->ud, ptr, osize, nsize);
    if (p != NULL || nsize == 0)
        m->used += nsize - osize; /* modular: a shrink subtracts */
    return p;
}

void soom_lua_mem_install(struct soom_lua_mem *m, lua_State *L, size_t limit)
{
    m->limit = limit;
    m->armed = false;
    m->over = false;
    if (limit == 0)
        return;
    m->alloc = lua_getallocf(L, &m->ud);
    /* what the state took before the wrapper, so that frees balance */
    m->used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024u + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
    lua_setallocf(L, counted, m);
}

void soom_lua_mem_close(struct soom_lua_mem *m, lua_State *L)
{
    if (m->limit != 0)
        lua_setallocf(L, m->alloc, m->ud);
    lua_close(L);
}
