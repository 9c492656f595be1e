/*
 * Settings between Lua tables and struct soom_config (see lua_settings.h):
 * settings.lua's table (and the environment) into a checked config, and a
 * config back into the nested table apps read as soom.settings.
 */
#include "lua_settings.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "soom/buf.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"

extern char **environ;

/* ---- table to config ---------------------------------------------------- */

/* A list of strings for a string setting (database.replicas = { url, ... }):
 * stored as one string, the items separated by spaces. */
static int list_setting(lua_State *L, int idx, const char *key, struct soom_config *c, char *err,
                        size_t errlen)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            luaL_pushresult(&b);
            lua_pop(L, 1);
            snprintf(err, errlen, "setting \"%s\" must be a string or a list of strings", key);
            return SOOM_ECONFIG;
        }
        if (i > 1)
            luaL_addchar(&b, ' ');
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    int rc = soom_config_set_string(c, key, lua_tostring(L, -1), err, errlen);
    lua_pop(L, 1);
    return rc;
}

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
        if (*prefix == '\0' && strcmp(lua_tostring(L, -2), "modules") == 0) {
            lua_pop(L, 1); /* native modules' settings: read by their loader */
            continue;
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
            if (soom_config_key_type(key) == SOOM_CONFIG_STRING) {
                rc = list_setting(L, lua_gettop(L), key, c, err, errlen);
            } else if (!soom_config_is_section(key)) {
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

struct soom_config *soom_lua_settings_check(lua_State *L, int idx, bool env)
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
    /* here, where the app's own settings are still told from the
     * defaults: the effective settings hold every key */
    if (env && c->pooler_transaction && c->pool_prepared_explicit)
        soom_log_msg(SOOM_LOG_WARN, "database.pooler: pool.prepared = true is ignored: named "
                                    "prepared statements do not survive a transaction pooler");
    if (unknown[0] != '\0') {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_WARN,
                       "ignoring SOOM_ environment variables that name no setting");
        soom_log_str(&l, "variables", unknown);
        soom_log_end(&l);
    }
    return c;
}

/* ---- config to table ---------------------------------------------------- */

static void set_path(lua_State *L, const char *key)
{
    /* value on top, target table below it: walk "a.b.c", creating tables */
    const char *dot;
    int depth = 0;
    lua_pushvalue(L, -2);
    while ((dot = strchr(key, '.')) != NULL) {
        lua_pushlstring(L, key, (size_t)(dot - key));
        lua_rawget(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, key, (size_t)(dot - key));
            lua_pushvalue(L, -2);
            lua_rawset(L, -4);
        }
        lua_remove(L, -2);
        depth++;
        key = dot + 1;
    }
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, key);
    lua_pop(L, 2);
    (void)depth;
}

static void visit_setting(void *ud, const char *key, enum soom_config_type type, const void *value)
{
    lua_State *L = ud;
    switch (type) {
    case SOOM_CONFIG_STRING: lua_pushstring(L, value); break;
    case SOOM_CONFIG_INT: lua_pushnumber(L, (lua_Number) * (const long *)value); break;
    case SOOM_CONFIG_NUMBER: lua_pushnumber(L, *(const double *)value); break;
    case SOOM_CONFIG_BOOL: lua_pushboolean(L, *(const bool *)value); break;
    }
    set_path(L, key);
}

void soom_lua_settings_push(lua_State *L, const struct soom_config *config)
{
    lua_newtable(L);
    soom_config_each(config, visit_setting, L);
}
