/*
 * Settings: built-in defaults, overridden by the app's settings.lua, then by
 * the environment (SOOM_<KEY>, nested keys joined by "__"; DATABASE_URL and
 * SENTRY_DSN as themselves).
 *
 * The table of known keys lives in config.c; it gives each key its type and
 * default, so a wrong type, an unknown key or a bad value is refused with a
 * message naming the key, before the server starts. A config is built once
 * at start-up (soom_config_new, the setters, soom_config_finish) and only
 * read afterwards, by every thread.
 */
#ifndef SOOM_CONFIG_H
#define SOOM_CONFIG_H

#include <stdbool.h>

#include "soom/log.h"
#include "soom/soom.h"

enum soom_server_model {
    SOOM_SERVER_THREADS,
    SOOM_SERVER_THREAD_PER_CONNECTION,
    SOOM_SERVER_PREFORK, /* its workers run SOOM_SERVER_ASYNC */
    SOOM_SERVER_ASYNC,
};

enum soom_config_type {
    SOOM_CONFIG_STRING,
    SOOM_CONFIG_INT,
    SOOM_CONFIG_NUMBER,
    SOOM_CONFIG_BOOL,
};

struct soom_config {
    /* server */
    char *server;
    enum soom_server_model model; /* derived from `server` */
    long threads;                 /* 0: one per core */
    long workers;                 /* prefork processes; 0: one per core */
    char *host;
    long port;
    long max_body;
    long max_header;
    double idle_timeout; /* seconds */
    long max_connections;
    double drain_timeout;   /* seconds */
    double request_timeout; /* seconds; 0: none */
    double handler_timeout; /* seconds of Lua without a wait; 0: none */
    long lua_memory_limit;  /* bytes a worker's Lua state may hold; 0: none */
    long json_max_depth;
    bool format_assertion; /* "format" validates, not only annotates */
    bool debug;
    bool reload; /* watch the app's Lua files and reload the Lua states (development) */
    /* logs */
    char *log_level;
    enum soom_log_level level; /* derived from `log_level` */
    bool access_log;
    long log_buffer; /* bytes of access lines buffered per thread */
    /* database */
    char *database_url;
    long pool_min;
    long pool_max;
    long pool_acquire_timeout_ms;
    long pool_max_waiting;
    long pool_idle_check_ms;
    long pool_statement_timeout_ms;
    bool pool_prepared;
    bool pool_trace; /* application_name carries the request's trace id */
    /* scale-out (docs/SCALING.md) */
    char *database_pooler;       /* "" or "pgbouncer-transaction" */
    bool pooler_transaction;     /* derived: a pooler in transaction mode */
    bool pool_prepared_explicit; /* pool.prepared = true was set, not defaulted */
    bool shared_statements;      /* behind the pooler: statements named alike everywhere */
    char *database_replicas;     /* read replicas' URLs, separated by white space */
    double max_replica_lag;      /* seconds a replica may be behind the primary */
    long replica_check_ms;       /* how often the replicas' lag is measured */
    char *numeric_as;            /* "string" (as Django REST framework) or "number" */
    /* outbound HTTP (soom.http) */
    double http_timeout;         /* seconds per call; 0: none */
    double http_connect_timeout; /* seconds */
    long http_max_per_host;      /* connections per host and worker thread */
    char *http_ca_file;          /* "": the system's CA bundle */
    /* Idempotency-Key on POST and PATCH (docs/DATABASE.md) */
    bool idempotency_enabled;          /* for resources that do not say */
    double idempotency_ttl;            /* seconds a key and its response are kept */
    double idempotency_purge_interval; /* seconds between deletions of expired keys */
    /* pagination */
    char *secret_key;
    char *secret_key_fallbacks; /* older secret keys, whitespace-separated: open cursors only */
    bool trust_proxy;
    long proxy_count; /* proxies in front that append to X-Forwarded-For */
    /* authentication, permissions, throttling (docs/AUTH.md) */
    double auth_cache_ttl; /* seconds a credential lookup is kept; 0: off */
    long auth_cache_size;  /* entries of that cache, per process */
    char *auth_token_keyword;
    char *auth_api_keys; /* "name:key,..." for API keys kept in settings */
    char *jwt_signing_key;
    char *jwt_verifying_key;
    char *jwt_jwks;
    char *jwt_algorithm;
    char *jwt_audience;
    char *jwt_issuer;
    double jwt_leeway;
    char *jwt_user_id_claim;
    double jwt_access_lifetime;
    double jwt_refresh_lifetime;
    bool jwt_rotate_refresh;
    bool jwt_blacklist_after_rotation;
    char *throttle_backend;
    bool throttle_postgres; /* derived: throttle_backend is "postgres" */
    long throttle_cache_size;
    /* operations: metrics, health probes, error reports */
    bool metrics_enabled;
    char *metrics_path;
    long metrics_port; /* 0: /metrics on the API port */
    char *metrics_buckets;
    char *health_live_path;
    char *health_ready_path;
    long health_ready_timeout_ms;
    bool health_access_log; /* probes and scrapes in the access log */
    char *report_dsn;       /* error_reporting.dsn, or SENTRY_DSN */
    char *report_environment;
    char *report_release;
    char *report_server_name;
    long report_queue;
    long report_timeout_ms;
    char *report_scrub_fields;
    /* the OpenAPI document and the docs pages (read by the Lua layer,
     * which builds their routes; "" turns one off) */
    char *openapi_json;
    char *openapi_yaml;
    char *openapi_docs;
    char *openapi_redoc;
    char *openapi_ui; /* "debug" (served when debug is on), "on" or "off" */
    char *openapi_servers;
    /* models against the live schema at start-up: "error", "warn", "off" */
    char *check_drift;
};

/* A config holding the defaults; freed with soom_config_free(), which
 * accepts NULL. */
SOOM_API struct soom_config *soom_config_new(void);
SOOM_API void soom_config_free(struct soom_config *c);

/* Typed setters for a dotted key ("pool.max"). Each returns SOOM_OK or
 * SOOM_ECONFIG with a message naming the key in `err`: unknown key, or a
 * value of the wrong type. An integer key accepts only integral numbers. */
SOOM_API int soom_config_set_string(struct soom_config *c, const char *key, const char *value,
                                    char *err, size_t errlen);
SOOM_API int soom_config_set_number(struct soom_config *c, const char *key, double value, char *err,
                                    size_t errlen);
SOOM_API int soom_config_set_bool(struct soom_config *c, const char *key, bool value, char *err,
                                  size_t errlen);

/* Sets a key from text, parsed by the key's type (as from the environment:
 * "true"/"false"/"1"/"0" for booleans). */
SOOM_API int soom_config_set_text(struct soom_config *c, const char *key, const char *text,
                                  char *err, size_t errlen);

/* The type of a known key, or -1. */
SOOM_API int soom_config_key_type(const char *key);

/* True when `key` is a known key or a section holding known keys ("pool"). */
SOOM_API bool soom_config_is_section(const char *key);

/* Applies SOOM_* variables, DATABASE_URL and SENTRY_DSN from `envp` (NULL-terminated,
 * like environ). A variable naming a known key with a bad value is an error.
 * A SOOM_ variable that names no key is not an error (environments carry
 * unrelated variables: Kubernetes injects <SERVICE>_PORT, for one), but its
 * name is listed in `unknown` (comma-separated) so the caller can warn about
 * a likely typo. SOOM_HOME (where soom finds its Lua files) is reserved;
 * SOOM_MODULES__* belong to native modules' settings, read elsewhere. */
SOOM_API int soom_config_apply_env(struct soom_config *c, char *const *envp, char *unknown,
                                   size_t unknownlen, char *err, size_t errlen);

/* Checks values and derives the enums; resolves 0 threads/workers to the
 * number of cores. Call once, after every setter. */
SOOM_API int soom_config_finish(struct soom_config *c, char *err, size_t errlen);

/* Walks every key in table order, for exposing the settings to Lua. */
typedef void (*soom_config_visit_fn)(void *ud, const char *key, enum soom_config_type type,
                                     const void *value);
SOOM_API void soom_config_each(const struct soom_config *c, soom_config_visit_fn fn, void *ud);

#endif
