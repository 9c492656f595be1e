/*
 * Whole-document crossings between JSON and Lua, each in one call.
 *
 * JSON null is soom.null, a light userdata holding NULL, so it stays
 * distinct from an absent key. Arrays decode to tables carrying the
 * registry's array metatable, so `[]` and `{}` survive a round trip;
 * soom_lua_json_setup() installs that metatable in a state.
 */
#ifndef SOOM_LUA_JSON_H
#define SOOM_LUA_JSON_H

#include <stdbool.h>

#include "soom/buf.h"

struct lua_State;
struct soom_json;

/* Creates the array metatable of a new state (once per state). */
void soom_lua_json_setup(struct lua_State *L);

/* Pushes the array metatable. */
void soom_lua_json_push_array_mt(struct lua_State *L);

/* Pushes a new ordered metatable for objects whose key list (in order) is
 * the table at `keys` (kept, not copied); `shared` when several tables
 * will carry it, so that adding a key to one of them copies the list
 * (lua_json.c says how key order is kept). */
void soom_lua_json_new_object_mt(struct lua_State *L, int keys, bool shared);

/* Pushes a new empty object that keeps the order its keys are set in. */
void soom_lua_json_push_object(struct lua_State *L);

/* Pushes the document as Lua values; objects keep their key order. */
void soom_lua_push_json(struct lua_State *L, const struct soom_json *doc);

/* Appends the value at `idx` as JSON text. Returns SOOM_OK, or SOOM_EINVAL
 * with a message in `err` (a function, a NaN, a sparse array, a cycle...). */
int soom_lua_to_json(struct lua_State *L, int idx, struct soom_buf *out, char *err, size_t errlen);

/* The value at `idx` as a parsed document in *out (owned by the caller,
 * soom_json_free): encoded as soom_lua_to_json does, then parsed with the
 * encoder's own depth bound, so whatever encodes reads back. Returns SOOM_OK
 * or SOOM_EINVAL with a message in `err`. */
int soom_lua_to_doc(struct lua_State *L, int idx, struct soom_json **out, char *err, size_t errlen);

#endif
