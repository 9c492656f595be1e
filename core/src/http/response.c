/*
 * Responses and problem documents. Headers live in the request's arena.
 * A body is built in the thread's scratch buffer (soom_response_buffer),
 * then copied into the request's arena when small, so a typical response
 * costs no malloc of its own; a large one is handed to the HTTP layer
 * without a copy.
 */
#include "soom/response.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "request_impl.h"
#include "soom/json.h"

void soom_response_status(struct soom_request *r, int status)
{
    r->status = status;
}

void soom_response_header(struct soom_request *r, const char *name, const char *value)
{
    struct soom_header_out *h = soom_arena_alloc(r->arena, sizeof *h);
    h->name = soom_arena_strndup(r->arena, name, strlen(name));
    h->value = soom_arena_strndup(r->arena, value, strlen(value));
    h->next = r->out_headers;
    r->out_headers = h;
}

void soom_response_header_borrow(struct soom_request *r, const char *name, const char *value)
{
    struct soom_header_out *h = soom_arena_alloc(r->arena, sizeof *h);
    *h = (struct soom_header_out){r->out_headers, name, value};
    r->out_headers = h;
}

/* Bodies up to this size are copied into the arena, larger ones taken. */
#define ARENA_BODY_MAX 16384

/* The scratch buffer is per thread, freed when the thread ends (threads
 * come and go in the thread-per-connection model). */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct soom_buf *scratch;

static void scratch_free(void *p)
{
    soom_buf_cleanup(p);
    free(p);
    scratch = NULL;
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

struct soom_buf *soom_response_buffer(void)
{
    if (scratch == NULL) {
        pthread_once(&scratch_once, scratch_init);
        scratch = malloc(sizeof *scratch);
        if (scratch == NULL)
            abort();
        soom_buf_init(scratch);
        pthread_setspecific(scratch_key, scratch);
    }
    soom_buf_clear(scratch);
    return scratch;
}

void soom_response_clear_body(struct soom_request *r)
{
    if (!r->out_in_arena)
        free(r->out_body);
    r->out_body = NULL;
    r->out_len = 0;
    r->out_in_arena = false;
}

void soom_response_take(struct soom_request *r, struct soom_buf *body, const char *content_type)
{
    soom_response_clear_body(r);
    if (body->len <= ARENA_BODY_MAX) {
        r->out_body = soom_arena_alloc(r->arena, body->len + 1);
        memcpy(r->out_body, body->data ? body->data : "", body->len);
        r->out_len = body->len;
        r->out_in_arena = true;
        if (body == scratch)
            soom_buf_clear(body); /* kept for the next response */
        else
            soom_buf_cleanup(body);
    } else {
        r->out_body = soom_buf_detach(body, &r->out_len);
    }
    r->content_type = content_type;
    r->responded = true;
}

void soom_response_borrow(struct soom_request *r, const char *p, size_t n, const char *content_type)
{
    soom_response_clear_body(r);
    /* never freed by us nor by the HTTP layer: "in the arena" means that */
    r->out_body = (char *)p;
    r->out_len = n;
    r->out_in_arena = true;
    r->content_type = content_type;
    r->responded = true;
}

void soom_response_copy(struct soom_request *r, const char *p, size_t n, const char *content_type)
{
    struct soom_buf *b = soom_response_buffer();
    soom_buf_append(b, p, n);
    soom_response_take(r, b, content_type);
}

const char *soom_response_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

void soom_response_problem(struct soom_request *r, int status, const char *detail,
                           const char *errors)
{
    soom_response_problem_type(r, status, NULL, detail, errors);
}

void soom_response_problem_type(struct soom_request *r, int status, const char *type,
                                const char *detail, const char *errors)
{
    struct soom_buf *bp = soom_response_buffer(), b = *bp;
    const char *title = soom_response_reason(status);
    soom_buf_puts(&b, "{\"type\":");
    if (type == NULL)
        soom_buf_puts(&b, "\"about:blank\"");
    else
        soom_json_write_string(&b, type, strlen(type));
    soom_buf_puts(&b, ",\"title\":");
    soom_json_write_string(&b, title, strlen(title));
    soom_buf_puts(&b, ",\"status\":");
    soom_json_write_int(&b, status);
    if (detail != NULL) {
        soom_buf_puts(&b, ",\"detail\":");
        soom_json_write_string(&b, detail, strlen(detail));
    }
    soom_buf_puts(&b, ",\"instance\":");
    soom_json_write_string(&b, r->path ? r->path : "", r->path ? r->path_len : 0);
    if (errors != NULL) {
        soom_buf_puts(&b, ",\"errors\":");
        soom_buf_puts(&b, errors);
    }
    soom_buf_putc(&b, '}');
    *bp = b;
    r->status = status;
    soom_response_take(r, bp, "application/problem+json");
}
