-- The settings of @app@, over Soom's defaults. Every key can be overridden
-- from the environment as SOOM_<KEY> (nested keys joined by __, e.g.
-- SOOM_POOL__MAX=16), and DATABASE_URL and SENTRY_DSN as themselves: the
-- image, compose.yaml and deploy/k8s/ set them, so one image runs anywhere.
return {
    host = "127.0.0.1", -- the image listens on 0.0.0.0 (SOOM_HOST)
    port = 8000,
    -- an event loop per core: a request waiting on the database or another
    -- service holds no thread (threads, thread-per-connection, prefork also)
    server = "async",
    -- every line on stdout is one JSON object, one per request included
    log_level = "info",
    access_log = true,
    -- seconds in-flight requests get to finish after SIGTERM (deploy/k8s
    -- gives the pod longer than this before it is killed)
    drain_timeout = 10,
    -- Prometheus metrics at /metrics, probes at /live and /ready
    -- (docs/OPERATIONS.md of Soom); the image's deployments serve the
    -- metrics and probes on a port of their own too (SOOM_METRICS__PORT)
    metrics = { enabled = true },
    -- uncaught errors are reported to Sentry (or any server of its
    -- protocol) when SENTRY_DSN is set
    error_reporting = { dsn = "", environment = "development" },
@if db@
    -- empty: `soom run` and `soom test` start the app's own PostgreSQL
    -- under .soom/; everywhere else DATABASE_URL names the database
    database_url = "",
    pool = { min = 1, max = 8 },
    -- seals the pagination cursors: set SOOM_SECRET_KEY, the same on every
    -- replica (deploy/k8s/secret.example.yaml)
    secret_key = "",
@end@
}
