/*
 * The counting allocator of lua_memory_limit (see lua_mem.h).
 */
#include "lua_mem.h"

#include <lua.h>

/* On every allocation of the state: kept to a sum, a test and a tail
 * call (LuaJIT's allocator failing for want of memory is counted as if it
 * had not; the state is lost to that error anyway). */
static void *counted(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct soom_lua_mem *m = ud;
    size_t used = m->used + nsize - osize; /* modular: a shrink subtracts */
    if (used > m->limit && nsize > osize && m->armed) {
        m->over = true;
        return NULL; /* LuaJIT raises "not enough memory" */
    }
    m->used = used;
    return m->alloc(m->ud, ptr, osize, nsize);
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
