/*
 * Entry of the CLI (see lua_cli.h): a Lua state, soom.cli, and a traceback
 * for errors that escape the command.
 */
#include "lua_cli.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#include "lua_worker.h"

int soom_cli_main(const char *home, int argc, char **argv, int (*app_lib)(lua_State *L))
{
    lua_State *L = soom_lua_open(home, NULL);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, app_lib);
    lua_setfield(L, -2, "soom.core.serve");
    lua_pop(L, 2);
    lua_pushcfunction(L, soom_lua_traceback);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "soom.cli");
    int code = 1;
    if (lua_pcall(L, 1, 1, 1) != 0)
        goto fail;
    lua_getfield(L, -1, "main");
    lua_pushstring(L, home);
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    if (lua_pcall(L, 2, 1, 1) != 0)
        goto fail;
    code = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_close(L);
    return code;
fail:
    fprintf(stderr, "soom: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
}
