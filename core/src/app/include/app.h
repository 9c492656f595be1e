/*
 * The app as the core serves it: settings, the route table and the router.
 *
 * Built once at start-up from what the Lua layer declared (the resources
 * and their routes), then read-only and shared by every worker thread of
 * the process. Route ids are indexes into `routes` and match the order in
 * which every worker's Lua state lists the same resources.
 */
#ifndef SOOM_APP_H
#define SOOM_APP_H

#include <stdbool.h>

#include "soom/config.h"
#include "soom/router.h"

struct soom_lua_pool;
struct soom_validator;
struct soom_plan;
struct soom_module_route;
struct soom_access;
struct soom_access_route;
struct access_route_spec;
struct access_class_spec;

/* What the Lua layer declares for a route. Schemas are JSON texts (NULL when
 * absent): the body schema for POST and PUT, its partial form (no top-level
 * "required") for PATCH, and the query schema for every method. */
struct plan_spec;

/* Bytes a route answers as they are, built at start-up (the OpenAPI
 * document, the pages and assets of the docs): GET and HEAD only, with an
 * ETag of the bytes and the Cache-Control given. */
struct soom_static {
    char *data;
    size_t len;
    char *content_type;
    char *cache_control;
    char **headers; /* more response headers: name, value, name, value... */
    size_t nheaders;
    char etag[24]; /* "\"<16 hex digits>\"" */
};

/* Whether a route honours Idempotency-Key on POST and PATCH. */
enum soom_idempotency {
    SOOM_IDEMPOTENCY_DEFAULT, /* settings.idempotency.enabled decides */
    SOOM_IDEMPOTENCY_OFF,
    SOOM_IDEMPOTENCY_ON,
    SOOM_IDEMPOTENCY_REQUIRED, /* a POST or PATCH without a key is a 400 */
};

struct soom_route_spec {
    const char *pattern;
    const char *name;
    unsigned methods;
    bool raw_body;
    const char *body_schema;
    const char *patch_schema;
    const char *query_schema;
    const struct plan_spec *plan; /* a generic resource's plan, or NULL */
    /* authentication, permissions, throttles, or a token view; NULL: none */
    const struct access_route_spec *access;
    /* static bytes (copied), or static_data NULL; static_later: bytes to
     * come (soom_app_static_fill) */
    const char *static_data;
    size_t static_len;
    bool static_later;
    const char *static_type;
    const char *static_cache;
    const char *const *static_headers; /* name, value, ... */
    size_t static_nheaders;
    const struct soom_module_route *native; /* a native module's route, or NULL */
    /* the resource's own handler_timeout (seconds, 0: none), when set */
    bool has_handler_timeout;
    double handler_timeout;
    enum soom_idempotency idempotency;
};

struct soom_route {
    int id;
    char *pattern;
    char *pattern_json;          /* the pattern as a JSON string, for the access log */
    char *name;                  /* where it was declared, for messages and logs */
    unsigned methods;            /* enum soom_method bits */
    bool raw_body;               /* the resource takes its body as bytes, not JSON */
    struct soom_validator *body; /* compiled at start-up; NULL: none */
    struct soom_validator *patch;
    struct soom_validator *query;
    struct soom_plan *plan;                 /* a generic resource's plan, or NULL */
    struct soom_access_route *access;       /* its access chain, or NULL: anyone, unthrottled */
    struct soom_static *statics;            /* static bytes, or NULL */
    const struct soom_module_route *native; /* a native module's route (module_run.h) */
    double handler_timeout; /* the resource's own (seconds, 0: none), or -1: the settings' */
    enum soom_idempotency idempotency; /* resolved: never DEFAULT */
};

struct soom_app {
    struct soom_config *config; /* owned */
    char *dir;                  /* the app folder */
    char *home;                 /* soom's data folder (share/soom) */
    struct soom_router *router;
    struct soom_route *routes;
    size_t nroutes;
    size_t nstatic;             /* routes of static bytes: the last ones, never dispatched to Lua */
    struct soom_lua_pool *lua;  /* per process: made after any fork and freed by
                                 * the server (server.c) */
    struct soom_access *access; /* the authentication classes, the credential
                                 * cache and the throttle counters (owned) */
};

/* An app with no routes, taking ownership of `config`; freed with
 * soom_app_free(), which accepts NULL. */
struct soom_app *soom_app_new(struct soom_config *config, const char *dir, const char *home);
void soom_app_free(struct soom_app *app);

/* Adds an authentication class under the next number (the order the Lua
 * layer numbers them in). Errors as soom_access_add_class(). */
int soom_app_add_class(struct soom_app *app, const struct access_class_spec *spec, char *err,
                       size_t errlen);

/* Adds a route and compiles its schemas; its id is the number of routes
 * before it. Errors as soom_router_add(), and SOOM_EINVAL for a schema the
 * validator refuses, with a message naming the resource, the schema and the
 * place in it, in `err`. */
int soom_app_add_route(struct soom_app *app, const struct soom_route_spec *spec, char *err,
                       size_t errlen);

/* Gives the route `id`, added with static_later, its bytes (copied).
 * SOOM_EINVAL when that route waits for none. Before serving only: the
 * route table is not locked. */
int soom_app_static_fill(struct soom_app *app, size_t id, const char *data, size_t len);

#endif
