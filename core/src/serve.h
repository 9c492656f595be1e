/*
 * The Lua library soom.core.serve (serve.c), for the command line's state.
 */
#ifndef SOOM_SERVE_H
#define SOOM_SERVE_H

struct lua_State;

int luaopen_soom_core_serve(struct lua_State *L);

#endif
