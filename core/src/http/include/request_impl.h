/*
 * The layout of a request, private to the core.
 *
 * One struct per HTTP request, carved from the request's own arena, so
 * freeing the arena frees the request. The server fills the inbound part
 * (method, path, headers, query, body); the pipeline fills the route and
 * the response, which the server then sends. Strings in `headers` and
 * `query` are borrowed from the HTTP layer, which keeps them until the
 * request completes.
 */
#ifndef SOOM_REQUEST_IMPL_H
#define SOOM_REQUEST_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "ops_trace.h"
#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/request.h"
#include "soom/router.h"

struct soom_app;
struct soom_config;
struct soom_route;
struct soom_pg_conn;
struct soom_pg_result;
struct soom_module_handle;
struct sockaddr;
struct soom_access_route;
struct soom_json;

struct soom_kv {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

struct soom_header_out {
    struct soom_header_out *next;
    const char *name;
    const char *value;
};

#define SOOM_REQUEST_ID_MAX 128

/* Who sent the request, once authentication succeeded (core/src/access/):
 * every string in the request's arena. `doc` is what Lua sees as req.user
 * (the user row's fields, never its password), `auth` what it sees as
 * req.auth (the token row, the JWT's claims...), both JSON objects. */
struct soom_request_user {
    const char *id; /* the user's primary key as text */
    size_t id_len;
    bool id_is_int;
    bool is_staff;
    bool is_superuser;
    const char *doc;
    size_t doc_len;
    const char *auth; /* NULL: none, or see auth_doc */
    size_t auth_len;
    const struct soom_json *auth_doc; /* req.auth as a parsed document (a JWT's
                                       * claims, owned by the arena), written
                                       * out only when Lua asks */
};

struct soom_request {
    struct soom_arena *arena;
    const struct soom_app *app;
    const struct soom_config *config; /* the app's settings */
    void *conn;                       /* the server's record of the connection */
    uint64_t start_ns;

    /* inbound */
    bool begun; /* the server has called the pipeline's begin step */
    unsigned method;
    const char *method_name;
    size_t method_len;
    /* the request target as the client sent it (in the arena), NULL when
     * the server has none to give (the metrics port): then `path` is the
     * HTTP library's and the head is not checked */
    char *target;
    size_t target_len;
    bool http11;      /* HTTP/1.1, not 1.0 */
    const char *path; /* decoded; the router matches it */
    size_t path_len;
    struct soom_kv *headers;
    size_t nheaders;
    /* the headers the pipeline itself reads, found in one pass over
     * `headers` by the head's checks (http_head.h) or, for a head they
     * refused or never saw, soom_request_index_headers() (NULL when absent) */
    const struct soom_kv *h_content_length;
    const struct soom_kv *h_content_type;
    const struct soom_kv *h_transfer_encoding;
    const struct soom_kv *h_request_id;
    const struct soom_kv *h_traceparent;
    const struct soom_kv *h_tracestate;
    struct soom_kv *query;
    size_t nquery;
    char request_id[SOOM_REQUEST_ID_MAX + 1];
    size_t request_id_len;

    struct soom_trace trace; /* W3C trace context, set with the request id */
    bool probe;              /* a health probe or a scrape: kept out of the access log and
                              * of the HTTP metrics */
    bool ready_check;        /* /ready, its database check left to the last step, which may wait */

    const struct sockaddr *peer; /* the client's address, the HTTP layer's (may be NULL) */

    /* routing */
    int route_status; /* SOOM_OK, SOOM_ENOTFOUND or SOOM_EMETHOD */
    const struct soom_route *route;
    struct soom_route_match match;

    /* body */
    char *body;
    size_t body_len;
    size_t body_cap;
    size_t body_expected; /* Content-Length, or 0 */
    bool body_discarding; /* over max_body: drop what still arrives */
    size_t body_discarded;
    struct soom_json *json;
    struct soom_json *query_json; /* the query coerced by the route's query schema */

    /* the database connection this request holds, if any (released by a
     * deferred callback on the arena) */
    struct soom_pg_conn *pg;
    /* a read replica's connection (database.replicas), and whether this
     * request's reads go to the primary anyway */
    struct soom_pg_conn *pg_read;
    bool read_primary;
    bool readonly; /* a Lua handler declared readonly = true: its reads may go to a replica */

    bool lua; /* Lua was entered for this request (the access log says so) */
    /* Lua (lua_worker.c, lua_wait.c): the coroutine running the request,
     * the waiting call it yielded for, and whether handler_timeout stopped
     * it */
    void *lua_co;
    void *lua_wait;
    bool lua_stopped;

    /* native modules (core/src/module/) */
    void **module_ctx; /* each module's context slot, NULL until one is set */
    const struct soom_module_handle *module_calling; /* whose function runs now */
    uint8_t module_where;                            /* what kind of call that is (module_run.c) */
    uint8_t wait_phase;   /* where the pipeline goes on after a suspension */
    uint16_t wait_next;   /* the next middleware of that phase */
    uint64_t wait_ticket; /* the suspension in force, 0 when none */
    void *wait_fn;        /* its soom_module_resume_fn, or NULL */
    const struct soom_module_handle *wait_module;
    bool response_phase_ran;
    /* authentication: the user, NULL while anonymous; the class that
     * authenticated the request (-1: none) */
    const struct soom_request_user *user;
    int auth_class;
    const struct soom_access_route *access; /* the route's chain, set when it runs */

    /* response */
    bool responded;
    bool close; /* the connection carries no request after this one */
    int status;
    struct soom_header_out *out_headers;
    const char *content_type;
    char *out_body; /* in the arena when out_in_arena, else malloc'ed and handed
                     * to the HTTP layer, which frees it */
    size_t out_len;
    bool out_in_arena;
};

/* A request for an HTTP request whose headers just arrived, served by
 * `app` (opaque here) under `config` (borrowed; both outlive every
 * request). The arena is owned by the request (soom_request_free). */
struct soom_request *soom_request_new(const struct soom_app *app, const struct soom_config *config);

/* Frees the request, its arena and its response body if still held.
 * Accepts NULL. */
void soom_request_free(struct soom_request *r);

/* Finds the headers the pipeline reads. Call once the headers are set. */
void soom_request_index_headers(struct soom_request *r);

/* Sets the request id from X-Request-Id when well-formed, else generates
 * one. Call after soom_request_index_headers(). */
void soom_request_assign_id(struct soom_request *r);

/* The request the calling thread is running Lua for, NULL outside of a
 * dispatch. Lets C functions called from Lua (database access) find the
 * request without it being passed through every Lua call. */
struct soom_request *soom_request_current(void);
void soom_request_set_current(struct soom_request *r);

/* The request's database connection, taken from the process's pool on
 * first use and released with the request (request_pg.c). Returns SOOM_OK,
 * SOOM_EUNAVAIL (pool exhausted or database down) or SOOM_ECONFIG (no
 * database configured). */
int soom_request_pg(struct soom_request *r, struct soom_pg_conn **out);

/* Gives the request's connection back now (once its response is made);
 * accepts a request holding none. */
void soom_request_pg_release(struct soom_request *r);

/* Runs a read (soom_pg_exec's arguments): on a usable read replica that
 * has replayed the request's Soom-Read-After position, unless the request
 * already used the primary; else on the primary. A replica that fails to
 * answer (down, restarting, a conflict with recovery) is set aside and the
 * read runs again on the primary, so a replica going away fails no read.
 * *used is the connection whose error describes a failure (NULL when none
 * could be had). */
int soom_request_pg_read_exec(struct soom_request *r, const char *sql, int n,
                              const char *const *values, const size_t *lengths, const bool *binary,
                              struct soom_pg_result **out, struct soom_pg_conn **used);

/* The end of the request's work on the database (the pipeline calls it
 * once the response is made, on the request's fiber): with read replicas,
 * a request of an unsafe method that used the primary is given the
 * primary's WAL position after its writes as a Soom-Read-After response
 * header; then the connections go back. */
void soom_request_pg_done(struct soom_request *r);

#endif
