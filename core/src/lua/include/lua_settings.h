/*
 * Settings as Lua tables: the app's settings table into a config checked by
 * config.c's table of keys, and a config into the nested Lua table that
 * worker states and commands read.
 */
#ifndef SOOM_LUA_SETTINGS_H
#define SOOM_LUA_SETTINGS_H

#include <stdbool.h>

struct lua_State;
struct soom_config;

/* A finished config from the defaults, the table at `idx` (nil: none) and,
 * when `env`, the SOOM_* environment. Raises a Lua error naming the key on
 * failure. The config is owned by the caller (soom_config_free). */
struct soom_config *soom_lua_settings_check(struct lua_State *L, int idx, bool env);

/* Pushes the settings as a Lua table, nested by dotted keys. */
void soom_lua_settings_push(struct lua_State *L, const struct soom_config *config);

#endif
