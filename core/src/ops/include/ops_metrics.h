/*
 * Metrics: a registry of metric families and the counters behind them, in
 * a segment of shared memory that the process maps before any fork.
 *
 * Lifecycle: families are declared while the app loads (the built-in ones
 * by soom_metrics_setup, an app's own through soom.metrics), then
 * soom_metrics_setup() lays out and maps the segment once, before the
 * server forks or starts threads. Each serving process then calls
 * soom_metrics_process_begin() with its worker index. After setup no
 * family can be added; series of labelled families are added on first use
 * without a lock (a compare-and-swap in a table inside the segment), so
 * every process sees the same series at the same place.
 *
 * Recording never locks and never allocates: each thread writes its own
 * shard of the segment (taken on its first write, given back when the
 * thread ends), and a scrape sums the shards of every process. A worker
 * that dies leaves its shards behind, and its replacement takes the same
 * worker index and keeps counting from there, so no count is lost.
 * Gauges of a process (in flight, pool connections, memory) live in the
 * process's own block instead, cleared when a replacement starts.
 *
 * Everything here is process-wide state; the registry is one per process.
 */
#ifndef SOOM_OPS_METRICS_H
#define SOOM_OPS_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soom/buf.h"

enum soom_metric_kind {
    SOOM_METRIC_COUNTER,
    SOOM_METRIC_GAUGE,
    SOOM_METRIC_HISTOGRAM,
};

/* Methods as metric labels; anything else is _OTHER. */
enum soom_metric_method {
    SOOM_MM_GET,
    SOOM_MM_HEAD,
    SOOM_MM_POST,
    SOOM_MM_PUT,
    SOOM_MM_PATCH,
    SOOM_MM_DELETE,
    SOOM_MM_OPTIONS,
    SOOM_MM_OTHER,
    SOOM_MM_COUNT,
};

#define SOOM_METRICS_MAX_LABELS 8
#define SOOM_METRICS_MAX_BUCKETS 32
#define SOOM_METRICS_MAX_FAMILIES 128

/* The built-in families, in the order they are exposed. */
enum soom_builtin_metric {
    SOOM_M_HTTP_REQUESTS,     /* http_requests_total{method,route,status} */
    SOOM_M_HTTP_DURATION,     /* http_request_duration_seconds{method,route} */
    SOOM_M_HTTP_REQUEST_SIZE, /* http_request_size_bytes{method,route} */
    SOOM_M_HTTP_RESPONSE_SIZE,
    SOOM_M_HTTP_IN_FLIGHT,   /* http_requests_in_flight */
    SOOM_M_POOL_CONNECTIONS, /* soom_db_pool_connections{state} */
    SOOM_M_POOL_MAX,
    SOOM_M_POOL_WAITING,
    SOOM_M_POOL_WAIT,
    SOOM_M_POOL_TIMEOUTS,
    SOOM_M_POOL_CONNECT_ERRORS,
    SOOM_M_POOL_RECONNECTS,
    SOOM_M_LUA_ERRORS, /* soom_lua_errors_total{route} */
    SOOM_M_LUA_MEMORY,
    SOOM_M_REPORTS_SENT,
    SOOM_M_REPORTS_DROPPED, /* soom_error_reports_dropped_total{reason} */
    SOOM_M_AUTH_FAILURES,   /* soom_auth_failures_total{reason} */
    SOOM_M_THROTTLED,       /* soom_throttled_requests_total{route} */
    SOOM_M_CPU,
    SOOM_M_RSS,
    SOOM_M_OPEN_FDS,
    SOOM_M_MAX_FDS,
    SOOM_M_START_TIME,
    SOOM_M_BUILD_INFO,
    SOOM_M_BUILTIN_COUNT,
};

/* Reasons an error report is dropped (the `reason` label). */
enum soom_report_drop {
    SOOM_DROP_QUEUE_FULL,
    SOOM_DROP_SEND_FAILED,
    SOOM_DROP_RATE_LIMITED,
    SOOM_DROP_COUNT,
};

/* Why authentication or a permission refused a request: the `reason`
 * label of soom_auth_failures_total, a fixed list so that no client can
 * make series (JWT refusals carry the verifier's reason codes). */
#define SOOM_AUTH_FAILURES(XX)                                                                     \
    XX(NO_CREDENTIALS, "no_credentials")                                                           \
    XX(BAD_HEADER, "bad_header")                                                                   \
    XX(UNKNOWN_TOKEN, "unknown_token")                                                             \
    XX(INACTIVE_USER, "inactive_user")                                                             \
    XX(UNKNOWN_USER, "unknown_user")                                                               \
    XX(BAD_PASSWORD, "bad_password")                                                               \
    XX(UNKNOWN_KEY, "unknown_api_key")                                                             \
    XX(LUA, "lua_class")                                                                           \
    XX(PERMISSION, "permission_denied")                                                            \
    XX(JWT_TOO_LONG, "jwt_too_long")                                                               \
    XX(JWT_MALFORMED, "jwt_malformed")                                                             \
    XX(JWT_BAD_HEADER, "jwt_bad_header")                                                           \
    XX(JWT_UNSIGNED, "jwt_unsigned")                                                               \
    XX(JWT_BAD_ALG, "jwt_bad_algorithm")                                                           \
    XX(JWT_CRIT, "jwt_critical_header")                                                            \
    XX(JWT_UNKNOWN_KID, "jwt_unknown_kid")                                                         \
    XX(JWT_NO_KEY, "jwt_no_key")                                                                   \
    XX(JWT_BAD_SIGNATURE, "jwt_bad_signature")                                                     \
    XX(JWT_BAD_CLAIMS, "jwt_bad_claims")                                                           \
    XX(JWT_BAD_TIME, "jwt_bad_time_claim")                                                         \
    XX(JWT_NO_EXP, "jwt_no_exp")                                                                   \
    XX(JWT_EXPIRED, "jwt_expired")                                                                 \
    XX(JWT_NOT_YET_VALID, "jwt_not_yet_valid")                                                     \
    XX(JWT_ISSUED_IN_FUTURE, "jwt_issued_in_future")                                               \
    XX(JWT_BAD_ISSUER, "jwt_bad_issuer")                                                           \
    XX(JWT_BAD_AUDIENCE, "jwt_bad_audience")                                                       \
    XX(JWT_WRONG_TYPE, "jwt_wrong_token_type")                                                     \
    XX(JWT_NO_USER, "jwt_no_user_id")                                                              \
    XX(JWT_BLACKLISTED, "jwt_blacklisted")

enum soom_auth_failure {
#define SOOM_AF_ENUM(name, label) SOOM_AF_##name,
    SOOM_AUTH_FAILURES(SOOM_AF_ENUM)
#undef SOOM_AF_ENUM
        SOOM_AF_COUNT
};

/* Versions for soom_build_info, each borrowed for the life of the process. */
struct soom_build_versions {
    const char *luajit;
    const char *libmicrohttpd;
    const char *libpq;
};

/* ---- set-up ------------------------------------------------------------- */

/* Declares an app's family before setup. `labels` are the label names
 * (nlabels of them), `bounds` the histogram's upper bounds, ascending
 * (NULL and 0 for the defaults). A second declaration with the same name
 * returns the same id if it has the same kind, labels and bounds. Returns
 * the family id (>= 0), or a negative SOOM_E* code with the reason in
 * `err`: a name or label that Prometheus would refuse, a reserved name, a
 * redeclaration that differs, or a declaration after setup. */
int soom_metrics_declare(enum soom_metric_kind kind, const char *name, const char *help,
                         const char *const *labels, size_t nlabels, const double *bounds,
                         size_t nbounds, char *err, size_t errlen);

/* What the segment is laid out for. */
struct soom_metrics_options {
    unsigned processes;           /* serving processes (prefork workers, else 1) */
    unsigned threads;             /* threads per process that record (more share a shard) */
    const char *duration_buckets; /* "0.005 0.01 ...", seconds; NULL: the default */
    const char *const *routes;    /* the app's route patterns, borrowed for good */
    size_t nroutes;
    struct soom_build_versions versions;
};

/* Maps the segment and seals the registry. The route label of a request
 * that matched no route is "unmatched". Returns SOOM_OK, or SOOM_EINVAL
 * with the reason in `err` (a bad bucket list), or SOOM_EIO when the
 * segment cannot be mapped. Without a call every recording call does
 * nothing (metrics off). */
int soom_metrics_setup(const struct soom_metrics_options *o, char *err, size_t errlen);

/* Parses a list of bucket bounds ("0.005 0.01 0.1", spaces or commas),
 * strictly ascending and finite. Returns the count, or -1. */
int soom_metrics_parse_buckets(const char *text, double *out, size_t max);

/* True once soom_metrics_setup() ran with metrics enabled. */
bool soom_metrics_enabled(void);

/* Starts serving process `index` (0 .. workers-1; 0 without prefork):
 * clears its gauges, keeps its counters. Call in the process, before its
 * threads start. */
void soom_metrics_process_begin(unsigned index);

/* Process `index` died (the master saw it): its gauges stop counting. Its
 * counters stay, for its replacement to go on from. */
void soom_metrics_process_end(unsigned index);

/* Unmaps the segment and forgets every family (tests, and the end of a
 * serve). */
void soom_metrics_reset(void);

/* ---- recording ------------------------------------------------------------ */

/* The calling thread's shard. A thread with no shard of its own (more
 * threads than shards) shares the process's last one, written with atomic
 * adds. Valid until the thread ends. */
struct soom_metrics_shard {
    _Atomic uint64_t *cells;
    bool shared;
};

/* NULL cells when metrics are off. */
struct soom_metrics_shard soom_metrics_shard(void);

static inline void soom_metrics_cell_add(struct soom_metrics_shard s, uint32_t cell, uint64_t v)
{
    if (s.shared)
        atomic_fetch_add_explicit(&s.cells[cell], v, memory_order_relaxed);
    else /* one writer: a plain add, published to scrapes as one store */
        atomic_store_explicit(&s.cells[cell],
                              atomic_load_explicit(&s.cells[cell], memory_order_relaxed) + v,
                              memory_order_relaxed);
}

/* One HTTP request that completed: counted, timed and sized. `route` is
 * the route's index, or -1 when none matched. */
void soom_metrics_request(int route, enum soom_metric_method method, int status,
                          uint64_t duration_ns, uint64_t request_bytes, uint64_t response_bytes);

/* http_requests_in_flight of this process, +1 or -1. */
void soom_metrics_in_flight(int delta);

/* The method label of a method bit of soom/router.h (0: unknown). */
enum soom_metric_method soom_metrics_method(unsigned method_bit);

/* A pool acquire that waited `wait_ns`; `timed_out` when it gave up. */
void soom_metrics_pool_acquire(uint64_t wait_ns, bool timed_out);
void soom_metrics_pool_connect_error(void);
void soom_metrics_pool_reconnect(void);
/* The pool's state in this process. */
void soom_metrics_pool_state(size_t idle, size_t in_use, size_t waiting, size_t max);

/* An uncaught Lua error in route `route` (-1: none). */
void soom_metrics_lua_error(int route);
/* Bytes held by this process's Lua states. */
void soom_metrics_lua_memory(uint64_t bytes);

/* A request refused by authentication or a permission, and why. */
void soom_metrics_auth_failure(enum soom_auth_failure reason);
/* A request of route `route` answered 429 by a throttle. */
void soom_metrics_throttled(int route);

void soom_metrics_report_sent(void);
void soom_metrics_report_dropped(enum soom_report_drop reason);

/* Reads this process's CPU time, memory and descriptors and records them
 * (a periodic task calls it; a scrape too). */
void soom_metrics_process_sample(void);

/* ---- app metrics (soom.metrics) ------------------------------------------ */

/* The series of family `id` for label values `values` (in the declared
 * order, `nvalues` of them, each with its length). Returns the series
 * handle (>= 0), or SOOM_EINVAL (metrics off, wrong count of values,
 * unknown family) or SOOM_EUNAVAIL (the segment's series table is full). */
int soom_metrics_series(int id, const char *const *values, const size_t *lens, size_t nvalues);

/* Adds to a counter or a gauge, sets a gauge, observes into a histogram.
 * Return SOOM_OK, or SOOM_EINVAL when the operation does not fit the
 * family's kind (a counter going down, a set on a counter). */
int soom_metrics_add(int series, double v);
int soom_metrics_set(int series, double v);
int soom_metrics_observe(int series, double v);

/* ---- exposition ---------------------------------------------------------- */

/* Appends every family in the Prometheus text format 0.0.4, summed over
 * the shards of every process. */
void soom_metrics_expose(struct soom_buf *out);

#define SOOM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
