/* Unit tests of core/src/lua/lua_document.c (soom.core.document): ordered
 * maps in their order, other objects with sorted keys (numbers first),
 * arrays marked or 1..n, empty tables, the JSON layout, YAML's plain and
 * quoted strings, the canonical form, and what cannot be written. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "lua_worker.h"
#include "test.h"

static lua_State *state(void)
{
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "/tests/c/");
    if (cut != NULL)
        *cut = '\0';
    return soom_lua_open(root, NULL);
}

/* Runs `chunk` (which returns a text or raises) and compares. */
static void expect(lua_State *L, const char *chunk, const char *want)
{
    int rc = luaL_loadstring(L, chunk) || lua_pcall(L, 0, 1, 0);
    if (rc != 0) {
        fprintf(stderr, "  lua: %s\n", lua_tostring(L, -1));
        CHECK_INT(rc, 0);
    } else {
        CHECK_STR(lua_tostring(L, -1), want);
    }
    lua_settop(L, 0);
}

#define PRELUDE                                                                                    \
    "local d = require 'soom.core.document'\n"                                                     \
    "local e = require 'soom.openapi.encode'\n"                                                    \
    "local json = require 'soom.json'\n"

static void test_json_layout_and_order(void)
{
    lua_State *L = state();
    expect(L,
           PRELUDE
           "local m = e.map() m.zeta = 1 m.alpha = { b = 2, a = json.array{}, [10] = 'x', "
           "[2] = true } m.omega = json.null m.skipped = 1 m.skipped = nil return d.json(m)",
           "{\n  \"zeta\": 1,\n  \"alpha\": {\n    \"2\": true,\n    \"10\": \"x\",\n"
           "    \"a\": [],\n    \"b\": 2\n  },\n  \"omega\": null\n}\n");
    expect(L, PRELUDE "return d.json({ { 1.5, 'q\"\\n' }, {} })",
           "[\n  [\n    1.5,\n    \"q\\\"\\n\"\n  ],\n  {}\n]\n");
    lua_close(L);
}

static void test_yaml(void)
{
    lua_State *L = state();
    expect(L,
           PRELUDE
           "local m = e.map() m.title = 'Samples API' m.flag = 'yes' m.list = { 'a b', '1x', "
           "{ k = 'v', j = 'On' } } m.empty = json.array{} m.none = {} m.n = 3 return d.yaml(m)",
           "title: Samples API\nflag: \"yes\"\nlist:\n  - a b\n  - \"1x\"\n  - j: \"On\"\n"
           "    k: v\nempty: []\nnone: {}\n\"n\": 3\n");
    expect(L, PRELUDE "return d.yaml({ ['/x/{id}'] = { get = 'ok ' } })",
           "/x/{id}:\n  get: \"ok \"\n");
    lua_close(L);
}

static void test_canonical_sorts_maps_too(void)
{
    lua_State *L = state();
    expect(L, PRELUDE "local m = e.map() m.b = 1 m.a = { 2, 3 } return d.canonical(m)",
           "{\"a\":[2,3],\"b\":1}");
    lua_close(L);
}

static void test_refusals(void)
{
    lua_State *L = state();
    expect(L,
           PRELUDE "local ok, err = pcall(d.json, { x = 0/0 }) return tostring(ok) .. ' ' .. "
                   "tostring(err):match('NaN') ",
           "false NaN");
    expect(L,
           PRELUDE "local t = {} t.self = t local ok, err = pcall(d.yaml, t) return "
                   "tostring(ok) .. ' ' .. tostring(err):match('cycle') ",
           "false cycle");
    expect(L, PRELUDE "local ok = pcall(d.json, { f = print }) return tostring(ok)", "false");
    lua_close(L);
}

int main(void)
{
    RUN(test_json_layout_and_order);
    RUN(test_yaml);
    RUN(test_canonical_sorts_maps_too);
    RUN(test_refusals);
    return test_summary();
}
