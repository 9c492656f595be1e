/*
 * soom.core.serve, the composition root as the command line sees it: the
 * effective settings, checking an app's routes, and serving an app (which
 * builds the route table, sets up logging and hands the app to the server
 * until shutdown). Preloaded only in the command line's own Lua state
 * (main.c hands it to soom_cli_main), never in worker states.
 */
#include "serve.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
                                        "sealed with a random key and will not survive a "
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

/* restart(args) -> only on failure: nil, message. Replaces the process
 * with soom run again, with the same pid (so the embedded database's
 * registration and a supervisor's view of the process hold), for
 * `soom run --reload` when the app's routes changed. */
static int l_restart(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_objlen(L, 1);
    char **argv = calloc((size_t)n + 2, sizeof *argv);
    if (argv == NULL)
        return luaL_error(L, "out of memory");
    argv[0] = "soom";
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        argv[i] = (char *)luaL_checkstring(L, -1); /* kept alive by the table */
        lua_pop(L, 1);
    }
    fflush(stdout);
    fflush(stderr);
    /* the server blocked its signals to wait for them; a new process
     * starts with none blocked, as from a shell, once a second SIGHUP
     * (another prefork worker's reloader) is taken: unblocked, it would
     * end the process */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    const struct timespec now = {0, 0};
    while (sigtimedwait(&hup, NULL, &now) > 0)
        ;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", argv);
    int e = errno;
    free(argv);
    lua_pushnil(L);
    lua_pushstring(L, strerror(e));
    return 2;
}

int luaopen_soom_core_serve(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"settings", l_settings},
        {"check_routes", l_check_routes},
        {"serve", l_serve},
        {"restart", l_restart},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    lua_pushinteger(L, SOOM_SERVER_RESTART);
    lua_setfield(L, -2, "RESTART");
    return 1;
}
