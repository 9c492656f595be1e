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
 *   finish: authentication, permissions and throttles (401, 403, 429),
 *           parses JSON (400), validates (422), then runs the resource;
 *           every wait in it ends by request_timeout, and the database
 *           connection goes back to the pool as soon as the response is
 *           made. Under the async server it runs on a fiber
 *           (server_async.c).
 *
 * Native modules' middleware runs at the phases of soom/module.h: request
 * (in begin, before routing), routed (in begin, after it), handler (in
 * finish, after the access chain and validation, before the resource),
 * response (soom_pipeline_respond) and done (soom_pipeline_done). A
 * handler-phase middleware or a module's route may suspend the request;
 * see soom_pipeline_waiting().
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

/* True when the step just run suspended the request (a native module is
 * waiting): the server parks it until its ticket (r->wait_ticket) is
 * woken, takes the ticket's result, clears r->wait_ticket and calls
 * soom_pipeline_resume(), which goes on where the request stopped. */
static inline bool soom_pipeline_waiting(const struct soom_request *r)
{
    return r->wait_ticket != 0;
}

void soom_pipeline_resume(struct soom_request *r, void *result, bool timed_out);

/* The response phase: native modules see (and may change) every response
 * before it is sent, once. The server calls it right before sending. */
void soom_pipeline_respond(struct soom_request *r);

/* The done phase, once the response is sent or the client is gone. */
void soom_pipeline_done(struct soom_request *r);

#endif
