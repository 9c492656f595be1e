/*
 * JSON <-> Lua in one crossing each way (see lua_json.h).
 *
 * Encoding decides array or object per table: a table with the array
 * metatable is an array; otherwise a table whose keys are exactly 1..n is
 * an array, an empty table is an object, and any other table is an object
 * whose number keys become strings. Holes are allowed in an array up to
 * half of it (they encode as null); sparser tables are refused rather than
 * padded with nulls without bound.
 */
#include "lua_json.h"

/* Documents cross into Lua by walking their cJSON tree in one pass. */
#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>

#include "soom/error.h"
#include "soom/json.h"

#define ENCODE_MAX_DEPTH 128

static char array_mt_key;

void soom_lua_json_setup(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void soom_lua_json_push_array_mt(lua_State *L)
{
    lua_pushlightuserdata(L, &array_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* ---- decode ------------------------------------------------------------- */

static void push_item(lua_State *L, const cJSON *item)
{
    luaL_checkstack(L, 4, "JSON document too deep");
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
            push_item(L, c);
            lua_rawseti(L, -2, i++);
        }
        break;
    }
    case cJSON_Object: {
        int n = cJSON_GetArraySize(item);
        lua_createtable(L, 0, n);
        for (const cJSON *c = item->child; c != NULL; c = c->next) {
            lua_pushstring(L, c->string);
            push_item(L, c);
            lua_rawset(L, -3);
        }
        break;
    }
    default: lua_pushnil(L); break;
    }
}

void soom_lua_push_json(lua_State *L, const struct soom_json *doc)
{
    if (doc == NULL)
        lua_pushnil(L);
    else
        push_item(L, (const cJSON *)doc);
}

/* ---- encode ------------------------------------------------------------- */

struct encoder {
    lua_State *L;
    struct soom_buf *out;
    char *err;
    size_t errlen;
    int array_mt; /* stack index of the array metatable */
};

static int encode_value(struct encoder *e, int idx, int depth);

static int enc_fail(struct encoder *e, const char *msg)
{
    snprintf(e->err, e->errlen, "cannot encode as JSON: %s", msg);
    return SOOM_EINVAL;
}

static bool has_array_mt(struct encoder *e, int idx)
{
    lua_State *L = e->L;
    if (!lua_getmetatable(L, idx))
        return false;
    bool is = lua_rawequal(L, -1, e->array_mt);
    lua_pop(L, 1);
    return is;
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

static int encode_object(struct encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    bool first = true;
    soom_buf_putc(e->out, '{');
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
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
    }
    soom_buf_putc(e->out, '}');
    return SOOM_OK;
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
    luaL_checkstack(L, 6, "JSON encoding too deep");
    if (has_array_mt(e, idx))
        return encode_array(e, idx, lua_objlen(L, idx), depth);
    /* A table whose first key is a string is an object: no need to scan
     * every key first, which is the common case of a response body. */
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return (soom_buf_puts(e->out, "{}"), SOOM_OK);
    bool string_key = lua_type(L, -2) == LUA_TSTRING;
    lua_pop(L, 2);
    if (string_key)
        return encode_object(e, idx, depth);
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
    soom_lua_json_push_array_mt(L);
    struct encoder e = {L, out, err, errlen, lua_gettop(L)};
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
