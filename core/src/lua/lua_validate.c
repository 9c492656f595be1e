/*
 * soom.core.validate: JSON Schema validators for Lua code (soom.schema.compile).
 *
 * Resources' schemas are compiled by the core at start-up and never reach
 * Lua; this module is for a handler or a command that validates data of its
 * own. A compiled validator is a full userdata that owns its C validator
 * (Lua compiled it, Lua frees it in __gc); validating converts the Lua value
 * to a document, runs the same C validator the pipeline runs, and returns
 * the errors as tables.
 */
#include <lauxlib.h>
#include <lua.h>

#include "lua_json.h"
#include "lua_libs.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

#define VALIDATOR_MT "soom.validator"

struct lvalidator {
    struct soom_validator *v;
};

static struct soom_validator *check_validator(lua_State *L)
{
    struct lvalidator *lv = luaL_checkudata(L, 1, VALIDATOR_MT);
    if (lv->v == NULL)
        luaL_error(L, "the validator was freed");
    return lv->v;
}

/* compile(json_text, format_assertion) -> validator, or raises the reason */
static int l_compile(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    struct soom_validate_options opts;
    soom_validate_options_init(&opts);
    opts.format_assertion = lua_toboolean(L, 2);
    struct lvalidator *lv = lua_newuserdata(L, sizeof *lv);
    lv->v = NULL;
    luaL_getmetatable(L, VALIDATOR_MT);
    lua_setmetatable(L, -2);
    char err[512];
    if (soom_validate_compile(text, n, &opts, &lv->v, err, sizeof err) != SOOM_OK)
        return luaL_error(L, "invalid schema: %s", err);
    return 1;
}

/* validator:validate(value) -> true | false, { { pointer, detail, code }, ... } */
static int l_validate(lua_State *L)
{
    struct soom_validator *v = check_validator(L);
    luaL_checkany(L, 2);
    char err[256];
    struct soom_json *doc;
    if (soom_lua_to_doc(L, 2, &doc, err, sizeof err) != SOOM_OK)
        return luaL_error(L, "%s", err);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *errors;
    size_t nerrors;
    int rc = soom_validate_run(v, doc, a, &errors, &nerrors);
    lua_pushboolean(L, rc == SOOM_OK);
    if (rc == SOOM_OK) {
        soom_json_free(doc);
        soom_arena_free(a);
        return 1;
    }
    lua_createtable(L, (int)nerrors, 0);
    for (size_t i = 0; i < nerrors; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, errors[i].pointer);
        lua_setfield(L, -2, "pointer");
        lua_pushstring(L, errors[i].detail);
        lua_setfield(L, -2, "detail");
        lua_pushstring(L, errors[i].code);
        lua_setfield(L, -2, "code");
        lua_rawseti(L, -2, (int)i + 1);
    }
    soom_json_free(doc);
    soom_arena_free(a);
    return 2;
}

/* validator:json() -> the schema's JSON text */
static int l_json(lua_State *L)
{
    lua_pushstring(L, soom_validate_schema(check_validator(L)));
    return 1;
}

static int l_gc(lua_State *L)
{
    struct lvalidator *lv = luaL_checkudata(L, 1, VALIDATOR_MT);
    soom_validate_free(lv->v);
    lv->v = NULL;
    return 0;
}

int luaopen_soom_core_validate(lua_State *L)
{
    static const luaL_Reg METHODS[] = {{"validate", l_validate}, {"json", l_json}, {NULL, NULL}};
    luaL_newmetatable(L, VALIDATOR_MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_register(L, NULL, METHODS);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    static const luaL_Reg FUNCS[] = {{"compile", l_compile}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
