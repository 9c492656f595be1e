/*
 * Idempotency-Key on POST and PATCH (the IETF httpapi draft), around the
 * handler phase: a retry of a write with the same key and body gets the
 * stored response, never a second write (docs/DATABASE.md).
 *
 * pipeline_idem_begin() runs before the resource. For a keyed request it
 * opens a transaction on the request's connection, takes the key (a
 * transaction-scoped advisory lock: a duplicate still in flight is a 409)
 * and looks it up: a live key answers the request (its stored response,
 * or a 422 when the body differs). Otherwise the resource runs inside
 * that transaction, and pipeline_idem_end() stores its response with the
 * key and commits both together, or rolls everything back. The state
 * lives in the request's arena.
 */
#ifndef SOOM_PIPELINE_IDEM_H
#define SOOM_PIPELINE_IDEM_H

#include <stdbool.h>

struct soom_request;
struct pipeline_idem;

/* False when the request was answered here (a replay, a 400, 409 or 422,
 * or the database failing); true when the resource runs, then with *st
 * set (NULL: no key, or the route does not take keys: nothing to end). */
bool pipeline_idem_begin(struct soom_request *r, struct pipeline_idem **st);

/* After the resource: the response stored with the key and committed
 * (status below 500, transaction intact), else rolled back. A commit that
 * fails replaces the response with its problem: commit-unknown when the
 * session was lost during COMMIT. */
void pipeline_idem_end(struct soom_request *r, struct pipeline_idem *st);

#endif
