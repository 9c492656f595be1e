/*
 * lua_memory_limit: what a worker state may hold, counted by its allocator.
 *
 * LuaJIT's own allocator stays (lua_getallocf); a thin wrapper in front of
 * it (lua_setallocf, which LuaJIT honours in GC64 mode) adds up what each
 * call takes and gives back. The limit is enforced only while the limit is
 * armed, that is while a request's Lua runs (inside lua_resume, where an
 * allocation that fails raises "not enough memory" like any error and
 * unwinds the handler): the C API calls the core makes on the state
 * between two resumes are never refused, so none of them can raise.
 * A refusal marks the state over its limit: the dispatcher answers 500,
 * logs it and replaces the state.
 *
 * The count is what the state holds, garbage not yet collected included;
 * LuaJIT collects when it holds about twice what was live after the last
 * cycle, so the live data of a state should stay under half its limit.
 * The owner (one state, one thread at a time) reads and arms it without
 * locks.
 */
#ifndef SOOM_LUA_MEM_H
#define SOOM_LUA_MEM_H

#include <stdbool.h>
#include <stddef.h>

struct lua_State;

struct soom_lua_mem {
    void *(*alloc)(void *ud, void *ptr, size_t osize, size_t nsize); /* LuaJIT's */
    void *ud;
    size_t used;  /* bytes the state holds now */
    size_t limit; /* 0: none */
    bool armed;   /* a request's Lua is running: refuse past the limit */
    bool over;    /* an allocation was refused */
};

/* Puts the counting allocator in front of L's, with `limit` bytes (0: no
 * wrapper at all). `m` must outlive L (it is the allocator's argument). */
void soom_lua_mem_install(struct soom_lua_mem *m, struct lua_State *L, size_t limit);

/* Closes L, with LuaJIT's own allocator put back first: LuaJIT unmaps
 * its arena at lua_close only when the state's allocator is its own, so
 * a state closed behind the wrapper would leave all of it mapped. */
void soom_lua_mem_close(struct soom_lua_mem *m, struct lua_State *L);

#endif
