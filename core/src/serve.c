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
#include <stdbool.h>
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
#include "soom/error.h"
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

/* The routes of static bytes whose `static` table says `later`: their
 * bytes are made by serve's `make` while the server loads (see
 * soom_server_late), and read from the same tables. */
struct later {
    lua_State *L;
    int routes, make; /* stack slots of serve's arguments */
    int error;        /* the slot of make's error, or 0 */
};

static int later_make(void *ctx)
{
    struct later *lt = ctx;
    lua_pushvalue(lt->L, lt->make);
    if (lua_pcall(lt->L, 0, 0, 0) == 0)
        return SOOM_OK;
    lt->error = lua_gettop(lt->L);
    return SOOM_ELUA;
}

static int later_fill(void *ctx, struct soom_app *app)
{
    struct later *lt = ctx;
    lua_State *L = lt->L;
    int top = lua_gettop(L), rc = SOOM_OK;
    size_t n = lua_objlen(L, lt->routes);
    for (size_t i = 1; i <= n && rc == SOOM_OK; i++) {
        lua_rawgeti(L, lt->routes, (int)i);
        lua_getfield(L, -1, "static");
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "later");
            lua_getfield(L, -2, "body");
            size_t len;
            const char *body = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
            if (lua_toboolean(L, -2) &&
                (body == NULL || soom_app_static_fill(app, i - 1, body, len) != SOOM_OK)) {
                lua_getfield(L, -4, "pattern");
                lua_pushfstring(L, "the bytes of %s were not made", lua_tostring(L, -1));
                lua_replace(L, top + 1);
                lt->error = top + 1;
                rc = SOOM_ELUA;
            }
        }
        lua_settop(L, lt->error > 0 ? top + 1 : top);
    }
    return rc;
}

/* serve(settings, app_dir, routes, home[, make]) -> exit code; blocks until
 * shutdown. `settings` are effective settings (from settings()), used as
 * they are; `make()` sets the body of each route whose static table says
 * `later`, while the server loads. Raises what make raised. */
static int l_serve(lua_State *L)
{
    struct soom_config *c = soom_lua_settings_check(L, 1, false);
    const char *dir = luaL_checkstring(L, 2);
    const char *home = luaL_checkstring(L, 4);
    bool has_make = lua_isfunction(L, 5);
    lua_settop(L, 5);
    struct soom_app *app = soom_app_new(c, dir, home);
    soom_lua_routes_add(L, 3, app);
    soom_log_setup(c->level, c->access_log, STDOUT_FILENO);
    soom_log_buffer((size_t)c->log_buffer);
    warn_random_cursor_key(app);
    struct later lt = {L, 3, 5, 0};
    struct soom_server_late late = {later_make, later_fill, &lt};
    /* without make, a route still waiting for its bytes is an error */
    int code = has_make || later_fill(&lt, app) == SOOM_OK
                   ? soom_server_run(app, has_make ? &late : NULL)
                   : 1;
    soom_app_free(app);
    if (lt.error > 0) {
        lua_pushvalue(L, lt.error);
        return lua_error(L);
    }
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
