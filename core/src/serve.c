/*
 * soom.core.serve, the composition root as the command line sees it: the
 * effective settings, checking an app's routes, and serving an app (which
 * builds the route table, sets up logging and hands the app to the server
 * until shutdown). Preloaded only in the command line's own Lua state
 * (main.c hands it to soom_cli_main), never in worker states.
 */
#include "serve.h"

#include <lauxlib.h>
#include <lua.h>
#include <unistd.h>

#include "app.h"
#include "lua_routes.h"
#include "lua_settings.h"
#include "plan.h"
#include "server.h"
#include "soom/config.h"
#include "soom/log.h"

/* settings(table) -> the effective settings: defaults, the table, then the
 * environment. */
static int l_settings(lua_State *L)
{
    struct soom_config *c = soom_lua_settings_check(L, 1, true);
    soom_lua_settings_push(L, c);
    soom_config_free(c);
    return 1;
}

/* check_routes(routes) -> true, or raises naming the conflicting routes */
static int l_check_routes(lua_State *L)
{
    struct soom_app *app = soom_app_new(soom_config_new(), ".", ".");
    soom_lua_routes_add(L, 1, app);
    soom_app_free(app);
    lua_pushboolean(L, 1);
    return 1;
}

/* Cursors signed with a key drawn at start-up die with the process and
 * differ between replicas: worth a warning. */
static void warn_random_cursor_key(const struct soom_app *app)
{
    for (size_t i = 0; i < app->nroutes; i++) {
        const struct soom_plan *p = app->routes[i].plan;
        if (p != NULL && p->page == PLAN_PAGE_CURSOR && p->random_key) {
            soom_log_msg(SOOM_LOG_WARN, "settings.secret_key is empty: pagination cursors are "
                                        "signed with a random key and will not survive a "
                                        "restart; set SOOM_SECRET_KEY in production");
            return;
        }
    }
}

/* serve(settings, app_dir, routes, home) -> exit code; blocks until shutdown.
 * `settings` are effective settings (from settings()), used as they are. */
static int l_serve(lua_State *L)
{
    struct soom_config *c = soom_lua_settings_check(L, 1, false);
    const char *dir = luaL_checkstring(L, 2);
    const char *home = luaL_checkstring(L, 4);
    struct soom_app *app = soom_app_new(c, dir, home);
    soom_lua_routes_add(L, 3, app);
    soom_log_setup(c->level, c->access_log, STDOUT_FILENO);
    soom_log_buffer((size_t)c->log_buffer);
    warn_random_cursor_key(app);
    int code = soom_server_run(app);
    soom_app_free(app);
    lua_pushinteger(L, code);
    return 1;
}

int luaopen_soom_core_serve(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"settings", l_settings},
        {"check_routes", l_check_routes},
        {"serve", l_serve},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
