/*
 * soom.core.c: the C functions the Lua layer calls through the classic
 * C API, because they take or build whole Lua values (JSON documents,
 * folder listings) or wait (sleep, through lua_wait.h). The many small per-request calls go
 * through the FFI instead (ffi_request.c); settings, routes and serving are
 * soom.core.serve (serve.c).
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
#include "clock.h"
#include "lua_json.h"
#include "lua_libs.h"
#include "lua_wait.h"
#include "request_impl.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"
#include "soom/response.h"
#include "wait.h"

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
    if (n > 0) /* names is NULL for an empty folder */
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

/* json_object() -> an empty object that keeps its keys' order */
static int l_json_object(lua_State *L)
{
    soom_lua_json_push_object(L);
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
        if (err.pointer[0] != '\0' || rc == SOOM_EVALUE)
            lua_pushfstring(L, "%s: %s at \"%s\"", soom_error_message(rc), err.reason, err.pointer);
        else
            lua_pushfstring(L, "%s: %s at byte %d", soom_error_message(rc), err.reason,
                            (int)err.offset);
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
    lua_pushstring(L, soom_response_reason((int)luaL_checkinteger(L, 1)));
    return 1;
}

static int run_sleep(lua_State *L, struct soom_request *r, void *arg)
{
    (void)r;
    lua_pushboolean(L, soom_wait_until(*(uint64_t *)arg) == SOOM_OK);
    return 1;
}

/* sleep(seconds) -> true, or false when the request's time ran out first.
 * Yields under the async server; elsewhere blocks the thread. */
static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    if (!(s > 0)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    uint64_t until = soom_clock_ns() + (uint64_t)(s * 1e9), *held = &until;
    bool yield = soom_lua_wait_can_yield(L);
    if (yield) {
        held = soom_arena_alloc(soom_request_current()->arena, sizeof *held);
        *held = until;
    }
    return soom_lua_wait(L, yield, run_sleep, held);
}

/* now() -> seconds from a monotonic clock */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, (double)soom_clock_ns() / 1e9);
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
    const struct soom_request *r = soom_request_current();
    if (r != NULL) { /* a line about the request being served */
        soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
        soom_log_str(&l, "trace_id", r->trace.trace_id);
        soom_log_str(&l, "span_id", r->trace.span_id);
    }
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
        {"listdir", l_listdir},
        {"filetype", l_filetype},
        {"realpath", l_realpath},
        {"status_reason", l_status_reason},
        {"json_encode", l_json_encode},
        {"json_decode", l_json_decode},
        {"json_object", l_json_object},
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
