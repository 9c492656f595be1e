/*
 * The HTTP server on libmicrohttpd (the only file that includes it).
 *
 * Models, by settings.server:
 *   threads                 one process; MHD's internal thread pool over
 *                           epoll, settings.threads threads
 *   thread-per-connection   one process; a thread per connection
 *   prefork                 a master that owns the listening socket and
 *                           settings.workers processes, each an async
 *                           server; the master replaces a worker that dies
 *                           and forwards SIGTERM
 *   async                   one process; settings.threads event loops, each
 *                           driving a daemon of its own and every socket its
 *                           requests wait on (server_async.c)
 *
 * The listening socket is always opened here and handed to MHD, so every
 * model binds the same way and prefork workers can share it.
 *
 * Connections are tracked in a list so a reaper thread can enforce
 * settings.idle_timeout on the phases where the client is the one to act:
 * before a request's headers are complete (also between keep-alive
 * requests) and while its body arrives. MHD's own timeout restarts on every
 * byte, so a client trickling one byte at a time would otherwise hold a
 * connection forever. The reaper shuts the socket down; MHD notices and
 * closes it. Entries leave the list in MHD's close notification, which MHD
 * makes before it closes the descriptor, and both run under one lock, so the
 * reaper never touches a descriptor that was reused.
 *
 * At settings.max_connections, idle keep-alive connections make room for
 * new clients, oldest first (libmicrohttpd has no such policy: a client
 * would wait behind idle ones until they timed out). In the pooled models
 * libmicrohttpd stops accepting at the limit, so the reaper checks whether
 * clients wait in the listen queue and closes as many idle connections as
 * wait; under thread-per-connection libmicrohttpd refuses a connection
 * over its limit at once, so its limit is one more and a connection that
 * finds the process full closes the oldest idle one, or is itself closed
 * when none is idle.
 *
 * Shutdown (SIGTERM, SIGINT): accept what already waits in the listen
 * queue (those clients have sent their requests and are served), then stop
 * accepting (MHD_quiesce_daemon), close idle connections, answer requests
 * still arriving on open connections with "Connection: close", wait for
 * in-flight requests up to settings.drain_timeout, stop.
 *
 * A request that a native module suspends (soom_server_suspend) is parked
 * with MHD_suspend_connection in the pooled models, holding no thread, and
 * brought back by MHD_resume_connection when its ticket is woken
 * (server_wait.c keeps tickets and deadlines); thread-per-connection
 * cannot suspend in libmicrohttpd, and there the connection's own thread
 * sleeps until the ticket is woken. Under the async server the request's
 * fiber waits for its ticket instead (server_async.c).
 */
#include "server.h"
#include "server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "builtin.h"
#include "clock.h"
#include "lua_worker.h"
#include "module_host.h"
#include "module_load.h"
#include "module_registry.h"
#include "ops_metrics.h"
#include "ops_trace.h"
#include "pipeline.h"
#include "request_impl.h"
#include "server_reload.h"
#include "server_wait.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "soom/response.h"
#include "soom/router.h"

enum conn_state {
    CONN_WAITING,   /* before a request's headers are complete */
    CONN_RECEIVING, /* reading a request body */
    CONN_HANDLING,  /* running the resource or sending the response */
};

struct conn {
    struct conn *prev, *next;
    int fd; /* -1 once shut down (under conns_lock) */
    bool linked;
    bool shut;           /* shut down by us, counted in srv.closing */
    _Atomic bool served; /* a request was answered: waiting now is keep-alive */
    _Atomic uint64_t phase_start;
    _Atomic int state;
};

struct server {
    struct soom_app *app;
    struct MHD_Daemon *daemon;
    struct MHD_Daemon *ops_daemon; /* metrics.port: /metrics and the probes */
    int listen_fd, ops_fd;
    atomic_int inflight;
    atomic_bool draining;
    atomic_bool stopping;
    pthread_mutex_t conns_lock;
    struct conn *conns;
    long nconns;  /* in the list (under conns_lock) */
    long closing; /* of them, shut down and not yet closed by MHD */
    pthread_t reaper;
    bool reaper_started;
};

/* One server per process: signals and MHD's callbacks are per process. */
static struct server srv;

/* ---- logging ------------------------------------------------------------ */

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_DEBUG, "libmicrohttpd");
    soom_log_str(&l, "detail", msg);
    soom_log_end(&l);
}

/* ---- connection tracking and the reaper --------------------------------- */

/* Enters a phase that started at `since` (a soom_clock_ns() time). The time
 * matters only for the phases where the client must act; the handling phase
 * is never reaped, so it passes 0 and saves a clock read. */
static void conn_phase(struct conn *c, enum conn_state state, uint64_t since)
{
    if (c == NULL)
        return;
    if (since != 0)
        atomic_store_explicit(&c->phase_start, since, memory_order_relaxed);
    atomic_store_explicit(&c->state, state, memory_order_relaxed);
}

/* Connections open on this thread (its daemon's, under the async server). */
static _Thread_local long thread_connections;

static long connections(void)
{
    return thread_connections;
}

/* True when the client has sent bytes the server has not read yet. */
static bool bytes_waiting(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* Shuts a tracked connection down; MHD notices, closes it and tells
 * on_connection. Under conns_lock. */
static void conn_shut(struct conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->fd = -1;
    c->shut = true;
    srv.closing++;
}

/* Shuts down the idle keep-alive connection that has waited longest for
 * its next request (nothing on its way from the client). Returns false
 * when there is none. Under conns_lock. */
static bool evict_oldest_idle(void)
{
    struct conn *oldest = NULL;
    uint64_t since = UINT64_MAX;
    for (struct conn *c = srv.conns; c != NULL; c = c->next) {
        if (c->fd < 0 || !atomic_load_explicit(&c->served, memory_order_relaxed) ||
            atomic_load_explicit(&c->state, memory_order_relaxed) != CONN_WAITING)
            continue;
        uint64_t t = atomic_load_explicit(&c->phase_start, memory_order_relaxed);
        if (t < since && !bytes_waiting(c->fd))
            oldest = c, since = t;
    }
    if (oldest == NULL)
        return false;
    conn_shut(oldest);
    return true;
}

/* Connections open and not being closed. Under conns_lock. */
static long open_connections(void)
{
    return srv.nconns - srv.closing;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        thread_connections++;
        struct conn *c = xcalloc(1, sizeof *c);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = info ? info->connect_fd : -1;
        conn_phase(c, CONN_WAITING, soom_clock_ns());
        pthread_mutex_lock(&srv.conns_lock);
        c->next = srv.conns;
        if (srv.conns)
            srv.conns->prev = c;
        srv.conns = c;
        c->linked = true;
        srv.nconns++;
        /* thread-per-connection: one over the limit (see the top) */
        if (srv.app->config->model == SOOM_SERVER_THREAD_PER_CONNECTION && c->fd >= 0 &&
            open_connections() > srv.app->config->max_connections && !evict_oldest_idle())
            conn_shut(c);
        pthread_mutex_unlock(&srv.conns_lock);
        *socket_context = c;
        return;
    }
    struct conn *c = *socket_context;
    if (c == NULL)
        return;
    thread_connections--;
    pthread_mutex_lock(&srv.conns_lock);
    srv.nconns--;
    if (c->shut)
        srv.closing--;
    if (c->linked) {
        if (c->prev)
            c->prev->next = c->next;
        else
            srv.conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->linked = false;
    }
    pthread_mutex_unlock(&srv.conns_lock);
    free(c);
    *socket_context = NULL;
    if (srv.app->config->model == SOOM_SERVER_THREAD_PER_CONNECTION)
        soom_lua_thread_release(srv.app->lua);
}

/* While draining, a waiting connection is closed only once it has had
 * this long since its last request (or since it was accepted) without
 * sending anything: a request on its way is served, not reset. */
#define DRAIN_GRACE_NS (100 * 1000 * 1000ull)

/* Clients waiting in the listen queue (accepted by the kernel, not yet by
 * MHD): Linux reports a listening socket's queue length in tcpi_unacked;
 * elsewhere, 1 when the socket is readable. */
static long listen_queue(void)
{
#ifdef __linux__
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(srv.listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
        return (long)ti.tcpi_unacked;
#endif
    struct pollfd p = {.fd = srv.listen_fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 ? 1 : 0;
}

/* Shuts down connections that waited too long for their client, and, when
 * draining, every waiting connection with nothing on its way. Returns how
 * many waiting connections it spared while draining (a request arriving). */
static int reap(void)
{
    uint64_t now = soom_clock_ns();
    uint64_t limit = (uint64_t)(srv.app->config->idle_timeout * 1e9);
    bool draining = atomic_load(&srv.draining);
    int spared = 0;
    pthread_mutex_lock(&srv.conns_lock);
    for (struct conn *c = srv.conns; c != NULL; c = c->next) {
        int state = atomic_load_explicit(&c->state, memory_order_relaxed);
        uint64_t since = atomic_load_explicit(&c->phase_start, memory_order_relaxed);
        if (state == CONN_HANDLING || c->fd < 0)
            continue;
        /* `since` may be a little after `now`: a worker moved on meanwhile */
        bool overdue = since < now && now - since > limit;
        bool closing = draining && state == CONN_WAITING;
        if (closing && !overdue && (since + DRAIN_GRACE_NS > now || bytes_waiting(c->fd))) {
            spared++;
            continue;
        }
        if (closing || overdue)
            conn_shut(c);
    }
    pthread_mutex_unlock(&srv.conns_lock);
    return spared;
}

/* At max_connections with clients waiting in the listen queue, the
 * pooled models' daemons accept nothing: close as many idle keep-alive
 * connections as clients wait, oldest first. */
static void admit_waiting(void)
{
    const struct soom_config *cfg = srv.app->config;
    if (cfg->model == SOOM_SERVER_THREAD_PER_CONNECTION || atomic_load(&srv.draining))
        return;
    pthread_mutex_lock(&srv.conns_lock);
    long room = cfg->max_connections - open_connections();
    pthread_mutex_unlock(&srv.conns_lock);
    if (room > 0)
        return;
    long waiting = listen_queue();
    pthread_mutex_lock(&srv.conns_lock);
    while (waiting-- > 0 && evict_oldest_idle()) {
    }
    pthread_mutex_unlock(&srv.conns_lock);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

/* Enforces the idle timeout and handler_timeout, and writes out buffered
 * access lines. */
static void *reaper_main(void *arg)
{
    (void)arg;
    const struct soom_config *cfg = srv.app->config;
    double period = cfg->idle_timeout / 10;
    if (cfg->handler_timeout > 0 && cfg->handler_timeout / 4 < period)
        period = cfg->handler_timeout / 4;
    if (period < 0.02)
        period = 0.02;
    if (period > 0.1)
        period = 0.1; /* access lines reach the log within this */
    /* a stretch of Lua past handler_timeout gets this long to take its
     * error before it is stopped the hard way */
    double grace = cfg->handler_timeout / 10 < 0.05 ? 0.05 : cfg->handler_timeout / 10;
    if (grace > 1)
        grace = 1;
    /* The idle timeout is kept to a tenth of itself, and no closer: a
     * reap walks every open connection, 10,000 idle keep-alive ones a
     * millisecond of a core, which the clients being served wait out when
     * they share its cores. */
    double reap_period = cfg->idle_timeout / 10 < period ? period : cfg->idle_timeout / 10;
    if (reap_period > 1)
        reap_period = 1;
    uint64_t sampled = 0, reaped = 0;
    while (!atomic_load(&srv.stopping)) {
        sleep_ns((uint64_t)(period * 1e9));
        soom_lua_pool_watch(srv.app->lua, soom_clock_ns(), (uint64_t)(grace * 1e9));
        uint64_t now = soom_clock_ns();
        if (now - reaped >= (uint64_t)(reap_period * 1e9)) {
            reap();
            reaped = now;
        }
        admit_waiting();
        soom_log_flush();
        now = soom_clock_ns();
        if (now - sampled >= 1000000000u) {
            soom_builtin_sample(srv.app); /* the process's gauges, for any worker's scrape */
            sampled = now;
        }
    }
    return NULL;
}

/* ---- requests ----------------------------------------------------------- */

struct kv_fill {
    struct soom_arena *arena;
    struct soom_kv *kv;
    size_t n, cap;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    struct kv_fill *f = cls;
    if (f->n == f->cap) {
        /* rare: more than the first guess; grow in the arena */
        size_t cap = f->cap * 2;
        struct soom_kv *kv = soom_arena_alloc(f->arena, cap * sizeof *kv);
        memcpy(kv, f->kv, f->n * sizeof *kv);
        f->kv = kv, f->cap = cap;
    }
    f->kv[f->n++] = (struct soom_kv){key, key_size, value ? value : "", value ? value_size : 0};
    return MHD_YES;
}

/* The headers or query arguments in one pass over MHD's list. */
static void collect(struct MHD_Connection *mc, enum MHD_ValueKind kind, struct soom_request *r,
                    struct soom_kv **out, size_t *count)
{
    struct kv_fill f = {r->arena, soom_arena_alloc(r->arena, 16 * sizeof(struct soom_kv)), 0, 16};
    MHD_get_connection_values_n(mc, kind, collect_kv, &f);
    *out = f.kv;
    *count = f.n;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The modules' constant headers (add_response_header), each unless the
 * response has one of that name already. */
static void add_module_headers(struct MHD_Response *resp, const struct soom_header_out *set)
{
    for (size_t i = 0, n = soom_module_header_count(); i < n; i++) {
        const char *value, *name = soom_module_header_at(i, &value);
        const struct soom_header_out *h = set;
        while (h != NULL && strcasecmp(h->name, name) != 0)
            h = h->next;
        if (h == NULL)
            MHD_add_response_header(resp, name, value);
    }
}

static enum MHD_Result send_response(struct MHD_Connection *mc, struct soom_request *r)
{
    soom_pipeline_respond(r);
    /* a body in the arena lives until the request completes, after MHD is
     * done with it; a malloc'ed one is MHD's to free */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->out_len, r->out_body, r->out_in_arena ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        return MHD_NO;
    if (!r->out_in_arena)
        r->out_body = NULL; /* MHD frees it now */
    if (r->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->trace.trace_id[0] != '\0') {
        char tp[SOOM_TRACEPARENT_LEN + 1];
        soom_trace_format(&r->trace, tp);
        MHD_add_response_header(resp, "traceparent", tp);
        if (r->trace.state != NULL)
            MHD_add_response_header(
                resp, "tracestate",
                soom_arena_strndup(r->arena, r->trace.state, r->trace.state_len));
    }
    for (struct soom_header_out *h = r->out_headers; h != NULL; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    if (r->response_phase_ran)
        add_module_headers(resp, r->out_headers);
    if (r->close || atomic_load_explicit(&srv.draining, memory_order_relaxed))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- suspended requests ---------------------------------------------------- */

uint64_t soom_server_suspend(struct soom_request *r, uint64_t timeout_ns)
{
    (void)r;
    return soom_wait_arm(timeout_ns);
}

int soom_server_resume(uint64_t ticket, void *result)
{
    return soom_wait_wake(ticket, result, false);
}

static const struct soom_module_server WAITING = {soom_server_suspend, soom_server_resume};

/* A woken ticket's request comes back: its connection (the pooled models)
 * or, under the async server, its fiber (server_async.c). */
static void unpark(void *conn)
{
    if (srv.app->config->model >= SOOM_SERVER_PREFORK)
        server_async_unpark(conn);
    else
        MHD_resume_connection(conn);
}

/* Goes on with a request whose ticket was woken. */
static void resume_request(struct soom_request *r)
{
    void *result;
    bool timed_out;
    soom_wait_take(r->wait_ticket, &result, &timed_out);
    r->wait_ticket = 0;
    soom_pipeline_resume(r, result, timed_out);
}

/* After a pipeline step: parks a request that asked to wait (MHD calls
 * on_request again once it is resumed), or sends the response. */
static enum MHD_Result after_step(struct MHD_Connection *mc, struct soom_request *r)
{
    while (soom_pipeline_waiting(r)) {
        if (srv.app->config->model == SOOM_SERVER_THREAD_PER_CONNECTION) {
            soom_wait_block(r->wait_ticket);
            resume_request(r);
            continue;
        }
        MHD_suspend_connection(mc);
        if (!soom_wait_park(r->wait_ticket, mc))
            MHD_resume_connection(mc); /* woken before it was parked */
        return MHD_YES;
    }
    return send_response(mc, r);
}

/* libmicrohttpd calls this once the request line is read, before it
 * parses the headers, with the target exactly as sent (it unescapes it in
 * place afterwards, and %00 would then cut the path short): the request
 * begins here, keeping a copy of the target for the head's checks and the
 * path's own decoding (http_head.h).
 *
 * The query is parsed from that copy too, linearly, into the request's
 * arena. libmicrohttpd would parse it again into its connection memory,
 * where a few hundred parameters exhaust the max_header bytes and leave the
 * client waiting for its idle timeout with no answer; so its copy of the
 * query is emptied: `uri` is its own line buffer, which it is about to cut
 * at the '?' (writing a NUL there), and it parses what follows. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    (void)mc;
    struct soom_app *app = cls;
    struct soom_request *r = soom_request_new(app, app->config);
    size_t n = uri ? strlen(uri) : 0;
    char *target = soom_arena_alloc(r->arena, n + 1);
    memcpy(target, uri ? uri : "", n);
    target[n] = '\0';
    r->target = target;
    r->target_len = n;
    char *q = uri ? strchr(uri, '?') : NULL;
    if (q != NULL && q[1] != '\0')
        q[1] = '\0';
    return r;
}

/* The path is decoded from on_uri's copy and the query parsed from it:
 * libmicrohttpd's own unescaping of the path would be wasted work. */
static size_t on_unescape(void *cls, struct MHD_Connection *mc, char *s)
{
    (void)cls;
    (void)mc;
    return strlen(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct soom_app *app = cls;
    struct soom_request *r = *con_cls;
    if (r == NULL || !r->begun) {
        if (r == NULL) /* not through on_uri: the target is the library's */
            *con_cls = r = soom_request_new(app, app->config);
        r->begun = true;
        atomic_fetch_add_explicit(&srv.inflight, 1, memory_order_relaxed);
        soom_metrics_in_flight(1);
        r->method_name = method;
        r->method_len = strlen(method);
        r->method = soom_router_method_parse(method, r->method_len);
        r->http11 = strcmp(version, MHD_HTTP_VERSION_1_0) != 0;
        r->path = url;
        r->path_len = strlen(url);
        collect(mc, MHD_HEADER_KIND, r, &r->headers, &r->nheaders);
        struct conn *c = conn_of(mc);
        r->conn = c;
        const union MHD_ConnectionInfo *peer =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        r->peer = peer ? peer->client_addr : NULL;
        soom_pipeline_begin(r);
        if (r->responded && (r->close || soom_pipeline_expects_body(r))) {
            /* Refused from the headers alone (413, 415, a framing in
             * doubt...): answer before reading the body; MHD then closes
             * the connection. */
            conn_phase(c, CONN_HANDLING, 0);
            return send_response(mc, r);
        }
        /* Otherwise answer on the next call, even without a body: a
         * response queued before MHD has moved past the body makes it
         * close the connection, losing keep-alive. */
        conn_phase(c, CONN_RECEIVING, r->start_ns);
        return MHD_YES;
    }
    if (r->wait_ticket != 0) { /* resumed */
        resume_request(r);
        return after_step(mc, r);
    }
    if (r->responded) {
        if (*upload_size != 0) {
            *upload_size = 0;
            return MHD_YES;
        }
        conn_phase(r->conn, CONN_HANDLING, 0);
        return send_response(mc, r);
    }
    if (*upload_size != 0) {
        bool keep = soom_pipeline_body(r, upload, *upload_size);
        *upload_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    conn_phase(r->conn, CONN_HANDLING, 0);
    if (app->config->model >= SOOM_SERVER_PREFORK)
        return server_async_finish(mc, r); /* an event loop: on a fiber */
    soom_pipeline_finish(r);
    return after_step(mc, r);
}

static void log_access(const struct soom_request *r, uint64_t now);

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    struct soom_request *r = *con_cls;
    if (r == NULL)
        return;
    *con_cls = NULL;
    if (!r->begun) { /* refused by libmicrohttpd itself, after on_uri */
        soom_request_free(r);
        return;
    }
    if (r->wait_ticket != 0) { /* never parked: retire the ticket */
        void *result;
        bool timed_out;
        soom_wait_take(r->wait_ticket, &result, &timed_out);
    }
    soom_pipeline_done(r);
    uint64_t now = soom_clock_ns();
    /* out of flight before it is counted: a scrape that sees the count
     * never sees the request still in flight */
    soom_metrics_in_flight(-1);
    if (!r->probe)
        soom_metrics_request(r->route ? (int)r->route->id : -1, soom_metrics_method(r->method),
                             r->status, now - r->start_ns,
                             r->body_discarding ? r->body_discarded : r->body_len, r->out_len);
    if (!r->probe || r->config->health_access_log)
        log_access(r, now);
    struct conn *c = r->conn;
    if (c != NULL)
        atomic_store_explicit(&c->served, true, memory_order_relaxed);
    conn_phase(c, CONN_WAITING, now);
    soom_request_free(r);
    atomic_fetch_sub_explicit(&srv.inflight, 1, memory_order_relaxed);
}

static void log_access(const struct soom_request *r, uint64_t now)
{
    struct soom_log_access a = {
        .request_id = r->request_id,
        .request_id_len = r->request_id_len,
        .method = r->method_name ? r->method_name : "?",
        .method_safe = r->method != 0, /* one of the known names */
        .path = r->path,
        .path_len = r->path_len,
        .route_json = r->route ? r->route->pattern_json : NULL,
        .status = r->status,
        .bytes = r->out_len,
        .duration_us = (long long)((now - r->start_ns) / 1000),
        .now_ns = now,
        .lua = r->lua,
        .trace_id = r->trace.trace_id,
        .span_id = r->trace.span_id,
        .user = r->user ? r->user->id : NULL,
        .user_len = r->user ? r->user->id_len : 0,
    };
    soom_log_access(&a);
}

/* ---- listening socket ---------------------------------------------------- */

static int open_listener(const struct soom_config *cfg, long port_number, char *addr,
                         size_t addrlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char port[16];
    snprintf(port, sizeof port, "%ld", port_number);
    int rc = getaddrinfo(cfg->host, port, &hints, &res);
    if (rc != 0) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot resolve the listening address");
        soom_log_str(&l, "host", cfg->host);
        soom_log_str(&l, "error", gai_strerror(rc));
        soom_log_end(&l);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        int err = errno;
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot listen");
        soom_log_str(&l, "host", cfg->host);
        soom_log_int(&l, "port", port_number);
        soom_log_str(&l, "error", strerror(err));
        soom_log_end(&l);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            bound = ntohs(s6->sin6_port);
            snprintf(addr, addrlen, "http://[%s]:%d", host, bound);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            bound = ntohs(s4->sin_port);
            snprintf(addr, addrlen, "http://%s:%d", host, bound);
        }
    }
    return fd;
}

/* ---- one serving process ------------------------------------------------ */

static size_t mhd_options(struct MHD_OptionItem *opts, const struct soom_config *cfg, int fd,
                          long connection_limit)
{
    /* The logger goes first so that MHD's own start-up messages reach it. */
    const struct MHD_OptionItem common[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)ceil(cfg->idle_timeout), NULL},
        /* libmicrohttpd zeroes a connection's memory between its requests:
         * the size is paid on every request, hence a small default */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->max_header, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, (void *)srv.app},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    memcpy(opts, common, sizeof common);
    return sizeof common / sizeof common[0] - 1;
}

static struct MHD_Daemon *start_daemon(struct soom_app *app, int fd)
{
    const struct soom_config *cfg = app->config;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    unsigned pool = 0;
    if (cfg->model == SOOM_SERVER_THREAD_PER_CONNECTION) {
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    } else {
        flags |= MHD_USE_EPOLL | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
        pool = cfg->threads > 1 ? (unsigned)cfg->threads : 0;
    }
    struct MHD_OptionItem opts[SERVER_MHD_OPTIONS];
    /* thread-per-connection: one more, so that a connection over the
     * limit reaches on_connection and may take an idle one's place */
    long limit = cfg->max_connections + (cfg->model == SOOM_SERVER_THREAD_PER_CONNECTION ? 1 : 0);
    size_t n = mhd_options(opts, cfg, fd, limit);
    if (pool > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, pool, NULL};
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, app, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
}

/* The metrics port: /metrics and the probes only, 404 for anything else;
 * a request is answered from its headers, its body (if any) dropped. */
static enum MHD_Result on_ops_request(void *cls, struct MHD_Connection *mc, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    struct soom_app *app = cls;
    struct soom_request *r = *con_cls;
    if (r == NULL) {
        atomic_fetch_add_explicit(&srv.inflight, 1, memory_order_relaxed);
        soom_metrics_in_flight(1);
        r = soom_request_new(app, app->config);
        r->begun = true;
        *con_cls = r;
        r->method_name = method;
        r->method = soom_router_method_parse(method, strlen(method));
        r->path = url;
        r->path_len = strlen(url);
        collect(mc, MHD_HEADER_KIND, r, &r->headers, &r->nheaders);
        soom_pipeline_identify(r);
        if (!soom_builtin_answer(r, true)) {
            r->probe = true;
            soom_response_problem(r, 404, "this port serves the metrics and the probes only", NULL);
        }
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->ready_check)
        soom_builtin_ready(r); /* this daemon's own thread may wait */
    return send_response(mc, r);
}

static struct MHD_Daemon *start_ops_daemon(struct soom_app *app, int fd)
{
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 64, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, on_ops_request, app, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

static void set_draining(void)
{
    atomic_store(&srv.draining, true);
}

static int inflight(void)
{
    return atomic_load(&srv.inflight);
}

static const struct server_hooks HOOKS = {mhd_options,  on_request, send_response, reap,
                                          set_draining, inflight,   connections,   listen_queue};

static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* A handler still running (stuck on a slow call) would make stopping wait
 * for it: the drain timeout is the promise, so leave now and let the
 * kernel close the connections. */
static void drain_timed_out(int left)
{
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_WARN, "drain timeout: stopping with requests in flight");
    soom_log_int(&l, "requests", left);
    soom_log_end(&l);
    soom_log_flush();
    _exit(0);
}

/* Until the listen queue is empty (or the deadline): its clients have
 * sent their requests and would get no answer if the daemons stopped
 * accepting now. Idle connections are closed meanwhile (the drain has
 * begun), which makes room at the connection limit. */
static void serve_listen_queue(uint64_t deadline)
{
    while (listen_queue() > 0 && soom_clock_ns() < deadline) {
        reap();
        sleep_ns(2 * 1000 * 1000);
    }
}

static void drain(void)
{
    const struct soom_config *cfg = srv.app->config;
    soom_builtin_set_draining();
    if (cfg->model >= SOOM_SERVER_PREFORK) {
        int left = server_async_drain();
        if (left > 0)
            drain_timed_out(left);
    } else {
        atomic_store(&srv.draining, true);
        uint64_t deadline = soom_clock_ns() + (uint64_t)(cfg->drain_timeout * 1e9);
        serve_listen_queue(deadline);
        MHD_quiesce_daemon(srv.daemon);
        int spared = 1;
        while ((atomic_load(&srv.inflight) > 0 || spared > 0) && soom_clock_ns() < deadline) {
            spared = reap();
            sleep_ns(5 * 1000 * 1000);
        }
        int left = atomic_load(&srv.inflight);
        if (left > 0)
            drain_timed_out(left);
        MHD_stop_daemon(srv.daemon);
        srv.daemon = NULL;
    }
    atomic_store(&srv.stopping, true);
    if (srv.ops_daemon != NULL)
        MHD_stop_daemon(srv.ops_daemon);
    srv.ops_daemon = NULL;
    if (srv.reaper_started)
        pthread_join(srv.reaper, NULL);
}

/* What a process loads before it serves: its worker states and its
 * database pool (after any fork, warm before the first request; a database
 * that is down is retried, not fatal). */
struct loading {
    struct soom_app *app;
    bool lua_ok, pg_ok;
    char err[1024];
};

static void *load_main(void *arg)
{
    struct loading *ld = arg;
    struct soom_app *app = ld->app;
    size_t states =
        app->config->model == SOOM_SERVER_THREAD_PER_CONNECTION ? 1 : (size_t)app->config->threads;
    ld->lua_ok = soom_lua_pool_new(app, states, &app->lua, ld->err, sizeof ld->err) == SOOM_OK;
    ld->pg_ok = ld->lua_ok && soom_pg_pool_setup(app->config) == SOOM_OK &&
                soom_pg_replicas_setup(app->config) == SOOM_OK;
    return NULL;
}

/* Loads this process while `late` makes its bytes (on a thread of its own;
 * one after the other when no thread can be had), then lets late fill
 * them in. Logs what failed, but late's own failure. */
static bool load_process(struct soom_app *app, const struct soom_server_late *late)
{
    struct loading ld = {.app = app};
    pthread_t t;
    bool threaded = late != NULL && pthread_create(&t, NULL, load_main, &ld) == 0;
    if (!threaded)
        load_main(&ld);
    bool late_ok = late == NULL || late->make(late->ctx) == SOOM_OK;
    if (threaded)
        pthread_join(t, NULL);
    late_ok = late_ok && (late == NULL || late->fill(late->ctx, app) == SOOM_OK);
    if (!ld.lua_ok) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot load the app");
        soom_log_str(&l, "error", ld.err);
        soom_log_end(&l);
    } else if (!ld.pg_ok) {
        soom_log_msg(SOOM_LOG_ERROR, "cannot set up the database pool");
    }
    return ld.lua_ok && ld.pg_ok && late_ok;
}

/* Serves on `fd` in this process until SIGTERM/SIGINT. Signals must already
 * be blocked. `late`: see soom_server_run (NULL in a prefork worker: its
 * master filled them in before forking). */
static int serve_process(struct soom_app *app, int fd, unsigned index,
                         const struct soom_server_late *late)
{
    srv.app = app;
    srv.listen_fd = fd;
    soom_builtin_process_begin(app, index);
    pthread_mutex_init(&srv.conns_lock, NULL);
    if (!load_process(app, late))
        return 1;
    if (soom_wait_setup(unpark) != SOOM_OK) {
        soom_log_msg(SOOM_LOG_ERROR, "cannot start the timer of suspended requests");
        return 1;
    }
    soom_module_set_server(&WAITING);
    /* watching before serving: a change made as the first requests come is
     * seen. A prefork worker's changed routes restart the master, and so all. */
    pid_t restart_pid = app->config->model == SOOM_SERVER_PREFORK ? getppid() : getpid();
    struct server_reload *reloader =
        app->config->reload ? server_reload_start(app, restart_pid) : NULL;
    bool started;
    if (app->config->model >= SOOM_SERVER_PREFORK)
        started = server_async_start(app, fd, &HOOKS) == SOOM_OK;
    else
        started = (srv.daemon = start_daemon(app, fd)) != NULL;
    if (srv.ops_fd >= 0)
        srv.ops_daemon = start_ops_daemon(app, srv.ops_fd);
    if (!started || (srv.ops_fd >= 0 && srv.ops_daemon == NULL)) {
        soom_log_msg(SOOM_LOG_ERROR, "cannot start the HTTP server");
        return 1;
    }
    srv.reaper_started = pthread_create(&srv.reaper, NULL, reaper_main, NULL) == 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (reloader != NULL && app->config->model != SOOM_SERVER_PREFORK)
        sigaddset(&set, SIGHUP);
    int sig;
    do {
        sig = sigwaitinfo(&set, NULL);
    } while (sig < 0 && errno == EINTR);
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "shutting down");
    soom_log_str(&l, "signal", sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM");
    soom_log_int(&l, "pid", getpid());
    soom_log_end(&l);
    server_reload_stop(reloader);
    drain();
    soom_builtin_process_end();
    soom_module_set_server(NULL);
    soom_wait_teardown();
    soom_log_flush();
    soom_pg_replicas_teardown();
    soom_pg_pool_teardown();
    soom_lua_pool_free(app->lua);
    app->lua = NULL;
    soom_module_shutdown();
    return sig == SIGHUP ? SOOM_SERVER_RESTART : 0;
}

static const char *MODEL_NAMES[] = {"threads", "thread-per-connection", "prefork", "async"};

static void log_listening(const struct soom_app *app, const char *addr, const char *ops_addr)
{
    const struct soom_config *cfg = app->config;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "listening");
    soom_log_str(&l, "address", addr);
    if (ops_addr != NULL)
        soom_log_str(&l, "metrics_address", ops_addr);
    soom_log_str(&l, "server", MODEL_NAMES[cfg->model]);
    if (cfg->model != SOOM_SERVER_THREAD_PER_CONNECTION)
        soom_log_int(&l, "threads", cfg->threads);
    if (cfg->model == SOOM_SERVER_PREFORK)
        soom_log_int(&l, "workers", cfg->workers);
    soom_log_int(&l, "routes", (long long)app->nroutes);
    soom_log_int(&l, "pid", getpid());
    soom_log_end(&l);
}

/* ---- prefork ------------------------------------------------------------ */

struct workers {
    pid_t *pids;
    uint64_t *started;
    size_t n;
};

static pid_t spawn_worker(struct soom_app *app, int fd, unsigned index)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid; /* parent, or -1 */
    int code = serve_process(app, fd, index, NULL);
    _exit(code);
}

static void log_worker(const char *msg, pid_t pid, int status)
{
    struct soom_log_line l;
    soom_log_begin(&l, status < 0 ? SOOM_LOG_INFO : SOOM_LOG_WARN, msg);
    soom_log_int(&l, "pid", pid);
    if (status >= 0) {
        if (WIFSIGNALED(status))
            soom_log_int(&l, "signal", WTERMSIG(status));
        else
            soom_log_int(&l, "exit_code", WEXITSTATUS(status));
    }
    soom_log_end(&l);
}

/* Replaces dead workers; a worker that dies within a second of starting
 * delays its replacement, so a crash loop does not spin the master. */
static void replace_dead(struct soom_app *app, int fd, struct workers *w)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < w->n; i++) {
            if (w->pids[i] != pid)
                continue;
            log_worker("worker died", pid, status);
            if (soom_clock_ns() - w->started[i] < 1000000000u)
                sleep_ns(1000000000u);
            soom_metrics_process_end((unsigned)i); /* its gauges go, its counts stay */
            w->pids[i] = spawn_worker(app, fd, (unsigned)i);
            w->started[i] = soom_clock_ns();
            log_worker("worker started", w->pids[i], -1);
        }
    }
}

static int stop_workers(const struct soom_app *app, struct workers *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->pids[i] > 0)
            kill(w->pids[i], SIGTERM);
    uint64_t deadline = soom_clock_ns() + (uint64_t)((app->config->drain_timeout + 2) * 1e9);
    size_t alive = w->n;
    while (alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (size_t i = 0; i < w->n; i++)
                if (w->pids[i] == pid)
                    w->pids[i] = 0, alive--;
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        if (soom_clock_ns() > deadline) {
            for (size_t i = 0; i < w->n; i++)
                if (w->pids[i] > 0)
                    kill(w->pids[i], SIGKILL);
            deadline = UINT64_MAX;
        }
        sleep_ns(10 * 1000 * 1000);
    }
    return 0;
}

static int run_prefork(struct soom_app *app, int fd)
{
    struct workers w = {xcalloc((size_t)app->config->workers, sizeof(pid_t)),
                        xcalloc((size_t)app->config->workers, sizeof(uint64_t)),
                        (size_t)app->config->workers};
    for (size_t i = 0; i < w.n; i++) {
        w.pids[i] = spawn_worker(app, fd, (unsigned)i);
        w.started[i] = soom_clock_ns();
        log_worker("worker started", w.pids[i], -1);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    if (app->config->reload)
        sigaddset(&set, SIGHUP); /* from a worker's reloader */
    int sig;
    for (;;) {
        sig = sigwaitinfo(&set, NULL);
        if (sig == SIGCHLD) {
            replace_dead(app, fd, &w);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            break;
    }
    soom_log_msg(SOOM_LOG_INFO, "stopping workers");
    int code = stop_workers(app, &w);
    if (sig == SIGHUP)
        code = SOOM_SERVER_RESTART;
    free(w.pids);
    free(w.started);
    return code;
}

/* A server holds a descriptor per connection, outbound call and database
 * session: the soft limit goes up to the hard one (as nginx's
 * worker_rlimit_nofile would, and Go does by itself). Every model polls
 * with epoll or poll, so descriptors past 1024 are fine. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int soom_server_run(struct soom_app *app, const struct soom_server_late *late)
{
    sigset_t set;
    block_signals(&set);
    if (app->config->reload) {
        /* the reloader's restart, taken by sigwaitinfo */
        sigset_t hup;
        sigemptyset(&hup);
        sigaddset(&hup, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &hup, NULL);
    }
    raise_fd_limit();
    char addr[128] = "?", ops_addr[128] = "?";
    int fd = open_listener(app->config, app->config->port, addr, sizeof addr);
    if (fd < 0)
        return 1;
    srv.ops_fd = -1;
    if (app->config->metrics_enabled && app->config->metrics_port > 0) {
        srv.ops_fd =
            open_listener(app->config, app->config->metrics_port, ops_addr, sizeof ops_addr);
        if (srv.ops_fd < 0) {
            close(fd);
            return 1;
        }
    }
    /* before any fork: every worker counts into the same memory */
    if (soom_builtin_setup(app, MHD_get_version()) != SOOM_OK) {
        close(fd);
        return 1;
    }
    log_listening(app, addr, srv.ops_fd >= 0 ? ops_addr : NULL);
    int code;
    if (app->config->model != SOOM_SERVER_PREFORK)
        code = serve_process(app, fd, 0, late);
    else if (late != NULL &&
             (late->make(late->ctx) != SOOM_OK || late->fill(late->ctx, app) != SOOM_OK))
        code = 1; /* the workers fork with the bytes */
    else
        code = run_prefork(app, fd);
    close(fd);
    if (srv.ops_fd >= 0)
        close(srv.ops_fd);
    soom_log_msg(SOOM_LOG_INFO, "stopped");
    return code;
}
