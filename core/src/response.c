/*
 * Responses and problem documents. Bodies are malloc'ed buffers handed to
 * the HTTP layer without a copy; headers live in the request's arena.
 */
#include "soom/response.h"

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

void soom_response_take(struct soom_request *r, struct soom_buf *body, const char *content_type)
{
    free(r->out_body);
    r->out_body = soom_buf_detach(body, &r->out_len);
    r->content_type = content_type;
    r->responded = true;
}

void soom_response_copy(struct soom_request *r, const char *p, size_t n, const char *content_type)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_append(&b, p, n);
    soom_response_take(r, &b, content_type);
}

const char *soom_status_reason(int status)
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
    struct soom_buf b;
    soom_buf_init(&b);
    const char *title = soom_status_reason(status);
    soom_buf_puts(&b, "{\"type\":\"about:blank\",\"title\":");
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
    r->status = status;
    soom_response_take(r, &b, "application/problem+json");
}
