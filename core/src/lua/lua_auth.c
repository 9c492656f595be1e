/*
 * soom.core.auth: Django's password hashes for Lua (soom.auth.hash_password
 * and soom.auth.check_password) and DRF token keys, one crossing per call. The parameters
 * table is read into a caller-stack struct before any work starts, so a
 * misuse raises before anything is allocated; hashes cross back as Lua
 * strings (copies) and the C buffer is freed before returning.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>
#include <string.h>

#include "access.h"
#include "auth_key.h"
#include "auth_password.h"
#include "lua_libs.h"
#include "lua_wait.h"
#include "request_impl.h"
#include "soom/error.h"

/* The parameter value on the stack top, an integer from 1 to `max`. */
static uint32_t param_uint(lua_State *L, const char *key, uint32_t max)
{
    lua_Number v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || v < 1 || v > max || v != (lua_Number)(uint32_t)v)
        luaL_error(L, "password parameter %s must be an integer from 1 to %u", key, max);
    return (uint32_t)v;
}

static void param_field(lua_State *L, const char *key, struct soom_auth_password_params *p)
{
    if (strcmp(key, "iterations") == 0) {
        p->pbkdf2_iterations = param_uint(L, key, 100000000);
    } else if (strcmp(key, "time_cost") == 0) {
        p->argon2_time_cost = param_uint(L, key, 1000);
    } else if (strcmp(key, "memory_cost") == 0) {
        p->argon2_memory_cost = param_uint(L, key, 1024 * 1024);
    } else if (strcmp(key, "parallelism") == 0) {
        /* Django names both argon2's lanes and scrypt's p so: the hasher
         * decides which it is */
        uint32_t v = param_uint(L, key, 1024);
        if (p->hasher == SOOM_AUTH_SCRYPT)
            p->scrypt_parallelism = v;
        else
            p->argon2_parallelism = v;
    } else if (strcmp(key, "rounds") == 0) {
        p->bcrypt_rounds = param_uint(L, key, 31);
    } else if (strcmp(key, "work_factor") == 0) {
        p->scrypt_work_factor = param_uint(L, key, UINT32_MAX);
    } else if (strcmp(key, "block_size") == 0) {
        p->scrypt_block_size = param_uint(L, key, 1024);
    } else if (strcmp(key, "variety") == 0) {
        const char *v = lua_tostring(L, -1);
        if (lua_type(L, -1) != LUA_TSTRING || (strcmp(v, "argon2id") && strcmp(v, "argon2i")))
            luaL_error(L, "password parameter variety must be \"argon2id\" or \"argon2i\"");
        p->argon2i = strcmp(v, "argon2i") == 0;
    } else if (strcmp(key, "hasher") != 0) {
        luaL_error(L, "unknown password parameter %s", key);
    }
}

/* Fills `p` from the hasher name at `hidx` and the table at `tidx` (both
 * optional: nil or none). A "hasher" field of the table names the hasher
 * when `hidx` is 0. */
static void read_params(lua_State *L, int hidx, int tidx, struct soom_auth_password_params *p)
{
    soom_auth_password_params_init(p);
    if (!lua_isnoneornil(L, tidx))
        luaL_checktype(L, tidx, LUA_TTABLE);
    const char *name = NULL;
    if (hidx != 0 && !lua_isnoneornil(L, hidx))
        name = luaL_checkstring(L, hidx);
    if (name == NULL && lua_istable(L, tidx)) {
        lua_getfield(L, tidx, "hasher");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "password parameter hasher must be a string");
        name = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    if (name != NULL && soom_auth_hasher_parse(name, &p->hasher) != SOOM_OK)
        luaL_error(L,
                   "unknown password hasher \"%s\" (pbkdf2_sha256, pbkdf2_sha1, argon2, "
                   "bcrypt_sha256, bcrypt, scrypt)",
                   name);
    if (!lua_istable(L, tidx))
        return;
    lua_pushnil(L);
    while (lua_next(L, tidx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "password parameters are named fields");
        param_field(L, lua_tostring(L, -2), p);
        lua_pop(L, 1);
    }
}

/* A hash made or checked: the call's inputs, copied into the request's
 * arena when the call yields, and what came out. */
struct password_call {
    struct soom_auth_password_params p;
    const char *pw, *enc;
    size_t n, elen;
    bool check, update;
    int rc;
    struct soom_buf out;
};

/* hash_password's results; a misuse (parameters no hash can be made with)
 * comes back as nil, message, true for soom.auth to raise, since a waiting
 * call cannot raise. */
static int hash_results(lua_State *L, struct password_call *c)
{
    if (c->rc == SOOM_OK) {
        lua_pushlstring(L, c->out.data, c->out.len);
        soom_buf_cleanup(&c->out);
        return 1;
    }
    soom_buf_cleanup(&c->out);
    lua_pushnil(L);
    /* the password is the caller's input: nil and a message */
    if (c->n > SOOM_AUTH_PASSWORD_MAX) {
        lua_pushfstring(L, "the password is longer than %d bytes", SOOM_AUTH_PASSWORD_MAX);
        return 2;
    }
    if (c->p.hasher == SOOM_AUTH_BCRYPT && memchr(c->pw, '\0', c->n) != NULL) {
        lua_pushliteral(L, "bcrypt cannot hash a password with a NUL byte");
        return 2;
    }
    lua_pushfstring(L, "the %s parameters are out of range", soom_auth_hasher_name(c->p.hasher));
    lua_pushboolean(L, 1);
    return 3;
}

static int check_results(lua_State *L, const struct password_call *c)
{
    lua_pushboolean(L, c->rc == SOOM_OK);
    lua_pushboolean(L, c->rc == SOOM_OK && c->update);
    if (c->rc == SOOM_EINVAL) {
        lua_pushliteral(L, "the password hash is malformed or of an unknown algorithm");
        return 3;
    }
    return 2;
}

/* On the request's fiber after a yield, or at once: the hash on a helper
 * thread under the async server, on this thread elsewhere (access.h). */
static int run_password(lua_State *L, struct soom_request *r, void *arg)
{
    (void)r;
    struct password_call *c = arg;
    if (c->check) {
        c->rc = soom_access_password_check(&c->p, c->pw, c->n, c->enc, c->elen, &c->update);
        return check_results(L, c);
    }
    c->rc = soom_access_password_make(&c->p, c->pw, c->n, &c->out);
    return hash_results(L, c);
}

/* The call on the caller's stack, or in the request's arena when it will
 * yield (the Lua strings it points to may be collected meanwhile). */
static int password_wait(lua_State *L, struct password_call *c)
{
    bool yield = soom_lua_wait_can_yield(L);
    if (yield) {
        struct soom_arena *a = soom_request_current()->arena;
        struct password_call *held = soom_arena_alloc(a, sizeof *held);
        *held = *c;
        held->pw = soom_arena_strndup(a, c->pw, c->n);
        held->enc = c->enc != NULL ? soom_arena_strndup(a, c->enc, c->elen) : NULL;
        c = held;
    }
    return soom_lua_wait(L, yield, run_password, c);
}

/* hash_password(password [, hasher [, params]]) -> hash | nil, message [, misuse] */
static int l_hash_password(lua_State *L)
{
    struct password_call c = {.check = false};
    c.pw = luaL_checklstring(L, 1, &c.n);
    read_params(L, 2, 3, &c.p);
    soom_buf_init(&c.out);
    return password_wait(L, &c);
}

/* check_password(password, encoded [, params]) -> ok, must_update [, why] */
static int l_check_password(lua_State *L)
{
    struct password_call c = {.check = true};
    c.pw = luaL_checklstring(L, 1, &c.n);
    c.enc = lua_isnoneornil(L, 2) ? NULL : luaL_checklstring(L, 2, &c.elen);
    read_params(L, 0, 3, &c.p);
    soom_buf_init(&c.out);
    return password_wait(L, &c);
}

/* make_token_key() -> 40 hex digits, as DRF's Token.generate_key() */
static int l_make_token_key(lua_State *L)
{
    char key[SOOM_AUTH_KEY_LEN + 1];
    soom_auth_key_generate(key);
    lua_pushlstring(L, key, SOOM_AUTH_KEY_LEN);
    return 1;
}

/* sha256(text) -> its lowercase hex SHA-256 */
static int l_sha256(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    char d[SOOM_AUTH_KEY_SHA256 + 1];
    soom_auth_key_sha256(p, n, d);
    lua_pushlstring(L, d, SOOM_AUTH_KEY_SHA256);
    return 1;
}

int luaopen_soom_core_auth(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {{"hash_password", l_hash_password},
                                     {"check_password", l_check_password},
                                     {"make_token_key", l_make_token_key},
                                     {"sha256", l_sha256},
                                     {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
