/*
 * A request in flight, as the core and native modules see it.
 *
 * The server creates a request when the headers of an HTTP request have
 * arrived and frees it when the response has been sent (or the connection
 * lost). Everything reachable from it, and everything allocated from its
 * arena, is valid until then and no longer: strings returned here are
 * borrowed for the life of the request.
 */
#ifndef SOOM_REQUEST_H
#define SOOM_REQUEST_H

#include <stdbool.h>

#include "soom/arena.h"
#include "soom/soom.h"

struct soom_request;
struct soom_json;

/* The request's arena: allocate anything that should live as long as it. */
SOOM_API struct soom_arena *soom_request_arena(struct soom_request *r);

/* The method's name ("GET") and bit (enum soom_method). */
SOOM_API const char *soom_request_method(const struct soom_request *r);
SOOM_API unsigned soom_request_method_bit(const struct soom_request *r);

/* The decoded path, without the query string. */
SOOM_API const char *soom_request_path(const struct soom_request *r, size_t *len);

/* The request id (from a well-formed X-Request-Id, or generated). */
SOOM_API const char *soom_request_id(const struct soom_request *r, size_t *len);

/* A header by name, case-insensitively; NULL when absent. */
SOOM_API const char *soom_request_header(const struct soom_request *r, const char *name,
                                         size_t name_len, size_t *len);

/* A query parameter's last value; NULL when absent. */
SOOM_API const char *soom_request_query(const struct soom_request *r, const char *name,
                                        size_t name_len, size_t *len);

/* A route parameter by name; NULL when absent. */
SOOM_API const char *soom_request_param(const struct soom_request *r, const char *name,
                                        size_t name_len, size_t *len);

/* The raw body (NULL, 0 when there is none). */
SOOM_API const char *soom_request_body(const struct soom_request *r, size_t *len);

/* The parsed JSON body, NULL when there is none. Owned by the request. */
SOOM_API const struct soom_json *soom_request_json(const struct soom_request *r);

#endif
