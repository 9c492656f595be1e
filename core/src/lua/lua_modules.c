/*
 * soom.core.native: native modules as the Lua layer sees them (through
 * soom.core.modules). The app
 * loader (soom.core.loader) loads the modules its settings list, once per
 * process, before it loads the app's resources, and appends the modules'
 * routes to the app's; every Lua state of the process opens the modules'
 * Lua libraries as soom.ext.<name> (soom_lua_modules_preload).
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "lua_json.h"
#include "lua_libs.h"
#include "module_load.h"
#include "module_registry.h"
#include "soom/error.h"
#include "soom/json.h"

#ifndef SOOM_MODULE_SUBDIR
#define SOOM_MODULE_SUBDIR "../../lib/soom/modules"
#endif

void soom_lua_modules_preload(lua_State *L)
{
    size_t n = soom_module_lua_count();
    if (n == 0)
        return;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    for (size_t i = 0; i < n; i++) {
        soom_module_lua_fn open;
        const char *name = soom_module_lua_at(i, &open);
        lua_pushcfunction(L, (lua_CFunction)open);
        lua_setfield(L, -2, name);
    }
    lua_pop(L, 2);
}

/* load(name, path, settings) -> true, or raises the loader's message.
 * `settings` is the module's table without the loader's own keys. */
static int l_load(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    struct soom_json *settings = NULL;
    char err[1024];
    if (!lua_isnoneornil(L, 3) && soom_lua_to_doc(L, 3, &settings, err, sizeof err) != SOOM_OK)
        return luaL_error(L, "module %s: its settings are not JSON: %s", name, err);
    if (soom_module_load(name, path, settings, err, sizeof err) != SOOM_OK) {
        lua_pushstring(L, err);
        return lua_error(L);
    }
    soom_lua_modules_preload(L);
    lua_pushboolean(L, 1);
    return 1;
}

/* loaded(name) -> whether this process loaded it */
static int l_loaded(lua_State *L)
{
    lua_pushboolean(L, soom_module_loaded(luaL_checkstring(L, 1)));
    return 1;
}

/* Pushes "GET, POST" as { "GET", "POST" }. */
static void push_methods(lua_State *L, const char *text)
{
    lua_newtable(L);
    int n = 0;
    while (*text != '\0') {
        size_t skip = strspn(text, " ,");
        text += skip;
        size_t len = strcspn(text, " ,");
        if (len == 0)
            break;
        lua_pushlstring(L, text, len);
        lua_rawseti(L, -2, ++n);
        text += len;
    }
}

/* routes() -> the modules' routes, as the loader lists the app's:
 * { pattern, methods, name = "module <name>", raw_body, native = i } */
static int l_routes(lua_State *L)
{
    size_t n = soom_module_route_count();
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        struct soom_module_route_info info;
        soom_module_route_describe(i, &info);
        lua_createtable(L, 0, 6);
        lua_pushstring(L, info.pattern);
        lua_setfield(L, -2, "pattern");
        push_methods(L, info.methods);
        lua_setfield(L, -2, "methods");
        lua_pushfstring(L, "module %s", info.module);
        lua_setfield(L, -2, "name");
        lua_pushboolean(L, info.raw_body);
        lua_setfield(L, -2, "raw_body");
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_setfield(L, -2, "native");
        lua_pushstring(L, info.module);
        lua_setfield(L, -2, "module");
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

int luaopen_soom_core_native(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"load", l_load},
        {"loaded", l_loaded},
        {"routes", l_routes},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    lua_pushliteral(L, SOOM_MODULE_SUBDIR);
    lua_setfield(L, -2, "builtin_dir");
    return 1;
}
