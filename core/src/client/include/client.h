/*
 * Outbound HTTP, the C side of soom.http: one call at a time per caller,
 * many at once per thread, over libcurl's multi interface.
 *
 * Each thread that calls out has a libcurl multi handle driven by a loop
 * (loop.h): on a fiber of the async server, the thread's own loop, so the
 * fiber switches out while its call is in flight and the loop serves other
 * requests; elsewhere (the threads models, a call that cannot yield) a
 * private loop the caller runs until its call is done. The multi handle
 * keeps connections alive per host and bounds how many a host gets (more
 * calls wait in libcurl's queue); TLS peers are always verified.
 *
 * A call is caller-allocated: soom_http_call_init(), the inputs, then
 * soom_http_perform(), then soom_http_call_cleanup(). Strings given are
 * borrowed for the call; the response is owned by the call.
 */
#ifndef SOOM_CLIENT_H
#define SOOM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "soom/buf.h"

/* What went wrong, when something did. */
enum soom_http_kind {
    SOOM_HTTP_OK,
    SOOM_HTTP_TIMEOUT,    /* no answer in time (the call's, or the request's) */
    SOOM_HTTP_REFUSED,    /* no connection (refused, unreachable) */
    SOOM_HTTP_DNS,        /* the host name did not resolve */
    SOOM_HTTP_TLS,        /* the TLS handshake or the peer's certificate failed */
    SOOM_HTTP_CONNECTION, /* the connection broke (reset, closed mid-answer, garbage) */
    SOOM_HTTP_TOO_LARGE,  /* the body exceeded max_size */
    SOOM_HTTP_URL,        /* a URL libcurl refuses (not http or https, malformed) */
};

struct soom_http_call {
    /* in */
    const char *method;         /* "GET", "POST"... */
    const char *url;            /* absolute, query included */
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    const char *body; /* NULL: no body */
    size_t body_len;
    long timeout_ms;         /* the whole call; 0: none (the request's budget still applies) */
    long connect_timeout_ms; /* 0: libcurl's */
    const char *ca_file;     /* NULL or "": the system's CA bundle */
    size_t max_size;         /* largest body accepted; 0: no limit */
    long max_per_host;       /* connections per host, for the thread's first call */
    /* out */
    long status;
    struct soom_buf head; /* the final response's header lines, as received */
    struct soom_buf out;  /* its body */
    enum soom_http_kind kind;
    char error[256]; /* libcurl's words, for the log */
};

void soom_http_call_init(struct soom_http_call *c);
void soom_http_call_cleanup(struct soom_http_call *c);

/* Makes the call, waiting for it (see above). Returns SOOM_OK when a
 * response came (whatever its status), else SOOM_ETIMEDOUT or SOOM_EIO
 * with c->kind and c->error set. */
int soom_http_perform(struct soom_http_call *c);

/* The name of a kind ("timeout", "refused", ...). */
const char *soom_http_kind_name(enum soom_http_kind kind);

#endif
