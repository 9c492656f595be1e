/*
 * The app's route table and router (see app.h).
 */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
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

static void route_free(struct soom_route *r)
{
    free(r->pattern);
    free(r->pattern_json);
    free(r->name);
    soom_validate_free(r->body);
    soom_validate_free(r->patch);
    soom_validate_free(r->query);
    soom_plan_free(r->plan);
}

int soom_app_add_route(struct soom_app *app, const struct soom_route_spec *spec, char *err,
                       size_t errlen)
{
    struct soom_route r = {
        .id = (int)app->nroutes, .methods = spec->methods, .raw_body = spec->raw_body};
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
    return SOOM_OK;
}
