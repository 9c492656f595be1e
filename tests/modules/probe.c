/*
 * A test module that uses every entry of the host table, for
 * tests/http/test_modules.py. Requests steer it with headers:
 *   X-Probe-Deny: request | routed | handler   refuse at that phase
 *   X-Probe-User: <id>                         authenticate at the routed phase
 *   X-Probe-Rewrite: 1                          the response phase replaces the body
 * Every response carries X-Probe-Trail, the phases the request went
 * through (from its context slot). Routes:
 *   GET|POST /probe/info/{name}   what the accessors return, as JSON
 *   POST     /probe/raw           a raw body (any media type)
 *   GET      /probe/stats         counters: done phase, cleanups, workers, reach
 *   GET|OPTIONS /probe/reach       counts the requests that reach it
 * Format "probe-even": decimal digits of an even number. Lua library
 * soom.ext.probe: greeting(), request_id().
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "soom/module.h"

static const struct soom_module_host *H;
static struct soom_module_handle *M;
static char greeting[64] = "hello";
static atomic_long done_count, cleanup_count, workers_started, workers_stopped, reached;

struct trail {
    char text[32];
    size_t n;
};

static struct trail *trail_of(struct soom_request *req)
{
    struct trail *t = H->get_context(req, M);
    if (t == NULL) {
        t = H->alloc(req, sizeof *t);
        memset(t, 0, sizeof *t);
        H->set_context(req, M, t);
    }
    return t;
}

static void mark(struct soom_request *req, char c)
{
    struct trail *t = trail_of(req);
    if (t->n + 1 < sizeof t->text)
        t->text[t->n++] = c;
}

static bool denied_at(struct soom_request *req, const char *phase)
{
    size_t n;
    const char *v = H->req_header(req, "X-Probe-Deny", &n);
    return v != NULL && n == strlen(phase) && memcmp(v, phase, n) == 0;
}

static void count_cleanup(void *data)
{
    (void)data;
    atomic_fetch_add(&cleanup_count, 1);
}

static int on_request(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    mark(req, 'q');
    H->defer(req, count_cleanup, NULL);
    return denied_at(req, "request") ? 403 : SOOM_MODULE_CONTINUE;
}

static int on_routed(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    mark(req, 'r');
    size_t n;
    const char *user = H->req_header(req, "X-Probe-User", &n);
    if (user != NULL)
        H->req_set_user(req, user, n);
    if (denied_at(req, "routed")) {
        H->resp_problem(resp, 401, "denied at the routed phase");
        H->resp_set_header(resp, "WWW-Authenticate", "Probe");
        return SOOM_MODULE_RESPOND;
    }
    return SOOM_MODULE_CONTINUE;
}

static int on_handler(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    mark(req, 'h');
    return denied_at(req, "handler") ? 429 : SOOM_MODULE_CONTINUE;
}

static int on_response(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    mark(req, 's');
    struct trail *t = trail_of(req);
    t->text[t->n] = '\0';
    H->resp_set_header(resp, "X-Probe-Trail", t->text);
    size_t n;
    const char *rw = H->req_header(req, "X-Probe-Rewrite", &n);
    if (rw != NULL) {
        char body[96];
        snprintf(body, sizeof body, "{\"rewritten\":true,\"status\":%d}", H->resp_status(resp));
        H->resp_set_status(resp, 200);
        H->resp_set_body(resp, body, strlen(body), "application/json");
    }
    /* a header of the constant one's name wins over it */
    if (H->req_header(req, "X-Probe-Own-Constant", &n) != NULL)
        H->resp_set_header(resp, "X-Probe-Constant", "set by the response");
    return SOOM_MODULE_CONTINUE;
}

static int on_done(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)resp, (void)ud;
    atomic_fetch_add(&done_count, 1);
    return SOOM_MODULE_CONTINUE;
}

/* ---- routes ----------------------------------------------------------- */

/* Appends "key":"value" (value NULL: null) to b; no escaping needed for
 * what the tests send. */
static size_t put(char *b, size_t at, size_t cap, const char *key, const char *v, size_t n)
{
    if (v == NULL)
        return at + (size_t)snprintf(b + at, cap - at, "%s\"%s\":null", at > 1 ? "," : "", key);
    return at + (size_t)snprintf(b + at, cap - at, "%s\"%s\":\"%.*s\"", at > 1 ? "," : "", key,
                                 (int)n, v);
}

static int info(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    size_t cap = 2048, at = 1, n = 0;
    char *b = H->alloc(req, cap);
    b[0] = '{';
    const char *m = H->req_method(req);
    at = put(b, at, cap, "method", m, strlen(m));
    const char *p = H->req_path(req, &n);
    at = put(b, at, cap, "path", p, n);
    const char *route = H->req_route(req);
    at = put(b, at, cap, "route", route, route ? strlen(route) : 0);
    p = H->req_param(req, "name", &n);
    at = put(b, at, cap, "name", p, n);
    p = H->req_query(req, "q", &n);
    at = put(b, at, cap, "q", p, n);
    p = H->req_header(req, "X-Thing", &n);
    at = put(b, at, cap, "thing", p, n);
    p = H->req_user(req, &n);
    at = put(b, at, cap, "user", p, n);
    p = H->req_id(req, &n);
    at = put(b, at, cap, "id", p, n);
    at = put(b, at, cap, "greeting", greeting, strlen(greeting));
    const struct soom_json *doc = H->req_json(req);
    const struct soom_json *word = H->json_get(doc, "word");
    p = H->json_string(word, &n);
    at = put(b, at, cap, "word", p, n);
    size_t headers = 0;
    const char *name;
    while (H->req_header_at(req, headers, &name, &n) != NULL)
        headers++;
    at += (size_t)snprintf(b + at, cap - at, ",\"headers\":%zu,\"body_type\":%d,\"items\":%zu}",
                           headers, H->json_type(doc), H->json_count(H->json_get(doc, "items")));
    H->resp_set_header(resp, "X-Probe-Route", "info");
    H->resp_set_body_ref(resp, b, at, "application/json");
    return SOOM_MODULE_RESPOND;
}

static int raw(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    size_t n;
    const char *body = H->req_body(req, &n);
    char out[128];
    snprintf(out, sizeof out, "{\"bytes\":%zu,\"parsed\":%s,\"first\":\"%c\"}", n,
             H->req_json(req) ? "true" : "false", body && n ? body[0] : '-');
    H->resp_set_status(resp, 201);
    H->resp_set_body(resp, out, strlen(out), "application/json");
    return SOOM_MODULE_CONTINUE;
}

static int reach(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)ud;
    atomic_fetch_add(&reached, 1);
    H->resp_set_body(resp, "{\"reached\":true}", 16, "application/json");
    return SOOM_MODULE_RESPOND;
}

static int stats(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)ud;
    char out[192];
    snprintf(out, sizeof out,
             "{\"done\":%ld,\"cleanups\":%ld,\"started\":%ld,\"stopped\":%ld,\"reached\":%ld}",
             atomic_load(&done_count), atomic_load(&cleanup_count), atomic_load(&workers_started),
             atomic_load(&workers_stopped), atomic_load(&reached));
    H->resp_set_body(resp, out, strlen(out), "application/json");
    return SOOM_MODULE_RESPOND;
}

/* ---- format and Lua ------------------------------------------------- */

static bool even(const char *s, size_t n, void *ud)
{
    (void)ud;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return (s[n - 1] - '0') % 2 == 0;
}

static int l_greeting(lua_State *L)
{
    lua_pushstring(L, greeting);
    return 1;
}

static int l_request_id(lua_State *L)
{
    struct soom_request *req = H->current_request();
    if (req == NULL)
        return 0;
    size_t n;
    const char *id = H->req_id(req, &n);
    lua_pushlstring(L, id, n);
    return 1;
}

static int open_lib(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_greeting);
    lua_setfield(L, -2, "greeting");
    lua_pushcfunction(L, l_request_id);
    lua_setfield(L, -2, "request_id");
    return 1;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    H = host, M = mod;
    const char *g = H->json_string(H->json_get(settings, "greeting"), NULL);
    if (g != NULL)
        snprintf(greeting, sizeof greeting, "%s", g);
    if (H->json_bool(H->json_get(settings, "late_registration")))
        return SOOM_MODULE_OK; /* registers nothing now; tried from worker_start */
    int rc = H->add_middleware(mod, SOOM_PHASE_REQUEST, on_request, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_ROUTED, on_routed, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_HANDLER, on_handler, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_RESPONSE, on_response, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_DONE, on_done, NULL);
    rc |= H->add_route(mod, "GET, POST", "/probe/info/{name}", 0, info, NULL);
    rc |= H->add_route(mod, "POST", "/probe/raw", SOOM_MODULE_ROUTE_RAW_BODY, raw, NULL);
    rc |= H->add_route(mod, "GET", "/probe/stats", 0, stats, NULL);
    rc |= H->add_route(mod, "GET, OPTIONS", "/probe/reach", 0, reach, NULL);
    rc |= H->add_format(mod, "probe-even", even, NULL);
    rc |= H->add_lua_library(mod, "probe", open_lib);
    rc |= H->add_response_header(mod, "X-Probe-Constant", "on every response");
    if (H->add_response_header(mod, "content-type", "text/plain") != SOOM_MODULE_EINVAL ||
        H->add_response_header(mod, "X-Request-Id", "mine") != SOOM_MODULE_EINVAL ||
        H->add_response_header(mod, "Bad Name", "x") != SOOM_MODULE_EINVAL ||
        H->add_response_header(mod, "X-Split", "a\r\nb") != SOOM_MODULE_EINVAL) {
        H->set_error(mod, "add_response_header took a header it must refuse");
        return SOOM_MODULE_ERROR;
    }
    if (rc != SOOM_MODULE_OK)
        H->set_error(mod, "a registration failed");
    return rc == SOOM_MODULE_OK ? SOOM_MODULE_OK : SOOM_MODULE_ERROR;
}

static int worker_start(struct soom_module_handle *mod, lua_State *L)
{
    (void)L;
    atomic_fetch_add(&workers_started, 1);
    /* registration is closed once init returned */
    if (H->add_route(mod, "GET", "/probe/late", 0, stats, NULL) != SOOM_MODULE_ESTATE ||
        H->add_response_header(mod, "X-Probe-Late", "1") != SOOM_MODULE_ESTATE) {
        H->set_error(mod, "registration was accepted after init");
        return SOOM_MODULE_ERROR;
    }
    return SOOM_MODULE_OK;
}

static void worker_stop(struct soom_module_handle *mod, lua_State *L)
{
    (void)mod, (void)L;
    atomic_fetch_add(&workers_stopped, 1);
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = SOOM_MODULE_ABI_MINOR,
    .name = "probe",
    .version = "1.2.3",
    .init = init,
    .worker_start = worker_start,
    .worker_stop = worker_stop,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
