/*
 * The route list the Lua layer declares (soom.core.loader's routes: pattern,
 * name, methods, schemas, plan spec, static bytes, or a native module's
 * route number, the access chain, the resource's handler_timeout and its
 * idempotency, per route; and the list's `access_classes`) into the app's
 * route table (see lua_routes.h).
 */
#include "lua_routes.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "access.h"
#include "app.h"
#include "lua_access.h"
#include "lua_plan.h"
#include "module_registry.h"
#include "plan.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/router.h"

/* The route's "idempotency" as loader.lua gives it ("on",
 * "off", "required"; nil: the settings decide). */
static enum soom_idempotency idempotency_of(const char *v)
{
    return v == NULL                    ? SOOM_IDEMPOTENCY_DEFAULT
           : strcmp(v, "off") == 0      ? SOOM_IDEMPOTENCY_OFF
           : strcmp(v, "required") == 0 ? SOOM_IDEMPOTENCY_REQUIRED
                                        : SOOM_IDEMPOTENCY_ON;
}

static unsigned methods_of(lua_State *L, int idx)
{
    unsigned mask = 0;
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        size_t len;
        const char *m = lua_tolstring(L, -1, &len);
        unsigned bit = m ? soom_router_method_parse(m, len) : 0;
        if (bit == 0)
            luaL_error(L, "unknown HTTP method \"%s\"", m ? m : "?");
        mask |= bit;
        lua_pop(L, 1);
    }
    return mask;
}

/* A route's `static` table: { body, content_type, cache_control, headers =
 * { name, value, ... } }, its strings borrowed from the Lua stack (kept
 * there until the route is added) and the header list in `scratch`; with
 * `later = true` and no body, the bytes come later (serve's `make`). */
static void static_spec(lua_State *L, int idx, struct soom_route_spec *spec,
                        struct soom_arena *scratch)
{
    lua_getfield(L, idx, "body");
    lua_getfield(L, idx, "content_type");
    lua_getfield(L, idx, "cache_control");
    lua_getfield(L, idx, "headers");
    lua_getfield(L, idx, "later");
    spec->static_later = lua_toboolean(L, -1) && lua_isnil(L, -5);
    lua_pop(L, 1);
    spec->static_data = spec->static_later ? NULL : luaL_checklstring(L, -4, &spec->static_len);
    spec->static_type = lua_tostring(L, -3);
    spec->static_cache = lua_tostring(L, -2);
    if (!lua_istable(L, -1))
        return;
    size_t n = lua_objlen(L, -1);
    const char **list = soom_arena_alloc(scratch, (n + 1) * sizeof *list);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        list[i] = luaL_checkstring(L, -1);
        lua_pop(L, 1); /* still referenced by the headers table on the stack */
    }
    spec->static_headers = list;
    spec->static_nheaders = n - n % 2;
}

/* A native module's route: its number among the modules' routes. */
static const struct soom_module_route *native_route(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return NULL;
    const struct soom_module_route *r = soom_module_route_at((size_t)luaL_checkinteger(L, idx) - 1);
    if (r == NULL)
        luaL_error(L, "no native route %d", (int)lua_tointeger(L, idx));
    return r;
}

void soom_lua_routes_add(lua_State *L, int idx, struct soom_app *app)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "access_classes");
    soom_lua_access_classes(L, lua_gettop(L), app);
    lua_pop(L, 1);
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        int t = lua_gettop(L);
        lua_getfield(L, t, "pattern");
        lua_getfield(L, t, "name");
        lua_getfield(L, t, "methods");
        lua_getfield(L, t, "raw_body");
        lua_getfield(L, t, "body_schema");
        lua_getfield(L, t, "patch_schema");
        lua_getfield(L, t, "query_schema");
        lua_getfield(L, t, "plan");
        lua_getfield(L, t, "static");
        lua_getfield(L, t, "native");
        lua_getfield(L, t, "access");
        lua_getfield(L, t, "handler_timeout");
        lua_getfield(L, t, "idempotency");
        struct plan_spec plan;
        struct access_route_spec access;
        struct soom_arena *scratch = soom_arena_new(0);
        if (lua_istable(L, t + 8)) {
            soom_lua_plan_spec(L, t + 8, &plan, scratch);
            plan.secret_key = app->config->secret_key;
            plan.secret_key_fallbacks = app->config->secret_key_fallbacks;
            plan.route = luaL_checkstring(L, t + 1);
        }
        struct soom_route_spec spec = {
            .pattern = luaL_checkstring(L, t + 1),
            .name = luaL_optstring(L, t + 2, "?"),
            .methods = methods_of(L, t + 3),
            .raw_body = lua_toboolean(L, t + 4),
            .body_schema = lua_tostring(L, t + 5),
            .patch_schema = lua_tostring(L, t + 6),
            .query_schema = lua_tostring(L, t + 7),
            .plan = lua_istable(L, t + 8) ? &plan : NULL,
            .native = native_route(L, t + 10),
            .has_handler_timeout = lua_isnumber(L, t + 12),
            .handler_timeout = lua_tonumber(L, t + 12),
            .idempotency = idempotency_of(lua_tostring(L, t + 13)),
        };
        if (lua_istable(L, t + 11)) {
            soom_lua_access_route(L, t + 11, &access, scratch);
            spec.access = &access;
        }
        if (lua_istable(L, t + 9))
            static_spec(L, t + 9, &spec, scratch);
        char err[1024];
        int rc = soom_app_add_route(app, &spec, err, sizeof err);
        soom_arena_free(scratch);
        if (rc != SOOM_OK) {
            soom_app_free(app);
            lua_pushstring(L, err);
            lua_error(L);
        }
        lua_settop(L, t - 1);
    }
}
