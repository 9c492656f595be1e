/*
 * JSON <-> Lua in one crossing each way (see lua_json.h).
 *
 * Encoding decides array or object per table: a table with the array
 * metatable is an array; otherwise a table whose keys are exactly 1..n is
 * an array, an empty table is an object, and any other table is an object
 * whose number keys become strings. Holes are allowed in an array up to
 * half of it (they encode as null); sparser tables are refused rather than
 * padded with nulls without bound.
 *
 * Objects keep their key order across Lua: a decoded object (and a row of
 * soom.db, a soom.json.object()) carries an ordered metatable holding its
 * keys in order, so what went in as {"id", "name", "score"} comes out so
 * after a hook has worked on it. The metatable's __newindex appends a key
 * set for the first time; rows of one result, and sibling objects of one
 * document with the same keys, share one metatable until a key is added
 * to one of them, which then gets a copy (so a list of 100 rows costs one
 * key list, not 100). The encoder writes the listed keys with a value, in
 * order, then any key set behind __newindex's back (rawset), unordered.
 * Any other table is walked in Lua's order, as before.
 */
#include "lua_json.h"

/* Documents cross into Lua by walking their cJSON tree in one pass. */
#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "soom/error.h"
#include "soom/json.h"

#define ENCODE_MAX_DEPTH 128

static char array_mt_key;

/* An ordered metatable: [&ordered_key] = true, [1] = the key list, [2] =
 * key -> position (made on the first __newindex), [3] = true while shared,
 * __newindex = the one newindex function of the state (the registry's
 * [&newindex_key]). */
static char ordered_key;
static char newindex_key;

enum { OM_KEYS = 1, OM_INDEX = 2, OM_SHARED = 3 };

static int l_ordered_newindex(lua_State *L);

void soom_lua_json_setup(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, &newindex_key);
    lua_pushcfunction(L, l_ordered_newindex);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void soom_lua_json_new_object_mt(lua_State *L, int keys, bool shared)
{
    if (keys < 0)
        keys = lua_gettop(L) + keys + 1;
    lua_createtable(L, 3, 2);
    lua_pushlightuserdata(L, &ordered_key);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushlightuserdata(L, &newindex_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_rawset(L, -3);
    lua_pushvalue(L, keys);
    lua_rawseti(L, -2, OM_KEYS);
    if (shared) {
        lua_pushboolean(L, 1);
        lua_rawseti(L, -2, OM_SHARED);
    }
}

void soom_lua_json_push_object(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    soom_lua_json_new_object_mt(L, -1, false);
    lua_setmetatable(L, -3);
    lua_pop(L, 1);
}

/* True when the table at `mt` is an ordered metatable. */
static bool is_ordered_mt(lua_State *L, int mt)
{
    lua_pushlightuserdata(L, &ordered_key);
    lua_rawget(L, mt);
    bool is = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return is;
}

/* Pushes the key -> position index of the ordered metatable at `mt`,
 * making it on first use. */
static void push_index(lua_State *L, int mt)
{
    lua_rawgeti(L, mt, OM_INDEX);
    if (!lua_isnil(L, -1))
        return;
    lua_pop(L, 1);
    lua_rawgeti(L, mt, OM_KEYS);
    int n = (int)lua_objlen(L, -1);
    lua_createtable(L, 0, n);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        lua_pushinteger(L, i);
        lua_rawset(L, -3);
    }
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_rawseti(L, mt, OM_INDEX);
}

/* __newindex(t, k, v): a key set for the first time goes to the end of
 * the order (of a copy of the key list when the list is shared). */
static int l_ordered_newindex(lua_State *L)
{
    lua_settop(L, 3);
    if (lua_isnil(L, 3))
        return 0; /* an absent key set to nil: nothing to remember */
    if (!lua_getmetatable(L, 1)) {
        lua_rawset(L, 1);
        return 0;
    }
    int mt = lua_gettop(L);
    push_index(L, mt);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    bool known = !lua_isnil(L, -1);
    lua_pop(L, 2);
    if (!known) {
        lua_rawgeti(L, mt, OM_SHARED);
        bool shared = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (shared) {
            lua_rawgeti(L, mt, OM_KEYS);
            int n = (int)lua_objlen(L, -1);
            lua_createtable(L, n + 4, 0);
            for (int i = 1; i <= n; i++) {
                lua_rawgeti(L, -2, i);
                lua_rawseti(L, -2, i);
            }
            soom_lua_json_new_object_mt(L, -1, false);
            lua_pushvalue(L, -1);
            lua_setmetatable(L, 1);
            lua_replace(L, mt);
            lua_pop(L, 2);
        }
        push_index(L, mt);
        lua_rawgeti(L, mt, OM_KEYS);
        int n = (int)lua_objlen(L, -1) + 1;
        lua_pushvalue(L, 2);
        lua_rawseti(L, -2, n);
        lua_pushvalue(L, 2);
        lua_pushinteger(L, n);
        lua_rawset(L, -4);
        lua_pop(L, 2);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

void soom_lua_json_push_array_mt(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* ---- decode ------------------------------------------------------------- */

/* Sibling objects with the same keys share a metatable: the last object
 * made at each depth, and its metatable at [depth + 1] of the table at
 * `shapes` on the stack. */
#define SHAPE_DEPTHS 8

struct decoder {
    lua_State *L;
    int shapes;
    const cJSON *last[SHAPE_DEPTHS];
};

static bool same_keys(const cJSON *a, const cJSON *b)
{
    for (a = a->child, b = b->child; a != NULL && b != NULL; a = a->next, b = b->next)
        if (strcmp(a->string, b->string) != 0)
            return false;
    return a == NULL && b == NULL;
}

static void push_item(struct decoder *d, const cJSON *item, int depth);

/* The object's members into the table at `t`; with `keys` not 0, the
 * first occurrence of each name appended to the list there too. */
static void fill_object(struct decoder *d, const cJSON *item, int depth, int t, int keys)
{
    lua_State *L = d->L;
    int n = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        lua_pushstring(L, c->string);
        if (keys != 0) {
            lua_pushvalue(L, -1);
            lua_rawget(L, t);
            if (lua_isnil(L, -1)) {
                lua_pushvalue(L, -2);
                lua_rawseti(L, keys, ++n);
            }
            lua_pop(L, 1);
        }
        push_item(d, c, depth + 1);
        lua_rawset(L, t);
    }
}

static void push_object(struct decoder *d, const cJSON *item, int depth)
{
    lua_State *L = d->L;
    int n = cJSON_GetArraySize(item);
    lua_createtable(L, 0, n);
    int t = lua_gettop(L);
    bool cached = depth < SHAPE_DEPTHS;
    if (cached && d->last[depth] != NULL && same_keys(d->last[depth], item)) {
        fill_object(d, item, depth, t, 0);
        lua_rawgeti(L, d->shapes, depth + 1);
        lua_pushboolean(L, 1);
        lua_rawseti(L, -2, OM_SHARED);
        lua_setmetatable(L, t);
        return;
    }
    lua_createtable(L, n, 0);
    int keys = lua_gettop(L);
    fill_object(d, item, depth, t, keys);
    soom_lua_json_new_object_mt(L, keys, false);
    if (cached) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, d->shapes, depth + 1);
        d->last[depth] = item;
    }
    lua_setmetatable(L, t);
    lua_settop(L, t);
}

static void push_item(struct decoder *d, const cJSON *item, int depth)
{
    lua_State *L = d->L;
    luaL_checkstack(L, 6, "JSON document too deep");
    switch (item->type & 0xFF) {
    case cJSON_False: lua_pushboolean(L, 0); break;
    case cJSON_True: lua_pushboolean(L, 1); break;
    case cJSON_NULL: lua_pushlightuserdata(L, NULL); break;
    case cJSON_Number: lua_pushnumber(L, item->valuedouble); break;
    case cJSON_String: lua_pushstring(L, item->valuestring); break;
    case cJSON_Array: {
        int n = cJSON_GetArraySize(item);
        lua_createtable(L, n, 0);
        soom_lua_json_push_array_mt(L);
        lua_setmetatable(L, -2);
        int i = 1;
        for (const cJSON *c = item->child; c != NULL; c = c->next) {
            push_item(d, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
        break;
    }
    case cJSON_Object: push_object(d, item, depth); break;
    default: lua_pushnil(L); break;
    }
}

void soom_lua_push_json(lua_State *L, const struct soom_json *doc)
{
    const cJSON *item = (const cJSON *)doc;
    if (item == NULL) {
        lua_pushnil(L);
        return;
    }
    struct decoder d = {.L = L, .shapes = 0};
    if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        lua_createtable(L, SHAPE_DEPTHS, 0);
        d.shapes = lua_gettop(L);
    }
    push_item(&d, item, 0);
    if (d.shapes != 0)
        lua_remove(L, d.shapes);
}

/* ---- encode ------------------------------------------------------------- */

struct encoder {
    lua_State *L;
    struct soom_buf *out;
    char *err;
    size_t errlen;
    const void *array_mt;   /* the array metatable, looked up at the first metatable met */
    const void *ordered_mt; /* the last ordered metatable seen */
};

static int encode_value(struct encoder *e, int idx, int depth);

static int enc_fail(struct encoder *e, const char *msg)
{
    snprintf(e->err, e->errlen, "cannot encode as JSON: %s", msg);
    return SOOM_EINVAL;
}

static int encode_array(struct encoder *e, int idx, size_t n, int depth)
{
    lua_State *L = e->L;
    soom_buf_putc(e->out, '[');
    for (size_t i = 1; i <= n; i++) {
        if (i > 1)
            soom_buf_putc(e->out, ',');
        lua_rawgeti(L, idx, (int)i);
        int rc = lua_isnil(L, -1) ? (soom_buf_puts(e->out, "null"), SOOM_OK)
                                  : encode_value(e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
        if (rc != SOOM_OK)
            return rc;
    }
    soom_buf_putc(e->out, ']');
    return SOOM_OK;
}

static int encode_key(struct encoder *e, int kidx)
{
    lua_State *L = e->L;
    size_t len;
    if (lua_type(L, kidx) == LUA_TSTRING) {
        const char *k = lua_tolstring(L, kidx, &len);
        soom_json_write_string(e->out, k, len);
        return SOOM_OK;
    }
    if (lua_type(L, kidx) == LUA_TNUMBER) {
        /* format into the buffer, then quote it */
        struct soom_buf tmp;
        soom_buf_init(&tmp);
        int rc = soom_json_write_number(&tmp, lua_tonumber(L, kidx));
        if (rc == SOOM_OK)
            soom_json_write_string(e->out, tmp.data, tmp.len);
        soom_buf_cleanup(&tmp);
        return rc == SOOM_OK ? SOOM_OK : enc_fail(e, "a NaN or infinite key");
    }
    return enc_fail(e, "a table key that is not a string or a number");
}

/* An object whose first key and value lua_next left on the stack
 * (encode_table looked at them to tell an object from an array). */
static int encode_object_from(struct encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    bool first = true;
    soom_buf_putc(e->out, '{');
    do {
        if (!first)
            soom_buf_putc(e->out, ',');
        first = false;
        int rc = encode_key(e, lua_gettop(L) - 1);
        if (rc == SOOM_OK) {
            soom_buf_putc(e->out, ':');
            rc = encode_value(e, lua_gettop(L), depth + 1);
        }
        lua_pop(L, 1);
        if (rc != SOOM_OK) {
            lua_pop(L, 1);
            return rc;
        }
    } while (lua_next(L, idx) != 0);
    soom_buf_putc(e->out, '}');
    return SOOM_OK;
}

static int encode_object(struct encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return (soom_buf_puts(e->out, "{}"), SOOM_OK);
    return encode_object_from(e, idx, depth);
}

/* One member of an object: the key below the top of the stack, the value
 * on top, after a comma unless it is the first written. */
static int encode_member(struct encoder *e, int *written, int depth)
{
    lua_State *L = e->L;
    if ((*written)++ > 0)
        soom_buf_putc(e->out, ',');
    int rc = encode_key(e, lua_gettop(L) - 1);
    if (rc == SOOM_OK) {
        soom_buf_putc(e->out, ':');
        rc = encode_value(e, lua_gettop(L), depth + 1);
    }
    return rc;
}

/* An object with an ordered metatable (at `mt`): its listed keys that have
 * a value, in order, then any other key (one set with rawset). */
static int encode_ordered(struct encoder *e, int idx, int mt, int depth)
{
    lua_State *L = e->L;
    lua_rawgeti(L, mt, OM_KEYS);
    int keys = lua_gettop(L);
    int n = (int)lua_objlen(L, keys), written = 0, rc = SOOM_OK;
    soom_buf_putc(e->out, '{');
    for (int i = 1; i <= n && rc == SOOM_OK; i++) {
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        lua_rawget(L, idx);
        if (!lua_isnil(L, -1))
            rc = encode_member(e, &written, depth);
        lua_pop(L, 2);
    }
    int total = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        total++;
    }
    if (rc == SOOM_OK && total > written) {
        push_index(L, mt);
        int index = lua_gettop(L);
        lua_pushnil(L);
        while (rc == SOOM_OK && lua_next(L, idx) != 0) {
            lua_pushvalue(L, -2);
            lua_rawget(L, index);
            bool listed = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (!listed)
                rc = encode_member(e, &written, depth);
            lua_pop(L, 1);
        }
        if (rc != SOOM_OK)
            lua_pop(L, 1); /* the key lua_next left */
        lua_pop(L, 1);     /* the index */
    }
    lua_pop(L, 1); /* the key list */
    if (rc == SOOM_OK)
        soom_buf_putc(e->out, '}');
    return rc;
}

/* Classifies a table without the array metatable: returns the array length
 * when every key is a positive integer and the holes are few, else 0 (an
 * object; also for the empty table). */
static size_t array_length(struct encoder *e, int idx, bool *sparse)
{
    lua_State *L = e->L;
    size_t count = 0;
    double max = 0;
    *sparse = false;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return 0;
        }
        double k = lua_tonumber(L, -1);
        if (k < 1 || k != floor(k) || k > 2147483647.0) {
            lua_pop(L, 1);
            return 0;
        }
        if (k > max)
            max = k;
        count++;
    }
    if (count > 0 && max > 2.0 * (double)count)
        *sparse = true;
    return (size_t)max;
}

static int encode_table(struct encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    if (depth > ENCODE_MAX_DEPTH)
        return enc_fail(e, "tables nested too deeply (a cycle?)");
    luaL_checkstack(L, 10, "JSON encoding too deep");
    if (lua_getmetatable(L, idx)) {
        /* (each call leaves the stack as it found it, or fails, and a
         * failure's stack is reset by soom_lua_to_json) */
        int mt = lua_gettop(L), rc = SOOM_OK;
        bool done = true;
        if (e->array_mt == NULL) {
            soom_lua_json_push_array_mt(L);
            e->array_mt = lua_topointer(L, -1);
            lua_pop(L, 1);
        }
        if (lua_topointer(L, mt) == e->array_mt) {
            rc = encode_array(e, idx, lua_objlen(L, idx), depth);
        } else if (lua_topointer(L, mt) == e->ordered_mt || is_ordered_mt(L, mt)) {
            e->ordered_mt = lua_topointer(L, mt); /* rows share one: checked once */
            rc = encode_ordered(e, idx, mt, depth);
        } else {
            done = false;
        }
        lua_pop(L, 1);
        if (done)
            return rc;
    }
    /* A table whose first key is a string is an object: no need to scan
     * every key first, which is the common case of a response body. */
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return (soom_buf_puts(e->out, "{}"), SOOM_OK);
    if (lua_type(L, -2) == LUA_TSTRING)
        return encode_object_from(e, idx, depth);
    lua_pop(L, 2);
    bool sparse;
    size_t n = array_length(e, idx, &sparse);
    if (sparse)
        return enc_fail(e, "a sparse array (more holes than values)");
    if (n > 0)
        return encode_array(e, idx, n, depth);
    return encode_object(e, idx, depth);
}

static int encode_value(struct encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: soom_buf_puts(e->out, "null"); return SOOM_OK;
    case LUA_TBOOLEAN:
        soom_buf_puts(e->out, lua_toboolean(L, idx) ? "true" : "false");
        return SOOM_OK;
    case LUA_TNUMBER:
        if (soom_json_write_number(e->out, lua_tonumber(L, idx)) != SOOM_OK)
            return enc_fail(e, "a NaN or infinite number");
        return SOOM_OK;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        soom_json_write_string(e->out, s, len);
        return SOOM_OK;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            soom_buf_puts(e->out, "null");
            return SOOM_OK;
        }
        return enc_fail(e, "a light userdata");
    case LUA_TTABLE: return encode_table(e, idx, depth);
    default: return enc_fail(e, lua_typename(L, lua_type(L, idx)));
    }
}

int soom_lua_to_json(lua_State *L, int idx, struct soom_buf *out, char *err, size_t errlen)
{
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    int top = lua_gettop(L);
    struct encoder e = {L, out, err, errlen, NULL, NULL};
    size_t mark = out->len;
    int rc = encode_value(&e, idx, 0);
    if (rc != SOOM_OK) {
        out->len = mark;
        if (out->data != NULL)
            out->data[mark] = '\0';
    }
    lua_settop(L, top);
    return rc;
}

int soom_lua_to_doc(lua_State *L, int idx, struct soom_json **out, char *err, size_t errlen)
{
    struct soom_buf b;
    soom_buf_init(&b);
    *out = NULL;
    int rc = soom_lua_to_json(L, idx, &b, err, errlen);
    if (rc == SOOM_OK) {
        struct soom_json_error jerr;
        rc = soom_json_parse(b.data, b.len, ENCODE_MAX_DEPTH + 1, out, &jerr);
        if (rc != SOOM_OK) {
            snprintf(err, errlen, "%s: %s", soom_error_message(rc), jerr.reason);
            rc = SOOM_EINVAL;
        }
    }
    soom_buf_cleanup(&b);
    return rc;
}
