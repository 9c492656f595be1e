/*
 * The settings table and its loaders.
 *
 * KEYS is the single source of truth: each entry gives a dotted key, its
 * type, where it lives in struct soom_config and its default. Loading from
 * Lua, from the environment and listing for Lua all walk this table, so a
 * new setting is one line here plus its field.
 */
#include "soom/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "soom/error.h"

struct key {
    const char *name;
    enum soom_config_type type;
    size_t offset;
    const char *def; /* default, as text */
    double min, max; /* bounds for numbers */
};

#define F(field) offsetof(struct soom_config, field)
#define BIG 1e15

static const struct key KEYS[] = {
    {"server", SOOM_CONFIG_STRING, F(server), "async", 0, 0},
    {"threads", SOOM_CONFIG_INT, F(threads), "0", 0, 1024},
    {"workers", SOOM_CONFIG_INT, F(workers), "0", 0, 1024},
    {"host", SOOM_CONFIG_STRING, F(host), "127.0.0.1", 0, 0},
    {"port", SOOM_CONFIG_INT, F(port), "8000", 0, 65535},
    {"max_body", SOOM_CONFIG_INT, F(max_body), "1048576", 0, BIG},
    {"max_header", SOOM_CONFIG_INT, F(max_header), "16384", 1024, 1 << 24},
    {"idle_timeout", SOOM_CONFIG_NUMBER, F(idle_timeout), "30", 0.05, 86400},
    {"max_connections", SOOM_CONFIG_INT, F(max_connections), "1024", 1, 1000000},
    {"drain_timeout", SOOM_CONFIG_NUMBER, F(drain_timeout), "10", 0, 3600},
    {"request_timeout", SOOM_CONFIG_NUMBER, F(request_timeout), "60", 0, 86400},
    {"handler_timeout", SOOM_CONFIG_NUMBER, F(handler_timeout), "10", 0, 86400},
    {"lua_memory_limit", SOOM_CONFIG_INT, F(lua_memory_limit), "1073741824", 0, BIG},
    {"json_max_depth", SOOM_CONFIG_INT, F(json_max_depth), "64", 1, 512},
    {"format_assertion", SOOM_CONFIG_BOOL, F(format_assertion), "false", 0, 0},
    {"debug", SOOM_CONFIG_BOOL, F(debug), "false", 0, 0},
    {"reload", SOOM_CONFIG_BOOL, F(reload), "false", 0, 0},
    {"log_level", SOOM_CONFIG_STRING, F(log_level), "info", 0, 0},
    {"access_log", SOOM_CONFIG_BOOL, F(access_log), "true", 0, 0},
    {"log_buffer", SOOM_CONFIG_INT, F(log_buffer), "16384", 0, 1 << 24},
    {"database_url", SOOM_CONFIG_STRING, F(database_url), "", 0, 0},
    {"pool.min", SOOM_CONFIG_INT, F(pool_min), "1", 0, 1000},
    {"pool.max", SOOM_CONFIG_INT, F(pool_max), "8", 1, 1000},
    {"pool.acquire_timeout_ms", SOOM_CONFIG_INT, F(pool_acquire_timeout_ms), "5000", 0, 3600000},
    {"pool.max_waiting", SOOM_CONFIG_INT, F(pool_max_waiting), "256", 0, 1000000},
    {"pool.idle_check_ms", SOOM_CONFIG_INT, F(pool_idle_check_ms), "5000", 0, 3600000},
    {"pool.statement_timeout_ms", SOOM_CONFIG_INT, F(pool_statement_timeout_ms), "30000", 0,
     86400000},
    {"pool.prepared", SOOM_CONFIG_BOOL, F(pool_prepared), "true", 0, 0},
    {"pool.trace", SOOM_CONFIG_BOOL, F(pool_trace), "false", 0, 0},
    {"database.pooler", SOOM_CONFIG_STRING, F(database_pooler), "", 0, 0},
    {"database.shared_statements", SOOM_CONFIG_BOOL, F(shared_statements), "true", 0, 0},
    {"database.replicas", SOOM_CONFIG_STRING, F(database_replicas), "", 0, 0},
    {"database.max_replica_lag", SOOM_CONFIG_NUMBER, F(max_replica_lag), "1", 0, 86400},
    {"database.replica_check_ms", SOOM_CONFIG_INT, F(replica_check_ms), "200", 10, 60000},
    {"http.timeout", SOOM_CONFIG_NUMBER, F(http_timeout), "10", 0, 86400},
    {"http.connect_timeout", SOOM_CONFIG_NUMBER, F(http_connect_timeout), "5", 0, 3600},
    {"http.max_per_host", SOOM_CONFIG_INT, F(http_max_per_host), "256", 1, 100000},
    {"http.ca_file", SOOM_CONFIG_STRING, F(http_ca_file), "", 0, 0},
    {"numeric_as", SOOM_CONFIG_STRING, F(numeric_as), "string", 0, 0},
    {"secret_key", SOOM_CONFIG_STRING, F(secret_key), "", 0, 0},
    {"secret_key_fallbacks", SOOM_CONFIG_STRING, F(secret_key_fallbacks), "", 0, 0},
    {"idempotency.enabled", SOOM_CONFIG_BOOL, F(idempotency_enabled), "true", 0, 0},
    {"idempotency.ttl", SOOM_CONFIG_NUMBER, F(idempotency_ttl), "86400", 1, 1e9},
    {"idempotency.purge_interval", SOOM_CONFIG_NUMBER, F(idempotency_purge_interval), "60", 0.1,
     86400},
    {"trust_proxy", SOOM_CONFIG_BOOL, F(trust_proxy), "false", 0, 0},
    {"proxy_count", SOOM_CONFIG_INT, F(proxy_count), "1", 0, 64},
    {"auth.cache_ttl", SOOM_CONFIG_NUMBER, F(auth_cache_ttl), "5", 0, 86400},
    {"auth.cache_size", SOOM_CONFIG_INT, F(auth_cache_size), "10000", 16, 10000000},
    {"auth.token_keyword", SOOM_CONFIG_STRING, F(auth_token_keyword), "Token", 0, 0},
    {"auth.api_keys", SOOM_CONFIG_STRING, F(auth_api_keys), "", 0, 0},
    {"jwt.signing_key", SOOM_CONFIG_STRING, F(jwt_signing_key), "", 0, 0},
    {"jwt.verifying_key", SOOM_CONFIG_STRING, F(jwt_verifying_key), "", 0, 0},
    {"jwt.jwks", SOOM_CONFIG_STRING, F(jwt_jwks), "", 0, 0},
    {"jwt.algorithm", SOOM_CONFIG_STRING, F(jwt_algorithm), "", 0, 0},
    {"jwt.audience", SOOM_CONFIG_STRING, F(jwt_audience), "", 0, 0},
    {"jwt.issuer", SOOM_CONFIG_STRING, F(jwt_issuer), "", 0, 0},
    {"jwt.leeway", SOOM_CONFIG_NUMBER, F(jwt_leeway), "0", 0, 86400},
    {"jwt.user_id_claim", SOOM_CONFIG_STRING, F(jwt_user_id_claim), "user_id", 0, 0},
    {"jwt.access_lifetime", SOOM_CONFIG_NUMBER, F(jwt_access_lifetime), "300", 1, 1e9},
    {"jwt.refresh_lifetime", SOOM_CONFIG_NUMBER, F(jwt_refresh_lifetime), "86400", 1, 1e9},
    {"jwt.rotate_refresh_tokens", SOOM_CONFIG_BOOL, F(jwt_rotate_refresh), "false", 0, 0},
    {"jwt.blacklist_after_rotation", SOOM_CONFIG_BOOL, F(jwt_blacklist_after_rotation), "false", 0,
     0},
    {"throttle_backend", SOOM_CONFIG_STRING, F(throttle_backend), "memory", 0, 0},
    {"throttle_cache_size", SOOM_CONFIG_INT, F(throttle_cache_size), "100000", 16, 100000000},
    {"metrics.enabled", SOOM_CONFIG_BOOL, F(metrics_enabled), "true", 0, 0},
    {"metrics.path", SOOM_CONFIG_STRING, F(metrics_path), "/metrics", 0, 0},
    {"metrics.port", SOOM_CONFIG_INT, F(metrics_port), "0", 0, 65535},
    {"metrics.buckets", SOOM_CONFIG_STRING, F(metrics_buckets),
     "0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10", 0, 0},
    {"health.live_path", SOOM_CONFIG_STRING, F(health_live_path), "/live", 0, 0},
    {"health.ready_path", SOOM_CONFIG_STRING, F(health_ready_path), "/ready", 0, 0},
    {"health.ready_timeout_ms", SOOM_CONFIG_INT, F(health_ready_timeout_ms), "1000", 1, 60000},
    {"health.access_log", SOOM_CONFIG_BOOL, F(health_access_log), "false", 0, 0},
    {"error_reporting.dsn", SOOM_CONFIG_STRING, F(report_dsn), "", 0, 0},
    {"error_reporting.environment", SOOM_CONFIG_STRING, F(report_environment), "production", 0, 0},
    {"error_reporting.release", SOOM_CONFIG_STRING, F(report_release), "", 0, 0},
    {"error_reporting.server_name", SOOM_CONFIG_STRING, F(report_server_name), "", 0, 0},
    {"error_reporting.queue", SOOM_CONFIG_INT, F(report_queue), "100", 1, 100000},
    {"error_reporting.timeout_ms", SOOM_CONFIG_INT, F(report_timeout_ms), "2000", 1, 60000},
    {"error_reporting.scrub_fields", SOOM_CONFIG_STRING, F(report_scrub_fields),
     "password,passwd,secret,token,access_token,refresh_token,api_key,apikey,authorization,"
     "credit_card,card_number,cvv",
     0, 0},
    {"openapi.json", SOOM_CONFIG_STRING, F(openapi_json), "/openapi.json", 0, 0},
    {"openapi.yaml", SOOM_CONFIG_STRING, F(openapi_yaml), "/openapi.yaml", 0, 0},
    {"openapi.docs", SOOM_CONFIG_STRING, F(openapi_docs), "/docs", 0, 0},
    {"openapi.redoc", SOOM_CONFIG_STRING, F(openapi_redoc), "/redoc", 0, 0},
    {"openapi.ui", SOOM_CONFIG_STRING, F(openapi_ui), "debug", 0, 0},
    {"openapi.servers", SOOM_CONFIG_STRING, F(openapi_servers), "", 0, 0},
    {"check.drift", SOOM_CONFIG_STRING, F(check_drift), "error", 0, 0},
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(KEYS[i].name, name) == 0)
            return &KEYS[i];
    }
    return NULL;
}

static void *field(struct soom_config *c, const struct key *k)
{
    return (char *)c + k->offset;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *key, const char *what)
{
    snprintf(err, errlen, fmt, key, what);
    return SOOM_ECONFIG;
}

static const char *TYPE_NAMES[] = {"a string", "an integer", "a number", "a boolean"};

static int unknown(const char *key, char *err, size_t errlen)
{
    return fail(err, errlen, "unknown setting \"%s\"%s", key, "");
}

static int store_number(struct soom_config *c, const struct key *k, double v, char *err,
                        size_t errlen)
{
    if (k->type == SOOM_CONFIG_INT && v != floor(v))
        return fail(err, errlen, "setting \"%s\" must be %s", k->name, TYPE_NAMES[k->type]);
    if (v < k->min || v > k->max) {
        snprintf(err, errlen, "setting \"%s\" must be between %g and %g", k->name, k->min, k->max);
        return SOOM_ECONFIG;
    }
    if (k->type == SOOM_CONFIG_INT)
        *(long *)field(c, k) = (long)v;
    else
        *(double *)field(c, k) = v;
    return SOOM_OK;
}

int soom_config_set_string(struct soom_config *c, const char *key, const char *value, char *err,
                           size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL)
        return unknown(key, err, errlen);
    if (k->type != SOOM_CONFIG_STRING)
        return fail(err, errlen, "setting \"%s\" must be %s, not a string", key,
                    TYPE_NAMES[k->type]);
    char **slot = field(c, k);
    free(*slot);
    *slot = xstrdup(value);
    return SOOM_OK;
}

int soom_config_set_number(struct soom_config *c, const char *key, double value, char *err,
                           size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL)
        return unknown(key, err, errlen);
    if (k->type != SOOM_CONFIG_INT && k->type != SOOM_CONFIG_NUMBER)
        return fail(err, errlen, "setting \"%s\" must be %s, not a number", key,
                    TYPE_NAMES[k->type]);
    return store_number(c, k, value, err, errlen);
}

int soom_config_set_bool(struct soom_config *c, const char *key, bool value, char *err,
                         size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL)
        return unknown(key, err, errlen);
    if (k->type != SOOM_CONFIG_BOOL)
        return fail(err, errlen, "setting \"%s\" must be %s, not a boolean", key,
                    TYPE_NAMES[k->type]);
    *(bool *)field(c, k) = value;
    if (k->offset == F(pool_prepared))
        c->pool_prepared_explicit = value;
    return SOOM_OK;
}

static int parse_bool(const char *t, bool *out)
{
    if (strcmp(t, "true") == 0 || strcmp(t, "1") == 0 || strcmp(t, "yes") == 0 ||
        strcmp(t, "on") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(t, "false") == 0 || strcmp(t, "0") == 0 || strcmp(t, "no") == 0 ||
        strcmp(t, "off") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

int soom_config_set_text(struct soom_config *c, const char *key, const char *text, char *err,
                         size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL)
        return unknown(key, err, errlen);
    switch (k->type) {
    case SOOM_CONFIG_STRING: return soom_config_set_string(c, key, text, err, errlen);
    case SOOM_CONFIG_BOOL: {
        bool b;
        if (parse_bool(text, &b) != 0)
            return fail(err, errlen, "setting \"%s\" must be a boolean, not \"%s\"", key, text);
        return soom_config_set_bool(c, key, b, err, errlen);
    }
    case SOOM_CONFIG_INT:
    case SOOM_CONFIG_NUMBER: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
            return fail(err, errlen, "setting \"%s\" must be a number, not \"%s\"", key, text);
        return store_number(c, k, v, err, errlen);
    }
    }
    return SOOM_ECONFIG;
}

struct soom_config *soom_config_new(void)
{
    struct soom_config *c = xcalloc(1, sizeof *c);
    char err[256];
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = soom_config_set_text(c, KEYS[i].name, KEYS[i].def, err, sizeof err);
        (void)rc;
    }
    c->pool_prepared_explicit = false;
    return c;
}

void soom_config_free(struct soom_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        if (KEYS[i].type == SOOM_CONFIG_STRING)
            free(*(char **)field(c, &KEYS[i]));
    }
    free(c);
}

int soom_config_key_type(const char *key)
{
    const struct key *k = find_key(key);
    return k != NULL ? (int)k->type : -1;
}

bool soom_config_is_section(const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < NKEYS; i++) {
        if (strncmp(KEYS[i].name, key, n) == 0 && KEYS[i].name[n] == '.')
            return true;
    }
    return false;
}

/* SOOM_POOL__MAX_SIZE -> pool.max_size */
static void env_to_key(const char *name, size_t len, char *key, size_t keylen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < keylen; i++) {
        if (name[i] == '_' && i + 1 < len && name[i + 1] == '_') {
            key[o++] = '.';
            i++;
        } else {
            key[o++] = (char)tolower((unsigned char)name[i]);
        }
    }
    key[o] = '\0';
}

int soom_config_apply_env(struct soom_config *c, char *const *envp, char *unknown,
                          size_t unknownlen, char *err, size_t errlen)
{
    static const char PREFIX[] = "SOOM_";
    size_t nunknown = 0;
    if (unknownlen > 0)
        unknown[0] = '\0';
    for (char *const *e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        const char *name = *e;
        size_t namelen = (size_t)(eq - name);
        const char *value = eq + 1;
        int rc = SOOM_OK;
        if (namelen == 12 && strncmp(name, "DATABASE_URL", 12) == 0) {
            rc = soom_config_set_string(c, "database_url", value, err, errlen);
        } else if (namelen == 10 && strncmp(name, "SENTRY_DSN", 10) == 0) {
            rc = soom_config_set_string(c, "error_reporting.dsn", value, err, errlen);
        } else if (namelen > 5 && strncmp(name, PREFIX, 5) == 0) {
            if (namelen == 9 && strncmp(name, "SOOM_HOME", 9) == 0)
                continue;
            if (namelen > 14 && strncmp(name, "SOOM_MODULES__", 14) == 0)
                continue; /* native modules' settings: soom.core.modules reads them */
            char key[128];
            env_to_key(name + 5, namelen - 5, key, sizeof key);
            if (find_key(key) == NULL) {
                if (nunknown + namelen + 2 < unknownlen) {
                    if (nunknown > 0)
                        unknown[nunknown++] = ',';
                    memcpy(unknown + nunknown, name, namelen);
                    nunknown += namelen;
                    unknown[nunknown] = '\0';
                }
                continue;
            }
            rc = soom_config_set_text(c, key, value, err, errlen);
        }
        if (rc != SOOM_OK)
            return rc;
    }
    return SOOM_OK;
}

static int one_of(const char *key, const char *value, const char *const *names, int n, int *out,
                  char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return SOOM_OK;
        }
    }
    size_t w =
        (size_t)snprintf(err, errlen, "setting \"%s\" is \"%s\"; expected one of", key, value);
    for (int i = 0; i < n && w < errlen; i++)
        w += (size_t)snprintf(err + w, errlen - w, "%s \"%s\"", i ? "," : "", names[i]);
    return SOOM_ECONFIG;
}

int soom_config_finish(struct soom_config *c, char *err, size_t errlen)
{
    static const char *const MODELS[] = {"threads", "thread-per-connection", "prefork", "async"};
    static const char *const LEVELS[] = {"debug", "info", "warn", "error"};
    int v = 0;
    int rc = one_of("server", c->server, MODELS, 4, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    c->model = (enum soom_server_model)v;
    rc = one_of("log_level", c->log_level, LEVELS, 4, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    c->level = (enum soom_log_level)v;
    static const char *const NUMERIC[] = {"string", "number"};
    rc = one_of("numeric_as", c->numeric_as, NUMERIC, 2, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    static const char *const DRIFT[] = {"error", "warn", "off"};
    rc = one_of("check.drift", c->check_drift, DRIFT, 3, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    static const char *const THROTTLE[] = {"memory", "postgres"};
    rc = one_of("throttle_backend", c->throttle_backend, THROTTLE, 2, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    c->throttle_postgres = v == 1;
    static const char *const POOLERS[] = {"", "pgbouncer-transaction"};
    rc = one_of("database.pooler", c->database_pooler, POOLERS, 2, &v, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    c->pooler_transaction = v == 1;
    if (c->pool_min > c->pool_max) {
        snprintf(err, errlen, "setting \"pool.min\" (%ld) exceeds \"pool.max\" (%ld)", c->pool_min,
                 c->pool_max);
        return SOOM_ECONFIG;
    }
    const char *paths[] = {c->metrics_path, c->health_live_path, c->health_ready_path};
    const char *names[] = {"metrics.path", "health.live_path", "health.ready_path"};
    for (int i = 0; i < 3; i++) {
        if (paths[i][0] != '/') {
            snprintf(err, errlen, "setting \"%s\" must be a path starting with /, not \"%s\"",
                     names[i], paths[i]);
            return SOOM_ECONFIG;
        }
    }
    if (c->report_server_name[0] == '\0') {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) == 0) {
            free(c->report_server_name);
            c->report_server_name = xstrdup(host);
        }
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (c->threads == 0)
        c->threads = cores;
    if (c->workers == 0)
        c->workers = cores;
    return SOOM_OK;
}

void soom_config_each(const struct soom_config *c, soom_config_visit_fn fn, void *ud)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const void *p = (const char *)c + KEYS[i].offset;
        if (KEYS[i].type == SOOM_CONFIG_STRING)
            p = *(char *const *)p;
        fn(ud, KEYS[i].name, KEYS[i].type, p);
    }
}
