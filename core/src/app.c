/*
 * The app's route table and router (see app.h).
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lua_worker.h"
#include "soom/error.h"
#include "soom/json.h"

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
    soom_lua_pool_free(app->lua);
    for (size_t i = 0; i < app->nroutes; i++) {
        free(app->routes[i].pattern);
        free(app->routes[i].pattern_json);
        free(app->routes[i].name);
    }
    free(app->routes);
    soom_router_free(app->router);
    soom_config_free(app->config);
    free(app->dir);
    free(app->home);
    free(app);
}

int soom_app_add_route(struct soom_app *app, const char *pattern, unsigned methods,
                       const char *name, bool raw_body, char *err, size_t errlen)
{
    int id = (int)app->nroutes;
    int rc = soom_router_add(app->router, pattern, methods, id, name, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    app->routes = xrealloc(app->routes, (app->nroutes + 1) * sizeof(app->routes[0]));
    struct soom_route *r = &app->routes[app->nroutes++];
    r->id = id;
    r->pattern = xstrdup(pattern);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_write_string(&b, pattern, strlen(pattern));
    r->pattern_json = soom_buf_detach(&b, NULL);
    r->name = xstrdup(name);
    r->methods = methods;
    r->raw_body = raw_body;
    return SOOM_OK;
}
