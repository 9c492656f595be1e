/*
 * Routes of static bytes (see pipeline_static.h): the OpenAPI document and the
 * pages and assets of the docs, made once at start-up and owned by the
 * app's route table, which outlives every request. The body is borrowed,
 * never copied, so answering costs what routing does; a client holding
 * the same bytes (If-None-Match with their ETag) gets a 304 without them.
 */
#include <string.h>

#include "pipeline_static.h"

#include "app.h"
#include "soom/response.h"

/* True when an If-None-Match value (a list of entity tags, or "*") names
 * `etag`; the weak comparison of RFC 9110, as a GET allows. */
static bool etag_listed(const char *v, size_t n, const char *etag)
{
    size_t elen = strlen(etag);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i < n && v[i] == '*')
            return true;
        if (i + 2 <= n && v[i] == 'W' && v[i + 1] == '/')
            i += 2;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end - start == elen && memcmp(v + start, etag, elen) == 0)
            return true;
    }
    return false;
}

void soom_pipeline_static(struct soom_request *r)
{
    const struct soom_static *s = r->route->statics;
    /* the route table outlives every request: its strings are not copied */
    soom_response_header_borrow(r, "ETag", s->etag);
    soom_response_header_borrow(r, "Cache-Control", s->cache_control);
    for (size_t i = 0; i + 1 < s->nheaders; i += 2)
        soom_response_header_borrow(r, s->headers[i], s->headers[i + 1]);
    size_t n;
    const char *inm = soom_request_header(r, "If-None-Match", 13, &n);
    if (inm != NULL && etag_listed(inm, n, s->etag)) {
        r->status = 304;
        r->responded = true;
        return;
    }
    r->status = 200;
    soom_response_borrow(r, s->data, s->len, s->content_type);
}
