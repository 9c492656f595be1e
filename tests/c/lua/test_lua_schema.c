/* soom.schema (lua/soom/schema.lua) in a real Lua state of the core
 * (core/src/lua/lua_worker.c's soom_lua_open): its sugar's JSON compiles in
 * the validator and validates as the sugar promises. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>

#include "lua_worker.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"
#include "test.h"

static struct soom_validator *compile(const char *schema)
{
    struct soom_validator *v = NULL;
    char err[256];
    int rc = soom_validate_compile(schema, strlen(schema), NULL, &v, err, sizeof err);
    if (rc != SOOM_OK)
        fprintf(stderr, "  compile: %s\n", err);
    CHECK_INT(rc, SOOM_OK);
    return v;
}

static int check(const struct soom_validator *v, const char *text, struct soom_arena *a,
                 struct soom_validate_error **e, size_t *n)
{
    struct soom_json *doc = NULL;
    struct soom_json_error je;
    CHECK_INT(soom_json_parse(text, strlen(text), 64, &doc, &je), SOOM_OK);
    int rc = soom_validate_run(v, doc, a, e, n);
    soom_json_free(doc);
    return rc;
}

/* The error at `pointer` with `code`, or NULL. */
static const struct soom_validate_error *find(const struct soom_validate_error *e, size_t n,
                                              const char *pointer, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].pointer, pointer) == 0 && strcmp(e[i].code, code) == 0)
            return &e[i];
    return NULL;
}

/* soom.schema's sugar, written with to_json in the real Lua runtime,
 * compiles here and validates as the sugar promises (closed objects,
 * optional members, nullable). */
static void test_lua_sugar_compiles(void)
{
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "/tests/c/");
    CHECK(cut != NULL);
    if (cut == NULL)
        return;
    *cut = '\0';
    lua_State *L = soom_lua_open(root, NULL);
    const char *chunk =
        "local s = require 'soom.schema'\n"
        "return s.to_json(s.object{\n"
        "    name = s.string{ min = 1, max = 5 },\n"
        "    tags = s.array{ items = s.string(), unique = true, optional = true },\n"
        "    note = s.nullable(s.string{ optional = true }),\n"
        "    meta = s.object({}, { additional = true, optional = true }),\n"
        "})";
    int rc = luaL_loadstring(L, chunk) || lua_pcall(L, 0, 1, 0);
    if (rc != 0)
        fprintf(stderr, "  lua: %s\n", lua_tostring(L, -1));
    CHECK_INT(rc, 0);
    if (rc == 0) {
        struct soom_validator *v = compile(lua_tostring(L, -1));
        struct soom_arena *a = soom_arena_new(0);
        struct soom_validate_error *e;
        size_t n;
        CHECK_INT(check(v, "{\"name\":\"ab\",\"note\":null,\"meta\":{\"x\":1}}", a, &e, &n),
                  SOOM_OK);
        CHECK_INT(check(v, "{\"name\":\"abcdef\",\"tags\":[\"x\",\"x\"],\"extra\":1}", a, &e, &n),
                  SOOM_EINVALID);
        CHECK_INT(n, 3);
        CHECK(find(e, n, "/extra", "additionalProperties") != NULL);
        CHECK(find(e, n, "/tags", "uniqueItems") != NULL);
        CHECK_INT(check(v, "{}", a, &e, &n), SOOM_EINVALID);
        CHECK(n == 1 && strcmp(e[0].pointer, "/name") == 0);
        soom_arena_free(a);
        soom_validate_free(v);
    }
    lua_close(L);
}

int main(void)
{
    RUN(test_lua_sugar_compiles);
    return test_summary();
}
