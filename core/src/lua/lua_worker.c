/*
 * Worker Lua states and request dispatch (see lua_worker.h).
 *
 * The dispatcher is soom.core.worker's function, kept as a registry
 * reference. It never raises: it runs the resource under xpcall and returns
 * (status, body, headers, content_type, log_error), which this file turns
 * into the response. Only a failure of the dispatcher itself (out of memory,
 * a yield across the C boundary) is caught here.
 *
 * A request's coroutine may yield for a call that waits (lua_wait.h): the
 * dispatch then does the waiting and resumes it, as often as it asks.
 * Under the async server several requests interleave on one state this
 * way, each on its own coroutine. Each run of a coroutine is watched by
 * handler_timeout (lua_watch.h); a state left by a hard stop is taken out
 * of service: the requests still on it are answered 503, and it is never
 * used (nor closed: its insides cannot be trusted) again.
 *
 * A state that went over lua_memory_limit (lua_mem.h), or on which an
 * error escaped outside every protected call (lua_guard.h), is retired:
 * the request is answered 500, the thread takes a fresh state for the
 * next one, the requests still on the old state are answered 503, and the
 * last of them closes it, which gives its memory back.
 *
 * Reloading (`soom run --reload`): soom_lua_pool_reload() loads a full set
 * of states from the app's files as they are now, checks that they
 * declare the routes the core serves (the routes' signature of the first
 * state), and makes them the pool's new generation. Each thread moves to
 * a state of the new generation at its next request; a state of an older
 * one is superseded: unlike a retired one, its requests (coroutines
 * waiting under the async server) go on to their end on the code they
 * started on, and the last one closes it, so no connection is dropped. A
 * load that fails leaves the generation and the states as they were.
 */
#include "lua_worker.h"

#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "alloc.h"
#include "app.h"
#include "lua_access.h"
#include "lua_guard.h"
#include "lua_json.h"
#include "lua_libs.h"
#include "lua_mem.h"
#include "lua_plan.h"
#include "lua_settings.h"
#include "lua_wait.h"
#include "lua_watch.h"
#include "module_load.h"
#include "ops_metrics.h"
#include "ops_report.h"
#include "request_impl.h"
#include "soom/buf.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/response.h"

struct soom_lua {
    lua_State *L;
    int dispatch_ref;
    int hook_ref;  /* soom.core.worker's hook: authentication classes and
                    * permissions written in Lua */
    int *idle_cos; /* registry refs of finished coroutines */
    size_t nidle, capidle;
    struct soom_lua *next;   /* in the pool's idle list */
    _Atomic uint64_t memory; /* bytes the state held after its last request */
    struct soom_lua_watch watch;
    struct soom_lua_mem mem; /* lua_memory_limit */
    int running;             /* requests with a coroutine on the state */
    bool lost;               /* left by a hard stop: out of service */
    bool retired;            /* out of service, closed by its last request */
    bool superseded;         /* of an older generation: its requests go on, the last
                              * closes it */
    unsigned generation;     /* the pool's generation it was loaded for */
};

struct soom_lua_pool {
    struct soom_app *app;
    pthread_mutex_t lock;
    struct soom_lua *idle;
    struct soom_lua **all;
    size_t nall;
    char *signature; /* of the routes the core serves (the first state's) */
    _Atomic unsigned generation;
};

static _Thread_local struct soom_lua *thread_lua;

/* The system's Lua 5.1 folders, where Debian's lua-* packages install
 * (Lua's own defaults, with the multiarch folder Debian adds for C parts). */
#if defined(__x86_64__)
#define LIB_ARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define LIB_ARCH "aarch64-linux-gnu"
#else
#define LIB_ARCH "unknown"
#endif
#define SYSTEM_PATH                                                                                \
    "/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;"                          \
    "/usr/local/lib/lua/5.1/?.lua;/usr/local/lib/lua/5.1/?/init.lua;"                              \
    "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
#define SYSTEM_CPATH                                                                               \
    "/usr/local/lib/lua/5.1/?.so;/usr/lib/" LIB_ARCH "/lua/5.1/?.so;/usr/lib/lua/5.1/?.so;"        \
    "/usr/local/lib/lua/5.1/loadall.so"

/* Sets package[field] (package at the top of the stack) to `first`, then
 * $env when it is set (a ";;" in it standing for the system's folders, as
 * in Lua), else the system's folders. */
static void set_search_path(lua_State *L, const char *field, const char *first, const char *env,
                            const char *system)
{
    const char *user = getenv(env);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, first);
    if (user == NULL) {
        luaL_addstring(&b, system);
    } else {
        const char *at;
        while ((at = strstr(user, ";;")) != NULL) {
            luaL_addlstring(&b, user, (size_t)(at - user));
            luaL_addchar(&b, ';');
            luaL_addstring(&b, system);
            luaL_addchar(&b, ';');
            user = at + 2;
        }
        luaL_addstring(&b, user);
    }
    luaL_pushresult(&b);
    lua_setfield(L, -2, field);
}

lua_State *soom_lua_open(const char *home, const char *app_dir)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        soom_oom(0);
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    /* the app's folder, soom's Lua layer, then the system's or LUA_PATH */
    char first[3 * PATH_MAX];
    if (app_dir != NULL)
        snprintf(first, sizeof first, "%s/?.lua;%s/?/init.lua;%s/lua/?.lua;%s/lua/?/init.lua;",
                 app_dir, app_dir, home, home);
    else
        snprintf(first, sizeof first, "%s/lua/?.lua;%s/lua/?/init.lua;", home, home);
    set_search_path(L, "path", first, "LUA_PATH", SYSTEM_PATH);
    snprintf(first, sizeof first, "%s%s", app_dir != NULL ? app_dir : "",
             app_dir != NULL ? "/?.so;" : "");
    set_search_path(L, "cpath", first, "LUA_CPATH", SYSTEM_CPATH);
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_soom_core_access);
    lua_setfield(L, -2, "soom.core.access");
    lua_pushcfunction(L, luaopen_soom_core_auth);
    lua_setfield(L, -2, "soom.core.auth");
    lua_pushcfunction(L, luaopen_soom_core_c);
    lua_setfield(L, -2, "soom.core.c");
    lua_pushcfunction(L, luaopen_soom_core_document);
    lua_setfield(L, -2, "soom.core.document");
    lua_pushcfunction(L, luaopen_soom_core_testing);
    lua_setfield(L, -2, "soom.core.testing");
    lua_pushcfunction(L, luaopen_soom_core_http);
    lua_setfield(L, -2, "soom.core.http");
    lua_pushcfunction(L, luaopen_soom_core_metrics);
    lua_setfield(L, -2, "soom.core.metrics");
    lua_pushcfunction(L, luaopen_soom_core_pg);
    lua_setfield(L, -2, "soom.core.pg");
    lua_pushcfunction(L, luaopen_soom_core_plan);
    lua_setfield(L, -2, "soom.core.plan");
    lua_pushcfunction(L, luaopen_soom_core_validate);
    lua_setfield(L, -2, "soom.core.validate");
    lua_pushcfunction(L, luaopen_soom_core_native);
    lua_setfield(L, -2, "soom.core.native");
    lua_pop(L, 2);
    soom_lua_modules_preload(L);
    soom_lua_json_setup(L);
    return L;
}

/* ---- loading ------------------------------------------------------------ */

int soom_lua_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

/* What loading a worker state needs and gives, through lua_cpcall. */
struct load {
    struct soom_app *app;
    struct soom_lua *w;
    char *err;
    size_t errlen;
    bool ok;
    bool routes_changed; /* another number of routes than the core serves */
    char *sig;           /* the routes' signature (owned; "" without settings.reload) */
};

/* Loads soom.core.worker and the app on L, runs under lua_cpcall so that
 * nothing of it (the settings table, the modules' worker_start) can raise
 * unprotected; the app's own code runs under the traceback handler. */
static int l_load(lua_State *L)
{
    struct load *ld = lua_touserdata(L, 1);
    struct soom_app *app = ld->app;
    struct soom_lua *w = ld->w;
    lua_settop(L, 0);
    lua_pushcfunction(L, soom_lua_traceback);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "soom.core.worker");
    w->mem.armed = true; /* loading the app counts too */
    if (lua_pcall(L, 1, 1, 1) != 0)
        return lua_error(L);
    lua_getfield(L, -1, "init");
    lua_pushstring(L, app->dir);
    soom_lua_settings_push(L, app->config);
    if (lua_pcall(L, 2, 4, 1) != 0)
        return lua_error(L);
    w->mem.armed = false;
    /* routes of static bytes (the OpenAPI document) never reach Lua */
    size_t lua_routes = app->nroutes - app->nstatic;
    if (!lua_isfunction(L, -4) || (size_t)lua_tonumber(L, -3) != lua_routes ||
        !lua_isfunction(L, -2)) {
        snprintf(ld->err, ld->errlen,
                 "the app declares %zu routes, %zu are being served: the routes changed; "
                 "restart to serve them",
                 (size_t)lua_tonumber(L, -3), lua_routes);
        ld->routes_changed = true;
        return 0;
    }
    ld->sig = xstrdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    w->hook_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1); /* the count */
    w->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ld->ok = soom_module_worker_start(L, ld->err, ld->errlen) == SOOM_OK;
    return 0;
}

static int l_unload(lua_State *L)
{
    soom_module_worker_stop(L);
    return 0;
}

/* A state with the app loaded; its routes' signature in *sig (owned,
 * freed with free()). NULL with the message in `err` and *rc_out
 * SOOM_ECONFLICTROUTE when the app declares another number of routes than
 * the core serves, else SOOM_ELUA. */
static struct soom_lua *worker_load(struct soom_app *app, char **sig, int *rc_out, char *err,
                                    size_t errlen)
{
    struct soom_lua *w = xcalloc(1, sizeof *w);
    lua_State *L = soom_lua_open(app->home, app->dir);
    soom_lua_mem_install(&w->mem, L, (size_t)app->config->lua_memory_limit);
    soom_lua_guard_install(L);
    struct load ld = {app, w, err, errlen, false, false, NULL};
    int rc = lua_cpcall(L, l_load, &ld);
    w->mem.armed = false;
    if (rc != 0) {
        if (w->mem.over)
            snprintf(err, errlen, "loading the app went over lua_memory_limit (%zu bytes)",
                     w->mem.limit);
        else
            snprintf(err, errlen, "%s", lua_tostring(L, -1));
    }
    *rc_out = ld.routes_changed ? SOOM_ECONFLICTROUTE : SOOM_ELUA;
    *sig = ld.sig;
    if (!ld.ok) {
        soom_lua_mem_close(&w->mem, L);
        free(w);
        free(ld.sig);
        *sig = NULL;
        return NULL;
    }
    *rc_out = SOOM_OK;
    w->L = L;
    soom_lua_watch_init(&w->watch, L);
    lua_settop(L, 0);
    return w;
}

static void worker_free(struct soom_lua *w)
{
    if (!w->lost) {
        w->mem.armed = false;
        lua_cpcall(w->L, l_unload, NULL); /* a module's worker_stop cannot raise past it */
        soom_lua_mem_close(&w->mem, w->L);
    }
    free(w->idle_cos);
    free(w);
}

/* A state for `pool`'s generation `generation`, whose routes match the
 * ones the core serves (the first state loaded sets them). NULL with the
 * message in `err` and *rc as worker_load() sets it (SOOM_ECONFLICTROUTE
 * for routes that differ). */
static struct soom_lua *pool_load(struct soom_lua_pool *pool, unsigned generation, int *rc,
                                  char *err, size_t errlen)
{
    char *sig;
    struct soom_lua *w = worker_load(pool->app, &sig, rc, err, errlen);
    if (w == NULL)
        return NULL;
    /* only a reload's states are held to it: the ones of start-up were
     * loaded from the files the core's routes were built from */
    pthread_mutex_lock(&pool->lock);
    bool same = true;
    if (pool->signature == NULL) {
        pool->signature = sig;
        sig = NULL;
    } else if (generation > 0) {
        same = strcmp(sig, pool->signature) == 0;
    }
    pthread_mutex_unlock(&pool->lock);
    free(sig);
    if (!same) {
        snprintf(err, errlen,
                 "the app's routes changed (a resource, route, schema, declarative resource or "
                 "authentication class differs from the ones being served): restart to serve "
                 "them");
        *rc = SOOM_ECONFLICTROUTE;
        worker_free(w);
        return NULL;
    }
    w->generation = generation;
    return w;
}

static void pool_add(struct soom_lua_pool *pool, struct soom_lua *w, bool idle)
{
    pthread_mutex_lock(&pool->lock);
    pool->all = xrealloc(pool->all, (pool->nall + 1) * sizeof(pool->all[0]));
    pool->all[pool->nall++] = w;
    if (idle) {
        w->next = pool->idle;
        pool->idle = w;
    }
    pthread_mutex_unlock(&pool->lock);
}

/* Takes `w` (not idle, no request on it) out of the pool and closes it. */
static void pool_close(struct soom_lua_pool *pool, struct soom_lua *w)
{
    pthread_mutex_lock(&pool->lock);
    for (size_t i = 0; i < pool->nall; i++) {
        if (pool->all[i] == w) {
            pool->all[i] = pool->all[--pool->nall];
            break;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    worker_free(w);
}

int soom_lua_pool_new(struct soom_app *app, size_t initial, struct soom_lua_pool **out, char *err,
                      size_t errlen)
{
    struct soom_lua_pool *pool = xcalloc(1, sizeof *pool);
    pool->app = app;
    pthread_mutex_init(&pool->lock, NULL);
    soom_lua_watch_setup();
    *out = NULL;
    for (size_t i = 0; i < initial; i++) {
        int rc;
        struct soom_lua *w = pool_load(pool, 0, &rc, err, errlen);
        if (w == NULL) {
            soom_lua_pool_free(pool);
            return SOOM_ELUA;
        }
        pool_add(pool, w, true);
    }
    *out = pool;
    return SOOM_OK;
}

void soom_lua_pool_free(struct soom_lua_pool *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->nall; i++)
        worker_free(pool->all[i]);
    free(pool->all);
    free(pool->signature);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int soom_lua_pool_reload(struct soom_lua_pool *pool, char *err, size_t errlen)
{
    unsigned current = atomic_load(&pool->generation), next = current + 1;
    pthread_mutex_lock(&pool->lock);
    size_t want = 0; /* as many states as the current generation has */
    for (size_t i = 0; i < pool->nall; i++) {
        const struct soom_lua *w = pool->all[i];
        want += !w->lost && !w->retired && w->generation == current;
    }
    pthread_mutex_unlock(&pool->lock);
    if (want == 0)
        want = 1;
    struct soom_lua **fresh = xcalloc(want, sizeof *fresh);
    int rc = SOOM_OK;
    size_t n = 0;
    for (; n < want; n++) {
        fresh[n] = pool_load(pool, next, &rc, err, errlen);
        if (fresh[n] == NULL)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == SOOM_OK)
            pool_add(pool, fresh[i], true);
        else
            worker_free(fresh[i]);
    }
    free(fresh);
    if (rc == SOOM_OK)
        atomic_store(&pool->generation, next);
    return rc;
}

/* Leaves `w`, the thread's state of an older generation: closed now when
 * no request runs on it, else by its last request (leave()). */
static void supersede(struct soom_lua_pool *pool, struct soom_lua *w)
{
    if (w->lost)
        return; /* never closed, see lose_state() */
    if (w->running == 0)
        pool_close(pool, w);
    else
        w->superseded = true;
}

/* An idle state of generation `generation`, closing the older ones met on
 * the way; NULL when none. */
static struct soom_lua *take_idle(struct soom_lua_pool *pool, unsigned generation)
{
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        struct soom_lua *w = pool->idle;
        if (w != NULL)
            pool->idle = w->next;
        pthread_mutex_unlock(&pool->lock);
        if (w == NULL || w->generation == generation)
            return w;
        pool_close(pool, w);
    }
}

static struct soom_lua *worker_for_thread(struct soom_lua_pool *pool)
{
    struct soom_lua *old = thread_lua;
    unsigned generation = atomic_load(&pool->generation);
    if (old != NULL && old->generation == generation)
        return old;
    struct soom_lua *w = take_idle(pool, generation);
    if (w == NULL) {
        char err[512];
        int rc;
        w = pool_load(pool, generation, &rc, err, sizeof err);
        if (w == NULL) {
            struct soom_log_line l;
            soom_log_begin(&l, SOOM_LOG_ERROR, "cannot load the app in a new Lua state");
            soom_log_str(&l, "error", err);
            soom_log_end(&l);
            return old; /* the code it has, if any, keeps serving */
        }
        pool_add(pool, w, false);
    }
    if (old != NULL)
        supersede(pool, old);
    thread_lua = w;
    return w;
}

void soom_lua_thread_release(struct soom_lua_pool *pool)
{
    struct soom_lua *w = thread_lua;
    if (w == NULL || pool == NULL)
        return;
    thread_lua = NULL;
    pthread_mutex_lock(&pool->lock);
    w->next = pool->idle;
    pool->idle = w;
    pthread_mutex_unlock(&pool->lock);
}

/* ---- dispatch ----------------------------------------------------------- */

static lua_State *take_coroutine(struct soom_lua *w, int *ref)
{
    lua_State *L = w->L;
    if (w->nidle > 0) {
        *ref = w->idle_cos[--w->nidle];
        lua_rawgeti(L, LUA_REGISTRYINDEX, *ref);
        lua_State *co = lua_tothread(L, -1);
        lua_pop(L, 1);
        return co;
    }
    lua_State *co = lua_newthread(L);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return co;
}

static void keep_coroutine(struct soom_lua *w, int ref)
{
    if (w->nidle == w->capidle) {
        w->capidle = w->capidle ? w->capidle * 2 : 4;
        w->idle_cos = xrealloc(w->idle_cos, w->capidle * sizeof(int));
    }
    w->idle_cos[w->nidle++] = ref;
}

static void log_lua_error(struct soom_request *r, const char *what, const char *trace)
{
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_ERROR, what);
    soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
    soom_log_str(&l, "trace_id", r->trace.trace_id);
    soom_log_str(&l, "span_id", r->trace.span_id);
    soom_log_strn(&l, "path", r->path, r->path_len);
    if (r->route != NULL)
        soom_log_str(&l, "route", r->route->pattern);
    soom_log_str(&l, "traceback", trace);
    soom_log_end(&l);
}

static void internal_error(struct soom_request *r)
{
    r->out_headers = NULL;
    soom_response_problem(r, 500, "the server hit an error; the request id is in the log", NULL);
}

static bool header_is(const char *name, const char *want)
{
    return strcasecmp(name, want) == 0;
}

/* RFC 9110: a field name is a token; a value holds no control character
 * but HTAB (so no CR, LF or NUL). libmicrohttpd would drop a bad one
 * without a word. */
static bool header_ok(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (nlen == 0)
        return false;
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (c == '\0' || strchr("!#$%&'*+-.^_`|~", c) == NULL))
            return false;
    }
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* Copies the headers table at `idx`. Returns false on a bad header, with
 * why in `why`. */
static bool take_headers(lua_State *co, int idx, struct soom_request *r, char *why, size_t whylen)
{
    lua_pushnil(co);
    while (lua_next(co, idx) != 0) {
        int vt = lua_type(co, -1);
        if (lua_type(co, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER)) {
            snprintf(why, whylen,
                     "a header maps a %s to a %s: names must be strings, values "
                     "strings or numbers",
                     luaL_typename(co, -2), luaL_typename(co, -1));
            lua_pop(co, 2);
            return false;
        }
        size_t nlen, vlen;
        const char *name = lua_tolstring(co, -2, &nlen);
        const char *value = lua_tolstring(co, -1, &vlen); /* a number becomes its text */
        if (!header_ok(name, nlen, value, vlen)) {
            snprintf(why, whylen,
                     "header \"%.100s\": a name is a token (letters, digits and "
                     "!#$%%&'*+-.^_`|~) and a value holds no control character but tab",
                     name);
            lua_pop(co, 2);
            return false;
        }
        if (header_is(name, "Content-Type"))
            r->content_type = soom_arena_strndup(r->arena, value, vlen);
        else
            soom_response_header(r, name, value);
        lua_pop(co, 1);
    }
    return true;
}

/* Turns the dispatcher's results (status, body, headers, content_type,
 * log_error, report) at 1..6 on `co` into the response; an uncaught error
 * is logged, counted and, as the JSON event `report`, reported. */
static void take_results(lua_State *co, struct soom_request *r)
{
    if (lua_isstring(co, 5)) {
        log_lua_error(r, "error in Lua code", lua_tostring(co, 5));
        soom_metrics_lua_error(r->route != NULL ? r->route->id : -1);
    }
    if (lua_type(co, 6) == LUA_TSTRING) {
        size_t n;
        const char *event = lua_tolstring(co, 6, &n);
        soom_report_event(event, n);
    }
    if (soom_lua_plan_responded(co, 2) && r->responded)
        return; /* a generic resource's step in C answered already */
    int status = (int)lua_tonumber(co, 1);
    if (status < 100 || status > 599) {
        log_lua_error(r, "a resource returned an invalid status", "status must be 100..599");
        internal_error(r);
        return;
    }
    struct soom_buf *body = NULL; /* a table, encoded in the scratch buffer */
    const char *text = NULL;      /* or a string, sent as it is */
    size_t text_len = 0;
    const char *ctype = NULL;
    char err[256];
    switch (lua_type(co, 2)) {
    case LUA_TTABLE:
        body = soom_response_buffer();
        if (soom_lua_to_json(co, 2, body, err, sizeof err) != SOOM_OK) {
            log_lua_error(r, "a resource returned a body that is not JSON", err);
            internal_error(r);
            return;
        }
        ctype = "application/json";
        break;
    case LUA_TSTRING:
        text = lua_tolstring(co, 2, &text_len);
        ctype = "text/plain; charset=utf-8";
        break;
    case LUA_TNIL: break;
    default:
        snprintf(err, sizeof err, "the body is a %s: a table (JSON), a string or nil",
                 luaL_typename(co, 2));
        log_lua_error(r, "a resource returned a body that is not a table, a string or nil", err);
        internal_error(r);
        return;
    }
    if (lua_isstring(co, 4))
        ctype = soom_arena_strndup(r->arena, lua_tostring(co, 4), lua_objlen(co, 4));
    r->content_type = NULL;
    if (lua_istable(co, 3) && !take_headers(co, 3, r, err, sizeof err)) {
        if (body != NULL)
            soom_buf_clear(body);
        log_lua_error(r, "a resource returned an invalid header", err);
        internal_error(r);
        return;
    }
    if (r->content_type == NULL)
        r->content_type = ctype;
    r->status = status;
    if (status == 204 || status == 304) {
        r->responded = true; /* no body, whatever the resource returned */
        if (body != NULL)
            soom_buf_clear(body);
    } else if (body != NULL) {
        soom_response_take(r, body, r->content_type);
    } else if (text != NULL) {
        soom_response_copy(r, text, text_len, r->content_type);
    } else {
        r->responded = true;
    }
}

/* What the state holds, read where only its thread may read it (the
 * count is a field of the state: no collection step). */
static void note_memory(struct soom_lua *w)
{
    uint64_t bytes =
        (uint64_t)lua_gc(w->L, LUA_GCCOUNT, 0) * 1024u + (uint64_t)lua_gc(w->L, LUA_GCCOUNTB, 0);
    atomic_store_explicit(&w->memory, bytes, memory_order_relaxed);
}

/* Takes a state left by a hard stop out of service. Its memory stays
 * mapped (closing it would run code in a heap that cannot be trusted). */
static void lose_state(struct soom_lua *w, struct soom_request *r)
{
    soom_lua_watch_lost(&w->watch);
    w->lost = true;
    w->mem.armed = false;
    if (thread_lua == w)
        thread_lua = NULL;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_ERROR,
                   "a handler ran past handler_timeout in compiled code: its Lua state was "
                   "stopped and replaced");
    soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
    if (r->route != NULL)
        soom_log_str(&l, "route", r->route->pattern);
    soom_log_int(&l, "abandoned_bytes", (long long)atomic_load(&w->memory));
    soom_log_end(&l);
}

/* Takes a state out of service to be closed by its last request: the
 * thread takes another for its next one. */
static void retire_state(struct soom_lua *w)
{
    w->retired = true;
    w->mem.armed = false;
    if (thread_lua == w)
        thread_lua = NULL;
}

/* A request's use of a state: the pool, the request, the state once
 * taken (volatile: it is read after a guard's jump), and the jump where
 * both a panic and a hard stop land (one sigsetjmp per dispatch). */
struct call {
    struct soom_lua_pool *pool;
    struct soom_request *r;
    struct soom_lua *volatile w;
    int ref; /* the coroutine's registry reference */
    sigjmp_buf *jump;
};

/* The request is done with its state: the last request of a retired
 * state closes it. */
static void leave(struct call *c)
{
    struct soom_lua *w = c->w;
    c->w = NULL;
    if (w == NULL || --w->running > 0 || !(w->retired || w->superseded) || w->lost ||
        w == thread_lua)
        return;
    pool_close(c->pool, w);
}

#define RESUME_LOST (-1) /* the state was stopped the hard way, or retired */
#define RESUME_OVER (-2) /* the state went over lua_memory_limit */

static double handler_timeout(const struct soom_request *r)
{
    double own = r->route->handler_timeout;
    return own >= 0 ? own : r->config->handler_timeout;
}

/* One lua_resume under the watch, whose hard stop lands at the call's
 * jump (hard_stopped). */
static int resume_watched(struct call *c, lua_State *co, int nargs)
{
    struct soom_lua *w = c->w;
    struct soom_request *r = c->r;
    soom_request_set_current(r);
    soom_lua_watch_begin(&w->watch, handler_timeout(r), c->jump);
    w->mem.armed = true;
    int rc = lua_resume(co, nargs);
    w->mem.armed = false;
    if (soom_lua_watch_end(&w->watch))
        r->lua_stopped = true;
    soom_request_set_current(NULL);
    return rc;
}

/* Runs the coroutine until it returns or fails, doing the waits it yields
 * for in between; RESUME_LOST when its state was lost or retired
 * meanwhile, RESUME_OVER when it went over the state's memory limit. */
static int run_coroutine(struct call *c, lua_State *co, int nargs)
{
    struct soom_lua *w = c->w;
    struct soom_request *r = c->r;
    for (;;) {
        if (w->lost || w->retired)
            return RESUME_LOST;
        int rc = resume_watched(c, co, nargs);
        if (w->mem.over)
            return RESUME_OVER;
        if (rc != LUA_YIELD)
            return rc;
        nargs = soom_lua_wait_pending(co, r); /* on the request's fiber */
        if (nargs < 0)
            return LUA_YIELD;
    }
}

static void handler_stopped(struct soom_request *r, int status, const char *trace)
{
    log_lua_error(r, "a handler ran past handler_timeout without waiting: stopped",
                  trace != NULL ? trace : "");
    r->out_headers = NULL;
    if (status == 503)
        soom_response_header(r, "Retry-After", "1");
    soom_response_problem(r, status, "the request took too long to process", NULL);
}

static void over_limit(struct call *c)
{
    struct soom_request *r = c->r;
    struct soom_lua *w = c->w;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_ERROR,
                   "a handler went over lua_memory_limit: its Lua state was replaced");
    soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
    soom_log_strn(&l, "path", r->path, r->path_len);
    soom_log_str(&l, "route", r->route->pattern);
    soom_log_int(&l, "lua_memory_limit", (long long)w->mem.limit);
    soom_log_end(&l);
    soom_metrics_lua_error(r->route->id);
    retire_state(w);
    internal_error(r);
}

/* The state this request was waiting on went out of service because of
 * another request: it is not this request's fault, and a retry will do. */
static void state_gone(struct soom_request *r)
{
    log_lua_error(r, "the Lua state this request was waiting on was replaced",
                  "another request on the same state was stopped");
    r->out_headers = NULL;
    soom_response_header(r, "Retry-After", "1");
    soom_response_problem(r, 503, "the request was interrupted; retry it", NULL);
}

/* An error escaped Lua outside every protected call (lua_guard.h): the
 * work on the state stopped where it was, so the state is retired. */
static void escaped(struct call *c, const char *message)
{
    struct soom_request *r = c->r;
    r->lua_co = NULL;
    soom_request_set_current(NULL);
    log_lua_error(r, "an error escaped Lua outside a protected call: its Lua state was replaced",
                  message);
    soom_metrics_lua_error(r->route->id);
    if (c->w != NULL)
        retire_state(c->w);
    soom_buf_clear(soom_response_buffer()); /* a body half written */
    internal_error(r);
    leave(c);
}

/* Resumes `fn` (0 the dispatcher, 1 the access hook) on a coroutine of
 * the thread's state with the route's number, the request and its method,
 * then `nargs` of a1 and a2, and runs it to its end, doing the waits it
 * yields for. Returns the coroutine with the results on its stack (its
 * reference in c->ref), or NULL after answering: 500 with no state, when
 * the function itself failed or yielded (the coroutine is unusable then,
 * and left to be collected) or went over lua_memory_limit, 503 or 500
 * when handler_timeout stopped it. c->w is the state taken, if any. */
static lua_State *resume(struct call *c, int fn, int a1, int a2, int nargs)
{
    struct soom_request *r = c->r;
    struct soom_lua *w = worker_for_thread(c->pool);
    if (w == NULL) {
        internal_error(r);
        return NULL;
    }
    c->w = w;
    w->running++;
    lua_State *co = take_coroutine(w, &c->ref);
    lua_rawgeti(co, LUA_REGISTRYINDEX, fn == 0 ? w->dispatch_ref : w->hook_ref);
    lua_pushinteger(co, r->route->id + 1);
    lua_pushlightuserdata(co, r);
    lua_pushinteger(co, (lua_Integer)r->method);
    if (nargs > 0)
        lua_pushinteger(co, a1);
    if (nargs > 1)
        lua_pushinteger(co, a2);
    r->lua = true;
    r->lua_co = co;
    int rc = run_coroutine(c, co, 3 + nargs);
    r->lua_co = NULL;
    if (rc == RESUME_OVER) {
        over_limit(c);
        return NULL;
    }
    if (rc == RESUME_LOST) {
        /* stopped the hard way (500), or another request's stop took the
         * state this one was waiting on (503) */
        if (r->lua_stopped)
            handler_stopped(r, 500, NULL);
        else if (w->retired)
            state_gone(r);
        else
            handler_stopped(r, 503, NULL);
        return NULL;
    }
    if (rc == 0 && r->lua_stopped) {
        int first = fn == 0 ? 1 : 2; /* the hook's answers open with their kind */
        lua_settop(co, first + 5);
        handler_stopped(r, 503, lua_tostring(co, first + 4));
        lua_settop(co, 0);
        keep_coroutine(w, c->ref);
        return NULL;
    }
    if (rc == 0)
        return co;
    /* The function itself failed, or the resource yielded: the coroutine
     * is unusable; log, answer 500 and let it be collected. */
    const char *msg = rc == LUA_YIELD ? "a resource yielded outside of a coroutine it owns"
                                      : lua_tostring(co, -1);
    luaL_traceback(w->L, co, msg ? msg : "(no message)", 0);
    log_lua_error(r,
                  r->lua_stopped ? "a handler ran past handler_timeout without waiting: stopped"
                                 : "error in Lua code",
                  lua_tostring(w->L, -1));
    soom_metrics_lua_error(r->route->id);
    lua_pop(w->L, 1);
    luaL_unref(w->L, LUA_REGISTRYINDEX, c->ref);
    internal_error(r);
    return NULL;
}

static void done(struct soom_lua *w, lua_State *co, int ref)
{
    lua_settop(co, 0);
    keep_coroutine(w, ref);
    note_memory(w);
}

/* A hard stop of the watch landed (lua_watch.h): the state is lost, the
 * request answered 500, and the call over. */
static void hard_stopped(struct call *c)
{
    struct soom_request *r = c->r;
    r->lua_stopped = true;
    lose_state(c->w, r);
    r->lua_co = NULL;
    handler_stopped(r, 500, NULL);
    soom_lua_guard_set(NULL);
    leave(c);
}

void soom_lua_dispatch(struct soom_lua_pool *pool, struct soom_request *r)
{
    struct soom_lua_guard g;
    struct call c = {pool, r, NULL, 0, &g.jump};
    int landed = sigsetjmp(g.jump, 0);
    if (landed == SOOM_LUA_GUARD_PANIC) {
        escaped(&c, g.message);
        return;
    }
    if (landed == SOOM_LUA_WATCH_HARD_STOP) {
        hard_stopped(&c);
        return;
    }
    struct soom_lua_guard **slot = soom_lua_guard_set(&g);
    lua_State *co = resume(&c, 0, 0, 0, 0);
    if (co != NULL) {
        lua_settop(co, 6);
        take_results(co, r);
        done(c.w, co, c.ref);
    }
    soom_lua_guard_clear(slot);
    leave(&c);
}

static enum access_outcome access_answer(struct call *c, lua_State *co,
                                         const struct soom_request_user **user, const char **detail)
{
    struct soom_request *r = c->r;
    const char *kind = lua_tostring(co, 1);
    enum access_outcome o = ACCESS_NONE;
    if (kind == NULL || strcmp(kind, "answer") == 0) {
        /* a problem the class raised, or an error: the dispatcher's six */
        lua_remove(co, 1);
        lua_settop(co, 6);
        take_results(co, r);
        o = ACCESS_ANSWERED;
    } else if (strcmp(kind, "ok") == 0) {
        o = ACCESS_OK;
        const char *why = user ? soom_lua_access_user(co, 2, 3, r, user) : NULL;
        if (why != NULL) {
            log_lua_error(r, "an authentication class returned a bad user", why);
            internal_error(r);
            o = ACCESS_ANSWERED;
        }
    } else if (strcmp(kind, "fail") == 0) {
        o = ACCESS_FAIL;
        if (detail && lua_isstring(co, 2))
            *detail = soom_arena_strndup(r->arena, lua_tostring(co, 2), lua_objlen(co, 2));
    }
    done(c->w, co, c->ref);
    return o;
}

enum access_outcome soom_lua_access_hook(struct soom_lua_pool *pool, struct soom_request *r,
                                         int what, int lua, const struct soom_request_user **user,
                                         const char **detail)
{
    struct soom_lua_guard g;
    struct call c = {pool, r, NULL, 0, &g.jump};
    int landed = sigsetjmp(g.jump, 0);
    if (landed == SOOM_LUA_GUARD_PANIC) {
        escaped(&c, g.message);
        return ACCESS_ANSWERED;
    }
    if (landed == SOOM_LUA_WATCH_HARD_STOP) {
        hard_stopped(&c);
        return ACCESS_ANSWERED;
    }
    struct soom_lua_guard **slot = soom_lua_guard_set(&g);
    lua_State *co = resume(&c, 1, what, lua, 2);
    enum access_outcome o = co != NULL ? access_answer(&c, co, user, detail) : ACCESS_ANSWERED;
    soom_lua_guard_clear(slot);
    leave(&c);
    return o;
}

void soom_lua_pool_watch(struct soom_lua_pool *pool, uint64_t now, uint64_t grace_ns)
{
    pthread_mutex_lock(&pool->lock);
    for (size_t i = 0; i < pool->nall; i++) {
        if (!pool->all[i]->lost)
            soom_lua_watch_check(&pool->all[i]->watch, now, grace_ns);
    }
    pthread_mutex_unlock(&pool->lock);
}

uint64_t soom_lua_pool_memory(struct soom_lua_pool *pool)
{
    uint64_t sum = 0;
    pthread_mutex_lock(&pool->lock);
    for (size_t i = 0; i < pool->nall; i++)
        sum += atomic_load_explicit(&pool->all[i]->memory, memory_order_relaxed);
    pthread_mutex_unlock(&pool->lock);
    return sum;
}

const char *soom_lua_version(void)
{
    return LUAJIT_VERSION;
}
