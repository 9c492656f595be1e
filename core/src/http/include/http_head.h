/*
 * The request head's checks: what a request line and its header fields must
 * be before Soom reads a body or routes the request, by RFC 9110 and RFC
 * 9112, strictly where a lenient reading lets two parsers disagree about
 * where a request ends (request smuggling).
 *
 * soom_http_head_check() is a pure function: the head in, a verdict out,
 * no allocation, no global state, so a fuzz harness can call it as the
 * server does. soom_http_path_decode() and soom_http_query_parse() turn the
 * raw request target into the path the router matches and the query
 * parameters, in one linear pass each.
 *
 * The HTTP library (libmicrohttpd 0.9.75) is lenient where this is strict:
 * it frames a body by the first Transfer-Encoding alone, keeps whitespace
 * before a header's colon as part of its name, and decodes %00 into a NUL
 * that ends the path. The server gives this the head as the library parsed
 * it and the request target exactly as the client sent it.
 */
#ifndef SOOM_HTTP_HEAD_H
#define SOOM_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "request_impl.h"

/* A request head: every string borrowed, none NUL-terminated. */
struct soom_http_head {
    const char *method;
    size_t method_len;
    const char *target; /* the request target as sent, NULL when there was none */
    size_t target_len;
    bool http11;                  /* HTTP/1.1 (or a later 1.x), as opposed to 1.0 */
    const struct soom_kv *fields; /* the header fields, in the order received */
    size_t nfields;
};

/* The fields the core reads, noted by the checks' pass over the head
 * (the last of each name; NULL when absent). Complete only when the head
 * was accepted: the pass stops at a refused field. */
struct soom_http_fields {
    const struct soom_kv *content_length;
    const struct soom_kv *content_type;
    const struct soom_kv *transfer_encoding;
    const struct soom_kv *request_id;
    const struct soom_kv *traceparent;
    const struct soom_kv *tracestate;
};

/* What the checks found. `status` is 0 when the head is acceptable;
 * otherwise the status to answer (400, 413, 431, 501) with `detail` (a
 * static string), and `close` says the connection cannot carry another
 * request after this one. */
struct soom_http_verdict {
    int status;
    const char *detail;
    bool close;
    bool chunked;          /* Transfer-Encoding: chunked */
    bool has_length;       /* a Content-Length was given */
    size_t content_length; /* its value */
    /* the path and the query within the target (the query without its
     * '?'; a NULL query when there is no '?') */
    const char *path;
    size_t path_len;
    bool path_plain; /* no '%' and no byte above 0x7f: nothing to decode */
    const char *query;
    size_t query_len;
    struct soom_http_fields fields;
};

/* Checks the head `h`: header field names are tokens (the library ends a
 * value at a NUL, so values hold none); one Host for
 * HTTP/1.1 and never two; Content-Length digits, one value however often
 * repeated; not both Content-Length and Transfer-Encoding; only the
 * chunked transfer coding, once and last; an origin-form, absolute-form or
 * asterisk-form target. Fills `v`; returns v->status. */
int soom_http_head_check(const struct soom_http_head *h, struct soom_http_verdict *v);

/* Percent-decodes the path `p` of `n` bytes into `out` (room for `n`
 * bytes), setting *out_len. Returns NULL when acceptable, else the reason
 * for a 400: an encoded NUL, bytes that are not UTF-8 once decoded. An
 * invalid escape ("%zz") is kept as it is. */
const char *soom_http_path_decode(const char *p, size_t n, char *out, size_t *out_len);

/* The parameters of the query `q` (`n` bytes, without its '?'), decoded
 * ('+' is a space, %XX a byte), in the order given, from the arena `a`;
 * a name without '=' has an empty value. Linear in `n`. */
void soom_http_query_parse(struct soom_arena *a, const char *q, size_t n, struct soom_kv **out,
                           size_t *count);

#endif
