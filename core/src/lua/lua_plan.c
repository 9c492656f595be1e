/*
 * soom.core.plan: generic resources between Lua and C.
 *
 * At start-up, soom_lua_plan_spec() reads the plan spec the Lua layer
 * built for a generic resource (lua/soom/generics.lua) into a struct
 * plan_spec. At request time, a generic resource whose hooks are written
 * in Lua calls run() to do the rest of an action in C with what the hooks
 * supplied: the conditions of get_queryset, the data of perform_create.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "lua_json.h"
#include "lua_libs.h"
#include "lua_plan.h"
#include "lua_wait.h"
#include "plan.h"
#include "request_impl.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/response.h"

/* ---- the spec ------------------------------------------------------------- */

static const char *opt_string(lua_State *L, int t, const char *key, struct soom_arena *a)
{
    lua_getfield(L, t, key);
    const char *v =
        lua_isstring(L, -1) ? soom_arena_strndup(a, lua_tostring(L, -1), lua_objlen(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

static bool opt_bool(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static long opt_long(lua_State *L, int t, const char *key, long def)
{
    lua_getfield(L, t, key);
    long v = lua_isnumber(L, -1) ? (long)lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static const char **string_list(lua_State *L, int t, const char *key, size_t *n,
                                struct soom_arena *a)
{
    lua_getfield(L, t, key);
    *n = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
    const char **list = soom_arena_calloc(a, (*n + 1) * sizeof(char *));
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        list[i] = lua_isstring(L, -1)
                      ? soom_arena_strndup(a, lua_tostring(L, -1), lua_objlen(L, -1))
                      : "";
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return list;
}

static unsigned action_bits(lua_State *L, int t, const char *key, struct soom_arena *a)
{
    static const char *const NAMES[] = {"list", "create", "retrieve", "update", "destroy"};
    size_t n;
    const char **list = string_list(L, t, key, &n, a);
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < 5; k++) {
            if (strcmp(list[i], NAMES[k]) == 0)
                bits |= 1u << k;
        }
    }
    return bits;
}

static void read_columns(lua_State *L, int t, struct plan_spec *s, struct soom_arena *a)
{
    lua_getfield(L, t, "columns");
    int ct = lua_gettop(L);
    s->ncolumns = lua_istable(L, ct) ? lua_objlen(L, ct) : 0;
    struct plan_spec_column *cols = soom_arena_calloc(a, (s->ncolumns + 1) * sizeof *cols);
    for (size_t i = 0; i < s->ncolumns; i++) {
        lua_rawgeti(L, ct, (int)i + 1);
        int e = lua_gettop(L);
        cols[i].name = opt_string(L, e, "name", a);
        cols[i].type = opt_string(L, e, "type", a);
        cols[i].nullable = opt_bool(L, e, "nullable");
        cols[i].read_only = opt_bool(L, e, "read_only");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->columns = cols;
}

static void read_fields(lua_State *L, int t, struct plan_spec *s, struct soom_arena *a)
{
    lua_getfield(L, t, "fields");
    int ft = lua_gettop(L);
    s->nfields = lua_istable(L, ft) ? lua_objlen(L, ft) : 0;
    struct plan_spec_field *fields = soom_arena_calloc(a, (s->nfields + 1) * sizeof *fields);
    for (size_t i = 0; i < s->nfields; i++) {
        lua_rawgeti(L, ft, (int)i + 1);
        int e = lua_gettop(L);
        fields[i].name = opt_string(L, e, "name", a);
        fields[i].column = opt_string(L, e, "column", a);
        fields[i].read_only = opt_bool(L, e, "read_only");
        fields[i].write_only = opt_bool(L, e, "write_only");
        fields[i].alt = opt_string(L, e, "alt", a);
        lua_getfield(L, e, "embed");
        if (lua_istable(L, -1)) {
            int em = lua_gettop(L);
            fields[i].embed_sql = opt_string(L, em, "sql", a);
            fields[i].embed_local = opt_string(L, em, "local_column", a);
            fields[i].embed_many = opt_bool(L, em, "many");
            fields[i].embed_expand = opt_bool(L, em, "expand");
            lua_getfield(L, em, "join");
            if (lua_istable(L, -1)) {
                int j = lua_gettop(L);
                fields[i].join_table = opt_string(L, j, "table", a);
                fields[i].join_remote = opt_string(L, j, "remote", a);
                fields[i].join_columns = string_list(L, j, "columns", &fields[i].njoin, a);
                size_t nn;
                fields[i].join_names = string_list(L, j, "names", &nn, a);
                if (nn != fields[i].njoin)
                    fields[i].join_table = NULL; /* malformed: the subquery form stays */
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    s->fields = fields;
}

static void read_relations(lua_State *L, int t, struct plan_spec *s, struct soom_arena *a)
{
    lua_getfield(L, t, "relation_filters");
    int ft = lua_gettop(L);
    s->nrfilters = lua_istable(L, ft) ? lua_objlen(L, ft) : 0;
    struct plan_spec_rfilter *rf = soom_arena_calloc(a, (s->nrfilters + 1) * sizeof *rf);
    for (size_t i = 0; i < s->nrfilters; i++) {
        lua_rawgeti(L, ft, (int)i + 1);
        int e = lua_gettop(L);
        rf[i].name = opt_string(L, e, "name", a);
        rf[i].prefix = opt_string(L, e, "prefix", a);
        rf[i].column = opt_string(L, e, "column", a);
        rf[i].type = opt_string(L, e, "type", a);
        rf[i].suffix = opt_string(L, e, "suffix", a);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->rfilters = rf;
    lua_getfield(L, t, "relation_orderings");
    int ot = lua_gettop(L);
    s->nrorders = lua_istable(L, ot) ? lua_objlen(L, ot) : 0;
    struct plan_spec_rorder *ro = soom_arena_calloc(a, (s->nrorders + 1) * sizeof *ro);
    for (size_t i = 0; i < s->nrorders; i++) {
        lua_rawgeti(L, ot, (int)i + 1);
        int e = lua_gettop(L);
        ro[i].name = opt_string(L, e, "name", a);
        ro[i].sql = opt_string(L, e, "sql", a);
        ro[i].nullable = opt_bool(L, e, "nullable");
        ro[i].orderable = opt_bool(L, e, "orderable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->rorders = ro;
}

static void read_pagination(lua_State *L, int t, struct plan_spec *s, struct soom_arena *a)
{
    lua_getfield(L, t, "pagination");
    int pt = lua_gettop(L);
    if (lua_istable(L, pt)) {
        const char *kind = opt_string(L, pt, "kind", a);
        s->page = kind && strcmp(kind, "cursor") == 0   ? PLAN_PAGE_CURSOR
                  : kind && strcmp(kind, "offset") == 0 ? PLAN_PAGE_OFFSET
                  : kind && strcmp(kind, "keyset") == 0 ? PLAN_PAGE_KEYSET
                                                        : PLAN_PAGE_NONE;
        s->keyset_field = opt_string(L, pt, "field", a);
        s->keyset_param = opt_string(L, pt, "param", a);
        s->results_key = opt_string(L, pt, "results", a);
        s->next_key = opt_string(L, pt, "next", a);
        s->page_size = opt_long(L, pt, "page_size", 20);
        s->max_page_size = opt_long(L, pt, "max_page_size", 100);
        const char *count = opt_string(L, pt, "count", a);
        s->count = count && strcmp(count, "planned") == 0 ? PLAN_COUNT_PLANNED
                   : count && strcmp(count, "none") == 0  ? PLAN_COUNT_NONE
                                                          : PLAN_COUNT_EXACT;
    }
    lua_pop(L, 1);
}

void soom_lua_plan_spec(lua_State *L, int t, struct plan_spec *s, struct soom_arena *a)
{
    memset(s, 0, sizeof *s);
    s->table = opt_string(L, t, "table", a);
    s->primary_key = opt_string(L, t, "primary_key", a);
    read_columns(L, t, s, a);
    read_fields(L, t, s, a);
    read_relations(L, t, s, a);
    s->lookup_field = opt_string(L, t, "lookup_field", a);
    s->lookup_param = opt_string(L, t, "lookup_param", a);
    s->owner_field = opt_string(L, t, "owner_field", a);
    s->filters = string_list(L, t, "filters", &s->nfilters, a);
    s->ordering_fields = string_list(L, t, "ordering_fields", &s->nordering_fields, a);
    s->ordering = string_list(L, t, "ordering", &s->nordering, a);
    s->actions = action_bits(L, t, "actions", a);
    s->fast = action_bits(L, t, "fast", a);
    read_pagination(L, t, s, a);
}

/* ---- run() ----------------------------------------------------------------- */

static char responded_key;

/* Reads the list of conditions {{sql, p1, p2...}, ...} at `idx`. */
static void read_conditions(lua_State *L, int idx, struct soom_request *r, struct plan_extra *extra)
{
    memset(extra, 0, sizeof *extra);
    if (!lua_istable(L, idx))
        return;
    size_t n = lua_objlen(L, idx);
    struct plan_condition *conds = soom_arena_calloc(r->arena, (n + 1) * sizeof *conds);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        int c = lua_gettop(L);
        lua_rawgeti(L, c, 1);
        conds[i].sql = soom_arena_strndup(r->arena, luaL_checkstring(L, -1), lua_objlen(L, -1));
        lua_pop(L, 1);
        size_t np = lua_objlen(L, c) - 1;
        const char **params = soom_arena_calloc(r->arena, (np + 1) * sizeof(char *));
        for (size_t k = 0; k < np; k++) {
            lua_rawgeti(L, c, (int)k + 2);
            int type = lua_type(L, -1);
            if (type == LUA_TSTRING || type == LUA_TNUMBER)
                params[k] = soom_arena_strndup(r->arena, lua_tostring(L, -1), lua_objlen(L, -1));
            else if (type == LUA_TBOOLEAN)
                params[k] = lua_toboolean(L, -1) ? "true" : "false";
            /* nil and soom.null stay NULL: SQL NULL */
            lua_pop(L, 1);
        }
        conds[i].nparams = np;
        conds[i].params = params;
        lua_pop(L, 1);
    }
    extra->conditions = conds;
    extra->nconditions = n;
}

/* Replaces the request's JSON body by the Lua value at `idx` (the data a
 * perform_create or perform_update hook passed on). */
static void use_data(lua_State *L, int idx, struct soom_request *r)
{
    char err[256];
    struct soom_json *doc;
    if (soom_lua_to_doc(L, idx, &doc, err, sizeof err) != SOOM_OK)
        luaL_error(L, "soom: the data to save is not JSON: %s", err);
    soom_json_defer(r->arena, doc);
    r->json = doc;
}

struct plan_call {
    unsigned action;
    struct plan_extra extra;
    bool capture;
};

/* The action's statements, on the request's fiber when the call yielded. */
static int run_plan(lua_State *L, struct soom_request *r, void *arg)
{
    const struct plan_call *c = arg;
    soom_plan_run(r, r->route->plan, c->action, &c->extra);
    lua_pushinteger(L, r->status);
    if (c->capture && r->status < 300) {
        lua_pushlstring(L, r->out_body ? r->out_body : "", r->out_len);
        soom_response_clear_body(r);
        r->responded = false; /* headers (a Location) stay for the final response */
        return 2;
    }
    lua_pushlightuserdata(L, &responded_key);
    return 2;
}

/* run(request, action, conditions, capture, data, for_update) -> status[, body]
 * Runs the action in C for the request. With `capture`, a successful
 * response's status and JSON body text are returned to Lua and taken off
 * the request; otherwise (or on failure) the response stays on the request
 * and run returns its status and soom.core.plan.RESPONDED, which the
 * handler returns in turn. `for_update` locks a retrieved row until the
 * transaction ends (the object an update or destroy checks first). The
 * statements wait through lua_wait.h. */
static int l_run(lua_State *L)
{
    struct soom_request *r = lua_touserdata(L, 1);
    static const char *const ACTIONS[] = {"list", "create", "retrieve", "update", "destroy", NULL};
    int action = luaL_checkoption(L, 2, NULL, ACTIONS);
    if (r == NULL || r->route == NULL || r->route->plan == NULL)
        return luaL_error(L, "soom: not a request of a generic resource");
    struct plan_call *c = soom_arena_alloc(r->arena, sizeof *c);
    c->action = 1u << action;
    read_conditions(L, 3, r, &c->extra);
    c->extra.for_update = lua_toboolean(L, 6);
    c->capture = lua_toboolean(L, 4);
    if (!lua_isnoneornil(L, 5))
        use_data(L, 5, r);
    return soom_lua_wait(L, soom_lua_wait_can_yield(L), run_plan, c);
}

bool soom_lua_plan_responded(lua_State *L, int idx)
{
    return lua_touserdata(L, idx) == &responded_key;
}

int luaopen_soom_core_plan(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {{"run", l_run}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    lua_pushlightuserdata(L, &responded_key);
    lua_setfield(L, -2, "RESPONDED");
    return 1;
}
