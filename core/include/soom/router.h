/*
 * The router: a trie of path segments built once at start-up and only read
 * afterwards, so worker threads share it without locks.
 *
 * Patterns are made of static segments and parameters: "/samples/{id:int}".
 * A parameter is `{name}` (any non-empty segment) or `{name:type}` with type
 * int (decimal digits, at most 2^53 - 1, so it is exact as a Lua number),
 * uuid (8-4-4-4-12 hex digits) or slug (letters, digits, '-' and '_').
 * At a segment, static children are tried before parameters, and matching
 * backtracks, so "/a/new" and "/a/{id}" coexist. Two parameters at the same
 * place must have disjoint types (int and uuid); anything else is ambiguous
 * and soom_router_add() refuses it, naming both routes.
 */
#ifndef SOOM_ROUTER_H
#define SOOM_ROUTER_H

#include "soom/soom.h"

#define SOOM_ROUTER_MAX_PARAMS 16

enum soom_method {
    SOOM_GET = 1 << 0,
    SOOM_HEAD = 1 << 1,
    SOOM_POST = 1 << 2,
    SOOM_PUT = 1 << 3,
    SOOM_PATCH = 1 << 4,
    SOOM_DELETE = 1 << 5,
    SOOM_OPTIONS = 1 << 6,
};

enum soom_param_type {
    SOOM_PARAM_ANY,
    SOOM_PARAM_INT,
    SOOM_PARAM_UUID,
    SOOM_PARAM_SLUG,
};

struct soom_route_param {
    const char *name;  /* borrowed from the router */
    const char *value; /* borrowed from the matched path; not NUL-terminated */
    size_t len;
    enum soom_param_type type;
};

struct soom_route_match {
    int route_id;
    const char *pattern; /* borrowed from the router */
    unsigned allowed;    /* methods of the matched route */
    size_t nparams;
    struct soom_route_param params[SOOM_ROUTER_MAX_PARAMS];
};

struct soom_router;

/* An empty router; freed with soom_router_free(), which accepts NULL. */
SOOM_API struct soom_router *soom_router_new(void);
SOOM_API void soom_router_free(struct soom_router *r);

/* Adds `pattern` served by route `route_id` for the `methods` mask. `owner`
 * names where the route was declared, for messages. Returns SOOM_OK,
 * SOOM_EINVAL for a malformed pattern or SOOM_ECONFLICTROUTE for a duplicate
 * or ambiguous one; on error writes a message naming both routes to `err`. */
SOOM_API int soom_router_add(struct soom_router *r, const char *pattern, unsigned methods,
                             int route_id, const char *owner, char *err, size_t errlen);

/* Finds the route for (path, len). Returns SOOM_OK with `m` filled,
 * SOOM_ENOTFOUND, or SOOM_EMETHOD when the path matched but the route does
 * not serve `method` (m->allowed then says which it does). HEAD is served
 * by any route that serves GET. */
SOOM_API int soom_router_match(const struct soom_router *r, const char *path, size_t len,
                               unsigned method, struct soom_route_match *m);

/* Number of routes added. */
SOOM_API size_t soom_router_count(const struct soom_router *r);

/* The method bit for a method name, 0 when unknown. */
SOOM_API unsigned soom_router_method_parse(const char *name, size_t len);

/* The name of a single method bit ("GET"), NULL when not one. */
SOOM_API const char *soom_router_method_name(unsigned method);

/* Writes the methods of `mask` as an Allow header value ("GET, HEAD, POST")
 * into buf; returns its length. */
SOOM_API size_t soom_router_methods_format(unsigned mask, char *buf, size_t buflen);

#endif
