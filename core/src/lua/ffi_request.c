/*
 * FFI accessors of the request (see soom/ffi.h): flat functions over
 * struct soom_request, wrapped once on the Lua side by soom.core.request.
 */
#include <string.h>

#include "request_impl.h"
#include "soom/ffi.h"

int soom_ffi_req_path(const struct soom_request *r, const char **p, size_t *n)
{
    *p = r->path;
    *n = r->path_len;
    return 1;
}

int soom_ffi_req_id(const struct soom_request *r, const char **p, size_t *n)
{
    *p = r->request_id;
    *n = r->request_id_len;
    return 1;
}

int soom_ffi_req_trace(const struct soom_request *r, const char **p, size_t *n)
{
    const struct soom_trace *t = &r->trace;
    p[0] = t->trace_id, n[0] = strlen(t->trace_id);
    p[1] = t->span_id, n[1] = strlen(t->span_id);
    p[2] = t->parent_id, n[2] = strlen(t->parent_id);
    p[3] = t->state ? t->state : "", n[3] = t->state_len;
    return t->flags;
}

int soom_ffi_req_body(const struct soom_request *r, const char **p, size_t *n)
{
    *p = r->body;
    *n = r->body_len;
    return r->body != NULL;
}

int soom_ffi_req_header(const struct soom_request *r, const char *name, size_t len, const char **p,
                        size_t *n)
{
    *p = soom_request_header(r, name, len, n);
    return *p != NULL;
}

int soom_ffi_req_header_count(const struct soom_request *r)
{
    return (int)r->nheaders;
}

static int kv_at(const struct soom_kv *kv, size_t count, int i, const char **k, size_t *kn,
                 const char **v, size_t *vn)
{
    if (i < 0 || (size_t)i >= count)
        return 0;
    *k = kv[i].key;
    *kn = kv[i].key_len;
    *v = kv[i].value;
    *vn = kv[i].value_len;
    return 1;
}

int soom_ffi_req_header_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                           const char **v, size_t *vn)
{
    return kv_at(r->headers, r->nheaders, i, k, kn, v, vn);
}

int soom_ffi_req_query_count(const struct soom_request *r)
{
    return (int)r->nquery;
}

int soom_ffi_req_query_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                          const char **v, size_t *vn)
{
    return kv_at(r->query, r->nquery, i, k, kn, v, vn);
}

int soom_ffi_req_param_count(const struct soom_request *r)
{
    return (int)r->match.nparams;
}

int soom_ffi_req_param_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                          const char **v, size_t *vn, int *type)
{
    if (i < 0 || (size_t)i >= r->match.nparams)
        return 0;
    const struct soom_route_param *p = &r->match.params[i];
    *k = p->name;
    *kn = strlen(p->name);
    *v = p->value;
    *vn = p->len;
    *type = (int)p->type;
    return 1;
}
