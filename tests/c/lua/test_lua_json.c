/* Unit tests of core/src/lua/lua_json.c: the JSON <-> Lua crossings (null,
 * empty array and object, big integers, byte-exact strings, values that
 * cannot be encoded). */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>

#include "lua_json.h"
#include "soom/error.h"
#include "soom/json.h"
#include "test.h"

static int parse(const char *text, struct soom_json **doc)
{
    struct soom_json_error err;
    return soom_json_parse(text, strlen(text), 64, doc, &err);
}

/* Decodes `text` into Lua and encodes it back. */
static void roundtrip(lua_State *L, const char *text, struct soom_buf *out)
{
    struct soom_json *doc;
    soom_buf_clear(out);
    CHECK_INT(parse(text, &doc), SOOM_OK);
    soom_lua_push_json(L, doc);
    soom_json_free(doc);
    char err[256];
    CHECK_INT(soom_lua_to_json(L, -1, out, err, sizeof err), SOOM_OK);
    lua_pop(L, 1);
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    soom_lua_json_setup(L);
    return L;
}

static void test_lua_null_and_empty(void)
{
    lua_State *L = new_state();
    struct soom_buf b;
    soom_buf_init(&b);
    roundtrip(L, "{\"a\":null}", &b);
    CHECK_STR(b.data, "{\"a\":null}");
    roundtrip(L, "[]", &b);
    CHECK_STR(b.data, "[]");
    roundtrip(L, "{}", &b);
    CHECK_STR(b.data, "{}");
    roundtrip(L, "[[],{},[null]]", &b);
    CHECK_STR(b.data, "[[],{},[null]]");
    roundtrip(L, "{\"1\":\"a\"}", &b);
    CHECK_STR(b.data, "{\"1\":\"a\"}");

    /* null is a value distinct from an absent key */
    struct soom_json *doc;
    CHECK_INT(parse("{\"a\":null}", &doc), SOOM_OK);
    soom_lua_push_json(L, doc);
    soom_json_free(doc);
    lua_getfield(L, -1, "a");
    CHECK(lua_islightuserdata(L, -1) && lua_touserdata(L, -1) == NULL);
    lua_getfield(L, -2, "b");
    CHECK(lua_isnil(L, -1));
    lua_settop(L, 0);
    soom_buf_cleanup(&b);
    lua_close(L);
}

static void test_lua_numbers(void)
{
    lua_State *L = new_state();
    struct soom_buf b;
    soom_buf_init(&b);
    roundtrip(L, "[9007199254740992,-9007199254740992,1.5,0,-0.25,1e21]", &b);
    CHECK_STR(b.data, "[9007199254740992,-9007199254740992,1.5,0,-0.25,1e+21]");
    soom_buf_cleanup(&b);
    lua_close(L);
}

static void test_lua_strings_exact(void)
{
    lua_State *L = new_state();
    struct soom_buf b;
    soom_buf_init(&b);
    roundtrip(L, "[\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \\t\"]", &b);
    CHECK_STR(b.data, "[\"caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 \\t\"]");
    /* a Lua string with a NUL crosses whole */
    lua_pushlstring(L, "a\0b", 3);
    char err[128];
    soom_buf_clear(&b);
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_OK);
    CHECK_STR(b.data, "\"a\\u0000b\"");
    soom_buf_cleanup(&b);
    lua_close(L);
}

static void test_lua_encode_errors(void)
{
    lua_State *L = new_state();
    struct soom_buf b;
    soom_buf_init(&b);
    char err[256];
    luaL_dostring(L, "return { f = function() end }");
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_EINVAL);
    CHECK(strstr(err, "function") != NULL);
    CHECK_INT(b.len, 0);
    lua_settop(L, 0);
    luaL_dostring(L, "local t = {} t.self = t return t");
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_EINVAL);
    lua_settop(L, 0);
    luaL_dostring(L, "return { [1] = 1, [1000] = 2 }");
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_EINVAL);
    lua_settop(L, 0);
    luaL_dostring(L, "return { 0/0 }");
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_EINVAL);
    lua_settop(L, 0);
    /* a few holes are nulls */
    luaL_dostring(L, "return { 1, nil, 3 }");
    CHECK_INT(soom_lua_to_json(L, -1, &b, err, sizeof err), SOOM_OK);
    CHECK_STR(b.data, "[1,null,3]");
    soom_buf_cleanup(&b);
    lua_close(L);
}

int main(void)
{
    RUN(test_lua_null_and_empty);
    RUN(test_lua_numbers);
    RUN(test_lua_strings_exact);
    RUN(test_lua_encode_errors);
    return test_summary();
}
