/*
 * The built-in endpoints (see builtin.h).
 *
 * /live only says the process serves requests: it never looks at the
 * database, so an outage does not make an orchestrator restart every
 * replica. /ready says a request could be served now: not draining, and a
 * database connection can be had (and answers) within
 * health.ready_timeout_ms. /metrics is the Prometheus text format of the
 * whole service, every process of a prefork server included.
 */
#include "builtin.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "lua_worker.h"
#include "ops_metrics.h"
#include "ops_report.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "soom/response.h"

static atomic_bool draining;

void soom_builtin_set_draining(void)
{
    atomic_store(&draining, true);
}

static bool path_is(const struct soom_request *r, const char *path)
{
    size_t n = strlen(path);
    return r->path_len == n && memcmp(r->path, path, n) == 0;
}

static void answer_json(struct soom_request *r, const char *body)
{
    soom_response_header_borrow(r, "Cache-Control", "no-store");
    soom_response_copy(r, body, strlen(body), "application/json");
}

void soom_builtin_ready(struct soom_request *r)
{
    r->ready_check = false;
    if (atomic_load(&draining)) {
        soom_response_problem(r, 503, "the server is shutting down", NULL);
        return;
    }
    const struct soom_config *cfg = r->config;
    struct soom_pg_pool *pool = soom_pg_pool_global(cfg);
    if (cfg->database_url[0] != '\0' &&
        (pool == NULL || soom_pg_pool_check(pool, cfg->health_ready_timeout_ms) != SOOM_OK)) {
        soom_response_header(r, "Retry-After", "1");
        soom_response_problem(r, 503, "no database connection could be had", NULL);
        return;
    }
    answer_json(r, "{\"status\":\"ok\"}");
}

static void metrics(struct soom_request *r)
{
    struct soom_buf *b = soom_response_buffer();
    soom_metrics_expose(b);
    soom_response_header_borrow(r, "Cache-Control", "no-store");
    soom_response_take(r, b, SOOM_METRICS_CONTENT_TYPE);
}

bool soom_builtin_answer(struct soom_request *r, bool with_metrics)
{
    const struct soom_config *cfg = r->config;
    bool safe = r->method == SOOM_GET || r->method == SOOM_HEAD;
    if (with_metrics && cfg->metrics_enabled && path_is(r, cfg->metrics_path))
        r->probe = true;
    else if (path_is(r, cfg->health_live_path) || path_is(r, cfg->health_ready_path))
        r->probe = true;
    else
        return false;
    if (!safe) {
        soom_response_header(r, "Allow", "GET, HEAD");
        soom_response_problem(r, 405, "this endpoint answers GET and HEAD", NULL);
    } else if (path_is(r, cfg->health_ready_path)) {
        r->ready_check = true; /* waits for a connection: in the last step */
    } else if (path_is(r, cfg->health_live_path)) {
        answer_json(r, "{\"status\":\"ok\"}");
    } else {
        metrics(r);
    }
    return true;
}

/* ---- the operations of a serving process ------------------------------- */

int soom_builtin_setup(const struct soom_app *app, const char *mhd_version)
{
    const struct soom_config *cfg = app->config;
    if (!cfg->metrics_enabled)
        return SOOM_OK;
    const char **routes = xcalloc(app->nroutes + 1, sizeof *routes);
    for (size_t i = 0; i < app->nroutes; i++)
        routes[i] = app->routes[i].pattern;
    struct soom_metrics_options o = {
        .processes = cfg->model == SOOM_SERVER_PREFORK ? (unsigned)cfg->workers : 1,
        .threads = cfg->model == SOOM_SERVER_THREAD_PER_CONNECTION ? 32 : (unsigned)cfg->threads,
        .duration_buckets = cfg->metrics_buckets,
        .routes = routes, /* kept for the life of the process */
        .nroutes = app->nroutes,
        .versions = {soom_lua_version(), mhd_version, soom_pg_lib_version()},
    };
    char err[256];
    int rc = soom_metrics_setup(&o, err, sizeof err);
    if (rc != SOOM_OK) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot set up metrics");
        soom_log_str(&l, "error", err);
        soom_log_end(&l);
    }
    return rc;
}

void soom_builtin_process_begin(const struct soom_app *app, unsigned index)
{
    const struct soom_config *cfg = app->config;
    soom_metrics_process_begin(index);
    if (cfg->report_dsn[0] == '\0')
        return;
    struct soom_report_options o = {cfg->report_dsn,         (size_t)cfg->report_queue,
                                    cfg->report_timeout_ms,  cfg->report_release,
                                    cfg->report_environment, cfg->report_server_name};
    char err[256];
    if (soom_report_start(&o, err, sizeof err) != SOOM_OK) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "error reports are off");
        soom_log_str(&l, "error", err);
        soom_log_end(&l);
    }
}

void soom_builtin_sample(const struct soom_app *app)
{
    if (!soom_metrics_enabled())
        return;
    struct soom_pg_pool *pool = soom_pg_pool_global(NULL);
    if (pool != NULL) {
        struct soom_pg_pool_stats st;
        soom_pg_pool_stats(pool, &st);
        soom_metrics_pool_state(st.idle, st.in_use, st.waiting, st.max);
    }
    if (app->lua != NULL)
        soom_metrics_lua_memory(soom_lua_pool_memory(app->lua));
    soom_metrics_process_sample();
}

void soom_builtin_process_end(void)
{
    soom_report_stop(2000);
}
