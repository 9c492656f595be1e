/*
 * Routes declared in Lua, added to the app's route table.
 */
#ifndef SOOM_LUA_ROUTES_H
#define SOOM_LUA_ROUTES_H

struct lua_State;
struct soom_app;

/* Adds every route of the list at `idx` (tables with pattern, name, methods,
 * raw_body, body_schema, patch_schema, query_schema, plan) to `app`, in
 * order. On a conflict or a schema the validator refuses, frees `app` and
 * raises a Lua error naming the route. */
void soom_lua_routes_add(struct lua_State *L, int idx, struct soom_app *app);

#endif
