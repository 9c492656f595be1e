/*
 * soom.core.metrics: an app's own metrics, for soom.metrics (the Lua
 * wrapper checks label names and keeps the objects). Families are
 * declared while the app loads, in the start-up state and again in each
 * worker state (the same declaration gives the same family); series are
 * found by their label values; values are added, set or observed. All of
 * it lives in the metrics segment (ops_metrics.h), so nothing here is
 * owned by Lua.
 */
#include <lauxlib.h>
#include <lua.h>

#include "lua_libs.h"
#include "ops_metrics.h"
#include "soom/error.h"

static const char *const KINDS[] = {"counter", "gauge", "histogram", NULL};

/* Reads the strings of the array at `idx` (at most `max`); raises on a
 * non-string. */
static size_t strings(lua_State *L, int idx, const char **out, size_t max, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    size_t n = lua_objlen(L, idx);
    if (n > max)
        luaL_error(L, "too many %s (at most %d)", what, (int)max);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "%s must be strings", what);
        out[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the table keeps the string alive */
    }
    return n;
}

/* declare(kind, name, help, labels, buckets) -> family id, or nil, message */
static int l_declare(lua_State *L)
{
    int kind = luaL_checkoption(L, 1, NULL, KINDS);
    const char *name = luaL_checkstring(L, 2);
    const char *help = luaL_optstring(L, 3, "");
    const char *labels[SOOM_METRICS_MAX_LABELS];
    size_t nlabels = strings(L, 4, labels, SOOM_METRICS_MAX_LABELS, "label names");
    double bounds[SOOM_METRICS_MAX_BUCKETS];
    size_t nbounds = 0;
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        nbounds = lua_objlen(L, 5);
        if (nbounds > SOOM_METRICS_MAX_BUCKETS)
            nbounds = SOOM_METRICS_MAX_BUCKETS + 1; /* refused below */
        for (size_t i = 0; i < nbounds && i < SOOM_METRICS_MAX_BUCKETS; i++) {
            lua_rawgeti(L, 5, (int)i + 1);
            bounds[i] = luaL_checknumber(L, -1);
            lua_pop(L, 1);
        }
    }
    char err[256];
    int id = soom_metrics_declare((enum soom_metric_kind)kind, name, help, labels, nlabels,
                                  nbounds ? bounds : NULL, nbounds, err, sizeof err);
    if (id < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushinteger(L, id);
    return 1;
}

/* series(id, value...) -> the series handle, or nil when metrics are off
 * or the segment is full */
static int l_series(lua_State *L)
{
    int id = (int)luaL_checkinteger(L, 1);
    int n = lua_gettop(L) - 1;
    if (n > SOOM_METRICS_MAX_LABELS)
        return luaL_error(L, "too many label values");
    const char *values[SOOM_METRICS_MAX_LABELS];
    size_t lens[SOOM_METRICS_MAX_LABELS];
    for (int i = 0; i < n; i++)
        values[i] = luaL_checklstring(L, i + 2, &lens[i]);
    int s = soom_metrics_series(id, values, lens, (size_t)n);
    if (s < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, s);
    return 1;
}

static int apply(lua_State *L, int (*fn)(int, double), const char *what)
{
    int s = (int)luaL_checkinteger(L, 1);
    double v = luaL_checknumber(L, 2);
    if (fn(s, v) != SOOM_OK)
        return luaL_error(L, "%s: %f is not a value this metric takes", what, v);
    return 0;
}

/* add(series, v), set(series, v), observe(series, v) */
static int l_add(lua_State *L)
{
    return apply(L, soom_metrics_add, "inc");
}

static int l_set(lua_State *L)
{
    return apply(L, soom_metrics_set, "set");
}

static int l_observe(lua_State *L)
{
    return apply(L, soom_metrics_observe, "observe");
}

int luaopen_soom_core_metrics(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"declare", l_declare}, {"series", l_series},   {"add", l_add},
        {"set", l_set},         {"observe", l_observe}, {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
