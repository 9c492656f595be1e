/*
 * The app's route table and router (see app.h).
 */
#include "app.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "hash.h"
#include "plan.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

static void route_free(struct soom_route *r);

struct soom_app *soom_app_new(struct soom_config *config, const char *dir, const char *home)
{
    struct soom_app *app = xcalloc(1, sizeof *app);
    app->config = config;
    app->dir = xstrdup(dir);
    app->home = xstrdup(home);
    app->router = soom_router_new();
    app->access = soom_access_new(config);
    return app;
}

void soom_app_free(struct soom_app *app)
{
    if (app == NULL)
        return;
    for (size_t i = 0; i < app->nroutes; i++)
        route_free(&app->routes[i]);
    free(app->routes);
    soom_router_free(app->router);
    soom_access_free(app->access);
    soom_config_free(app->config);
    free(app->dir);
    free(app->home);
    free(app);
}

static int compile(const struct soom_app *app, const char *text, const char *what, const char *name,
                   struct soom_validator **out, char *err, size_t errlen)
{
    *out = NULL;
    if (text == NULL)
        return SOOM_OK;
    struct soom_validate_options opts;
    soom_validate_options_init(&opts);
    opts.format_assertion = app->config->format_assertion;
    char why[512];
    int rc = soom_validate_compile(text, strlen(text), &opts, out, why, sizeof why);
    if (rc != SOOM_OK)
        snprintf(err, errlen, "%s: %s: %s", name, what, why);
    return rc;
}

/* Sets the bytes of `s` (copied) and the ETag naming them. */
static void static_set(struct soom_static *s, const char *data, size_t len)
{
    s->data = xmalloc(len + 1);
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    s->len = len;
    snprintf(s->etag, sizeof s->etag, "\"%016llx\"",
             (unsigned long long)soom_hash_bytes(s->data, s->len, 0));
}

static struct soom_static *static_new(const struct soom_route_spec *spec)
{
    struct soom_static *s = xcalloc(1, sizeof *s);
    if (spec->static_data != NULL)
        static_set(s, spec->static_data, spec->static_len);
    s->content_type = xstrdup(spec->static_type ? spec->static_type : "application/octet-stream");
    s->cache_control = xstrdup(spec->static_cache ? spec->static_cache : "no-cache");
    s->nheaders = spec->static_nheaders;
    s->headers = xcalloc(s->nheaders + 1, sizeof *s->headers);
    for (size_t i = 0; i < s->nheaders; i++)
        s->headers[i] = xstrdup(spec->static_headers[i]);
    return s;
}

int soom_app_static_fill(struct soom_app *app, size_t id, const char *data, size_t len)
{
    struct soom_static *s = id < app->nroutes ? app->routes[id].statics : NULL;
    if (s == NULL || s->data != NULL)
        return SOOM_EINVAL;
    static_set(s, data, len);
    return SOOM_OK;
}

static void static_free(struct soom_static *s)
{
    if (s == NULL)
        return;
    free(s->data);
    free(s->content_type);
    free(s->cache_control);
    for (size_t i = 0; i < s->nheaders; i++)
        free(s->headers[i]);
    free(s->headers);
    free(s);
}

static void route_free(struct soom_route *r)
{
    free(r->pattern);
    free(r->pattern_json);
    free(r->name);
    soom_validate_free(r->body);
    soom_validate_free(r->patch);
    soom_validate_free(r->query);
    soom_plan_free(r->plan);
    soom_access_route_free(r->access);
    static_free(r->statics);
}

int soom_app_add_class(struct soom_app *app, const struct access_class_spec *spec, char *err,
                       size_t errlen)
{
    return soom_access_add_class(app->access, spec, err, errlen);
}

int soom_app_add_route(struct soom_app *app, const struct soom_route_spec *spec, char *err,
                       size_t errlen)
{
    struct soom_route r = {.id = (int)app->nroutes,
                           .methods = spec->methods,
                           .raw_body = spec->raw_body,
                           .handler_timeout =
                               spec->has_handler_timeout ? spec->handler_timeout : -1,
                           .native = spec->native,
                           .idempotency = spec->idempotency};
    if (r.idempotency == SOOM_IDEMPOTENCY_DEFAULT)
        r.idempotency =
            app->config->idempotency_enabled ? SOOM_IDEMPOTENCY_ON : SOOM_IDEMPOTENCY_OFF;
    int rc = compile(app, spec->body_schema, "validation_schema", spec->name, &r.body, err, errlen);
    if (rc == SOOM_OK)
        rc = compile(app, spec->patch_schema, "validation_schema (PATCH)", spec->name, &r.patch,
                     err, errlen);
    if (rc == SOOM_OK)
        rc = compile(app, spec->query_schema, "query_schema", spec->name, &r.query, err, errlen);
    if (rc == SOOM_OK && spec->plan != NULL) {
        char why[512];
        rc = soom_plan_new(spec->plan, &r.plan, why, sizeof why);
        if (rc != SOOM_OK)
            snprintf(err, errlen, "%s: %s", spec->name, why);
    }
    if (rc == SOOM_OK && spec->access != NULL) {
        char why[512];
        rc = soom_access_route_new(app->access, spec->access, &r.access, why, sizeof why);
        if (rc != SOOM_OK)
            snprintf(err, errlen, "%s: %s", spec->name, why);
    }
    if (rc == SOOM_OK && (spec->static_data != NULL || spec->static_later))
        r.statics = static_new(spec);
    if (rc == SOOM_OK)
        rc = soom_router_add(app->router, spec->pattern, spec->methods, r.id, spec->name, err,
                             errlen);
    if (rc != SOOM_OK) {
        route_free(&r);
        return rc;
    }
    r.pattern = xstrdup(spec->pattern);
    r.name = xstrdup(spec->name);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_write_string(&b, spec->pattern, strlen(spec->pattern));
    r.pattern_json = soom_buf_detach(&b, NULL);
    app->routes = xrealloc(app->routes, (app->nroutes + 1) * sizeof(app->routes[0]));
    app->routes[app->nroutes++] = r;
    if (r.statics != NULL)
        app->nstatic++;
    return SOOM_OK;
}
