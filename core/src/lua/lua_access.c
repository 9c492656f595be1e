/*
 * Access control between Lua and C (see lua_access.h).
 *
 * At start-up: the authentication classes and each route's chain, as the
 * Lua layer declares them (lua/soom/core/access.lua compiles soom.auth,
 * soom.perm and soom.throttle declarations into these plain tables), read
 * into the structs of access.h, their strings borrowed from the Lua stack
 * or copied into a scratch arena until the app has compiled them.
 *
 * Per request: soom.core.access, what Lua reads of the C side's verdict
 * (req.user, req.auth, Django's model permissions), and the user a class
 * written in Lua returned, turned into the request's user.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "access.h"
#include "app.h"
#include "lua_access.h"
#include "lua_json.h"
#include "lua_libs.h"
#include "request_impl.h"
#include "soom/error.h"
#include "soom/json.h"

/* ---- the declarations --------------------------------------------------------------- */

static const char *str(lua_State *L, int t, const char *key, struct soom_arena *a)
{
    lua_getfield(L, t, key);
    const char *v =
        lua_isstring(L, -1) ? soom_arena_strndup(a, lua_tostring(L, -1), lua_objlen(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

static bool flag(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static double num(lua_State *L, int t, const char *key, double def)
{
    lua_getfield(L, t, key);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static int kind_of(lua_State *L, int t, const char *key, const char *const *names, int def)
{
    lua_getfield(L, t, key);
    const char *k = lua_tostring(L, -1);
    int found = def;
    for (int i = 0; k != NULL && names[i] != NULL; i++)
        if (strcmp(k, names[i]) == 0)
            found = i;
    lua_pop(L, 1);
    if (found < 0)
        luaL_error(L, "soom: unknown %s \"%s\"", key, k ? k : "?");
    return found;
}

static void read_user(lua_State *L, int t, struct access_user_spec *u, struct soom_arena *a)
{
    lua_getfield(L, t, "user");
    int ut = lua_gettop(L);
    if (lua_istable(L, ut)) {
        u->table = str(L, ut, "table", a);
        u->id = str(L, ut, "id", a);
        u->username = str(L, ut, "username", a);
        u->password = str(L, ut, "password", a);
        u->is_active = str(L, ut, "is_active", a);
        u->is_staff = str(L, ut, "is_staff", a);
        u->is_superuser = str(L, ut, "is_superuser", a);
    }
    lua_pop(L, 1);
}

static void read_class(lua_State *L, int t, struct access_class_spec *s, struct soom_arena *a)
{
    static const char *const KINDS[] = {"token", "jwt", "basic", "api_key", "lua", NULL};
    memset(s, 0, sizeof *s);
    s->kind = (enum access_class_kind)kind_of(L, t, "kind", KINDS, -1);
    s->name = str(L, t, "name", a);
    s->header = str(L, t, "header", a);
    read_user(L, t, &s->user, a);
    s->keyword = str(L, t, "keyword", a);
    s->token_table = str(L, t, "token_table", a);
    s->token_key = str(L, t, "token_key", a);
    s->token_user = str(L, t, "token_user", a);
    s->hashed = flag(L, t, "hashed");
    s->uncached = flag(L, t, "uncached");
    s->secret = str(L, t, "secret", a);
    s->pem = str(L, t, "pem", a);
    s->jwks = str(L, t, "jwks", a);
    s->algorithm = str(L, t, "algorithm", a);
    s->audience = str(L, t, "audience", a);
    s->issuer = str(L, t, "issuer", a);
    s->user_id_claim = str(L, t, "user_id_claim", a);
    s->leeway = num(L, t, "leeway", 0);
    s->access_lifetime = num(L, t, "access_lifetime", 300);
    s->refresh_lifetime = num(L, t, "refresh_lifetime", 86400);
    s->claims_user = flag(L, t, "claims_user");
    s->rotate_refresh = flag(L, t, "rotate_refresh_tokens");
    s->blacklist_after_rotation = flag(L, t, "blacklist_after_rotation");
    s->blacklist = flag(L, t, "blacklist");
    s->outstanding_table = str(L, t, "outstanding_table", a);
    s->blacklisted_table = str(L, t, "blacklisted_table", a);
    s->rehash = flag(L, t, "rehash");
    s->pbkdf2_iterations = (long)num(L, t, "iterations", 0);
    s->key_header = str(L, t, "key_header", a);
    s->key_query = str(L, t, "key_query", a);
    s->keys = str(L, t, "keys", a);
    s->key_table = str(L, t, "key_table", a);
    s->key_column = str(L, t, "key_column", a);
    s->key_name = str(L, t, "key_name", a);
    s->key_user = str(L, t, "key_user", a);
    s->lua = (int)num(L, t, "lua", -1);
}

void soom_lua_access_classes(lua_State *L, int idx, struct soom_app *app)
{
    if (!lua_istable(L, idx))
        return;
    size_t n = lua_objlen(L, idx);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        struct soom_arena *a = soom_arena_new(0);
        struct access_class_spec s;
        read_class(L, lua_gettop(L), &s, a);
        char err[512];
        int rc = soom_app_add_class(app, &s, err, sizeof err);
        soom_arena_free(a);
        lua_pop(L, 1);
        if (rc != SOOM_OK) {
            soom_app_free(app);
            lua_pushstring(L, err);
            lua_error(L);
        }
    }
}

static int *int_list(lua_State *L, int t, const char *key, size_t *n, struct soom_arena *a)
{
    lua_getfield(L, t, key);
    *n = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
    int *list = soom_arena_calloc(a, (*n + 1) * sizeof *list);
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        list[i] = (int)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return list;
}

static void read_perms(lua_State *L, int t, struct access_route_spec *s, struct soom_arena *a)
{
    static const char *const KINDS[] = {"allow_any",    "is_authenticated",
                                        "is_admin",     "is_authenticated_or_read_only",
                                        "django_model", "lua",
                                        "all_of",       "any_of",
                                        "not",          NULL};
    lua_getfield(L, t, "perms");
    int pt = lua_gettop(L);
    s->nperms = lua_istable(L, pt) ? lua_objlen(L, pt) : 0;
    struct access_perm_spec *p = soom_arena_calloc(a, (s->nperms + 1) * sizeof *p);
    for (size_t i = 0; i < s->nperms; i++) {
        lua_rawgeti(L, pt, (int)i + 1);
        int e = lua_gettop(L);
        p[i].kind = (enum access_perm_kind)kind_of(L, e, "kind", KINDS, -1);
        p[i].children = int_list(L, e, "children", &p[i].nchildren, a);
        p[i].lua = (int)num(L, e, "lua", -1);
        p[i].message = str(L, e, "message", a);
        p[i].app_label = str(L, e, "app_label", a);
        p[i].model = str(L, e, "model", a);
        p[i].authenticated_only = flag(L, e, "authenticated_only");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->perms = p;
}

static void read_throttles(lua_State *L, int t, struct access_route_spec *s, struct soom_arena *a)
{
    static const char *const KINDS[] = {"anon", "user", "scoped", NULL};
    lua_getfield(L, t, "throttles");
    int tt = lua_gettop(L);
    s->nthrottles = lua_istable(L, tt) ? lua_objlen(L, tt) : 0;
    struct access_throttle_spec *th = soom_arena_calloc(a, (s->nthrottles + 1) * sizeof *th);
    for (size_t i = 0; i < s->nthrottles; i++) {
        lua_rawgeti(L, tt, (int)i + 1);
        int e = lua_gettop(L);
        th[i].kind = (enum access_throttle_kind)kind_of(L, e, "kind", KINDS, -1);
        th[i].scope = str(L, e, "scope", a);
        th[i].rate = str(L, e, "rate", a);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->throttles = th;
}

void soom_lua_access_route(lua_State *L, int t, struct access_route_spec *s, struct soom_arena *a)
{
    static const char *const VIEWS[] = {"none",       "jwt_obtain",    "jwt_refresh",
                                        "jwt_verify", "jwt_blacklist", NULL};
    memset(s, 0, sizeof *s);
    s->classes = int_list(L, t, "classes", &s->nclasses, a);
    read_perms(L, t, s, a);
    read_throttles(L, t, s, a);
    s->owner = flag(L, t, "owner");
    s->view = (enum access_view_kind)kind_of(L, t, "view", VIEWS, 0);
    s->view_class = (int)num(L, t, "view_class", -1);
}

/* ---- a Lua class's user -------------------------------------------------------------- */

static bool field_true(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Copies the JSON of the value at `idx` into the arena; NULL when it is not
 * JSON (with the reason in err). */
static const char *json_copy(lua_State *L, int idx, struct soom_request *r, size_t *n, char *err,
                             size_t errlen)
{
    struct soom_buf b;
    soom_buf_init(&b);
    const char *out = NULL;
    if (soom_lua_to_json(L, idx, &b, err, errlen) == SOOM_OK) {
        out = soom_arena_strndup(r->arena, b.data, b.len);
        *n = b.len;
    }
    soom_buf_cleanup(&b);
    return out;
}

const char *soom_lua_access_user(lua_State *L, int idx, int auth_idx, struct soom_request *r,
                                 const struct soom_request_user **out)
{
    char *err = soom_arena_alloc(r->arena, 256);
    if (!lua_istable(L, idx))
        return "authenticate must return a table (the user), false or nil";
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    lua_getfield(L, idx, "id");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        lua_Number v = lua_tonumber(L, -1);
        u->id_is_int = v == (lua_Number)(long long)v;
    }
    if (lua_isstring(L, -1)) {
        size_t n;
        const char *id = lua_tolstring(L, -1, &n);
        u->id = soom_arena_strndup(r->arena, id, n);
        u->id_len = n;
    } else {
        u->id = "";
    }
    lua_pop(L, 1);
    u->is_staff = field_true(L, idx, "is_staff");
    u->is_superuser = field_true(L, idx, "is_superuser");
    u->doc = json_copy(L, idx, r, &u->doc_len, err, 256);
    if (u->doc == NULL)
        return err;
    if (!lua_isnoneornil(L, auth_idx)) {
        u->auth = json_copy(L, auth_idx, r, &u->auth_len, err, 256);
        if (u->auth == NULL)
            return err;
    }
    *out = u;
    return NULL;
}

/* ---- soom.core.access -------------------------------------------------------------------- */

static void push_doc(lua_State *L, const char *text, size_t n)
{
    struct soom_json *doc = NULL;
    struct soom_json_error e;
    if (text == NULL || soom_json_parse(text, n, SOOM_JSON_MAX_DEPTH, &doc, &e) != SOOM_OK) {
        lua_pushnil(L);
        return;
    }
    soom_lua_push_json(L, doc);
    soom_json_free(doc);
}

/* user(request) -> the user's fields with is_authenticated = true, or
 * { is_authenticated = false } */
static int l_user(lua_State *L)
{
    const struct soom_request *r = lua_touserdata(L, 1);
    if (r == NULL)
        return luaL_error(L, "user: no request");
    if (r->user == NULL) {
        lua_createtable(L, 0, 1);
    } else {
        push_doc(L, r->user->doc, r->user->doc_len);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_createtable(L, 0, 1);
        }
    }
    lua_pushboolean(L, r->user != NULL);
    lua_setfield(L, -2, "is_authenticated");
    return 1;
}

/* auth(request) -> the token's row, the JWT's claims..., or nil */
static int l_auth(lua_State *L)
{
    const struct soom_request *r = lua_touserdata(L, 1);
    if (r == NULL)
        return luaL_error(L, "auth: no request");
    if (r->user != NULL && r->user->auth_doc != NULL)
        soom_lua_push_json(L, r->user->auth_doc);
    else if (r->user == NULL || r->user->auth == NULL)
        lua_pushnil(L);
    else
        push_doc(L, r->user->auth, r->user->auth_len);
    return 1;
}

/* model_permission(request, app_label, codename) -> granted; raises
 * soom.core.plan.RESPONDED's twin (false, "responded") when the database
 * failed and the request was answered */
static int l_model_permission(lua_State *L)
{
    struct soom_request *r = lua_touserdata(L, 1);
    const char *app = luaL_checkstring(L, 2), *codename = luaL_checkstring(L, 3);
    if (r == NULL)
        return luaL_error(L, "model_permission: no request");
    bool granted;
    int rc = soom_access_model_permission(r, app, codename, &granted);
    lua_pushboolean(L, rc == SOOM_OK && granted);
    lua_pushboolean(L, rc != SOOM_OK);
    return 2;
}

int luaopen_soom_core_access(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"user", l_user},
        {"auth", l_auth},
        {"model_permission", l_model_permission},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
