/*
 * The C libraries every Lua state of the core preloads (soom_lua_open),
 * one per file of this folder. Each returns its module table.
 */
#ifndef SOOM_LUA_LIBS_H
#define SOOM_LUA_LIBS_H

struct lua_State;

int luaopen_soom_core_access(struct lua_State *L);   /* lua_access.c */
int luaopen_soom_core_auth(struct lua_State *L);     /* lua_auth.c */
int luaopen_soom_core_c(struct lua_State *L);        /* lua_api.c */
int luaopen_soom_core_document(struct lua_State *L); /* lua_document.c */
int luaopen_soom_core_http(struct lua_State *L);     /* lua_http.c */
int luaopen_soom_core_metrics(struct lua_State *L);  /* lua_metrics.c */
int luaopen_soom_core_native(struct lua_State *L);   /* lua_modules.c */
int luaopen_soom_core_pg(struct lua_State *L);       /* lua_pg.c */
int luaopen_soom_core_plan(struct lua_State *L);     /* lua_plan.c */
int luaopen_soom_core_testing(struct lua_State *L);  /* lua_testing.c */
int luaopen_soom_core_validate(struct lua_State *L); /* lua_validate.c */

/* Puts the native modules' Lua libraries (soom.ext.<name>) in the state's
 * package.preload (lua_modules.c). */
void soom_lua_modules_preload(struct lua_State *L);

#endif
