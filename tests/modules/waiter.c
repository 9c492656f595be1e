/*
 * A test module that suspends requests and resumes them from a thread of
 * its own, for tests/http/test_modules_wait.py:
 *   GET /wait/{ms:int}     resumed by the module's thread after ms
 *                          milliseconds; answers {"waited": ms, "id": ...}
 *                          (a timeout of settings.timeout_ms, default 5000,
 *                          answers 503 from the resume callback)
 *   GET /never             suspended and never resumed: the core answers
 *                          504 after settings.never_ms (default 300)
 *   GET /wait-stats        resumes that came too late, jobs pending, and the
 *                          most jobs pending at once
 *   GET /wait-checks       suspend() refuses a timeout of 0 and a second
 *                          suspension; the first stands and is resumed
 *   X-Wait-Before: ms      a handler-phase middleware waits that long, then
 *                          the request goes on to its handler
 *   X-Wait-Early: 1        a request-phase middleware tries to suspend (it
 *                          may not) and says so in X-Early-Suspend
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soom/module.h"

static const struct soom_module_host *H;
static struct soom_module_handle *M;
static uint32_t timeout_ms = 5000, never_ms = 300;

struct job {
    uint64_t due;
    uint64_t ticket;
    long ms;
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_t thread;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool started, stopping;
static struct job *jobs; /* by due time */
static long late, pending, peak;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct result {
    long ms;
};

static void run_due(struct job *j)
{
    struct result *res = malloc(sizeof *res);
    res->ms = j->ms;
    if (H->resume(j->ticket, res) != SOOM_MODULE_OK) {
        free(res); /* timed out before: the result stays ours */
        pthread_mutex_lock(&lock);
        late++;
        pthread_mutex_unlock(&lock);
    }
    free(j);
}

static void *resumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        if (jobs == NULL) {
            pthread_cond_wait(&cv, &lock);
            continue;
        }
        if (jobs->due > now_ns()) {
            struct timespec ts = {(time_t)(jobs->due / 1000000000u),
                                  (long)(jobs->due % 1000000000u)};
            pthread_cond_timedwait(&cv, &lock, &ts);
            continue;
        }
        struct job *j = jobs;
        jobs = j->next;
        pending--;
        pthread_mutex_unlock(&lock);
        run_due(j);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void start_thread(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    started = pthread_create(&thread, NULL, resumer, NULL) == 0;
}

static void queue(uint64_t ticket, long ms)
{
    pthread_once(&once, start_thread);
    struct job *j = malloc(sizeof *j);
    j->due = now_ns() + (uint64_t)ms * 1000000u;
    j->ticket = ticket;
    j->ms = ms;
    pthread_mutex_lock(&lock);
    struct job **at = &jobs;
    while (*at != NULL && (*at)->due <= j->due)
        at = &(*at)->next;
    j->next = *at;
    *at = j;
    if (++pending > peak)
        peak = pending;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&lock);
}

/* ---- routes ------------------------------------------------------------ */

static int waited(struct soom_request *req, struct soom_response *resp, void *result,
                  bool timed_out)
{
    if (timed_out) {
        H->resp_problem(resp, 503, "the wait outlasted its timeout");
        return SOOM_MODULE_RESPOND;
    }
    struct result *res = result;
    size_t n;
    const char *id = H->req_id(req, &n);
    char body[256];
    snprintf(body, sizeof body, "{\"waited\":%ld,\"id\":\"%.*s\"}", res->ms, (int)n, id);
    free(res);
    H->resp_set_body(resp, body, strlen(body), "application/json");
    return SOOM_MODULE_RESPOND;
}

static int wait_route(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    size_t n;
    const char *p = H->req_param(req, "ms", &n);
    long ms = strtol(p, NULL, 10);
    uint64_t ticket = H->suspend(req, timeout_ms, waited);
    if (ticket == 0)
        return 500;
    queue(ticket, ms);
    return SOOM_MODULE_CONTINUE;
}

static int never_route(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    return H->suspend(req, never_ms, NULL) != 0 ? SOOM_MODULE_CONTINUE : 500;
}

static int stats_route(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)ud;
    char body[96];
    pthread_mutex_lock(&lock);
    snprintf(body, sizeof body, "{\"late\":%ld,\"pending\":%ld,\"peak\":%ld}", late, pending, peak);
    pthread_mutex_unlock(&lock);
    H->resp_set_body(resp, body, strlen(body), "application/json");
    return SOOM_MODULE_RESPOND;
}

static int checks_done(struct soom_request *req, struct soom_response *resp, void *result,
                       bool timed_out)
{
    (void)req;
    free(result);
    const char *body = timed_out ? "{\"resumed\":false}" : "{\"resumed\":true}";
    H->resp_set_body(resp, body, strlen(body), "application/json");
    return SOOM_MODULE_RESPOND;
}

static int checks_route(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    if (H->suspend(req, 0, checks_done) != 0)
        return 500; /* a timeout is mandatory */
    uint64_t ticket = H->suspend(req, timeout_ms, checks_done);
    if (ticket == 0 || H->suspend(req, timeout_ms, NULL) != 0)
        return 500; /* one suspension at a time */
    queue(ticket, 10);
    return SOOM_MODULE_CONTINUE;
}

static int early(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    size_t n;
    if (H->req_header(req, "X-Wait-Early", &n) == NULL)
        return SOOM_MODULE_CONTINUE;
    uint64_t ticket = H->suspend(req, timeout_ms, NULL);
    H->resp_set_header(resp, "X-Early-Suspend", ticket == 0 ? "refused" : "accepted");
    return SOOM_MODULE_CONTINUE;
}

/* ---- waiting before the handler --------------------------------------- */

static int before_done(struct soom_request *req, struct soom_response *resp, void *result,
                       bool timed_out)
{
    (void)req;
    struct result *res = result;
    char v[32];
    snprintf(v, sizeof v, "%ld", timed_out ? -1 : res->ms);
    free(res);
    H->resp_set_header(resp, "X-Waited-Before", v);
    return SOOM_MODULE_CONTINUE; /* on to the handler */
}

static int before(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)resp, (void)ud;
    size_t n;
    const char *v = H->req_header(req, "X-Wait-Before", &n);
    if (v == NULL)
        return SOOM_MODULE_CONTINUE;
    uint64_t ticket = H->suspend(req, timeout_ms, before_done);
    if (ticket == 0)
        return 500;
    queue(ticket, strtol(v, NULL, 10));
    return SOOM_MODULE_CONTINUE;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    H = host, M = mod;
    const struct soom_json *t = H->json_get(settings, "timeout_ms");
    if (H->json_type(t) == SOOM_MODULE_JSON_NUMBER)
        timeout_ms = (uint32_t)H->json_number(t);
    t = H->json_get(settings, "never_ms");
    if (H->json_type(t) == SOOM_MODULE_JSON_NUMBER)
        never_ms = (uint32_t)H->json_number(t);
    int rc = H->add_route(mod, "GET", "/wait/{ms:int}", 0, wait_route, NULL);
    rc |= H->add_route(mod, "GET", "/never", 0, never_route, NULL);
    rc |= H->add_route(mod, "GET", "/wait-stats", 0, stats_route, NULL);
    rc |= H->add_route(mod, "GET", "/wait-checks", 0, checks_route, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_HANDLER, before, NULL);
    rc |= H->add_middleware(mod, SOOM_PHASE_REQUEST, early, NULL);
    return rc == SOOM_MODULE_OK ? SOOM_MODULE_OK : SOOM_MODULE_ERROR;
}

static void stop(struct soom_module_handle *mod)
{
    (void)mod;
    if (!started)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    while (jobs != NULL) {
        struct job *j = jobs;
        jobs = j->next;
        free(j);
    }
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = SOOM_MODULE_ABI_MINOR,
    .name = "waiter",
    .version = "1.0",
    .init = init,
    .shutdown = stop,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
