/*
 * @name@: a native module for Soom, written by `soom createmodule @name@`.
 *
 * What it registers, through the host table of soom/module.h (the only
 * Soom header a module includes):
 *   - a middleware at the response phase that marks every response with
 *     X-@name@-Version;
 *   - a route, GET /@name@/hello/{who}, answering
 *     {"message": "<greeting>, <who>!"};
 *   - a JSON Schema format, "@name@-code": three capital letters then
 *     three digits ("ABC123");
 *   - a Lua library, require "soom.ext.@name@", with greeting() and
 *     shout(text).
 *
 * Settings (settings.lua):
 *   modules = { @name@ = { path = "path/to/@name@.so", greeting = "Hello" } }
 */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "soom/module.h"

#define VERSION "0.1.0"

static const struct soom_module_host *H;
static char greeting[128] = "Hello";

/* ---- middleware ------------------------------------------------------- */

static int stamp(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)ud;
    H->resp_set_header(resp, "X-@name@-Version", VERSION);
    return SOOM_MODULE_CONTINUE;
}

/* ---- route ------------------------------------------------------------ */

static int hello(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    size_t n;
    const char *who = H->req_param(req, "who", &n); /* a slug: nothing to escape */
    size_t cap = strlen(greeting) + n + 32;
    char *body = H->alloc(req, cap); /* freed with the request */
    int len = snprintf(body, cap, "{\"message\":\"%s, %.*s!\"}", greeting, (int)n, who);
    H->resp_set_body_ref(resp, body, (size_t)len, "application/json");
    return SOOM_MODULE_RESPOND;
}

/* ---- format ------------------------------------------------------------ */

static bool is_code(const char *s, size_t n, void *ud)
{
    (void)ud;
    if (n != 6)
        return false;
    for (size_t i = 0; i < 6; i++)
        if (i < 3 ? !isupper((unsigned char)s[i]) : !isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* ---- Lua library --------------------------------------------------------- */

static int l_greeting(lua_State *L)
{
    lua_pushstring(L, greeting);
    return 1;
}

static int l_shout(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++)
        luaL_addchar(&b, (char)toupper((unsigned char)s[i]));
    luaL_addstring(&b, "!");
    luaL_pushresult(&b);
    return 1;
}

static int open_lib(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_greeting);
    lua_setfield(L, -2, "greeting");
    lua_pushcfunction(L, l_shout);
    lua_setfield(L, -2, "shout");
    return 1;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    H = host;
    const struct soom_json *g = H->json_get(settings, "greeting");
    if (g != NULL) {
        if (H->json_type(g) != SOOM_MODULE_JSON_STRING) {
            H->set_error(mod, "@name@: greeting must be a string");
            return SOOM_MODULE_ERROR;
        }
        snprintf(greeting, sizeof greeting, "%s", H->json_string(g, NULL));
    }
    int rc = H->add_middleware(mod, SOOM_PHASE_RESPONSE, stamp, NULL);
    if (rc == SOOM_MODULE_OK)
        rc = H->add_route(mod, "GET", "/@name@/hello/{who:slug}", 0, hello, NULL);
    if (rc == SOOM_MODULE_OK)
        rc = H->add_format(mod, "@name@-code", is_code, NULL);
    if (rc == SOOM_MODULE_OK)
        rc = H->add_lua_library(mod, "@name@", open_lib);
    return rc;
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = SOOM_MODULE_ABI_MINOR,
    .name = "@name@",
    .version = VERSION,
    .init = init,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
