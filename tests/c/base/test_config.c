/* Unit tests of core/src/base/config.c: defaults, typed setters, environment
 * overrides, and the errors that name the key. */
#include <stdlib.h>

#include "soom/config.h"
#include "soom/error.h"
#include "test.h"

static char err[512];
static char unknown[256];

static void test_defaults(void)
{
    struct soom_config *c = soom_config_new();
    CHECK_STR(c->server, "async");
    CHECK_INT(c->port, 8000);
    CHECK_INT(c->max_body, 1048576);
    CHECK_INT(c->json_max_depth, 64);
    CHECK(c->access_log);
    CHECK_STR(c->database_url, "");
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_OK);
    CHECK(c->threads >= 1);
    CHECK_INT(c->model, SOOM_SERVER_ASYNC);
    CHECK(c->request_timeout == 60 && c->handler_timeout == 10);
    CHECK(c->http_timeout == 10 && c->http_max_per_host == 256);
    soom_config_free(c);
}

static void test_setters(void)
{
    struct soom_config *c = soom_config_new();
    CHECK_INT(soom_config_set_number(c, "port", 9000, err, sizeof err), SOOM_OK);
    CHECK_INT(c->port, 9000);
    CHECK_INT(soom_config_set_string(c, "server", "prefork", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_set_bool(c, "access_log", false, err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_set_number(c, "idle_timeout", 0.5, err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_OK);
    CHECK_INT(c->model, SOOM_SERVER_PREFORK);
    CHECK(!c->access_log);
    CHECK(c->idle_timeout == 0.5);
    soom_config_free(c);
}

static void test_errors_name_the_key(void)
{
    struct soom_config *c = soom_config_new();
    CHECK_INT(soom_config_set_string(c, "prot", "1", err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "\"prot\"") != NULL);
    CHECK_INT(soom_config_set_string(c, "port", "9000", err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "\"port\"") != NULL && strstr(err, "integer") != NULL);
    CHECK_INT(soom_config_set_number(c, "port", 80.5, err, sizeof err), SOOM_ECONFIG);
    CHECK_INT(soom_config_set_number(c, "port", 70000, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "between") != NULL);
    CHECK_INT(soom_config_set_bool(c, "host", true, err, sizeof err), SOOM_ECONFIG);
    CHECK_INT(soom_config_set_number(c, "debug", 1, err, sizeof err), SOOM_ECONFIG);
    CHECK_INT(soom_config_set_string(c, "server", "gevent", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "\"server\"") != NULL && strstr(err, "gevent") != NULL);
    soom_config_free(c);
}

static void test_env_overrides(void)
{
    struct soom_config *c = soom_config_new();
    char *env[] = {"PATH=/bin",
                   "SOOM_PORT=9100",
                   "SOOM_SERVER=thread-per-connection",
                   "SOOM_ACCESS_LOG=false",
                   "SOOM_IDLE_TIMEOUT=2.5",
                   "SOOM_HOME=/somewhere",
                   "DATABASE_URL=postgres://u@h/db",
                   NULL};
    CHECK_INT(soom_config_apply_env(c, env, unknown, sizeof unknown, err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_OK);
    CHECK_INT(c->port, 9100);
    CHECK_INT(c->model, SOOM_SERVER_THREAD_PER_CONNECTION);
    CHECK(!c->access_log);
    CHECK(c->idle_timeout == 2.5);
    CHECK_STR(c->database_url, "postgres://u@h/db");
    soom_config_free(c);
}

static void test_env_errors(void)
{
    struct soom_config *c = soom_config_new();
    char *typo[] = {"SOOM_PROT=1", "SOOM_SERVICE_HOST=10.0.0.1", NULL};
    CHECK_INT(soom_config_apply_env(c, typo, unknown, sizeof unknown, err, sizeof err), SOOM_OK);
    CHECK_STR(unknown, "SOOM_PROT,SOOM_SERVICE_HOST");
    CHECK_INT(c->port, 8000);
    char *bad[] = {"SOOM_PORT=eighty", NULL};
    CHECK_INT(soom_config_apply_env(c, bad, unknown, sizeof unknown, err, sizeof err),
              SOOM_ECONFIG);
    CHECK(strstr(err, "\"port\"") != NULL);
    char *badbool[] = {"SOOM_DEBUG=maybe", NULL};
    CHECK_INT(soom_config_apply_env(c, badbool, unknown, sizeof unknown, err, sizeof err),
              SOOM_ECONFIG);
    soom_config_free(c);
}

static void test_sections(void)
{
    CHECK(soom_config_is_section("pool"));
    CHECK(!soom_config_is_section("port"));
    CHECK(!soom_config_is_section("nope"));
    struct soom_config *c = soom_config_new();
    CHECK_INT(soom_config_set_number(c, "pool.max", 16, err, sizeof err), SOOM_OK);
    CHECK_INT(c->pool_max, 16);
    char *env[] = {"SOOM_POOL__MAX=32", "SOOM_POOL__PREPARED=false", NULL};
    CHECK_INT(soom_config_apply_env(c, env, unknown, sizeof unknown, err, sizeof err), SOOM_OK);
    CHECK_INT(c->pool_max, 32);
    CHECK(!c->pool_prepared);
    CHECK_INT(soom_config_set_number(c, "pool.min", 40, err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "pool.min") != NULL);
    soom_config_free(c);
}

static void test_operations(void)
{
    struct soom_config *c = soom_config_new();
    char err[256], unknown[256];
    CHECK(c->metrics_enabled);
    CHECK_STR(c->metrics_path, "/metrics");
    CHECK_STR(c->health_ready_path, "/ready");
    CHECK_INT(c->metrics_port, 0);
    CHECK_STR(c->report_dsn, "");
    char *env[] = {"SENTRY_DSN=https://k@example.com/1", "SOOM_METRICS__PORT=9090",
                   "SOOM_ERROR_REPORTING__QUEUE=5", NULL};
    CHECK_INT(soom_config_apply_env(c, env, unknown, sizeof unknown, err, sizeof err), SOOM_OK);
    CHECK_STR(c->report_dsn, "https://k@example.com/1");
    CHECK_INT(c->metrics_port, 9090);
    CHECK_INT(c->report_queue, 5);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_OK);
    CHECK(c->report_server_name[0] != '\0'); /* the host name */
    CHECK_INT(soom_config_set_string(c, "health.live_path", "live", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_config_finish(c, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "health.live_path") != NULL);
    soom_config_free(c);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_setters);
    RUN(test_errors_name_the_key);
    RUN(test_env_overrides);
    RUN(test_env_errors);
    RUN(test_sections);
    RUN(test_operations);
    return test_summary();
}
