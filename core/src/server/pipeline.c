/*
 * The request pipeline (see pipeline.h). Everything here is plain C over
 * struct soom_request; Lua is entered only in soom_lua_dispatch(), for the
 * resource itself. Native modules' middleware runs at the named phases
 * (module_run.h) as plain calls.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "app.h"
#include "builtin.h"
#include "http_head.h"
#include "lua_worker.h"
#include "module_run.h"
#include "pipeline_idem.h"
#include "pipeline_static.h"
#include "plan.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/module.h"
#include "soom/response.h"
#include "soom/validate.h"
#include "wait.h"

bool soom_pipeline_expects_body(const struct soom_request *r)
{
    const struct soom_kv *te = r->h_transfer_encoding;
    return r->body_expected > 0 || (te != NULL && te->value_len > 0);
}

/* The length of the media type of a Content-Type, before its parameters. */
static size_t media_type_len(const char *p, size_t n)
{
    size_t end = 0;
    while (end < n && p[end] != ';' && p[end] != ' ' && p[end] != '\t')
        end++;
    return end;
}

/* application/json, or any application/<x>+json (the media type alone) */
static bool is_json_media_type(const char *p, size_t end)
{
    if (end == 16 && strncasecmp(p, "application/json", 16) == 0)
        return true;
    return end > 17 && strncasecmp(p, "application/", 12) == 0 &&
           strncasecmp(p + end - 5, "+json", 5) == 0;
}

/* False when a media type's parameters (what follows the type) name a
 * charset other than UTF-8: JSON is UTF-8 (RFC 8259), and a body in
 * another one would be read wrong. */
static bool is_utf8_charset(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ';')
            continue;
        size_t k = i + 1;
        while (k < n && (p[k] == ' ' || p[k] == '\t'))
            k++;
        if (n - k < 8 || strncasecmp(p + k, "charset=", 8) != 0)
            continue;
        k += 8;
        size_t e = k;
        while (e < n && p[e] != ';' && p[e] != ' ' && p[e] != '\t')
            e++;
        if (e - k >= 2 && p[k] == '"' && p[e - 1] == '"')
            k++, e--;
        return (e - k == 5 && strncasecmp(p + k, "utf-8", 5) == 0) ||
               (e - k == 4 && strncasecmp(p + k, "utf8", 4) == 0);
    }
    return true;
}

static void answer_options(struct soom_request *r)
{
    char allow[96];
    soom_router_methods_format(r->match.allowed | SOOM_OPTIONS, allow, sizeof allow);
    soom_response_header(r, "Allow", allow);
    r->status = 204;
    r->responded = true;
}

/* The request id and the trace, from the headers already indexed. */
static void identify_indexed(struct soom_request *r)
{
    soom_request_assign_id(r);
    const struct soom_kv *tp = r->h_traceparent, *ts = r->h_tracestate;
    soom_trace_begin(&r->trace, tp ? tp->value : NULL, tp ? tp->value_len : 0,
                     ts ? ts->value : NULL, ts ? ts->value_len : 0);
}

void soom_pipeline_identify(struct soom_request *r)
{
    soom_request_index_headers(r);
    identify_indexed(r);
}

/* The head's checks (http_head.h), before anything routes the request or
 * reads its body. Their pass over the fields also indexes the ones the
 * core reads; a refused head, whose pass stopped early, is indexed by the
 * request's own walk, so that its answer carries the X-Request-Id given. */
static bool check_head(struct soom_request *r, struct soom_http_verdict *v)
{
    struct soom_http_head h = {r->method_name, r->method_len, r->target,  r->target_len,
                               r->http11,      r->headers,    r->nheaders};
    if (soom_http_head_check(&h, v) != 0) {
        soom_request_index_headers(r);
        return false;
    }
    const struct soom_http_fields *f = &v->fields;
    r->h_content_length = f->content_length;
    r->h_content_type = f->content_type;
    r->h_transfer_encoding = f->transfer_encoding;
    r->h_request_id = f->request_id;
    r->h_traceparent = f->traceparent;
    r->h_tracestate = f->tracestate;
    return true;
}

/* An accepted head: the path is decoded, the query parsed, the body's
 * length known. A refusal closes the connection when the framing is in
 * doubt, and its instance is the target as sent. */
static bool take_head(struct soom_request *r, struct soom_http_verdict *v, bool accepted)
{
    if (accepted) {
        const char *why = NULL;
        if (v->path_plain) {
            /* nothing to decode: the path is in the target's copy, which is
             * ours to cut at the '?' */
            if (v->query != NULL && v->path + v->path_len == v->query - 1)
                r->target[v->path_len + (size_t)(v->path - r->target)] = '\0';
            r->path = v->path;
            r->path_len = v->path_len;
        } else {
            char *path = soom_arena_alloc(r->arena, v->path_len + 1);
            why = soom_http_path_decode(v->path, v->path_len, path, &r->path_len);
            path[r->path_len] = '\0';
            r->path = path;
        }
        if (why == NULL) {
            if (v->query != NULL)
                soom_http_query_parse(r->arena, v->query, v->query_len, &r->query, &r->nquery);
            r->body_expected = v->content_length;
            return true;
        }
        v->status = 400;
        v->detail = why;
    }
    r->path = r->target ? r->target : "";
    r->path_len = r->target_len;
    r->close = v->close;
    soom_response_problem(r, v->status, v->detail, NULL);
    return false;
}

void soom_pipeline_begin(struct soom_request *r)
{
    const struct soom_config *cfg = r->config;
    if (r->target == NULL) {
        soom_pipeline_identify(r);
    } else {
        struct soom_http_verdict v;
        bool accepted = check_head(r, &v);
        identify_indexed(r);
        if (!take_head(r, &v, accepted))
            return;
    }
    if (soom_builtin_answer(r, cfg->metrics_port == 0))
        return;
    if (soom_module_phase(r, SOOM_PHASE_REQUEST, 0) != SOOM_MODULE_NEXT)
        return;
    r->route_status = soom_router_match(r->app->router, r->path, r->path_len, r->method, &r->match);
    if (r->route_status == SOOM_ENOTFOUND) {
        soom_response_problem(r, 404, "no route matches this path", NULL);
        return;
    }
    r->route = &r->app->routes[r->match.route_id];
    if (r->route_status == SOOM_EMETHOD) {
        if (r->method == SOOM_OPTIONS) {
            answer_options(r);
            return;
        }
        char allow[96], detail[160];
        soom_router_methods_format(r->match.allowed, allow, sizeof allow);
        soom_response_header(r, "Allow", allow);
        snprintf(detail, sizeof detail, "%s is not allowed here; allowed: %s",
                 r->method_name ? r->method_name : "this method", allow);
        soom_response_problem(r, 405, detail, NULL);
        return;
    }
    if (soom_module_phase(r, SOOM_PHASE_ROUTED, 0) != SOOM_MODULE_NEXT)
        return;
    if (r->route->statics != NULL) {
        soom_pipeline_static(r); /* the OpenAPI document, the docs pages: bytes made at start-up */
        return;
    }
    if (r->body_expected > (size_t)cfg->max_body) {
        char detail[96];
        snprintf(detail, sizeof detail, "the body is larger than %ld bytes", cfg->max_body);
        soom_response_problem(r, 413, detail, NULL);
        return;
    }
    if (soom_pipeline_expects_body(r) && !r->route->raw_body) {
        const struct soom_kv *ct = r->h_content_type;
        size_t type_len = ct ? media_type_len(ct->value, ct->value_len) : 0;
        if (ct == NULL || !is_json_media_type(ct->value, type_len)) {
            soom_response_problem(r, 415, "the body must be application/json", NULL);
            return;
        }
        if (!is_utf8_charset(ct->value + type_len, ct->value_len - type_len)) {
            soom_response_problem(r, 415, "the body must be JSON in UTF-8 (charset=utf-8)", NULL);
            return;
        }
    }
    if (r->body_expected > 0) {
        r->body_cap = r->body_expected;
        r->body = soom_arena_alloc(r->arena, r->body_cap + 1);
    }
}

bool soom_pipeline_body(struct soom_request *r, const char *p, size_t n)
{
    size_t max = (size_t)r->config->max_body;
    if (r->body_discarding) {
        r->body_discarded += n;
        /* Hang up on a client that keeps streaming far past the limit. */
        return r->body_discarded <= 4 * max + (1u << 20);
    }
    if (r->body_len + n > max) {
        r->body_discarding = true;
        r->body_discarded = r->body_len + n;
        return true;
    }
    if (r->body_len + n > r->body_cap) {
        /* chunked, or more than announced: grow by doubling */
        size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
        while (cap < r->body_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *nb = soom_arena_alloc(r->arena, cap + 1);
        if (r->body_len)
            memcpy(nb, r->body, r->body_len);
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return true;
}

/* A 422 naming the one value of a body the core cannot take. */
static void value_problem(struct soom_request *r, const struct soom_json_error *err)
{
    struct soom_buf e;
    soom_buf_init(&e);
    soom_buf_putc(&e, '[');
    soom_json_write_field_error(&e, err->pointer, err->reason, err->code ? err->code : "value",
                                "body");
    soom_buf_putc(&e, ']');
    soom_response_problem(r, 422, "the body holds a value that cannot be taken", e.data);
    soom_buf_cleanup(&e);
}

static bool parse_body(struct soom_request *r)
{
    if (r->body_len == 0 || r->route->raw_body)
        return true;
    r->body[r->body_len] = '\0';
    struct soom_json_error err;
    int rc = soom_json_parse(r->body, r->body_len, (int)r->config->json_max_depth, &r->json, &err);
    if (rc == SOOM_EVALUE) {
        value_problem(r, &err);
        return false;
    }
    if (rc != SOOM_OK) {
        char detail[400];
        if (rc == SOOM_EDEPTH)
            snprintf(detail, sizeof detail, "the JSON body nests deeper than %ld levels",
                     r->config->json_max_depth);
        else if (err.pointer[0] != '\0')
            snprintf(detail, sizeof detail, "%s: %s, at %s", soom_error_message(rc), err.reason,
                     err.pointer);
        else
            snprintf(detail, sizeof detail, "%s: %s at byte %zu", soom_error_message(rc),
                     err.reason, err.offset);
        soom_response_problem(r, 400, detail, NULL);
        return false;
    }
    soom_json_defer(r->arena, r->json);
    return true;
}

/* Appends the items of the JSON array `errors` (without its brackets) to
 * the list being built in `all`. */
static void merge_errors(struct soom_buf *all, const struct soom_buf *errors)
{
    if (errors->len <= 2)
        return;
    soom_buf_putc(all, all->len > 0 ? ',' : '[');
    soom_buf_append(all, errors->data + 1, errors->len - 2);
}

static void query_errors(struct soom_request *r, struct soom_buf *all)
{
    struct soom_validate_param *params =
        soom_arena_alloc(r->arena, (r->nquery + 1) * sizeof(struct soom_validate_param));
    for (size_t i = 0; i < r->nquery; i++)
        params[i] = (struct soom_validate_param){r->query[i].key, r->query[i].key_len,
                                                 r->query[i].value, r->query[i].value_len};
    struct soom_validate_error *errors;
    size_t n;
    int rc = soom_validate_query(r->route->query, params, r->nquery, r->arena, &r->query_json,
                                 &errors, &n);
    if (r->query_json != NULL)
        soom_json_defer(r->arena, r->query_json);
    if (rc == SOOM_EINVALID) {
        struct soom_buf b;
        soom_buf_init(&b);
        soom_validate_errors_json(errors, n, "query", &b);
        merge_errors(all, &b);
        soom_buf_cleanup(&b);
    }
}

/* The body schema for this request's method: the whole one for POST and
 * PUT, the partial one for PATCH, none otherwise. */
static const struct soom_validator *body_validator(const struct soom_request *r)
{
    if (r->method == SOOM_POST || r->method == SOOM_PUT)
        return r->route->body;
    if (r->method == SOOM_PATCH)
        return r->route->patch;
    return NULL;
}

/* Runs the route's query and body schemas; answers 422 listing every error
 * of both, or 400 when a body schema has no body to check. */
static bool validate(struct soom_request *r)
{
    const struct soom_validator *bv = body_validator(r);
    if (r->route->query == NULL && bv == NULL)
        return true;
    struct soom_buf all;
    soom_buf_init(&all);
    if (r->route->query != NULL)
        query_errors(r, &all);
    if (bv != NULL && r->json == NULL) {
        soom_buf_cleanup(&all);
        soom_response_problem(r, 400, "a JSON body is required", NULL);
        return false;
    }
    if (bv != NULL) {
        struct soom_validate_error *errors;
        size_t n;
        if (soom_validate_run(bv, r->json, r->arena, &errors, &n) == SOOM_EINVALID) {
            struct soom_buf b;
            soom_buf_init(&b);
            soom_validate_errors_json(errors, n, "body", &b);
            merge_errors(&all, &b);
            soom_buf_cleanup(&b);
        }
    }
    if (all.len == 0)
        return true;
    soom_buf_putc(&all, ']');
    soom_response_problem(r, 422, "the request is invalid; see errors", all.data);
    soom_buf_cleanup(&all);
    return false;
}

static void handle(struct soom_request *r, size_t from);

/* The access chain's steps written in Lua, on the thread's state. */
static enum access_outcome lua_authenticate(void *ud, struct soom_request *r, int lua,
                                            const struct soom_request_user **user,
                                            const char **detail)
{
    return soom_lua_access_hook(ud, r, 0, lua, user, detail);
}

static enum access_outcome lua_permission(void *ud, struct soom_request *r, int lua)
{
    return soom_lua_access_hook(ud, r, 1, lua, NULL, NULL);
}

/* Around the last step and each resumption of it: every wait of the
 * request (the pool, statements, outbound calls, sleeps) ends by its
 * request_timeout, and once the request is done (not waiting for a module)
 * its database connection goes back to the pool, before the response is
 * even sent. */
static uint64_t step_begin(const struct soom_request *r)
{
    double limit = r->config->request_timeout;
    return soom_wait_set_budget(limit > 0 ? r->start_ns + (uint64_t)(limit * 1e9) : 0);
}

static void step_end(struct soom_request *r, uint64_t outer)
{
    soom_wait_set_budget(outer);
    if (!soom_pipeline_waiting(r))
        soom_request_pg_done(r);
}

static void finish(struct soom_request *r)
{
    if (r->ready_check) {
        soom_builtin_ready(r);
        return;
    }
    if (r->body_discarding) {
        char detail[96];
        snprintf(detail, sizeof detail, "the body is larger than %ld bytes", r->config->max_body);
        soom_response_problem(r, 413, detail, NULL);
        return;
    }
    /* authentication, permissions and throttles before the body is even
     * parsed: who may not use the resource learns nothing from its errors */
    const struct soom_access_route *access = r->route->access;
    if (access != NULL) {
        struct soom_access_hooks hooks = {r->app->lua, lua_authenticate, lua_permission};
        if (!soom_access_run(r, access, &hooks))
            return;
    }
    if (!parse_body(r) || !validate(r))
        return;
    handle(r, 0);
}

void soom_pipeline_finish(struct soom_request *r)
{
    uint64_t outer = step_begin(r);
    finish(r);
    step_end(r, outer);
}

/* Lua's numbers are doubles: a body integer beyond 2^53 would reach the
 * handler rounded, so it is refused by name instead (the C plans carry
 * its digits). */
static bool lua_body_exact(struct soom_request *r)
{
    struct soom_json_error err;
    if (soom_json_check_exact(r->json, &err) == SOOM_OK)
        return true;
    value_problem(r, &err);
    return false;
}

/* The handler phase from its `from`-th middleware, then the resource. */
static void handle(struct soom_request *r, size_t from)
{
    if (soom_module_phase(r, SOOM_PHASE_HANDLER, from) != SOOM_MODULE_NEXT)
        return;
    struct pipeline_idem *idem;
    if (!pipeline_idem_begin(r, &idem))
        return;
    const struct soom_plan *plan = r->route->plan;
    const struct soom_access_route *access = r->route->access;
    if (r->route->native != NULL) {
        if (soom_module_route_run(r, r->route->native) == SOOM_MODULE_WAIT)
            return;
    } else if (soom_access_is_view(access)) {
        soom_access_view(r, access); /* the token views: no Lua */
    } else if (plan != NULL && (plan->fast & soom_plan_action(plan, r->method))) {
        soom_plan_respond(r, plan); /* a generic resource that overrides nothing: no Lua */
    } else if (lua_body_exact(r)) {
        soom_lua_dispatch(r->app->lua, r);
    }
    if (!r->responded) {
        r->responded = true;
        r->out_len = 0;
    }
    pipeline_idem_end(r, idem);
}

void soom_pipeline_resume(struct soom_request *r, void *result, bool timed_out)
{
    uint64_t outer = step_begin(r);
    bool in_phase = r->wait_phase == SOOM_PHASE_HANDLER;
    enum soom_module_step step = soom_module_resumed(r, result, timed_out);
    if (step == SOOM_MODULE_NEXT && in_phase)
        handle(r, r->wait_next);
    else if (step != SOOM_MODULE_WAIT)
        r->responded = true;
    step_end(r, outer);
}

void soom_pipeline_respond(struct soom_request *r)
{
    /* probes and scrapes were answered before any module saw the request,
     * and stay out of their way (a module cannot break /live) */
    if (r->response_phase_ran || r->probe)
        return;
    r->response_phase_ran = true;
    soom_module_phase(r, SOOM_PHASE_RESPONSE, 0);
}

void soom_pipeline_done(struct soom_request *r)
{
    if (!r->probe)
        soom_module_phase(r, SOOM_PHASE_DONE, 0);
}
