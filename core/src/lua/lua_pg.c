/*
 * soom.core.pg: the database for the Lua layer (lua/soom/db.lua wraps it).
 *
 * Which connection a call uses: inside a request (soom_request_current()),
 * the request's own (soom_request_pg: taken from the process's pool on
 * first use, kept in r->pg and released by the request's arena, so no
 * error path can leak it). Outside a request (CLI commands, migrations),
 * the calling thread's direct connection to the URL given to use(), opened
 * on first use and closed by close().
 *
 * A result crosses into Lua in one call: an array of row tables keyed by
 * column name, values typed by column type (pg_types.h), NULL as soom.null
 * (a light userdata NULL). Failures come back as (nil, {status, detail,
 * code, pointer, sqlstate}) after the SQL error was logged; db.lua turns
 * them into soom.errors problems. Misuse (a parameter that cannot be sent)
 * raises.
 *
 * Every call that talks to the server waits through lua_wait.h: under the
 * async server the request's coroutine yields and the statement runs on
 * its fiber (the parameters are copied into the request's arena first);
 * elsewhere it runs at once. The work of a call never raises.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "hex.h"
#include "lua_json.h"
#include "lua_libs.h"
#include "lua_wait.h"
#include "pg_types.h"
#include "request_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"

#define JSON_DEPTH 512
#define MAX_SAFE_INT 9007199254740992LL /* 2^53 */

static char binary_mt_key;

/* ---- the connection of the call ----------------------------------------- */

static _Thread_local struct soom_pg_conn *direct_conn;
static _Thread_local char *direct_url;
static _Thread_local long direct_timeout_ms;
static _Thread_local bool direct_prepared = true;
static _Thread_local bool direct_pooler; /* behind a transaction pooler: no session state */

static void no_database(lua_State *L)
{
    luaL_error(L, "soom.db: no database is configured (settings.database_url is empty)");
}

/* Raises (before any waiting) when a call could have no database at all. */
static void check_configured(lua_State *L)
{
    struct soom_request *r = soom_request_current();
    if (r != NULL ? soom_pg_pool_global(r->config) == NULL
                  : direct_conn == NULL && (direct_url == NULL || direct_url[0] == '\0'))
        no_database(L);
}

/* The connection for this call: the request's own (request_pg.c), or
 * outside a request the thread's direct connection; NULL with *code set
 * (the database is unavailable) and the reason in `why`. */
static struct soom_pg_conn *conn_for_call(struct soom_request *r, int *code, const char **why)
{
    *why = "the database is unavailable; try again later";
    if (r != NULL) {
        struct soom_pg_conn *c = NULL;
        *code = soom_request_pg(r, &c);
        return c;
    }
    if (direct_conn != NULL)
        return direct_conn;
    struct soom_config *cfg = soom_config_new();
    cfg->pool_statement_timeout_ms = direct_timeout_ms;
    cfg->pool_prepared = direct_prepared && !direct_pooler;
    cfg->pooler_transaction = direct_pooler;
    static _Thread_local char err[256];
    *code = soom_pg_conn_open(direct_url, cfg, &direct_conn, err, sizeof err);
    soom_config_free(cfg);
    if (*code != SOOM_OK) {
        *why = err;
        return NULL;
    }
    return direct_conn;
}

static struct soom_pg_conn *held_conn(void)
{
    struct soom_request *r = soom_request_current();
    return r != NULL ? r->pg : direct_conn;
}

/* (nil, {status, detail, field_detail, code, pointer, also, sqlstate}) for a
 * failure, logged. `detail` is PostgreSQL's message outside a request. */
static int push_failure(lua_State *L, struct soom_request *r, struct soom_pg_conn *c, int code,
                        const char *sql, const char *why)
{
    const struct soom_pg_error *e = c != NULL ? soom_pg_conn_error(c) : NULL;
    struct soom_pg_problem p;
    soom_pg_error_problem(e, code, &p);
    if (c != NULL || r != NULL)
        soom_pg_error_log(e, code, sql, r != NULL ? r->request_id : NULL);
    /* Outside a request (a command, a migration) the reader is the
     * operator, who needs PostgreSQL's own words; a client never does. */
    const char *detail = p.detail;
    if (r == NULL && e != NULL && e->message[0] != '\0')
        detail = e->message;
    else if (r == NULL && c == NULL && why != NULL)
        detail = why;
    lua_pushnil(L);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, p.status);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, detail);
    lua_setfield(L, -2, "detail");
    lua_pushstring(L, p.detail);
    lua_setfield(L, -2, "field_detail");
    if (p.code != NULL) {
        lua_pushstring(L, p.code);
        lua_setfield(L, -2, "code");
    }
    if (p.pointer[0] != '\0') {
        lua_pushstring(L, p.pointer);
        lua_setfield(L, -2, "pointer");
    }
    if (p.nalso > 0) {
        lua_createtable(L, p.nalso, 0);
        for (int i = 0; i < p.nalso; i++) {
            lua_pushstring(L, p.also[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "also");
    }
    lua_pushstring(L, e != NULL ? e->sqlstate : "");
    lua_setfield(L, -2, "sqlstate");
    if (code == SOOM_EUNKNOWN) {
        lua_pushstring(L, SOOM_PG_TYPE_COMMIT_UNKNOWN);
        lua_setfield(L, -2, "type");
    }
    return 2;
}

/* ---- parameters ---------------------------------------------------------- */

/* Pushes the text of a number that reads back exactly. */
static void push_number_text(lua_State *L, double d)
{
    char tmp[40];
    if (isnan(d))
        lua_pushliteral(L, "NaN");
    else if (isinf(d))
        lua_pushstring(L, d > 0 ? "Infinity" : "-Infinity");
    else if (d == floor(d) && fabs(d) < 9223372036854775808.0) {
        /* every integral double below 2^63 in full digits, as bigint and
         * numeric read it (2^60 is 1152921504606846976, not 1.15...e+18) */
        snprintf(tmp, sizeof tmp, "%.0f", d);
        lua_pushstring(L, tmp);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (prec == 17 || strtod(tmp, NULL) == d)
                break;
        }
        lua_pushstring(L, tmp);
    }
}

static bool has_binary_mt(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return false;
    lua_pushlightuserdata(L, &binary_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    bool is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

/* Pushes the text (or nil for NULL) of argument `idx`; sets *binary for a
 * soom.db.binary value. Raises for a value that cannot be a parameter. */
static void push_param(lua_State *L, int idx, bool *binary)
{
    *binary = false;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: lua_pushnil(L); return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            luaL_argerror(L, idx, "a light userdata cannot be a query parameter");
        lua_pushnil(L);
        return;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false"); return;
    case LUA_TNUMBER: push_number_text(L, lua_tonumber(L, idx)); return;
    case LUA_TSTRING: lua_pushvalue(L, idx); return;
    case LUA_TTABLE:
        if (has_binary_mt(L, idx)) {
            lua_rawgeti(L, idx, 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, idx, "soom.db.binary needs a string");
            *binary = true;
            return;
        }
        struct soom_buf b;
        soom_buf_init(&b);
        char err[200];
        if (soom_lua_to_json(L, idx, &b, err, sizeof err) != SOOM_OK) {
            soom_buf_cleanup(&b);
            luaL_argerror(L, idx, err);
        }
        lua_pushlstring(L, b.data, b.len);
        soom_buf_cleanup(&b);
        return;
    default:
        luaL_argerror(
            L, idx, lua_pushfstring(L, "a %s cannot be a query parameter", luaL_typename(L, idx)));
    }
}

/* ---- values -------------------------------------------------------------- */

struct pusher {
    lua_State *L;
    bool numeric_number;
    enum pg_kind elem_kind; /* of the array being pushed */
    struct soom_buf scratch;
    int depth;
    int index[8]; /* per array level, the last index set */
};

static void push_value(struct pusher *ps, enum pg_kind kind, unsigned elem, const char *p,
                       size_t n);

static void push_json(lua_State *L, const char *p, size_t n)
{
    struct soom_json *doc;
    if (soom_json_parse(p, n, JSON_DEPTH, &doc, NULL) != SOOM_OK) {
        lua_pushlstring(L, p, n); /* json may hold what cJSON refuses (\u0000) */
        return;
    }
    soom_lua_push_json(L, doc);
    soom_json_free(doc);
}

static void array_begin(void *ud)
{
    struct pusher *ps = ud;
    lua_createtable(ps->L, 4, 0);
    soom_lua_json_push_array_mt(ps->L);
    lua_setmetatable(ps->L, -2);
    ps->index[++ps->depth] = 0;
}

static void array_end(void *ud)
{
    struct pusher *ps = ud;
    if (--ps->depth > 0)
        lua_rawseti(ps->L, -2, ++ps->index[ps->depth]);
}

static void array_element(void *ud, const char *p, size_t n, bool isnull)
{
    struct pusher *ps = ud;
    if (isnull)
        lua_pushlightuserdata(ps->L, NULL);
    else
        push_value(ps, ps->elem_kind, 0, p, n);
    lua_rawseti(ps->L, -2, ++ps->index[ps->depth]);
}

static const struct pg_array_visitor ARRAY_LUA = {array_begin, array_end, array_element};

static void push_array(struct pusher *ps, unsigned elem, const char *p, size_t n)
{
    lua_State *L = ps->L;
    int top = lua_gettop(L);
    luaL_checkstack(L, 16, "array too deep");
    struct pusher sub = {L, ps->numeric_number, pg_type_kind(elem, NULL), {NULL, 0, 0}, 0, {0}};
    if (pg_array_walk(p, n, &ARRAY_LUA, &sub, &sub.scratch) != 0) {
        lua_settop(L, top);
        lua_pushlstring(L, p, n);
    }
    soom_buf_cleanup(&sub.scratch);
}

static void push_value(struct pusher *ps, enum pg_kind kind, unsigned elem, const char *p, size_t n)
{
    lua_State *L = ps->L;
    switch (kind) {
    case PG_KIND_INT:
    case PG_KIND_FLOAT: lua_pushnumber(L, strtod(p, NULL)); break;
    case PG_KIND_INT8: {
        /* beyond 2^53 a double would change the value: keep the digits */
        long long v = strtoll(p, NULL, 10);
        if (v >= -MAX_SAFE_INT && v <= MAX_SAFE_INT)
            lua_pushnumber(L, (lua_Number)v);
        else
            lua_pushlstring(L, p, n);
        break;
    }
    case PG_KIND_NUMERIC:
        if (ps->numeric_number)
            lua_pushnumber(L, strtod(p, NULL));
        else
            lua_pushlstring(L, p, n);
        break;
    case PG_KIND_BOOL: lua_pushboolean(L, n > 0 && p[0] == 't'); break;
    case PG_KIND_JSON: push_json(L, p, n); break;
    case PG_KIND_BYTEA: {
        char *raw = lua_newuserdata(L, n + 1);
        size_t k = pg_bytea_decode(p, n, raw);
        lua_pushlstring(L, raw, k);
        lua_remove(L, -2);
        break;
    }
    case PG_KIND_TIMESTAMPTZ:
    case PG_KIND_TIMESTAMP: {
        char iso[80];
        if (n + PG_ISO_EXTRA > sizeof iso)
            lua_pushlstring(L, p, n);
        else
            lua_pushlstring(L, iso, pg_iso_timestamp(p, n, kind == PG_KIND_TIMESTAMPTZ, iso));
        break;
    }
    case PG_KIND_ARRAY: push_array(ps, elem, p, n); break;
    case PG_KIND_STRING: lua_pushlstring(L, p, n); break;
    }
}

/* Pushes the metatable the rows of a result share: their keys in the
 * SELECT's order (a name given twice once, where it first comes; the row
 * holds the last column's value), so rows encode in that order. */
static void push_row_mt(lua_State *L, int names, int ncols, int nrows)
{
    lua_createtable(L, ncols, 0);
    lua_createtable(L, 0, ncols); /* names seen */
    int n = 0;
    for (int c = 0; c < ncols; c++) {
        lua_pushvalue(L, names + c);
        lua_rawget(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pushvalue(L, names + c);
            lua_rawseti(L, -4, ++n);
            lua_pushvalue(L, names + c);
            lua_pushboolean(L, 1);
            lua_rawset(L, -4);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    soom_lua_json_new_object_mt(L, -1, nrows > 1);
    lua_remove(L, -2);
}

/* Pushes the rows of `res` as an array of tables. */
static void push_rows(lua_State *L, const struct soom_pg_result *res, bool numeric_number)
{
    int nrows = soom_pg_result_rows(res), ncols = soom_pg_result_columns(res);
    luaL_checkstack(L, ncols + 8, "too many columns");
    int names = lua_gettop(L) + 1;
    for (int c = 0; c < ncols; c++)
        lua_pushstring(L, soom_pg_result_name(res, c));
    push_row_mt(L, names, ncols, nrows);
    int row_mt = lua_gettop(L);
    lua_createtable(L, nrows, 0);
    soom_lua_json_push_array_mt(L);
    lua_setmetatable(L, -2);
    struct pusher ps = {L, numeric_number, PG_KIND_STRING, {NULL, 0, 0}, 0, {0}};
    for (int row = 0; row < nrows; row++) {
        lua_createtable(L, 0, ncols);
        lua_pushvalue(L, row_mt);
        lua_setmetatable(L, -2);
        for (int c = 0; c < ncols; c++) {
            lua_pushvalue(L, names + c);
            if (soom_pg_result_isnull(res, row, c)) {
                lua_pushlightuserdata(L, NULL);
            } else {
                unsigned elem = 0;
                enum pg_kind kind = pg_type_kind(soom_pg_result_type(res, c), &elem);
                size_t len;
                const char *v = soom_pg_result_value(res, row, c, &len);
                push_value(&ps, kind, elem, v, len);
            }
            lua_rawset(L, -3);
        }
        lua_rawseti(L, -2, row + 1);
    }
    lua_replace(L, names); /* over the first name, or the metatable */
    lua_settop(L, names);
}

/* ---- functions ----------------------------------------------------------- */

struct query_call {
    bool readonly; /* a replica may serve it (soom.db.query{readonly = true}) */
    bool numeric_number;
    const char *sql;
    int nparams;
    const char **values;
    size_t *lengths;
    bool *binary;
};

/* A statement that only reads, by its first word (SELECT, SHOW, VALUES,
 * TABLE, EXPLAIN without ANALYZE aside): one that may write is sent once
 * (soom_pg_exec_once), never again on a new session after it went out. A
 * SELECT calling a function that writes is taken for a read: write such
 * calls inside soom.db.transaction. */
static bool reads_only(const char *sql)
{
    static const char *const READS[] = {"select", "show", "values", "table", "explain"};
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
        sql++;
    for (size_t i = 0; i < sizeof READS / sizeof READS[0]; i++) {
        size_t n = strlen(READS[i]);
        if (strncasecmp(sql, READS[i], n) == 0 && !isalnum((unsigned char)sql[n]) && sql[n] != '_')
            return true;
    }
    return false;
}

static int run_query(lua_State *L, struct soom_request *r, void *arg)
{
    struct query_call *q = arg;
    int code = SOOM_OK;
    const char *why = NULL;
    struct soom_pg_result *res = NULL;
    struct soom_pg_conn *c = NULL;
    if (r != NULL && (q->readonly || r->readonly) &&
        (r->pg == NULL || !soom_pg_conn_in_transaction(r->pg))) {
        code = soom_request_pg_read_exec(r, q->sql, q->nparams, q->values, q->lengths, q->binary,
                                         &res, &c);
    } else {
        c = conn_for_call(r, &code, &why);
        if (c != NULL) /* a write is never sent twice: its outcome may be unknown */
            code = (reads_only(q->sql) ? soom_pg_exec : soom_pg_exec_once)(
                c, q->sql, q->nparams, q->values, q->lengths, q->binary, &res);
    }
    if (code != SOOM_OK)
        return push_failure(L, r, c, code, q->sql, why);
    push_rows(L, res, q->numeric_number);
    long long affected = soom_pg_result_has_rows(res) ? -1 : soom_pg_result_affected(res);
    soom_pg_result_free(res);
    if (affected < 0)
        return 1;
    lua_pushnumber(L, (lua_Number)affected);
    return 2;
}

/* The parameters pushed from `first` on: pointers into the Lua stack for a
 * call that runs at once, copies in the request's arena for one that
 * yields. */
static void take_params(lua_State *L, int first, struct query_call *q, bool copy)
{
    struct soom_arena *a = copy ? soom_request_current()->arena : NULL;
    size_t n = (size_t)(q->nparams ? q->nparams : 1);
    q->values = a ? soom_arena_alloc(a, n * sizeof *q->values) : xmalloc(n * sizeof *q->values);
    q->lengths = a ? soom_arena_alloc(a, n * sizeof *q->lengths) : xmalloc(n * sizeof *q->lengths);
    for (int i = 0; i < q->nparams; i++) {
        q->values[i] = NULL;
        q->lengths[i] = 0;
        if (!lua_isnil(L, first + i))
            q->values[i] = lua_tolstring(L, first + i, &q->lengths[i]);
        if (a != NULL && q->values[i] != NULL)
            q->values[i] = soom_arena_strndup(a, q->values[i], q->lengths[i]);
    }
    if (a != NULL) {
        bool *binary = soom_arena_alloc(a, n * sizeof *binary);
        memcpy(binary, q->binary, (size_t)q->nparams * sizeof *binary);
        q->binary = binary;
        q->sql = soom_arena_strndup(a, q->sql, strlen(q->sql));
    }
}

/* query(numeric_as_number, sql, ...) -> rows[, affected] | nil, failure;
 * query_read(...) the same, for a read a replica may serve */
static int query(lua_State *L, bool readonly)
{
    struct query_call q = {
        readonly, lua_toboolean(L, 1), luaL_checkstring(L, 2), lua_gettop(L) - 2, NULL, NULL, NULL};
    if (q.nparams > 65535)
        return luaL_error(L, "soom.db.query: more than 65535 parameters");
    check_configured(L);
    luaL_checkstack(L, q.nparams + 8, "too many parameters");
    bool bin_stack[32];
    q.binary = q.nparams > 32 ? lua_newuserdata(L, (size_t)q.nparams) : bin_stack;
    int first = lua_gettop(L) + 1;
    for (int i = 0; i < q.nparams; i++)
        push_param(L, 3 + i, &q.binary[i]);
    /* Every raise is behind us: the arrays can be allocated. */
    bool yield = soom_lua_wait_can_yield(L);
    take_params(L, first, &q, yield);
    if (yield) {
        struct query_call *held = soom_arena_alloc(soom_request_current()->arena, sizeof *held);
        *held = q;
        return soom_lua_wait(L, true, run_query, held);
    }
    int n = soom_lua_wait(L, false, run_query, &q);
    free(q.values);
    free(q.lengths);
    return n;
}

static int l_query(lua_State *L)
{
    return query(L, false);
}

static int l_query_read(lua_State *L)
{
    return query(L, true);
}

/* readonly(): the current request's handler declared readonly = true: its
 * statements outside of a transaction may be served by a read replica. */
static int l_readonly(lua_State *L)
{
    (void)L;
    struct soom_request *r = soom_request_current();
    if (r != NULL)
        r->readonly = true;
    return 0;
}

/* One of the calls without parameters: true | nil, failure. */
struct simple_call {
    int (*fn)(struct soom_pg_conn *);
    const char *what;
    const char *script; /* or a script to run, whose failure carries
                         * PostgreSQL's own words */
};

static int run_simple(lua_State *L, struct soom_request *r, void *arg)
{
    const struct simple_call *s = arg;
    int code = SOOM_OK;
    const char *why = NULL;
    struct soom_pg_conn *c = conn_for_call(r, &code, &why);
    if (c != NULL)
        code = s->script != NULL ? soom_pg_exec_script(c, s->script) : s->fn(c);
    if (code == SOOM_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    int n = push_failure(L, r, c, code, s->what, why);
    const struct soom_pg_error *e = c != NULL ? soom_pg_conn_error(c) : NULL;
    if (s->script && e != NULL) {
        /* the operator running a script needs PostgreSQL's own words */
        lua_pushstring(L, e->message);
        lua_setfield(L, -2, "message");
    }
    return n;
}

static int simple(lua_State *L, int (*fn)(struct soom_pg_conn *), const char *what)
{
    check_configured(L);
    bool yield = soom_lua_wait_can_yield(L);
    struct simple_call local = {fn, what, NULL}, *s = &local;
    if (yield) {
        s = soom_arena_alloc(soom_request_current()->arena, sizeof *s);
        *s = local;
    }
    return soom_lua_wait(L, yield, run_simple, s);
}

static int l_begin(lua_State *L)
{
    return simple(L, soom_pg_begin, "BEGIN");
}

static int l_commit(lua_State *L)
{
    return simple(L, soom_pg_commit, "COMMIT");
}

static int l_rollback(lua_State *L)
{
    /* without a connection there is nothing to roll back */
    if (held_conn() == NULL) {
        lua_pushboolean(L, 1);
        return 1;
    }
    return simple(L, soom_pg_rollback, "ROLLBACK");
}

/* script(sql) -> true | nil, failure: several statements, no parameters
 * (migrations, run by commands outside of requests: at once) */
static int l_script(lua_State *L)
{
    struct simple_call s = {NULL, NULL, luaL_checkstring(L, 1)};
    check_configured(L);
    return soom_lua_wait(L, false, run_simple, &s);
}

/* in_transaction() -> whether the held connection is inside a transaction */
static int l_in_transaction(lua_State *L)
{
    struct soom_pg_conn *c = held_conn();
    lua_pushboolean(L, c != NULL && soom_pg_conn_in_transaction(c));
    return 1;
}

/* use(url[, statement_timeout_ms[, prepared[, pooler]]]) -> true: the
 * database of direct connections (outside requests; false inside one,
 * which uses the pool); a new URL closes the current connection. With
 * `pooler` (database.pooler) the session is left as it is, as the pool's
 * are: a direct connection through PgBouncer shares its server sessions. */
static int l_use(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    if (soom_request_current() != NULL) {
        lua_pushboolean(L, 0);
        return 1;
    }
    long timeout = (long)luaL_optnumber(L, 2, 0);
    bool prepared = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    bool pooler = lua_toboolean(L, 4);
    if (direct_url == NULL || strcmp(direct_url, url) != 0 || timeout != direct_timeout_ms ||
        prepared != direct_prepared || pooler != direct_pooler) {
        soom_pg_conn_close(direct_conn);
        direct_conn = NULL;
        free(direct_url);
        direct_url = xstrdup(url);
        direct_timeout_ms = timeout;
        direct_prepared = prepared;
        direct_pooler = pooler;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* close(): closes the direct connection of this thread */
static int l_close(lua_State *L)
{
    (void)L;
    soom_pg_conn_close(direct_conn);
    direct_conn = NULL;
    return 0;
}

/* set_checks({ { table, constraint, { column, ... } }, ... }): the columns
 * of the database's CHECK constraints, for the pointers of a violation */
static int l_set_checks(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = lua_objlen(L, 1), total = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (int)i);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_rawgeti(L, -1, 3);
        luaL_checktype(L, -1, LUA_TTABLE);
        total += lua_objlen(L, -1);
        lua_pop(L, 2);
    }
    /* nothing below raises (the two arrays would leak); only strings are
     * taken (a number's conversion would live on the stack only), and they
     * stay referenced by the list while C copies them */
    struct soom_pg_check *list = xcalloc(n > 0 ? n : 1, sizeof *list);
    const char **cols = xcalloc(total > 0 ? total : 1, sizeof *cols);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (int)i + 1);
        int entry = lua_gettop(L);
        lua_rawgeti(L, entry, 1);
        lua_rawgeti(L, entry, 2);
        lua_rawgeti(L, entry, 3);
        list[i].table = lua_type(L, entry + 1) == LUA_TSTRING ? lua_tostring(L, entry + 1) : "";
        list[i].constraint =
            lua_type(L, entry + 2) == LUA_TSTRING ? lua_tostring(L, entry + 2) : "";
        list[i].columns = cols + used;
        list[i].ncolumns = lua_objlen(L, entry + 3);
        for (size_t k = 1; k <= list[i].ncolumns; k++) {
            lua_rawgeti(L, entry + 3, (int)k);
            cols[used++] = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            lua_pop(L, 1); /* still referenced by the list */
        }
        lua_pop(L, 4);
    }
    soom_pg_checks_set(list, n);
    free(cols);
    free(list);
    return 0;
}

/* sha256(bytes) -> lower-case hex */
static int l_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) != 1)
        return luaL_error(L, "sha256 failed");
    char hex[2 * EVP_MAX_MD_SIZE];
    for (unsigned i = 0; i < len; i++) {
        hex[2 * i] = hex_digit(md[i] >> 4, false);
        hex[2 * i + 1] = hex_digit(md[i], false);
    }
    lua_pushlstring(L, hex, 2 * len);
    return 1;
}

int luaopen_soom_core_pg(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"query", l_query},
        {"begin", l_begin},
        {"commit", l_commit},
        {"rollback", l_rollback},
        {"script", l_script},
        {"in_transaction", l_in_transaction},
        {"use", l_use},
        {"close", l_close},
        {"sha256", l_sha256},
        {"set_checks", l_set_checks},
        {"query_read", l_query_read},
        {"readonly", l_readonly},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    /* soom.db.binary values carry this metatable */
    lua_pushlightuserdata(L, &binary_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushlightuserdata(L, &binary_mt_key);
        lua_pushvalue(L, -2);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    lua_setfield(L, -2, "binary_mt");
    return 1;
}
