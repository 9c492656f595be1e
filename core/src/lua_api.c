/*
 * soom.core.c: the C functions the Lua layer calls through the classic
 * C API, because they take or build whole Lua values (the settings table,
 * the route list, JSON documents) or run for a long time (serve). The many
 * small per-request calls go through the FFI instead (ffi_*.c).
 * Only lua/soom/ modules use this; apps see it through soom.* wrappers.
 */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "lua_json.h"
#include "lua_plan.h"
#include "lua_worker.h"
#include "plan.h"
#include "request_impl.h"
#include "server.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"
#include "soom/response.h"

extern char **environ;

/* ---- settings ----------------------------------------------------------- */

static int config_from_table(lua_State *L, int idx, const char *prefix, struct soom_config *c,
                             char *err, size_t errlen)
{
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errlen, "setting keys must be strings (in \"%s\")",
                     *prefix ? prefix : "settings");
            lua_pop(L, 2);
            return SOOM_ECONFIG;
        }
        char key[160];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", lua_tostring(L, -2));
        int rc;
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            rc = soom_config_set_string(c, key, lua_tostring(L, -1), err, errlen);
            break;
        case LUA_TNUMBER:
            rc = soom_config_set_number(c, key, lua_tonumber(L, -1), err, errlen);
            break;
        case LUA_TBOOLEAN:
            rc = soom_config_set_bool(c, key, lua_toboolean(L, -1), err, errlen);
            break;
        case LUA_TTABLE:
            if (!soom_config_is_section(key)) {
                snprintf(err, errlen, "unknown setting \"%s\"", key);
                rc = SOOM_ECONFIG;
            } else {
                rc = config_from_table(L, lua_gettop(L), key, c, err, errlen);
            }
            break;
        default:
            snprintf(err, errlen, "setting \"%s\" has an unsupported type (%s)", key,
                     luaL_typename(L, -1));
            rc = SOOM_ECONFIG;
        }
        lua_pop(L, 1);
        if (rc != SOOM_OK) {
            lua_pop(L, 1);
            return rc;
        }
    }
    return SOOM_OK;
}

/* Builds a finished config from the table at `idx` and, when `env`, the
 * environment; raises a Lua error naming the key on failure. */
static struct soom_config *check_config(lua_State *L, int idx, bool env)
{
    char err[512];
    struct soom_config *c = soom_config_new();
    int rc = SOOM_OK;
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TTABLE);
        rc = config_from_table(L, idx, "", c, err, sizeof err);
    }
    char unknown[512] = "";
    if (rc == SOOM_OK && env)
        rc = soom_config_apply_env(c, environ, unknown, sizeof unknown, err, sizeof err);
    if (rc == SOOM_OK)
        rc = soom_config_finish(c, err, sizeof err);
    if (rc != SOOM_OK) {
        soom_config_free(c);
        lua_pushstring(L, err);
        lua_error(L);
    }
    if (unknown[0] != '\0') {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_WARN,
                       "ignoring SOOM_ environment variables that name no setting");
        soom_log_str(&l, "variables", unknown);
        soom_log_end(&l);
    }
    return c;
}

/* settings(table) -> the effective settings: defaults, the table, then the
 * environment. */
static int l_settings(lua_State *L)
{
    struct soom_config *c = check_config(L, 1, true);
    soom_lua_push_settings(L, c);
    soom_config_free(c);
    return 1;
}

/* ---- routes and serving ------------------------------------------------- */

static unsigned methods_of(lua_State *L, int idx)
{
    unsigned mask = 0;
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        size_t len;
        const char *m = lua_tolstring(L, -1, &len);
        unsigned bit = m ? soom_method_parse(m, len) : 0;
        if (bit == 0)
            luaL_error(L, "unknown HTTP method \"%s\"", m ? m : "?");
        mask |= bit;
        lua_pop(L, 1);
    }
    return mask;
}

/* Adds every route of the list at `idx` to `app`; raises on conflict. */
static void add_routes(lua_State *L, int idx, struct soom_app *app)
{
    luaL_checktype(L, idx, LUA_TTABLE);
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
        struct plan_spec plan;
        struct soom_arena *scratch = soom_arena_new(0);
        if (lua_istable(L, t + 8)) {
            soom_lua_plan_spec(L, t + 8, &plan, scratch);
            plan.secret_key = app->config->secret_key;
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
        };
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

/* check_routes(routes) -> true, or raises naming the conflicting routes */
static int l_check_routes(lua_State *L)
{
    struct soom_app *app = soom_app_new(soom_config_new(), ".", ".");
    add_routes(L, 1, app);
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
    struct soom_config *c = check_config(L, 1, false);
    const char *dir = luaL_checkstring(L, 2);
    const char *home = luaL_checkstring(L, 4);
    struct soom_app *app = soom_app_new(c, dir, home);
    add_routes(L, 3, app);
    soom_log_setup(c->level, c->access_log, STDOUT_FILENO);
    soom_log_buffer((size_t)c->log_buffer);
    warn_random_cursor_key(app);
    int code = soom_server_run(app);
    soom_app_free(app);
    lua_pushinteger(L, code);
    return 1;
}

/* ---- files -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* listdir(path) -> sorted names (without . and ..), or nil, message */
static int l_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (d == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(char *));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (int)i + 1);
        free(names[i]);
    }
    free(names);
    return 1;
}

/* filetype(path) -> "file", "directory", "other" or nil */
static int l_filetype(lua_State *L)
{
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
    return 1;
}

/* realpath(path) -> the absolute path, or nil, message */
static int l_realpath(lua_State *L)
{
    char *p = realpath(luaL_checkstring(L, 1), NULL);
    if (p == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushstring(L, p);
    free(p);
    return 1;
}

/* ---- JSON --------------------------------------------------------------- */

/* json_encode(value) -> text, or nil, message */
static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    struct soom_buf b;
    soom_buf_init(&b);
    char err[256];
    if (soom_lua_to_json(L, 1, &b, err, sizeof err) != SOOM_OK) {
        soom_buf_cleanup(&b);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    soom_buf_cleanup(&b);
    return 1;
}

/* json_decode(text) -> value, or nil, message */
static int l_json_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    struct soom_json *doc;
    struct soom_json_error err;
    int rc = soom_json_parse(s, n, SOOM_JSON_MAX_DEPTH, &doc, &err);
    if (rc != SOOM_OK) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s at byte %d", soom_strerror(rc), err.reason, (int)err.offset);
        return 2;
    }
    soom_lua_push_json(L, doc);
    soom_json_free(doc);
    return 1;
}

/* request_body(request) -> the parsed JSON body, or nil */
static int l_request_body(lua_State *L)
{
    const struct soom_request *r = lua_touserdata(L, 1);
    if (r == NULL)
        return luaL_error(L, "request_body: no request");
    soom_lua_push_json(L, r->json);
    return 1;
}

/* request_query(request) -> the query coerced by the route's query schema,
 * or nil when the route has none */
static int l_request_query(lua_State *L)
{
    const struct soom_request *r = lua_touserdata(L, 1);
    if (r == NULL)
        return luaL_error(L, "request_query: no request");
    if (r->query_json == NULL)
        lua_pushnil(L);
    else
        soom_lua_push_json(L, r->query_json);
    return 1;
}

/* ---- misc --------------------------------------------------------------- */

/* status_reason(status) -> "Not Found" */
static int l_status_reason(lua_State *L)
{
    lua_pushstring(L, soom_status_reason((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* sleep(seconds): blocks the worker thread */
static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    if (s > 0) {
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    return 0;
}

/* now() -> seconds from a monotonic clock */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, (double)soom_now_ns() / 1e9);
    return 1;
}

/* log(level, msg, fields) with fields a flat table of strings, numbers and
 * booleans */
static int l_log(lua_State *L)
{
    static const char *const LEVELS[] = {"debug", "info", "warn", "error", NULL};
    int level = luaL_checkoption(L, 1, "info", LEVELS);
    const char *msg = luaL_checkstring(L, 2);
    struct soom_log_line l;
    soom_log_begin(&l, (enum soom_log_level)level, msg);
    if (l.enabled && lua_istable(L, 3)) {
        lua_pushnil(L);
        while (lua_next(L, 3) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                const char *k = lua_tostring(L, -2);
                switch (lua_type(L, -1)) {
                case LUA_TBOOLEAN: soom_log_bool(&l, k, lua_toboolean(L, -1)); break;
                case LUA_TNUMBER: {
                    double d = lua_tonumber(L, -1);
                    if (d == (double)(long long)d)
                        soom_log_int(&l, k, (long long)d);
                    else
                        soom_log_str(&l, k, lua_tostring(L, -1));
                    break;
                }
                case LUA_TSTRING: {
                    size_t n;
                    const char *v = lua_tolstring(L, -1, &n);
                    soom_log_strn(&l, k, v, n);
                    break;
                }
                default: soom_log_str(&l, k, luaL_typename(L, -1));
                }
            }
            lua_pop(L, 1);
        }
    }
    soom_log_end(&l);
    return 0;
}

int luaopen_soom_core_c(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"settings", l_settings},
        {"check_routes", l_check_routes},
        {"serve", l_serve},
        {"listdir", l_listdir},
        {"filetype", l_filetype},
        {"realpath", l_realpath},
        {"status_reason", l_status_reason},
        {"json_encode", l_json_encode},
        {"json_decode", l_json_decode},
        {"request_body", l_request_body},
        {"request_query", l_request_query},
        {"sleep", l_sleep},
        {"now", l_now},
        {"log", l_log},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    soom_lua_json_push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    lua_pushliteral(L, SOOM_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
