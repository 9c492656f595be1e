/*
 * Generic resources between Lua and C (lua_plan.c): reading a plan spec
 * from the Lua layer, and the module soom.core.plan.
 */
#ifndef SOOM_LUA_PLAN_H
#define SOOM_LUA_PLAN_H

#include <stdbool.h>

struct lua_State;
struct plan_spec;
struct soom_arena;

/* Reads the plan spec table at `idx` into `s`, strings in `a`. */
void soom_lua_plan_spec(struct lua_State *L, int idx, struct plan_spec *s, struct soom_arena *a);

/* True when the value at `idx` is soom.core.plan.RESPONDED: a handler that
 * let C answer the request. */
bool soom_lua_plan_responded(struct lua_State *L, int idx);

#endif
