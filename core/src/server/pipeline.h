/*
 * The request pipeline, independent of the HTTP library: what happens to a
 * request between the server receiving its headers and sending its
 * response. The server calls the three steps in order; any step may answer
 * the request early (r->responded), after which the server sends the
 * response and calls no further step.
 *
 *   begin:  request id and trace context, the built-in endpoints (/metrics,
 *           /live, /ready), routing (404, 405, OPTIONS), size and media-type
 *           checks that need no body (413, 415)
 *   body:   collects the body up to max_body
 *   finish: parses JSON (400), then runs the resource
 */
#ifndef SOOM_PIPELINE_H
#define SOOM_PIPELINE_H

#include <stdbool.h>

#include "request_impl.h"

void soom_pipeline_begin(struct soom_request *r);

/* The request id and trace context, from the headers (the first thing
 * begin does; the metrics port's requests need nothing more). */
void soom_pipeline_identify(struct soom_request *r);

/* Returns false when the connection should be dropped (a client that keeps
 * sending far past the body limit). */
bool soom_pipeline_body(struct soom_request *r, const char *p, size_t n);

void soom_pipeline_finish(struct soom_request *r);

/* True when the request announced a body (Content-Length > 0 or chunked). */
bool soom_pipeline_expects_body(const struct soom_request *r);

#endif
