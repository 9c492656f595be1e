/*
 * soom.core.http: one outbound HTTP call for lua/soom/http.lua, which adds
 * JSON, query strings, retries and the errors apps see.
 *
 * request{method, url, headers = {name = value}, body, timeout,
 *         connect_timeout, ca_file, max_size, max_per_host}
 *   -> status, headers (lower-case names; repeated ones joined by ", "), body
 *   |  nil, kind ("timeout", "refused", "dns", "tls", "connection",
 *                "too_large", "url"), message
 *
 * Inside a request the call carries its X-Request-Id and the W3C trace
 * context (the request's span as the parent) unless the caller set them.
 * The call waits through lua_wait.h: the request's coroutine yields under
 * the async server. A call that yields copies everything it needs into the
 * request's arena first; one that runs at once borrows the spec's strings
 * and keeps the header lines it makes on the Lua stack, so a raise on
 * misuse leaks nothing.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "lua_libs.h"
#include "lua_wait.h"
#include "request_impl.h"
#include "soom/error.h"

#define MAX_HEADERS 64

struct lua_call {
    struct soom_http_call call;
    const char *lines[MAX_HEADERS + 3];
    int anchor; /* a table on the stack holding the lines of a call at once */
};

/* ---- the call, from the spec table --------------------------------------- */

static const char *opt_string(lua_State *L, int t, const char *key, size_t *len)
{
    lua_getfield(L, t, key);
    const char *v = lua_isstring(L, -1) ? lua_tolstring(L, -1, len) : NULL;
    lua_pop(L, 1); /* the spec table keeps the string alive */
    return v;
}

static double opt_number(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
    lua_pop(L, 1);
    return v;
}

/* A string of the spec for the call: copied into the arena for a call
 * that yields, else borrowed (the spec outlives the call). */
static const char *keep(struct soom_arena *a, const char *p, size_t n)
{
    return a != NULL ? soom_arena_strndup(a, p, n) : p;
}

static void add_line(lua_State *L, struct lua_call *lc, struct soom_arena *a, const char *name,
                     size_t nlen, const char *value, size_t vlen)
{
    if (lc->call.nheaders >= MAX_HEADERS + 3)
        luaL_error(L, "soom.http: more than %d headers", MAX_HEADERS);
    if (nlen == 0 || memchr(name, ':', nlen) || strpbrk(name, "\r\n ") != NULL ||
        memchr(value, '\r', vlen) || memchr(value, '\n', vlen))
        luaL_error(L, "soom.http: header names and values must not hold CR, LF (or a colon, "
                      "a space, in a name)");
    if (a == NULL) {
        /* kept alive by the anchor table, which outlives the call */
        luaL_checkstack(L, 4, "soom.http: too many headers");
        lua_pushlstring(L, name, nlen);
        lua_pushliteral(L, ": ");
        lua_pushlstring(L, value, vlen);
        lua_concat(L, 3);
        lc->lines[lc->call.nheaders] = lua_tostring(L, -1);
        lua_rawseti(L, lc->anchor, (int)++lc->call.nheaders);
        return;
    }
    char *line = soom_arena_alloc(a, nlen + vlen + 3);
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen);
    line[nlen + vlen + 2] = '\0';
    lc->lines[lc->call.nheaders++] = line;
}

static bool has_header(lua_State *L, int headers, const char *name)
{
    if (!lua_istable(L, headers))
        return false;
    lua_pushnil(L);
    while (lua_next(L, headers) != 0) {
        bool same = lua_type(L, -2) == LUA_TSTRING && strcasecmp(lua_tostring(L, -2), name) == 0;
        lua_pop(L, 1);
        if (same) {
            lua_pop(L, 1);
            return true;
        }
    }
    return false;
}

static void read_headers(lua_State *L, int t, struct lua_call *lc, struct soom_arena *a)
{
    lua_getfield(L, t, "headers");
    int h = lua_gettop(L);
    if (lua_istable(L, h)) {
        lua_pushnil(L);
        while (lua_next(L, h) != 0) {
            size_t nlen, vlen;
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
                luaL_error(L, "soom.http: headers must map names to strings");
            const char *name = lua_tolstring(L, -2, &nlen);
            const char *value = lua_tolstring(L, -1, &vlen);
            add_line(L, lc, a, name, nlen, value, vlen);
            lua_pop(L, 1);
        }
    }
    /* the request's identity goes on to the services it calls */
    struct soom_request *r = soom_request_current();
    if (r != NULL && !has_header(L, h, "X-Request-Id"))
        add_line(L, lc, a, "X-Request-Id", 12, r->request_id, r->request_id_len);
    if (r != NULL && r->trace.trace_id[0] != '\0' && !has_header(L, h, "traceparent")) {
        char tp[SOOM_TRACEPARENT_LEN + 1];
        soom_trace_format(&r->trace, tp);
        add_line(L, lc, a, "traceparent", 11, tp, strlen(tp));
        if (r->trace.state != NULL && !has_header(L, h, "tracestate"))
            add_line(L, lc, a, "tracestate", 10, r->trace.state, r->trace.state_len);
    }
    lua_pop(L, 1);
}

/* Fills the call from the spec at index 1; raises on misuse (before any
 * wait). */
static void read_spec(lua_State *L, struct lua_call *lc, struct soom_arena *a)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct soom_http_call *c = &lc->call;
    size_t n;
    const char *method = opt_string(L, 1, "method", &n);
    const char *url = opt_string(L, 1, "url", &n);
    if (method == NULL || url == NULL)
        luaL_error(L, "soom.http: a call needs a method and a URL");
    c->url = keep(a, url, n);
    c->method = keep(a, method, strlen(method));
    const char *body = opt_string(L, 1, "body", &n);
    if (body != NULL) {
        c->body = keep(a, body, n);
        c->body_len = n;
    }
    const char *ca = opt_string(L, 1, "ca_file", &n);
    c->ca_file = ca != NULL ? keep(a, ca, n) : NULL;
    c->timeout_ms = (long)(opt_number(L, 1, "timeout") * 1000);
    c->connect_timeout_ms = (long)(opt_number(L, 1, "connect_timeout") * 1000);
    c->max_size = (size_t)opt_number(L, 1, "max_size");
    c->max_per_host = (long)opt_number(L, 1, "max_per_host");
    c->headers = lc->lines;
    read_headers(L, 1, lc, a);
}

/* ---- the results ---------------------------------------------------------- */

/* Pushes the header lines (after the status line) as a table. */
static void push_headers(lua_State *L, const struct soom_buf *head)
{
    lua_newtable(L);
    const char *p = head->data, *end = head->data + head->len;
    const char *eol = p != NULL ? memchr(p, '\n', (size_t)(end - p)) : NULL;
    for (p = eol ? eol + 1 : end; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || colon == p)
            continue;
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        char name[128];
        size_t nlen = (size_t)(colon - p) < sizeof name ? (size_t)(colon - p) : sizeof name - 1;
        for (size_t i = 0; i < nlen; i++)
            name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        lua_pushlstring(L, name, nlen);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isstring(L, -1)) {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, v, (size_t)(ve - v));
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushlstring(L, v, (size_t)(ve - v));
        }
        lua_rawset(L, -3);
    }
}

static int run_call(lua_State *L, struct soom_request *r, void *arg)
{
    (void)r;
    struct lua_call *lc = arg;
    struct soom_http_call *c = &lc->call;
    int rc = soom_http_perform(c);
    int n;
    if (rc == SOOM_OK) {
        lua_pushinteger(L, c->status);
        push_headers(L, &c->head);
        lua_pushlstring(L, c->out.data ? c->out.data : "", c->out.len);
        n = 3;
    } else {
        lua_pushnil(L);
        lua_pushstring(L, soom_http_kind_name(c->kind));
        lua_pushstring(L, c->error);
        n = 3;
    }
    soom_http_call_cleanup(c);
    return n;
}

/* request(spec) -> status, headers, body | nil, kind, message */
static int l_request(lua_State *L)
{
    bool yield = soom_lua_wait_can_yield(L);
    struct soom_arena *a = yield ? soom_request_current()->arena : NULL;
    struct lua_call local, *lc = a != NULL ? soom_arena_alloc(a, sizeof *lc) : &local;
    memset(lc, 0, sizeof *lc);
    lua_settop(L, 1);
    lua_newtable(L);
    lc->anchor = 2;
    soom_http_call_init(&lc->call); /* its buffers take memory only once the call runs */
    read_spec(L, lc, a);
    return soom_lua_wait(L, yield, run_call, lc);
}

int luaopen_soom_core_http(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {{"request", l_request}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
