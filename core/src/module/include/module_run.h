/*
 * Running native modules' code for the request pipeline (module_run.c):
 * the middleware of a phase, a C route, and the callback of a request that
 * was suspended and is now resumed. Each returns what the pipeline does
 * next.
 */
#ifndef SOOM_MODULE_RUN_H
#define SOOM_MODULE_RUN_H

#include <stdbool.h>
#include <stddef.h>

struct soom_request;
struct soom_module_route;

enum soom_module_step {
    SOOM_MODULE_NEXT, /* go on */
    SOOM_MODULE_DONE, /* the request is answered (request->responded) */
    SOOM_MODULE_WAIT, /* suspended: request->wait_ticket is armed */
};

/* Where a suspended request goes on (request->wait_phase): the handler
 * phase's next middleware, or, after a route, nothing but its response. */
#define SOOM_MODULE_WAIT_ROUTE 0xff

/* Runs the middleware of `phase` (enum soom_module_phase), starting with
 * the `from`-th (0: all). The response phase runs in reverse order and ends
 * at the first that answers; the done phase runs every one and ignores
 * what they return. Only the handler phase may return SOOM_MODULE_WAIT. */
enum soom_module_step soom_module_phase(struct soom_request *r, int phase, size_t from);

/* True when no middleware is registered at `phase`. */
bool soom_module_phase_empty(int phase);

/* Runs a C route: DONE (answered, with any result that is not an error
 * status meaning "the response as set") or WAIT. */
enum soom_module_step soom_module_route_run(struct soom_request *r,
                                            const struct soom_module_route *route);

/* After a suspension ends: runs its resume callback (none: NEXT, or a 504
 * on a timeout). Returns NEXT, DONE or WAIT (suspended again). */
enum soom_module_step soom_module_resumed(struct soom_request *r, void *result, bool timed_out);

#endif
