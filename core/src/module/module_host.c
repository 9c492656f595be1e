/*
 * The host's function table (struct soom_module_host, soom/module.h): the
 * request, response, memory, waiting and logging entries, over the core's
 * request (request_impl.h), and the table itself. The registration entries
 * are in module_registry.c, the JSON ones in module_json.c.
 *
 * Setting a response body from a module does not by itself answer the
 * request: what the module returns decides that (the pipeline reads
 * request->responded), so the setters here leave that flag as it was.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "module_host.h"
#include "module_impl.h"
#include "request_impl.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"
#include "soom/response.h"

#define TIMEOUT_MAX_MS 3600000u

static const struct soom_module_server *module_server;

void soom_module_set_server(const struct soom_module_server *s)
{
    module_server = s;
}

static void set_error(struct soom_module_handle *mod, const char *message)
{
    if (mod != NULL)
        snprintf(mod->error, sizeof mod->error, "%s", message ? message : "");
}

static void log_line(const struct soom_module_handle *mod, const struct soom_request *req,
                     int level, const char *message)
{
    if (level < SOOM_MODULE_LOG_DEBUG || level > SOOM_MODULE_LOG_ERROR)
        level = SOOM_MODULE_LOG_INFO;
    struct soom_log_line l;
    soom_log_begin(&l, (enum soom_log_level)level, message ? message : "");
    if (mod != NULL)
        soom_log_str(&l, "module", mod->name);
    if (req != NULL)
        soom_log_strn(&l, "request_id", req->request_id, req->request_id_len);
    soom_log_end(&l);
}

/* ---- the request ---------------------------------------------------------- */

static const char *req_method(const struct soom_request *r)
{
    return r->method_name ? r->method_name : "";
}

static const char *req_path(const struct soom_request *r, size_t *len)
{
    *len = r->path_len;
    return r->path;
}

static const char *req_route(const struct soom_request *r)
{
    return r->route_status == SOOM_OK ? r->match.pattern : NULL;
}

static const char *req_header_at(const struct soom_request *r, size_t i, const char **name,
                                 size_t *len)
{
    if (i >= r->nheaders)
        return NULL;
    *name = r->headers[i].key;
    *len = r->headers[i].value_len;
    return r->headers[i].value;
}

static const char *req_header(const struct soom_request *r, const char *name, size_t *len)
{
    return soom_request_header(r, name, strlen(name), len);
}

static const char *req_query(const struct soom_request *r, const char *name, size_t *len)
{
    return soom_request_query(r, name, strlen(name), len);
}

static const char *req_param(const struct soom_request *r, const char *name, size_t *len)
{
    return soom_request_param(r, name, strlen(name), len);
}

static const char *req_body(const struct soom_request *r, size_t *len)
{
    *len = r->body_len;
    return r->body_len > 0 ? r->body : NULL;
}

static const struct soom_json *req_json(const struct soom_request *r)
{
    return r->json;
}

static const char *req_user(const struct soom_request *r, size_t *len)
{
    *len = r->user ? r->user->id_len : 0;
    return r->user ? r->user->id : NULL;
}

/* A module's user is its id alone: Lua sees req.user = { id = ... }, and
 * the access chain's permissions and owner filters see it authenticated. */
static void req_set_user(struct soom_request *r, const char *id, size_t len)
{
    if (id == NULL) {
        r->user = NULL;
        return;
    }
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    u->id = soom_arena_strndup(r->arena, id, len);
    u->id_len = len;
    u->id_is_int = len > 0 && len <= 15;
    for (size_t i = 0; i < len && u->id_is_int; i++)
        u->id_is_int = id[i] >= '0' && id[i] <= '9';
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_puts(&b, "{\"id\":");
    if (u->id_is_int)
        soom_buf_append(&b, id, len);
    else
        soom_json_write_string(&b, id, len);
    soom_buf_putc(&b, '}');
    u->doc = soom_arena_strndup(r->arena, b.data, b.len);
    u->doc_len = b.len;
    soom_buf_cleanup(&b);
    r->user = u;
}

static const char *req_id(const struct soom_request *r, size_t *len)
{
    *len = r->request_id_len;
    return r->request_id;
}

/* ---- memory and context ----------------------------------------------------- */

static void *req_alloc(struct soom_request *r, size_t n)
{
    return soom_arena_alloc(r->arena, n);
}

static void req_defer(struct soom_request *r, soom_module_cleanup_fn fn, void *data)
{
    soom_arena_defer(r->arena, fn, data);
}

static void *get_context(const struct soom_request *r, const struct soom_module_handle *mod)
{
    return r->module_ctx != NULL && mod != NULL ? r->module_ctx[mod->index] : NULL;
}

static void set_context(struct soom_request *r, const struct soom_module_handle *mod, void *value)
{
    if (mod == NULL)
        return;
    if (r->module_ctx == NULL)
        r->module_ctx = soom_arena_calloc(r->arena, module_reg.nmods * sizeof(void *));
    r->module_ctx[mod->index] = value;
}

/* ---- the response -------------------------------------------------------------- */

static int resp_status(const struct soom_response *resp)
{
    return module_request_of(resp)->status;
}

static void resp_set_status(struct soom_response *resp, int status)
{
    module_request_of(resp)->status = status;
}

static bool is_content_type(const char *name)
{
    return (name[0] | 0x20) == 'c' && strcasecmp(name, "Content-Type") == 0;
}

static const char *resp_header(const struct soom_response *resp, const char *name)
{
    const struct soom_request *r = module_request_of(resp);
    if (name == NULL)
        return NULL;
    if (is_content_type(name))
        return r->content_type;
    for (const struct soom_header_out *h = r->out_headers; h != NULL; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

/* Adds a header, the record and both copies in one piece of the arena. */
static int add_checked(struct soom_request *r, const char *name, const char *value)
{
    size_t nl = module_header_len(name, MODULE_HEADER_NAME_REFUSED),
           vl = module_header_len(value, MODULE_HEADER_VALUE_REFUSED);
    if (nl == 0 || nl == SIZE_MAX || vl == SIZE_MAX)
        return SOOM_MODULE_EINVAL;
    struct soom_header_out *h = soom_arena_alloc(r->arena, sizeof *h + nl + vl + 2);
    char *p = (char *)(h + 1);
    memcpy(p, name, nl + 1);
    memcpy(p + nl + 1, value, vl + 1);
    h->name = p;
    h->value = p + nl + 1;
    h->next = r->out_headers;
    r->out_headers = h;
    return SOOM_MODULE_OK;
}

static void remove_headers(struct soom_request *r, const char *name)
{
    for (struct soom_header_out **h = &r->out_headers; *h != NULL;) {
        if (strcasecmp((*h)->name, name) == 0)
            *h = (*h)->next; /* the arena keeps the memory until the request ends */
        else
            h = &(*h)->next;
    }
}

static int set_content_type(struct soom_request *r, const char *value)
{
    size_t vl = value ? module_header_len(value, MODULE_HEADER_VALUE_REFUSED) : 0;
    if (vl == SIZE_MAX)
        return SOOM_MODULE_EINVAL;
    r->content_type = value ? soom_arena_strndup(r->arena, value, vl) : NULL;
    return SOOM_MODULE_OK;
}

static int resp_set_header(struct soom_response *resp, const char *name, const char *value)
{
    struct soom_request *r = module_request_of(resp);
    if (name == NULL)
        return SOOM_MODULE_EINVAL;
    if (is_content_type(name))
        return set_content_type(r, value);
    if (value == NULL) {
        if (module_header_len(name, MODULE_HEADER_NAME_REFUSED) == SIZE_MAX)
            return SOOM_MODULE_EINVAL;
        remove_headers(r, name);
        return SOOM_MODULE_OK;
    }
    struct soom_header_out *before = r->out_headers;
    int rc = add_checked(r, name, value);
    if (rc == SOOM_MODULE_OK && before != NULL) {
        struct soom_header_out *added = r->out_headers;
        r->out_headers = before;
        remove_headers(r, name);
        added->next = r->out_headers;
        r->out_headers = added;
    }
    return rc;
}

static int resp_add_header(struct soom_response *resp, const char *name, const char *value)
{
    struct soom_request *r = module_request_of(resp);
    if (name == NULL || value == NULL)
        return SOOM_MODULE_EINVAL;
    if (is_content_type(name))
        return set_content_type(r, value);
    return add_checked(r, name, value);
}

static const char *resp_body(const struct soom_response *resp, size_t *len)
{
    const struct soom_request *r = module_request_of(resp);
    *len = r->out_len;
    return r->out_len > 0 ? r->out_body : NULL;
}

/* The Content-Type to keep with a new body: a copy of the module's, or
 * the current one. */
static const char *body_type(struct soom_request *r, const char *content_type)
{
    if (content_type == NULL)
        return r->content_type;
    return soom_arena_strndup(r->arena, content_type, strlen(content_type));
}

static void resp_set_body(struct soom_response *resp, const char *p, size_t n,
                          const char *content_type)
{
    struct soom_request *r = module_request_of(resp);
    bool responded = r->responded;
    soom_response_copy(r, p ? p : "", p ? n : 0, body_type(r, content_type));
    r->responded = responded;
}

static void resp_set_body_ref(struct soom_response *resp, const char *p, size_t n,
                              const char *content_type)
{
    struct soom_request *r = module_request_of(resp);
    const char *type = body_type(r, content_type);
    soom_response_clear_body(r);
    r->out_body = (char *)(p ? p : "");
    r->out_len = p ? n : 0;
    r->out_in_arena = true; /* not ours to free: it outlives the request's sending */
    r->content_type = type;
}

static void resp_problem(struct soom_response *resp, int status, const char *detail)
{
    struct soom_request *r = module_request_of(resp);
    bool responded = r->responded;
    soom_response_problem(r, status >= 400 && status <= 599 ? status : 500, detail, NULL);
    r->responded = responded;
}

/* ---- waiting ------------------------------------------------------------------------ */

static uint64_t refuse_suspend(struct soom_request *r, const char *why)
{
    log_line(r->module_calling, r, SOOM_MODULE_LOG_ERROR, why);
    return 0;
}

static uint64_t suspend(struct soom_request *r, uint32_t timeout_ms, soom_module_resume_fn fn)
{
    if (r->module_where != MODULE_IN_HANDLER_PHASE && r->module_where != MODULE_IN_ROUTE &&
        r->module_where != MODULE_IN_RESUME)
        return refuse_suspend(r, "suspend: only a handler-phase middleware, a route or a resume "
                                 "callback may suspend a request");
    if (r->wait_ticket != 0)
        return refuse_suspend(r, "suspend: the request is suspended already");
    if (timeout_ms == 0 || timeout_ms > TIMEOUT_MAX_MS)
        return refuse_suspend(r, "suspend: the timeout must be 1 to 3600000 ms");
    if (module_server == NULL)
        return refuse_suspend(r, "suspend: this process serves no requests");
    uint64_t ticket = module_server->suspend(r, (uint64_t)timeout_ms * 1000000u);
    if (ticket == 0)
        return refuse_suspend(r, "suspend: the server cannot suspend requests");
    r->wait_ticket = ticket;
    r->wait_fn = (void *)fn;
    r->wait_module = r->module_calling;
    return ticket;
}

static int resume(uint64_t ticket, void *result)
{
    const struct soom_module_server *s = module_server;
    if (s == NULL || ticket == 0)
        return SOOM_MODULE_ENOTFOUND;
    return s->resume(ticket, result) == SOOM_OK ? SOOM_MODULE_OK : SOOM_MODULE_ENOTFOUND;
}

static struct soom_request *current_request(void)
{
    return soom_request_current();
}

/* ---- the table -------------------------------------------------------------------- */

const struct soom_module_host module_host_table = {
    .size = sizeof(struct soom_module_host),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = SOOM_MODULE_ABI_MINOR,
    .soom_version = SOOM_VERSION,
    .add_middleware = module_add_middleware,
    .add_route = module_add_route,
    .add_format = module_add_format,
    .add_lua_library = module_add_lua_library,
    .set_error = set_error,
    .log = log_line,
    .json_type = module_json_type,
    .json_get = module_json_get,
    .json_count = module_json_count,
    .json_at = module_json_at,
    .json_key = module_json_key,
    .json_string = module_json_string,
    .json_number = module_json_number,
    .json_bool = module_json_bool,
    .req_method = req_method,
    .req_path = req_path,
    .req_route = req_route,
    .req_param = req_param,
    .req_header = req_header,
    .req_header_at = req_header_at,
    .req_query = req_query,
    .req_body = req_body,
    .req_json = req_json,
    .req_user = req_user,
    .req_set_user = req_set_user,
    .req_id = req_id,
    .alloc = req_alloc,
    .defer = req_defer,
    .get_context = get_context,
    .set_context = set_context,
    .resp_status = resp_status,
    .resp_set_status = resp_set_status,
    .resp_header = resp_header,
    .resp_set_header = resp_set_header,
    .resp_add_header = resp_add_header,
    .resp_body = resp_body,
    .resp_set_body = resp_set_body,
    .resp_set_body_ref = resp_set_body_ref,
    .resp_problem = resp_problem,
    .suspend = suspend,
    .resume = resume,
    .current_request = current_request,
    .add_response_header = module_add_response_header,
};
