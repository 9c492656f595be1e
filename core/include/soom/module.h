/*
 * soom/module.h: the stable C ABI of native modules, and the only header a
 * module includes.
 *
 * A module is a shared object that exports one function, soom_module_v1(),
 * returning its descriptor (struct soom_module): the ABI major it was built
 * for, the lowest minor whose host functions it needs, its name, version
 * and hooks. The host opens it with RTLD_NOW | RTLD_LOCAL, checks the
 * descriptor and calls init() once, handing it the function table (struct
 * soom_module_host) through which the module reaches everything else.
 * Nothing of the core's layout is visible here: requests, responses and
 * JSON values are opaque handles read and written through that table.
 *
 * Versioning: a module built against ABI 1.m loads in every host 1.n with
 * n >= m, and in no host of another major. Both structs start with their
 * size and only ever grow at the end; an entry never changes meaning. A
 * module built against a newer header may test for an entry with
 * SOOM_MODULE_HAS() before calling it, and then declare a lower abi_minor.
 *
 * Lifecycle: init (once per process, before the server starts and before
 * any fork), worker_start / worker_stop (once per worker Lua state, one per
 * worker thread, on the thread that creates or closes it), shutdown (once
 * per process that served, and in the command line's process). A module is
 * never unloaded. Registration (middleware, routes, formats, Lua libraries)
 * is accepted during init only; afterwards the registries are read by
 * every worker thread without locks.
 *
 * Threads: a request and its response are touched only from the thread
 * that is calling the module about them, except resume(), which may be
 * called from any thread. Strings returned by the accessors are borrowed:
 * valid until the request completes (request data), or until shutdown
 * returns (settings). Errors are SOOM_MODULE_OK or a negative
 * SOOM_MODULE_E* code; out of memory aborts the process, so no accessor
 * returns NULL for that.
 */
#ifndef SOOM_MODULE_H
#define SOOM_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOOM_MODULE_ABI_MAJOR 1
#define SOOM_MODULE_ABI_MINOR 1

/* The name of the entry point, for the host's dlsym(). */
#define SOOM_MODULE_ENTRY "soom_module_v1"

#if defined(__GNUC__)
#define SOOM_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define SOOM_MODULE_EXPORT
#endif

/* True when `host` has the entry `field` (and it is set). */
#define SOOM_MODULE_HAS(host, field)                                                               \
    ((host)->size >= offsetof(struct soom_module_host, field) + sizeof((host)->field) &&           \
     (host)->field != NULL)

struct lua_State;
struct soom_request;       /* a request in flight */
struct soom_response;      /* the response of a request */
struct soom_json;          /* a JSON value: settings, a parsed body */
struct soom_module_handle; /* the module as the host loaded it (one per module) */
struct soom_module_host;

/* Codes returned by host functions (and by init / worker_start). */
enum soom_module_code {
    SOOM_MODULE_OK = 0,
    SOOM_MODULE_ERROR = -1,     /* a failure; set_error() tells why */
    SOOM_MODULE_EINVAL = -2,    /* a bad argument: name, pattern, phase, timeout */
    SOOM_MODULE_ESTATE = -3,    /* not allowed now (registration after init, ...) */
    SOOM_MODULE_ENOTFOUND = -4, /* resume(): no such suspension (timed out, resumed) */
    SOOM_MODULE_EEXIST = -5,    /* a name or route already taken */
};

/* What a middleware, a route handler or a resume callback returns. */
enum soom_module_result {
    SOOM_MODULE_CONTINUE = 0, /* go on with the request */
    SOOM_MODULE_RESPOND = 1,  /* the response is set: send it now */
    /* 400..599: answer an application/problem+json document with that
     * status (whatever else is returned is a 500, logged) */
};

/* Where a middleware runs. Each phase runs the middleware of every module
 * in module order, except SOOM_PHASE_RESPONSE, which runs in reverse (the
 * first module sees the request first and the response last). */
enum soom_module_phase {
    SOOM_PHASE_REQUEST = 0,  /* headers arrived, before routing */
    SOOM_PHASE_ROUTED = 1,   /* a route matched (and the client authenticated),
                              * before the body is read */
    SOOM_PHASE_HANDLER = 2,  /* body read, parsed and validated; before the
                              * handler (may suspend) */
    SOOM_PHASE_RESPONSE = 3, /* every response before it is sent, whatever made it
                              * (handler, error, a middleware); may change it */
    SOOM_PHASE_DONE = 4,     /* after the response is sent or the client left;
                              * observes only (the result is ignored) */
};

enum soom_module_json_type {
    SOOM_MODULE_JSON_NONE = 0, /* no value (a NULL handle, a missing member) */
    SOOM_MODULE_JSON_NULL = 1,
    SOOM_MODULE_JSON_BOOL = 2,
    SOOM_MODULE_JSON_NUMBER = 3,
    SOOM_MODULE_JSON_STRING = 4,
    SOOM_MODULE_JSON_ARRAY = 5,
    SOOM_MODULE_JSON_OBJECT = 6,
};

enum soom_module_log_level {
    SOOM_MODULE_LOG_DEBUG = 0,
    SOOM_MODULE_LOG_INFO = 1,
    SOOM_MODULE_LOG_WARN = 2,
    SOOM_MODULE_LOG_ERROR = 3,
};

/* Flags of add_route(). */
#define SOOM_MODULE_ROUTE_RAW_BODY 1u /* any media type; the body is not parsed */

/* A middleware or a route handler: returns an enum soom_module_result. */
typedef int (*soom_module_request_fn)(struct soom_request *req, struct soom_response *resp,
                                      void *ud);
/* Called on the request's thread once a suspended request is resumed
 * (result as given to resume()) or timed out (timed_out true, result
 * NULL). Returns as the function that suspended it would; it may suspend
 * again. */
typedef int (*soom_module_resume_fn)(struct soom_request *req, struct soom_response *resp,
                                     void *result, bool timed_out);
/* A JSON Schema "format": true when the string (s, n) is valid. Called
 * from any worker thread at once. */
typedef bool (*soom_module_format_fn)(const char *s, size_t n, void *ud);
/* Opens a Lua library: pushes its table (a lua_CFunction). */
typedef int (*soom_module_lua_fn)(struct lua_State *L);
typedef void (*soom_module_cleanup_fn)(void *data);

/* The descriptor a module returns from soom_module_v1(). Static data: the
 * host reads it, never writes it, and may keep the pointer for good. */
struct soom_module {
    size_t size;        /* sizeof(struct soom_module) as the module was built */
    uint32_t abi_major; /* SOOM_MODULE_ABI_MAJOR */
    uint32_t abi_minor; /* the lowest minor of the host table it needs */
    const char *name;   /* [a-z][a-z0-9_]*: the key under `modules` in settings */
    const char *version;
    /* Once, with the module's settings (its table under `modules`, without
     * the host's own keys `path` and `order`; valid until shutdown).
     * Registers what the module provides. Returns SOOM_MODULE_OK, or
     * another code after set_error(): start-up then stops. */
    int (*init)(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings);
    /* Optional. Once per worker Lua state, after it loaded the app; a
     * failure stops start-up (or, for a state made later, that state). */
    int (*worker_start)(struct soom_module_handle *mod, struct lua_State *L);
    /* Optional. Before that state closes. */
    void (*worker_stop)(struct soom_module_handle *mod, struct lua_State *L);
    /* Optional. Once, when the process stops. */
    void (*shutdown)(struct soom_module_handle *mod);
};

/* The one symbol a module exports. */
SOOM_MODULE_EXPORT const struct soom_module *soom_module_v1(void);

/* The host's function table. Valid for the life of the process. Entries
 * are grouped by the minor that added them; 1.0 is the first. */
struct soom_module_host {
    size_t size; /* sizeof(struct soom_module_host) as the host was built */
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *soom_version; /* "0.1.0" */

    /* ---- 1.0: registration (during init only) ----------------------------
     * add_middleware: runs fn(req, resp, ud) at `phase`.
     * add_route: serves `pattern` (the router's syntax, "/things/{id:int}")
     *   for `methods` ("GET, POST"; HEAD follows GET) with fn; the route is
     *   listed by `soom routes`. The body is JSON (parsed, 415 otherwise)
     *   unless flags has SOOM_MODULE_ROUTE_RAW_BODY.
     * add_format: a JSON Schema "format" of that name, always asserted
     *   (unlike the built-in ones, which settings.format_assertion turns on).
     * add_lua_library: `require "soom.ext.<name>"` opens it in every Lua
     *   state of the process (`name` may contain dots).
     * set_error: the reason init or worker_start is about to fail; copied.
     * log: one line with the module's name, and the request id when req is
     *   not NULL. */
    int (*add_middleware)(struct soom_module_handle *mod, int phase, soom_module_request_fn fn,
                          void *ud);
    int (*add_route)(struct soom_module_handle *mod, const char *methods, const char *pattern,
                     unsigned flags, soom_module_request_fn fn, void *ud);
    int (*add_format)(struct soom_module_handle *mod, const char *name, soom_module_format_fn fn,
                      void *ud);
    int (*add_lua_library)(struct soom_module_handle *mod, const char *name,
                           soom_module_lua_fn open);
    void (*set_error)(struct soom_module_handle *mod, const char *message);
    void (*log)(const struct soom_module_handle *mod, const struct soom_request *req, int level,
                const char *message);

    /* ---- 1.0: JSON values (settings, request bodies), read-only ----------
     * json_type: an enum soom_module_json_type (NONE for NULL).
     * json_get: an object's member by key, NULL when absent or not an object.
     * json_count: the items of an array or members of an object, else 0.
     * json_at: item i of an array or member i of an object, else NULL.
     * json_key: the key of a member returned by json_at on an object.
     * json_string: the text of a string (NUL-terminated too), else NULL.
     * json_number: a number's value, else 0.
     * json_bool: a boolean's value, else false. */
    int (*json_type)(const struct soom_json *v);
    const struct soom_json *(*json_get)(const struct soom_json *object, const char *key);
    size_t (*json_count)(const struct soom_json *v);
    const struct soom_json *(*json_at)(const struct soom_json *v, size_t i);
    const char *(*json_key)(const struct soom_json *member);
    const char *(*json_string)(const struct soom_json *v, size_t *len);
    double (*json_number)(const struct soom_json *v);
    bool (*json_bool)(const struct soom_json *v);

    /* ---- 1.0: the request --------------------------------------------------
     * Strings are not NUL-terminated unless said; *len gets the length.
     * req_method: "GET" (NUL-terminated).
     * req_path: the decoded path, without the query string.
     * req_route: the matched pattern (NUL-terminated), NULL before routing or
     *   when nothing matched.
     * req_param: a route parameter by name; NULL when absent.
     * req_header: a header by name, case-insensitively; NULL when absent.
     * req_header_at: header i (its name in *name, NUL-terminated), NULL past
     *   the last one.
     * req_query: a query parameter's last value (decoded); NULL when absent.
     * req_body: the raw body, NULL when there is none (read from the handler
     *   phase on).
     * req_json: the parsed body, NULL when there is none or it is raw.
     * req_user / req_set_user: the id of the authenticated user, NULL when
     *   anonymous; a module that authenticates sets it (copied).
     * req_id: the request id (X-Request-Id when well-formed, else made). */
    const char *(*req_method)(const struct soom_request *req);
    const char *(*req_path)(const struct soom_request *req, size_t *len);
    const char *(*req_route)(const struct soom_request *req);
    const char *(*req_param)(const struct soom_request *req, const char *name, size_t *len);
    const char *(*req_header)(const struct soom_request *req, const char *name, size_t *len);
    const char *(*req_header_at)(const struct soom_request *req, size_t i, const char **name,
                                 size_t *len);
    const char *(*req_query)(const struct soom_request *req, const char *name, size_t *len);
    const char *(*req_body)(const struct soom_request *req, size_t *len);
    const struct soom_json *(*req_json)(const struct soom_request *req);
    const char *(*req_user)(const struct soom_request *req, size_t *len);
    void (*req_set_user)(struct soom_request *req, const char *id, size_t len);
    const char *(*req_id)(const struct soom_request *req, size_t *len);

    /* ---- 1.0: per-request memory ---------------------------------------
     * alloc: n bytes from the request's arena, aligned for any type, freed
     *   with the request (never NULL).
     * defer: fn(data) when the request's memory is freed, after the done
     *   phase, newest first.
     * get_context / set_context: the module's own slot on the request
     *   (NULL until set). */
    void *(*alloc)(struct soom_request *req, size_t n);
    void (*defer)(struct soom_request *req, soom_module_cleanup_fn fn, void *data);
    void *(*get_context)(const struct soom_request *req, const struct soom_module_handle *mod);
    void (*set_context)(struct soom_request *req, const struct soom_module_handle *mod,
                        void *value);

    /* ---- 1.0: the response -----------------------------------------------
     * resp_status / resp_set_status: 200 until set.
     * resp_header: a header set so far (Content-Type included), NUL-terminated;
     *   NULL when absent.
     * resp_set_header: replaces every header of that name (value NULL
     *   removes them); copied. SOOM_MODULE_EINVAL for CR, LF or ':' in a
     *   name, CR or LF in a value.
     * resp_add_header: adds one more header of that name (Set-Cookie).
     * resp_body: the body so far (NULL, 0 when empty).
     * resp_set_body: copies (p, n) as the body; content_type may be NULL to
     *   keep the current one.
     * resp_set_body_ref: the same without the copy: (p, n) must stay valid
     *   until the request completes (from alloc(), or static).
     * resp_problem: an RFC 9457 problem document with `status` and
     *   `detail` (may be NULL). */
    int (*resp_status)(const struct soom_response *resp);
    void (*resp_set_status)(struct soom_response *resp, int status);
    const char *(*resp_header)(const struct soom_response *resp, const char *name);
    int (*resp_set_header)(struct soom_response *resp, const char *name, const char *value);
    int (*resp_add_header)(struct soom_response *resp, const char *name, const char *value);
    const char *(*resp_body)(const struct soom_response *resp, size_t *len);
    void (*resp_set_body)(struct soom_response *resp, const char *p, size_t n,
                          const char *content_type);
    void (*resp_set_body_ref)(struct soom_response *resp, const char *p, size_t n,
                              const char *content_type);
    void (*resp_problem)(struct soom_response *resp, int status, const char *detail);

    /* ---- 1.0: waiting ---------------------------------------------------
     * suspend: from a handler-phase middleware, a route handler or a resume
     *   callback. Once the calling function returns (its result is then
     *   ignored), the request waits, holding no thread, until resume() or
     *   until timeout_ms (1 .. 3,600,000) pass; then on_resume runs on the
     *   request's thread (NULL: continue, or on a timeout answer 504).
     *   Returns a ticket (never 0), or 0 when suspending is not possible
     *   here (the reason is logged).
     * resume: from any thread, once. SOOM_MODULE_OK: `result` now belongs
     *   to on_resume. SOOM_MODULE_ENOTFOUND: the request timed out or was
     *   resumed already; the caller keeps `result`. */
    uint64_t (*suspend)(struct soom_request *req, uint32_t timeout_ms,
                        soom_module_resume_fn on_resume);
    int (*resume)(uint64_t ticket, void *result);

    /* ---- 1.0: Lua --------------------------------------------------------
     * current_request: the request whose Lua handler the calling thread is
     *   running (for a module's Lua library), NULL otherwise. */
    struct soom_request *(*current_request)(void);

    /* ---- 1.1: constant response headers ---------------------------------
     * add_response_header: during init, a header sent with every response
     *   the response phase sees (the app's, errors, other modules'; not the
     *   probes /live, /ready and /metrics), unless the response has a header
     *   of that name already, which wins. For a header whose value never
     *   depends on the request: checked and copied once, it costs no
     *   middleware call and no copy per request. SOOM_MODULE_EINVAL for a
     *   bad name or value, or a header the server writes itself
     *   (Content-Type, Content-Length, Transfer-Encoding, Connection, Date,
     *   X-Request-Id, traceparent, tracestate). */
    int (*add_response_header)(struct soom_module_handle *mod, const char *name, const char *value);
};

#endif
