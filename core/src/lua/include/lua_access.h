/*
 * Access control declarations from Lua tables into the structs of
 * access.h (start-up), and a user returned by a Lua authentication class
 * into the request's user (per request). The Lua layer's shapes are those
 * lua/soom/core/access.lua writes.
 */
#ifndef SOOM_LUA_ACCESS_H
#define SOOM_LUA_ACCESS_H

struct lua_State;
struct soom_app;
struct soom_arena;
struct soom_request;
struct soom_request_user;
struct access_route_spec;

/* Adds the list of class specs at `idx` to the app's registry, in order;
 * on an error frees the app and raises the message. */
void soom_lua_access_classes(struct lua_State *L, int idx, struct soom_app *app);

/* Reads the route's access spec at `t` into `s`, its strings and arrays in
 * `a` (valid until `a` is freed). Raises on an unknown kind. */
void soom_lua_access_route(struct lua_State *L, int t, struct access_route_spec *s,
                           struct soom_arena *a);

/* The user table at `idx` (and req.auth at `auth_idx`, may be nil) as the
 * request's user, in its arena: *out set and NULL returned, or the reason
 * it cannot be one (not a table, not JSON). */
const char *soom_lua_access_user(struct lua_State *L, int idx, int auth_idx, struct soom_request *r,
                                 const struct soom_request_user **out);

#endif
