/*
 * The async model: settings.threads worker threads, each running an event
 * loop (loop.h) that drives a libmicrohttpd daemon of its own, in external
 * polling mode over epoll, together with every socket its requests wait
 * on (PostgreSQL, outbound HTTP) and their timers.
 *
 * Each daemon gets its own duplicate of the listening socket, so they all
 * accept from one queue (a busy worker leaves new connections to the
 * others) and each can quiesce and stop on its own. The daemon's epoll set
 * is a watch of the loop; the loop runs the daemon when that set is ready,
 * when the daemon's own timeout comes, and after a connection was resumed.
 *
 * A request runs on the worker's thread: the headers and the body as in
 * every model, then the rest of the pipeline on a fiber (fiber.h). When
 * the pipeline finishes without waiting, the response is queued at once;
 * when it waits (a statement, a place in the pool's queue, an outbound
 * call, a sleep, a native module's suspension), the connection is
 * suspended and the loop serves other requests until the fiber finishes
 * and resumes it.
 *
 * Everything here except the drain runs on the workers' threads; the
 * thread that started them (serve_process) only waits for a signal, then
 * drains: each loop quiesces its daemon (a posted task), and once the
 * requests in flight are done each loop is stopped and its daemon stopped
 * on its own thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "pipeline.h"
#include "request_impl.h"
#include "server_impl.h"
#include "server_wait.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"

struct worker {
    pthread_t thread;
    struct soom_app *app;
    long connection_limit;
    int fd; /* this daemon's duplicate of the listening socket */
    struct soom_loop *loop;
    struct MHD_Daemon *daemon;
    struct soom_loop_watch mhd; /* the daemon's epoll set */
    uint64_t mhd_due;           /* when the daemon must run next */
    bool mhd_dirty;             /* a connection was resumed */
    bool mhd_freed;             /* the last run closed a connection at the limit */
    atomic_int state;           /* 0 starting, 1 serving, -1 failed */
};

/* A request finishing on a fiber. */
struct job {
    struct MHD_Connection *mc;
    struct soom_request *r;
    struct worker *w;
    bool suspended;
    struct soom_fiber *fiber; /* waiting for a module's ticket */
    uint64_t token;
};

static struct worker *workers;
static size_t nworkers;
static const struct server_hooks *hooks;
static _Thread_local struct worker *self;

/* ---- running the daemon --------------------------------------------------- */

/* How many runs of the daemon follow each other when it asks for the
 * next at once (see run_daemon). */
#define RUNS_AT_ONCE 4

static void run_daemon(struct worker *w)
{
    long before = hooks->connections();
    /* libmicrohttpd asks for another run at once (a timeout of 0) while a
     * connection moves on through states that wait for no socket: a
     * resumed request's connection takes three runs from its response
     * back into the daemon's epoll set. They follow each other here, a
     * few at most so the loop's other descriptors wait little, instead of
     * each after a turn of the loop and an epoll_wait of its own. */
    MHD_UNSIGNED_LONG_LONG ms = 0;
    bool timed = false;
    for (int i = 0; i < RUNS_AT_ONCE; i++) {
        MHD_run(w->daemon);
        timed = MHD_get_timeout(w->daemon, &ms) == MHD_YES;
        if (!timed || ms > 0)
            break;
    }
    /* A daemon at its connection limit takes its listening socket out of
     * its epoll set and puts it back only at the start of a later run,
     * which nothing would trigger: a connection closed at the limit asks
     * for two runs, since the daemon counts it out only when it cleans up,
     * which may be in the run after the close (a response with
     * "Connection: close" while draining). */
    bool freed = before >= w->connection_limit && hooks->connections() < before;
    w->mhd_dirty = freed || w->mhd_freed;
    w->mhd_freed = freed;
    if (timed)
        w->mhd_due = soom_loop_now(w->loop) + (uint64_t)ms * 1000000u;
    else
        w->mhd_due = UINT64_MAX;
}

static void daemon_ready(struct soom_loop_watch *watch, unsigned events)
{
    (void)events;
    struct worker *w = (struct worker *)((char *)watch - offsetof(struct worker, mhd));
    run_daemon(w);
}

/* Before the loop blocks: the daemon runs if a connection was resumed or
 * its timeout came, and the loop wakes by its next timeout. */
static uint64_t prepare(void *arg)
{
    struct worker *w = arg;
    uint64_t now = soom_loop_now(w->loop);
    if (w->mhd_dirty || now >= w->mhd_due)
        run_daemon(w);
    if (w->mhd_dirty)
        return 0; /* that run asks for another (a connection closed at the limit) */
    return w->mhd_due == UINT64_MAX ? UINT64_MAX : w->mhd_due > now ? w->mhd_due - now : 0;
}

/* ---- requests -------------------------------------------------------------- */

void server_async_unpark(void *arg)
{
    struct job *j = arg;
    soom_loop_post(j->w->loop, soom_fiber_wake, j->fiber, j->token);
}

/* A native module suspended the request (soom_server_suspend): the fiber
 * parks the ticket with its job, waits until server_async_unpark() wakes
 * it, and goes on where the request stopped, as often as it asks. The
 * ticket's own deadline ends the wait (its timer wakes it), not the
 * request's budget, which would leave the ticket parked on a job about to
 * go away. */
static void wait_for_modules(struct job *j)
{
    struct soom_request *r = j->r;
    while (soom_pipeline_waiting(r)) {
        j->fiber = soom_fiber_current();
        j->token = soom_fiber_wait_begin(j->fiber);
        if (soom_wait_park(r->wait_ticket, j)) {
            uint64_t budget = soom_fiber_budget(j->fiber);
            soom_fiber_set_budget(j->fiber, 0);
            while (soom_fiber_wait(j->fiber, 0) != SOOM_OK) {
            }
            soom_fiber_set_budget(j->fiber, budget);
        }
        void *result;
        bool timed_out;
        soom_wait_take(r->wait_ticket, &result, &timed_out);
        r->wait_ticket = 0;
        soom_pipeline_resume(r, result, timed_out);
    }
}

static void run_job(void *arg)
{
    struct job *j = arg;
    soom_pipeline_finish(j->r);
    wait_for_modules(j);
    if (j->suspended) {
        /* the loop resumed this fiber, outside of any daemon callback */
        MHD_resume_connection(j->mc);
        j->w->mhd_dirty = true;
    }
}

enum MHD_Result server_async_finish(struct MHD_Connection *mc, struct soom_request *r)
{
    struct worker *w = self;
    struct job *j = soom_arena_alloc(r->arena, sizeof *j);
    *j = (struct job){mc, r, w, false, NULL, 0};
    if (soom_fiber_run(w->loop, run_job, j))
        return hooks->send_response(mc, r);
    /* waiting: MHD calls the handler again once the fiber resumes it, and
     * the handler then sends the response */
    j->suspended = true;
    MHD_suspend_connection(mc);
    return MHD_YES;
}

/* ---- workers --------------------------------------------------------------- */

static bool start_daemon(struct worker *w)
{
    const struct soom_config *cfg = w->app->config;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    struct MHD_OptionItem opts[SERVER_MHD_OPTIONS];
    hooks->mhd_options(opts, cfg, w->fd, w->connection_limit);
    w->daemon = MHD_start_daemon(flags, 0, NULL, NULL, hooks->on_request, w->app, MHD_OPTION_ARRAY,
                                 opts, MHD_OPTION_END);
    if (w->daemon == NULL)
        return false;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    soom_loop_watch_init(&w->mhd, daemon_ready);
    if (info == NULL || soom_loop_watch(w->loop, &w->mhd, info->epoll_fd, SOOM_LOOP_IN) != SOOM_OK)
        return false;
    w->mhd_dirty = true;
    soom_loop_set_prepare(w->loop, prepare, w);
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    self = w;
    if (soom_loop_new(&w->loop) != SOOM_OK || !start_daemon(w)) {
        atomic_store(&w->state, -1);
        return NULL;
    }
    atomic_store(&w->state, 1);
    soom_loop_run(w->loop);
    soom_loop_unwatch(w->loop, &w->mhd);
    MHD_stop_daemon(w->daemon); /* quiesced: the socket is ours to close */
    close(w->fd);
    soom_fiber_thread_cleanup();
    soom_loop_free(w->loop);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int server_async_start(struct soom_app *app, int fd, const struct server_hooks *h)
{
    const struct soom_config *cfg = app->config;
    hooks = h;
    nworkers = cfg->threads > 0 ? (size_t)cfg->threads : 1;
    workers = xcalloc(nworkers, sizeof *workers);
    long share = cfg->max_connections / (long)nworkers;
    long extra = cfg->max_connections % (long)nworkers;
    bool ok = true;
    for (size_t i = 0; i < nworkers && ok; i++) {
        struct worker *w = &workers[i];
        w->app = app;
        w->connection_limit = share + ((long)i < extra ? 1 : 0);
        if (w->connection_limit < 1)
            w->connection_limit = 1;
        w->fd = dup(fd);
        ok = w->fd >= 0 && pthread_create(&w->thread, NULL, worker_main, w) == 0;
        if (!ok && w->fd >= 0)
            close(w->fd);
        if (ok) {
            while (atomic_load(&w->state) == 0)
                sleep_ms(1);
            ok = atomic_load(&w->state) == 1;
        }
    }
    if (!ok) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "cannot start the HTTP server");
        soom_log_str(&l, "error", errno != 0 ? strerror(errno) : "a worker failed to start");
        soom_log_end(&l);
        return SOOM_EIO;
    }
    return SOOM_OK;
}

/* ---- draining -------------------------------------------------------------- */

static void quiesce(void *arg, uint64_t token)
{
    (void)token;
    struct worker *w = arg;
    MHD_quiesce_daemon(w->daemon);
}

int server_async_drain(void)
{
    const struct soom_config *cfg = workers[0].app->config;
    hooks->set_draining();
    uint64_t deadline = soom_clock_ns() + (uint64_t)(cfg->drain_timeout * 1e9);
    /* the clients in the listen queue sent their requests: serve them
     * before the daemons stop accepting */
    while (hooks->listen_queue() > 0 && soom_clock_ns() < deadline) {
        hooks->reap();
        sleep_ms(2);
    }
    for (size_t i = 0; i < nworkers; i++)
        soom_loop_post(workers[i].loop, quiesce, &workers[i], 0);
    int spared = 1;
    while ((hooks->inflight() > 0 || spared > 0) && soom_clock_ns() < deadline) {
        spared = hooks->reap();
        sleep_ms(5);
    }
    int left = hooks->inflight();
    if (left > 0)
        return left;
    for (size_t i = 0; i < nworkers; i++)
        soom_loop_stop(workers[i].loop);
    for (size_t i = 0; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    free(workers);
    workers = NULL;
    nworkers = 0;
    return 0;
}
