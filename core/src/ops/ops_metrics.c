/*
 * The metrics registry: declaring families, laying out the segment,
 * per-thread shards and the recording calls of the core (see
 * ops_metrics.h). The registry is a static of this file: one per process,
 * copied into each forked worker with the same layout.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "ops_impl.h"
#include "soom/error.h"
#include "soom/router.h"
#include "soom/soom.h"

struct ops_registry ops_reg;

#define MAX_SHARDS 64
#define DYNAMIC_CELLS 65536
#define SERIES_CAP 16384
#define STRINGS_CAP (1u << 20)
#define SERVICE_CELLS 16384

static const double DURATION_BOUNDS[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
static const double SIZE_BOUNDS[] = {100, 1000, 10000, 100000, 1e6, 1e7};
static const double WAIT_BOUNDS[] = {.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5};
static const char *const POOL_STATES[] = {"idle", "in_use"};
static const char *const DROP_REASONS[] = {"queue_full", "send_failed", "rate_limited"};
static const char *const AUTH_REASONS[] = {
#define AUTH_REASON_LABEL(name, label) label,
    SOOM_AUTH_FAILURES(AUTH_REASON_LABEL)
#undef AUTH_REASON_LABEL
};

static void ensure_builtins(void);
static _Atomic uint64_t cpu_recorded_us;

/* ---- declaring ------------------------------------------------------------ */

static bool name_ok(const char *s, bool colon)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':')))
            return false;
    }
    return true;
}

static struct ops_family *find_family(const char *name)
{
    for (size_t i = 0; i < ops_reg.nfamilies; i++) {
        if (strcmp(ops_reg.families[i].name, name) == 0)
            return &ops_reg.families[i];
    }
    return NULL;
}

size_t ops_format_double(double v, char *out, size_t len)
{
    if (isnan(v))
        return (size_t)snprintf(out, len, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
    int n = snprintf(out, len, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, len, "%.17g", v);
    return (size_t)n;
}

static void set_bounds(struct ops_family *f, const double *b, size_t n)
{
    f->nbounds = n;
    for (size_t i = 0; i < n; i++) {
        f->bounds[i] = b[i];
        f->ibounds[i] = (uint64_t)llround(b[i] * f->scale);
        ops_format_double(b[i], f->le[i], sizeof f->le[i]);
    }
    f->cps = f->kind == SOOM_METRIC_HISTOGRAM ? (uint32_t)n + 2 : 1;
}

static struct ops_family *add_family(const char *name, const char *help, enum soom_metric_kind kind,
                                     enum ops_storage storage, enum ops_layout layout)
{
    struct ops_family *f = &ops_reg.families[ops_reg.nfamilies++];
    memset(f, 0, sizeof *f);
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->kind = kind;
    f->storage = storage;
    f->layout = layout;
    f->scale = 1;
    f->cps = 1;
    return f;
}

static void add_labels(struct ops_family *f, const char *const *labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f->labels[i] = xstrdup(labels[i]);
    f->nlabels = n;
}

static bool same_shape(const struct ops_family *f, enum soom_metric_kind kind,
                       const char *const *labels, size_t nlabels, const double *bounds,
                       size_t nbounds)
{
    if (f->kind != kind || f->nlabels != nlabels || f->layout != OPS_LABELS)
        return false;
    for (size_t i = 0; i < nlabels; i++) {
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    }
    if (kind != SOOM_METRIC_HISTOGRAM)
        return true;
    if (f->nbounds != nbounds)
        return false;
    for (size_t i = 0; i < nbounds; i++) {
        if (f->bounds[i] != bounds[i])
            return false;
    }
    return true;
}

static bool bounds_ok(const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return false;
    }
    return n <= SOOM_METRICS_MAX_BUCKETS;
}

static int check_declaration(enum soom_metric_kind kind, const char *name,
                             const char *const *labels, size_t nlabels, char *err, size_t errlen)
{
    if (!name_ok(name, true)) {
        snprintf(err, errlen, "metric name \"%s\" is not [a-zA-Z_:][a-zA-Z0-9_:]*",
                 name ? name : "");
        return SOOM_EINVAL;
    }
    if (strncmp(name, "http_", 5) == 0 || strncmp(name, "soom_", 5) == 0 ||
        strncmp(name, "process_", 8) == 0) {
        snprintf(err, errlen, "metric name \"%s\": http_, soom_ and process_ are soom's own", name);
        return SOOM_EINVAL;
    }
    if (nlabels > SOOM_METRICS_MAX_LABELS) {
        snprintf(err, errlen, "metric \"%s\" has more than %d labels", name,
                 SOOM_METRICS_MAX_LABELS);
        return SOOM_EINVAL;
    }
    for (size_t i = 0; i < nlabels; i++) {
        bool reserved =
            labels[i] != NULL && (strncmp(labels[i], "__", 2) == 0 ||
                                  (kind == SOOM_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0));
        if (!name_ok(labels[i], false) || reserved) {
            snprintf(err, errlen, "metric \"%s\": label name \"%s\" is not allowed", name,
                     labels[i] ? labels[i] : "");
            return SOOM_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(labels[i], labels[j]) == 0) {
                snprintf(err, errlen, "metric \"%s\": label \"%s\" appears twice", name, labels[i]);
                return SOOM_EINVAL;
            }
        }
    }
    return SOOM_OK;
}

int soom_metrics_declare(enum soom_metric_kind kind, const char *name, const char *help,
                         const char *const *labels, size_t nlabels, const double *bounds,
                         size_t nbounds, char *err, size_t errlen)
{
    ensure_builtins();
    int rc = check_declaration(kind, name, labels, nlabels, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    if (kind == SOOM_METRIC_HISTOGRAM && bounds == NULL) {
        bounds = DURATION_BOUNDS;
        nbounds = sizeof DURATION_BOUNDS / sizeof DURATION_BOUNDS[0];
    }
    if (kind == SOOM_METRIC_HISTOGRAM && (nbounds == 0 || !bounds_ok(bounds, nbounds))) {
        snprintf(err, errlen,
                 "histogram \"%s\": buckets must be ascending finite numbers (1 to %d)", name,
                 SOOM_METRICS_MAX_BUCKETS);
        return SOOM_EINVAL;
    }
    struct ops_family *f = find_family(name);
    if (f != NULL) {
        if (same_shape(f, kind, labels, nlabels, bounds, nbounds))
            return (int)(f - ops_reg.families);
        snprintf(err, errlen, "metric \"%s\" is declared twice, differently", name);
        return SOOM_EINVAL;
    }
    if (ops_reg.sealed) {
        snprintf(err, errlen,
                 "metric \"%s\" is declared while serving; declare metrics when the app loads "
                 "(at the top of a resource's file)",
                 name);
        return SOOM_EINVAL;
    }
    if (ops_reg.nfamilies == SOOM_METRICS_MAX_FAMILIES) {
        snprintf(err, errlen, "more than %d metrics", SOOM_METRICS_MAX_FAMILIES);
        return SOOM_EINVAL;
    }
    f = add_family(name, help, kind, kind == SOOM_METRIC_GAUGE ? OPS_SERVICE : OPS_SHARDED,
                   OPS_LABELS);
    f->real = true;
    add_labels(f, labels, nlabels);
    if (kind == SOOM_METRIC_HISTOGRAM)
        set_bounds(f, bounds, nbounds);
    return (int)(f - ops_reg.families);
}

int soom_metrics_parse_buckets(const char *text, double *out, size_t max)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        char *end;
        double v = strtod(p, &end);
        if (end == p || n == max)
            return -1;
        out[n++] = v;
        p = end;
    }
    return n > 0 && bounds_ok(out, n) ? (int)n : -1;
}

/* ---- the built-in families ---------------------------------------------- */

static struct ops_family *builtin(const char *name, const char *help, enum soom_metric_kind kind,
                                  enum ops_storage storage, enum ops_layout layout)
{
    return add_family(name, help, kind, storage, layout);
}

static void fixed(struct ops_family *f, const char *label, const char *const *values, size_t n)
{
    if (label != NULL)
        add_labels(f, &label, 1);
    f->fixed_values = values;
    f->nfixed = n;
}

static void builtins_http(void)
{
    static const char *const RMS[] = {"method", "route", "status"};
    struct ops_family *f;
    f = builtin("http_requests_total",
                "HTTP requests answered, by method, route template and status", SOOM_METRIC_COUNTER,
                OPS_SHARDED, OPS_PACKED);
    add_labels(f, RMS, 3);
    f = builtin("http_request_duration_seconds",
                "Time from a request's headers to its last byte sent, by method and route",
                SOOM_METRIC_HISTOGRAM, OPS_SHARDED, OPS_ROUTE);
    add_labels(f, RMS, 2);
    f->by_method = true;
    f->scale = 1e9; /* cells count nanoseconds */
    set_bounds(f, DURATION_BOUNDS, sizeof DURATION_BOUNDS / sizeof DURATION_BOUNDS[0]);
    f = builtin("http_request_size_bytes", "Request body sizes, by method and route",
                SOOM_METRIC_HISTOGRAM, OPS_SHARDED, OPS_ROUTE);
    add_labels(f, RMS, 2);
    f->by_method = true;
    set_bounds(f, SIZE_BOUNDS, sizeof SIZE_BOUNDS / sizeof SIZE_BOUNDS[0]);
    f = builtin("http_response_size_bytes", "Response body sizes, by method and route",
                SOOM_METRIC_HISTOGRAM, OPS_SHARDED, OPS_ROUTE);
    add_labels(f, RMS, 2);
    f->by_method = true;
    set_bounds(f, SIZE_BOUNDS, sizeof SIZE_BOUNDS / sizeof SIZE_BOUNDS[0]);
    /* counted up and down by the thread serving the request, in its shard:
     * no atomic operation per request; cleared with its process */
    f = builtin("http_requests_in_flight", "Requests being served", SOOM_METRIC_GAUGE, OPS_SHARDED,
                OPS_FIXED);
    fixed(f, NULL, NULL, 1);
}

static void builtins_pool(void)
{
    struct ops_family *f;
    f = builtin("soom_db_pool_connections", "Database connections open, by state",
                SOOM_METRIC_GAUGE, OPS_PROCESS, OPS_FIXED);
    fixed(f, "state", POOL_STATES, 2);
    f = builtin("soom_db_pool_max_connections", "Largest number of database connections",
                SOOM_METRIC_GAUGE, OPS_PROCESS, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_db_pool_waiting", "Requests waiting for a database connection",
                SOOM_METRIC_GAUGE, OPS_PROCESS, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_db_pool_wait_seconds", "Time to get a database connection from the pool",
                SOOM_METRIC_HISTOGRAM, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f->scale = 1e9;
    set_bounds(f, WAIT_BOUNDS, sizeof WAIT_BOUNDS / sizeof WAIT_BOUNDS[0]);
    f = builtin("soom_db_pool_acquire_timeouts_total",
                "Requests that got no database connection in time (answered 503)",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_db_connection_errors_total", "Failed attempts to connect to the database",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_db_reconnects_total", "Broken database connections replaced",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
}

static void builtins_rest(void)
{
    struct ops_family *f;
    f = builtin("soom_lua_errors_total", "Uncaught errors in Lua code (answered 500), by route",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_ROUTE);
    add_labels(f, (const char *const[]){"route"}, 1);
    f = builtin("soom_lua_memory_bytes", "Memory held by the Lua states", SOOM_METRIC_GAUGE,
                OPS_PROCESS, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_error_reports_sent_total", "Error reports accepted by the receiver",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("soom_error_reports_dropped_total", "Error reports not delivered, by reason",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, "reason", DROP_REASONS, SOOM_DROP_COUNT);
    f = builtin("soom_auth_failures_total",
                "Requests refused by authentication or permissions (401, 403), by reason",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, "reason", AUTH_REASONS, SOOM_AF_COUNT);
    f = builtin("soom_throttled_requests_total", "Requests answered 429 by a throttle, by route",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_ROUTE);
    add_labels(f, (const char *const[]){"route"}, 1);
    f = builtin("process_cpu_seconds_total", "User and system CPU time spent, in seconds",
                SOOM_METRIC_COUNTER, OPS_SHARDED, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f->scale = 1e6; /* microseconds */
    f = builtin("process_resident_memory_bytes", "Resident memory size, in bytes",
                SOOM_METRIC_GAUGE, OPS_PROCESS, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("process_open_fds", "Open file descriptors", SOOM_METRIC_GAUGE, OPS_PROCESS,
                OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("process_max_fds", "Largest number of open file descriptors (per process)",
                SOOM_METRIC_GAUGE, OPS_SERVICE, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f = builtin("process_start_time_seconds", "Start time since the Unix epoch, in seconds",
                SOOM_METRIC_GAUGE, OPS_SERVICE, OPS_FIXED);
    fixed(f, NULL, NULL, 1);
    f->real = true;
    f = builtin("soom_build_info", "The versions of soom and of the libraries it runs on",
                SOOM_METRIC_GAUGE, OPS_SERVICE, OPS_FIXED);
    static const char *const INFO[] = {"version", "luajit", "libmicrohttpd", "libpq"};
    add_labels(f, INFO, 4);
    f->nfixed = 1; /* values from the build versions, at setup */
}

static void ensure_builtins(void)
{
    if (ops_reg.nfamilies > 0)
        return;
    builtins_http();
    builtins_pool();
    builtins_rest();
}

/* ---- set-up ------------------------------------------------------------- */

/* Fixed cells of each family in its storage; returns the shard's and the
 * process block's fixed ends through the pointers. */
static void lay_out(uint32_t *shard_end, uint32_t *proc_end, uint32_t *service_end)
{
    uint32_t next[3] = {0, 0, 0};
    for (size_t i = 0; i < ops_reg.nfamilies; i++) {
        struct ops_family *f = &ops_reg.families[i];
        uint32_t n = 0;
        if (f->layout == OPS_FIXED)
            n = (uint32_t)f->nfixed;
        else if (f->layout == OPS_ROUTE)
            n = (uint32_t)(ops_reg.nroutes + 1) * (f->by_method ? SOOM_MM_COUNT : 1);
        f->base = next[f->storage];
        next[f->storage] += n * f->cps;
    }
    *shard_end = next[OPS_SHARDED];
    *proc_end = next[OPS_PROCESS];
    *service_end = next[OPS_SERVICE];
}

static int duration_buckets(const char *text, char *err, size_t errlen)
{
    if (text == NULL || *text == '\0')
        return SOOM_OK;
    double b[SOOM_METRICS_MAX_BUCKETS];
    int n = soom_metrics_parse_buckets(text, b, SOOM_METRICS_MAX_BUCKETS);
    if (n < 0) {
        snprintf(err, errlen,
                 "metrics.buckets \"%s\" must list ascending numbers of seconds (at most %d)", text,
                 SOOM_METRICS_MAX_BUCKETS);
        return SOOM_EINVAL;
    }
    set_bounds(&ops_reg.families[SOOM_M_HTTP_DURATION], b, (size_t)n);
    return SOOM_OK;
}

static void service_double(enum soom_builtin_metric m, double v)
{
    const struct ops_family *f = &ops_reg.families[m];
    atomic_store(&ops_seg_service(ops_reg.seg)[f->base], ops_double_bits(v));
}

static void premake_unlabelled(void)
{
    for (size_t i = SOOM_M_BUILTIN_COUNT; i < ops_reg.nfamilies; i++) {
        if (ops_reg.families[i].nlabels == 0)
            soom_metrics_series((int)i, NULL, NULL, 0);
    }
}

int soom_metrics_setup(const struct soom_metrics_options *o, char *err, size_t errlen)
{
    ensure_builtins();
    if (ops_reg.seg != NULL)
        return SOOM_OK;
    int rc = duration_buckets(o->duration_buckets, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    ops_reg.routes = o->routes;
    ops_reg.nroutes = o->nroutes;
    ops_reg.versions = o->versions;
    uint32_t shard_end, proc_end, service_end;
    lay_out(&shard_end, &proc_end, &service_end);
    unsigned shards = o->threads + 5; /* + the reaper, the sender and others */
    if (shards > MAX_SHARDS)
        shards = MAX_SHARDS;
    rc = ops_seg_map(&ops_reg, o->processes ? o->processes : 1, shards, shard_end + DYNAMIC_CELLS,
                     proc_end, service_end + SERVICE_CELLS, SERIES_CAP, STRINGS_CAP);
    if (rc != SOOM_OK) {
        snprintf(err, errlen, "cannot map the metrics segment");
        return rc;
    }
    atomic_store(&ops_reg.seg->next_shard_cell, shard_end);
    atomic_store(&ops_reg.seg->next_service_cell, service_end);
    ops_reg.sealed = true;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    service_double(SOOM_M_START_TIME, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    atomic_store(&ops_seg_service(ops_reg.seg)[ops_reg.families[SOOM_M_BUILD_INFO].base], 1);
    premake_unlabelled();
    return SOOM_OK;
}

bool soom_metrics_enabled(void)
{
    return ops_reg.seg != NULL;
}

void soom_metrics_reset(void)
{
    ops_seg_unmap(&ops_reg);
    for (size_t i = 0; i < ops_reg.nfamilies; i++) {
        struct ops_family *f = &ops_reg.families[i];
        free(f->name);
        free(f->help);
        for (size_t j = 0; j < f->nlabels; j++)
            free(f->labels[j]);
    }
    unsigned g = atomic_load(&ops_reg.generation);
    memset(&ops_reg, 0, sizeof ops_reg);
    /* never back to an earlier generation: a thread's old shard stays stale */
    atomic_store(&ops_reg.generation, g + 1);
}

/* ---- shards --------------------------------------------------------------- */

/* Which shards of this process's block are taken; the last one is shared
 * by every thread that finds none free. */
static pthread_mutex_t shards_lock = PTHREAD_MUTEX_INITIALIZER;
static bool shard_taken[MAX_SHARDS];
static pthread_key_t shard_key;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;

struct thread_shard {
    unsigned generation; /* 0: none taken */
    int index;
    struct soom_metrics_shard shard;
};

static _Thread_local struct thread_shard tls;

/* A thread that ends gives its shard back, values and all: the next thread
 * to take it adds to them. */
static void shard_release(void *p)
{
    (void)p;
    if (tls.generation != atomic_load(&ops_reg.generation) || tls.shard.shared)
        return;
    pthread_mutex_lock(&shards_lock);
    shard_taken[tls.index] = false;
    pthread_mutex_unlock(&shards_lock);
    tls.generation = 0;
}

static void shard_key_init(void)
{
    pthread_key_create(&shard_key, shard_release);
}

static void shard_take(void)
{
    pthread_once(&shard_once, shard_key_init);
    struct ops_seg *seg = ops_reg.seg;
    unsigned last = seg->nshards - 1, i;
    pthread_mutex_lock(&shards_lock);
    for (i = 0; i < last && shard_taken[i]; i++) {
    }
    if (i < last)
        shard_taken[i] = true;
    pthread_mutex_unlock(&shards_lock);
    tls.index = (int)i;
    tls.shard.shared = i == last;
    _Atomic uint32_t *used = &ops_seg_proc(seg, ops_reg.proc)->shards_used;
    uint32_t u = atomic_load(used);
    while (u < i + 1 && !atomic_compare_exchange_weak(used, &u, i + 1)) {
    }
    tls.shard.cells = ops_seg_shard(seg, ops_reg.proc, i);
    tls.generation = atomic_load(&ops_reg.generation);
    pthread_setspecific(shard_key, &tls);
}

struct soom_metrics_shard soom_metrics_shard(void)
{
    if (ops_reg.seg == NULL)
        return (struct soom_metrics_shard){NULL, false};
    if (tls.generation != atomic_load_explicit(&ops_reg.generation, memory_order_relaxed))
        shard_take();
    return tls.shard;
}

static void clear_gauges(struct ops_seg *seg, unsigned index);

void soom_metrics_process_begin(unsigned index)
{
    struct ops_seg *seg = ops_reg.seg;
    if (seg == NULL)
        return;
    if (index >= seg->nprocs)
        index = seg->nprocs - 1;
    ops_reg.proc = index;
    clear_gauges(seg, index);
    atomic_store(&ops_seg_proc(seg, index)->pid, (int32_t)getpid());
    pthread_mutex_init(&shards_lock, NULL); /* a fork may have copied it held */
    memset(shard_taken, 0, sizeof shard_taken);
    /* every thread (the forking one included) takes a shard of this block */
    unsigned g = atomic_load(&ops_reg.generation) + 1;
    atomic_store(&ops_reg.generation, g == 0 ? 1 : g);
    atomic_store(&cpu_recorded_us, 0); /* this process's CPU time starts at 0 */
}

/* Clears a process's gauges: its block's, and the in-flight count of each
 * of its shards. */
static void clear_gauges(struct ops_seg *seg, unsigned index)
{
    _Atomic uint64_t *cells = ops_seg_proc_cells(seg, index);
    for (uint32_t i = 0; i < seg->proc_cells; i++)
        atomic_store(&cells[i], 0);
    uint32_t in_flight = ops_reg.families[SOOM_M_HTTP_IN_FLIGHT].base;
    for (unsigned s = 0; s < seg->nshards; s++)
        atomic_store(&ops_seg_shard(seg, index, s)[in_flight], 0);
}

void soom_metrics_process_end(unsigned index)
{
    struct ops_seg *seg = ops_reg.seg;
    if (seg == NULL || index >= seg->nprocs)
        return;
    atomic_store(&ops_seg_proc(seg, index)->pid, 0);
    clear_gauges(seg, index);
}

/* ---- recording -------------------------------------------------------------- */

static inline uint32_t bucket_of(const struct ops_family *f, uint64_t v)
{
    uint32_t i = 0;
    while (i < f->nbounds && v > f->ibounds[i])
        i++;
    return i;
}

static inline void observe_int(struct soom_metrics_shard s, const struct ops_family *f,
                               uint32_t base, uint64_t v)
{
    soom_metrics_cell_add(s, base + bucket_of(f, v), 1);
    soom_metrics_cell_add(s, base + (uint32_t)f->nbounds + 1, v);
}

enum soom_metric_method soom_metrics_method(unsigned bit)
{
    switch (bit) {
    case SOOM_GET: return SOOM_MM_GET;
    case SOOM_HEAD: return SOOM_MM_HEAD;
    case SOOM_POST: return SOOM_MM_POST;
    case SOOM_PUT: return SOOM_MM_PUT;
    case SOOM_PATCH: return SOOM_MM_PATCH;
    case SOOM_DELETE: return SOOM_MM_DELETE;
    case SOOM_OPTIONS: return SOOM_MM_OPTIONS;
    default: return SOOM_MM_OTHER;
    }
}

/* The key of an http_requests_total series: never 0, never with the top
 * bit (which marks an app's series). */
static inline uint64_t packed_key(uint32_t route, unsigned method, unsigned status)
{
    return 1 + (((uint64_t)route << 14) | ((uint64_t)method << 10) | status);
}

void soom_metrics_request(int route, enum soom_metric_method method, int status,
                          uint64_t duration_ns, uint64_t request_bytes, uint64_t response_bytes)
{
    struct ops_seg *seg = ops_reg.seg;
    if (seg == NULL)
        return;
    struct soom_metrics_shard s = soom_metrics_shard();
    uint32_t r =
        route < 0 || (size_t)route >= ops_reg.nroutes ? (uint32_t)ops_reg.nroutes : (uint32_t)route;
    unsigned st = status >= 100 && status <= 999 ? (unsigned)status : 0;
    int i =
        ops_seg_find(seg, packed_key(r, method, st), SOOM_M_HTTP_REQUESTS, 1, OPS_SHARDED, NULL, 0);
    if (i >= 0)
        soom_metrics_cell_add(s, ops_seg_series(seg)[i].cell, 1);
    uint32_t rm = r * SOOM_MM_COUNT + method;
    const struct ops_family *f = &ops_reg.families[SOOM_M_HTTP_DURATION];
    observe_int(s, f, f->base + rm * f->cps, duration_ns);
    f = &ops_reg.families[SOOM_M_HTTP_REQUEST_SIZE];
    observe_int(s, f, f->base + rm * f->cps, request_bytes);
    f = &ops_reg.families[SOOM_M_HTTP_RESPONSE_SIZE];
    observe_int(s, f, f->base + rm * f->cps, response_bytes);
}

static void proc_set(enum soom_builtin_metric m, uint32_t offset, uint64_t v)
{
    if (ops_reg.seg == NULL)
        return;
    _Atomic uint64_t *cells = ops_seg_proc_cells(ops_reg.seg, ops_reg.proc);
    atomic_store_explicit(&cells[ops_reg.families[m].base + offset], v, memory_order_relaxed);
}

static void count(enum soom_builtin_metric m, uint32_t offset, uint64_t v)
{
    if (ops_reg.seg == NULL)
        return;
    soom_metrics_cell_add(soom_metrics_shard(), ops_reg.families[m].base + offset, v);
}

void soom_metrics_in_flight(int delta)
{
    count(SOOM_M_HTTP_IN_FLIGHT, 0, (uint64_t)(int64_t)delta);
}

void soom_metrics_pool_acquire(uint64_t wait_ns, bool timed_out)
{
    if (ops_reg.seg == NULL)
        return;
    struct soom_metrics_shard s = soom_metrics_shard();
    const struct ops_family *f = &ops_reg.families[SOOM_M_POOL_WAIT];
    observe_int(s, f, f->base, wait_ns);
    if (timed_out)
        soom_metrics_cell_add(s, ops_reg.families[SOOM_M_POOL_TIMEOUTS].base, 1);
}

void soom_metrics_pool_connect_error(void)
{
    count(SOOM_M_POOL_CONNECT_ERRORS, 0, 1);
}

void soom_metrics_pool_reconnect(void)
{
    count(SOOM_M_POOL_RECONNECTS, 0, 1);
}

void soom_metrics_pool_state(size_t idle, size_t in_use, size_t waiting, size_t max)
{
    proc_set(SOOM_M_POOL_CONNECTIONS, 0, idle);
    proc_set(SOOM_M_POOL_CONNECTIONS, 1, in_use);
    proc_set(SOOM_M_POOL_WAITING, 0, waiting);
    proc_set(SOOM_M_POOL_MAX, 0, max);
}

void soom_metrics_lua_error(int route)
{
    uint32_t r =
        route < 0 || (size_t)route >= ops_reg.nroutes ? (uint32_t)ops_reg.nroutes : (uint32_t)route;
    count(SOOM_M_LUA_ERRORS, r, 1);
}

void soom_metrics_lua_memory(uint64_t bytes)
{
    proc_set(SOOM_M_LUA_MEMORY, 0, bytes);
}

void soom_metrics_auth_failure(enum soom_auth_failure reason)
{
    if ((unsigned)reason < SOOM_AF_COUNT)
        count(SOOM_M_AUTH_FAILURES, (uint32_t)reason, 1);
}

void soom_metrics_throttled(int route)
{
    uint32_t r =
        route < 0 || (size_t)route >= ops_reg.nroutes ? (uint32_t)ops_reg.nroutes : (uint32_t)route;
    count(SOOM_M_THROTTLED, r, 1);
}

void soom_metrics_report_sent(void)
{
    count(SOOM_M_REPORTS_SENT, 0, 1);
}

void soom_metrics_report_dropped(enum soom_report_drop reason)
{
    count(SOOM_M_REPORTS_DROPPED, (uint32_t)reason, 1);
}

/* CPU time is recorded as what was spent since the last sample, added to
 * a counter in the sampling thread's shard: a worker that dies keeps what
 * it had spent, and its replacement adds its own. */
void soom_metrics_process_sample(void)
{
    if (ops_reg.seg == NULL)
        return;
    struct ops_process_figures pf;
    ops_process_read(&pf);
    uint64_t before = atomic_load(&cpu_recorded_us);
    while (before < pf.cpu_us &&
           !atomic_compare_exchange_weak(&cpu_recorded_us, &before, pf.cpu_us)) {
    }
    count(SOOM_M_CPU, 0, pf.cpu_us > before ? pf.cpu_us - before : 0);
    proc_set(SOOM_M_RSS, 0, pf.rss);
    proc_set(SOOM_M_OPEN_FDS, 0, pf.fds);
    atomic_store(&ops_seg_service(ops_reg.seg)[ops_reg.families[SOOM_M_MAX_FDS].base], pf.max_fds);
}

/* ---- app metrics ------------------------------------------------------------ */

static uint64_t labels_key(int id, const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)id;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h | (1ull << 63);
}

int soom_metrics_series(int id, const char *const *values, const size_t *lens, size_t nvalues)
{
    if (ops_reg.seg == NULL || id < SOOM_M_BUILTIN_COUNT || (size_t)id >= ops_reg.nfamilies)
        return SOOM_EINVAL;
    const struct ops_family *f = &ops_reg.families[id];
    if (nvalues != f->nlabels)
        return SOOM_EINVAL;
    char buf[4096];
    buf[0] = '\0'; /* what a family without labels hashes: nothing */
    size_t n = 0;
    for (size_t i = 0; i < nvalues; i++) {
        if (lens[i] >= sizeof buf - n) /* the value and its NUL must fit */
            return SOOM_EINVAL;
        memcpy(buf + n, values[i], lens[i]);
        n += lens[i];
        buf[n++] = '\0';
    }
    int s =
        ops_seg_find(ops_reg.seg, labels_key(id, buf, n), (uint32_t)id, f->cps, f->storage, buf, n);
    return s < 0 ? SOOM_EUNAVAIL : s;
}

void ops_cell_add_double(_Atomic uint64_t *cell, double v, bool shared)
{
    uint64_t old = atomic_load_explicit(cell, memory_order_relaxed);
    if (!shared) {
        atomic_store_explicit(cell, ops_double_bits(ops_bits_double(old) + v),
                              memory_order_relaxed);
        return;
    }
    while (!atomic_compare_exchange_weak_explicit(cell, &old,
                                                  ops_double_bits(ops_bits_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* The family and first cell of series `series`, in the calling thread's
 * storage; NULL when the handle is bad. */
static const struct ops_family *series_cells(int series, _Atomic uint64_t **cells, bool *shared)
{
    struct ops_seg *seg = ops_reg.seg;
    if (seg == NULL || series < 0 || (uint32_t)series >= seg->series_cap)
        return NULL;
    const struct ops_series *s = &ops_seg_series(seg)[series];
    if (!atomic_load_explicit(&s->ready, memory_order_acquire) || s->family >= ops_reg.nfamilies ||
        s->family < SOOM_M_BUILTIN_COUNT)
        return NULL;
    const struct ops_family *f = &ops_reg.families[s->family];
    if (f->storage == OPS_SERVICE) {
        *cells = ops_seg_service(seg) + s->cell;
        *shared = true;
    } else {
        struct soom_metrics_shard sh = soom_metrics_shard();
        *cells = sh.cells + s->cell;
        *shared = sh.shared;
    }
    return f;
}

int soom_metrics_add(int series, double v)
{
    _Atomic uint64_t *c;
    bool shared;
    const struct ops_family *f = series_cells(series, &c, &shared);
    if (f == NULL || f->kind == SOOM_METRIC_HISTOGRAM || !isfinite(v) ||
        (f->kind == SOOM_METRIC_COUNTER && v < 0))
        return SOOM_EINVAL;
    ops_cell_add_double(c, v, shared);
    return SOOM_OK;
}

int soom_metrics_set(int series, double v)
{
    _Atomic uint64_t *c;
    bool shared;
    const struct ops_family *f = series_cells(series, &c, &shared);
    if (f == NULL || f->kind != SOOM_METRIC_GAUGE || isnan(v))
        return SOOM_EINVAL;
    atomic_store_explicit(c, ops_double_bits(v), memory_order_relaxed);
    return SOOM_OK;
}

int soom_metrics_observe(int series, double v)
{
    _Atomic uint64_t *c;
    bool shared;
    const struct ops_family *f = series_cells(series, &c, &shared);
    if (f == NULL || f->kind != SOOM_METRIC_HISTOGRAM || isnan(v))
        return SOOM_EINVAL;
    uint32_t b = 0;
    while (b < f->nbounds && v > f->bounds[b])
        b++;
    struct soom_metrics_shard sh = {c, shared};
    soom_metrics_cell_add(sh, b, 1);
    ops_cell_add_double(c + f->nbounds + 1, v, shared);
    return SOOM_OK;
}

/* ---- sums ------------------------------------------------------------------- */

static unsigned proc_count(void)
{
    return ops_reg.seg->nprocs;
}

static bool proc_alive(unsigned p)
{
    return atomic_load(&ops_seg_proc(ops_reg.seg, p)->pid) != 0;
}

uint64_t ops_sum_int(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell)
{
    const struct ops_seg *seg = reg->seg;
    uint64_t sum = 0;
    if (f->storage == OPS_SERVICE)
        return atomic_load_explicit(&ops_seg_service(seg)[cell], memory_order_relaxed);
    for (unsigned p = 0; p < proc_count(); p++) {
        if (f->storage == OPS_PROCESS) {
            if (proc_alive(p))
                sum +=
                    atomic_load_explicit(&ops_seg_proc_cells(seg, p)[cell], memory_order_relaxed);
            continue;
        }
        unsigned used =
            atomic_load_explicit(&ops_seg_proc(seg, p)->shards_used, memory_order_relaxed);
        for (unsigned s = 0; s < used; s++)
            sum += atomic_load_explicit(&ops_seg_shard(seg, p, s)[cell], memory_order_relaxed);
    }
    return sum;
}

void ops_sum_cells(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell,
                   uint32_t n, uint64_t *out)
{
    const struct ops_seg *seg = reg->seg;
    memset(out, 0, n * sizeof *out);
    for (unsigned p = 0; p < proc_count(); p++) {
        unsigned used =
            atomic_load_explicit(&ops_seg_proc(seg, p)->shards_used, memory_order_relaxed);
        for (unsigned s = 0; s < used; s++) {
            const _Atomic uint64_t *c = ops_seg_shard(seg, p, s) + cell;
            for (uint32_t i = 0; i < n; i++)
                out[i] += atomic_load_explicit(&c[i], memory_order_relaxed);
        }
    }
    (void)f;
}

double ops_sum_double(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell)
{
    const struct ops_seg *seg = reg->seg;
    if (f->storage == OPS_SERVICE)
        return ops_bits_double(
            atomic_load_explicit(&ops_seg_service(seg)[cell], memory_order_relaxed));
    double sum = 0;
    for (unsigned p = 0; p < proc_count(); p++) {
        unsigned used =
            atomic_load_explicit(&ops_seg_proc(seg, p)->shards_used, memory_order_relaxed);
        for (unsigned s = 0; s < used; s++)
            sum += ops_bits_double(
                atomic_load_explicit(&ops_seg_shard(seg, p, s)[cell], memory_order_relaxed));
    }
    return sum;
}
