/*
 * W3C Trace Context (traceparent, tracestate) for one request.
 *
 * A well-formed traceparent is continued: the trace id and flags are kept,
 * the caller's span becomes the parent and the request gets a span id of
 * its own. A missing or malformed one (a bad or "ff" version, an all-zero
 * id, a wrong length, upper-case hex) starts a new trace, and its
 * tracestate is ignored, as the recommendation requires. A struct
 * soom_trace is a value owned by its request; `state` borrows the
 * request's header.
 */
#ifndef SOOM_OPS_TRACE_H
#define SOOM_OPS_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOOM_TRACE_STATE_MAX 512
#define SOOM_TRACEPARENT_LEN 55

struct soom_trace {
    char trace_id[33];  /* 32 lower-case hex digits */
    char span_id[17];   /* this request's span */
    char parent_id[17]; /* the caller's span; "" when the trace starts here */
    uint8_t flags;      /* trace-flags; a new trace is sampled (01) */
    const char *state;  /* tracestate to pass on, or NULL */
    size_t state_len;
};

/* Fills `t` from the request's headers (either may be NULL). */
void soom_trace_begin(struct soom_trace *t, const char *traceparent, size_t len,
                      const char *tracestate, size_t state_len);

/* True when `p` is a traceparent this request would continue. */
bool soom_trace_valid(const char *p, size_t len);

/* Writes "00-<trace id>-<span id>-<flags>" and a NUL into `out`
 * (SOOM_TRACEPARENT_LEN + 1 bytes): the traceparent to send on. */
void soom_trace_format(const struct soom_trace *t, char *out);

#endif
