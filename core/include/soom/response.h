/*
 * Building the response of a request.
 *
 * The response lives in the request: a status, headers (copied into the
 * request's arena) and a body. Setting a body replaces the previous one.
 * Error responses are RFC 9457 problem documents, built by
 * soom_response_problem(); every error the core answers goes through it.
 */
#ifndef SOOM_RESPONSE_H
#define SOOM_RESPONSE_H

#include "soom/buf.h"
#include "soom/soom.h"

struct soom_request;

SOOM_API void soom_response_status(struct soom_request *r, int status);

/* Adds a header; name and value are copied. */
SOOM_API void soom_response_header(struct soom_request *r, const char *name, const char *value);

/* Adds a header without copying: name and value must outlive the request
 * (strings made at start-up). */
SOOM_API void soom_response_header_borrow(struct soom_request *r, const char *name,
                                          const char *value);

/* The calling thread's scratch buffer, empty: build a body in it, then give
 * it to soom_response_take(). Valid until the thread's next call. */
SOOM_API struct soom_buf *soom_response_buffer(void);

/* Sets `body` as the response body with the given Content-Type (a static
 * string or one the request outlives): copied into the request's arena
 * when small, else its bytes are taken. The buffer is empty afterwards
 * (the scratch buffer keeps its memory for the next response). */
SOOM_API void soom_response_take(struct soom_request *r, struct soom_buf *body,
                                 const char *content_type);

/* Sets (p, n) as the body without copying: the bytes must outlive the
 * request (static bytes made at start-up). */
SOOM_API void soom_response_borrow(struct soom_request *r, const char *p, size_t n,
                                   const char *content_type);

/* Drops the response body. */
SOOM_API void soom_response_clear_body(struct soom_request *r);

/* Copies (p, n) as the body. */
SOOM_API void soom_response_copy(struct soom_request *r, const char *p, size_t n,
                                 const char *content_type);

/* Answers an application/problem+json document with `status`, its reason
 * phrase as title, `detail` (may be NULL) and the request path as instance.
 * `errors`, when not NULL, is a JSON array text placed as the "errors"
 * member. */
SOOM_API void soom_response_problem(struct soom_request *r, int status, const char *detail,
                                    const char *errors);

/* The same with a problem `type` (a URI naming the case; NULL:
 * "about:blank"). */
SOOM_API void soom_response_problem_type(struct soom_request *r, int status, const char *type,
                                         const char *detail, const char *errors);

/* The reason phrase of a status ("Not Found"); "Unknown" when unknown. */
SOOM_API const char *soom_response_reason(int status);

#endif
