/*
 * Outbound HTTP on libcurl's multi interface (see client.h); the only file
 * of the client module that includes curl.h.
 *
 * A driver is a multi handle on a loop: libcurl tells it which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION, each socket a loop watch) and when to
 * call it back (CURLMOPT_TIMERFUNCTION, a loop timer); the loop's
 * callbacks hand readiness to curl_multi_socket_action() and collect the
 * finished transfers. A thread has at most two drivers: one on its own
 * loop for fibers, freed with the loop, and one on a private loop for
 * callers that block, freed when the thread ends.
 *
 * A finished transfer wakes its fiber through a posted task, so the fiber
 * resumes from the loop's top level, never inside libcurl.
 */
#include "client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "soom/error.h"
#include "wait.h"

#define MS 1000000ull
#define KEEP_EASY 16
#define MAX_CONNECTS 64

struct driver {
    CURLM *multi;
    struct soom_loop *loop;
    bool own_loop;
    struct soom_loop_timer timer;
    CURL *easy[KEEP_EASY]; /* finished handles, reset, for the next calls */
    size_t neasy;
};

struct sock {
    struct soom_loop_watch watch; /* first: the watch is the socket */
    struct driver *d;
};

struct transfer {
    struct soom_http_call *call;
    struct driver *d;
    struct soom_fiber *fiber;
    uint64_t token;
    bool done;
    CURLcode result;
};

static _Thread_local struct driver *fiber_driver; /* on the thread's loop */
static _Thread_local struct driver *block_driver; /* on a private loop */
static pthread_key_t block_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- libcurl's callbacks ---------------------------------------------------- */

static void collect(struct driver *d)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t == NULL || t->done)
            continue;
        t->done = true;
        t->result = m->data.result;
        if (t->fiber != NULL)
            soom_loop_post(d->loop, soom_fiber_wake, t->fiber, t->token);
    }
}

static void socket_ready(struct soom_loop_watch *w, unsigned events)
{
    struct sock *k = (struct sock *)w;
    struct driver *d = k->d; /* k may be freed inside the call below */
    int action = (events & SOOM_LOOP_IN ? CURL_CSELECT_IN : 0) |
                 (events & SOOM_LOOP_OUT ? CURL_CSELECT_OUT : 0) |
                 (events & (SOOM_LOOP_ERR | SOOM_LOOP_HUP) ? CURL_CSELECT_ERR : 0);
    int running;
    curl_multi_socket_action(d->multi, w->fd, action, &running);
    collect(d);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct driver *d = userp;
    struct sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k != NULL) {
            soom_loop_unwatch(d->loop, &k->watch);
            free(k);
            curl_multi_assign(d->multi, s, NULL);
        }
        return 0;
    }
    if (k == NULL) {
        k = xcalloc(1, sizeof *k);
        k->d = d;
        soom_loop_watch_init(&k->watch, socket_ready);
        curl_multi_assign(d->multi, s, k);
    }
    unsigned events =
        (what & CURL_POLL_IN ? SOOM_LOOP_IN : 0) | (what & CURL_POLL_OUT ? SOOM_LOOP_OUT : 0);
    soom_loop_watch(d->loop, &k->watch, s, events);
    return 0;
}

static void timer_fired(struct soom_loop_timer *t)
{
    struct driver *d = (struct driver *)((char *)t - offsetof(struct driver, timer));
    int running;
    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(d);
}

static int on_timer(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    struct driver *d = userp;
    if (ms < 0)
        soom_loop_timer_stop(d->loop, &d->timer);
    else
        soom_loop_timer_start(d->loop, &d->timer, soom_clock_ns() + (uint64_t)ms * MS);
    return 0;
}

/* ---- drivers ---------------------------------------------------------------- */

static void driver_free(void *arg)
{
    struct driver *d = arg;
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->neasy; i++)
        curl_easy_cleanup(d->easy[i]);
    curl_multi_cleanup(d->multi); /* removes its sockets from the loop */
    soom_loop_timer_stop(d->loop, &d->timer);
    if (d == fiber_driver)
        fiber_driver = NULL;
    if (d->own_loop)
        soom_loop_free(d->loop);
    free(d);
}

static void init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&block_key, driver_free);
}

static struct driver *driver_new(struct soom_loop *loop, bool own_loop, long max_per_host)
{
    struct driver *d = xcalloc(1, sizeof *d);
    d->multi = curl_multi_init();
    if (d->multi == NULL)
        soom_oom(0);
    d->loop = loop;
    d->own_loop = own_loop;
    d->timer.cb = timer_fired;
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTS);
    if (max_per_host > 0)
        curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_per_host);
    return d;
}

/* The driver for this caller: the loop's when the call may switch fibers,
 * else the thread's private one. */
static struct driver *driver_for(const struct soom_http_call *c)
{
    pthread_once(&once, init_once);
    if (soom_wait_switches()) {
        if (fiber_driver == NULL) {
            struct soom_loop *l = soom_fiber_loop(soom_fiber_current());
            fiber_driver = driver_new(l, false, c->max_per_host);
            soom_loop_at_free(l, driver_free, fiber_driver);
        }
        return fiber_driver;
    }
    if (block_driver == NULL) {
        struct soom_loop *own;
        if (soom_loop_new(&own) != SOOM_OK)
            return NULL;
        block_driver = driver_new(own, true, c->max_per_host);
        pthread_setspecific(block_key, block_driver);
    }
    return block_driver;
}

/* ---- a call ------------------------------------------------------------------- */

void soom_http_call_init(struct soom_http_call *c)
{
    memset(c, 0, sizeof *c);
    soom_buf_init(&c->head);
    soom_buf_init(&c->out);
}

void soom_http_call_cleanup(struct soom_http_call *c)
{
    soom_buf_cleanup(&c->head);
    soom_buf_cleanup(&c->out);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct soom_http_call *c = arg;
    size_t len = size * n;
    if (c->max_size > 0 && c->out.len + len > c->max_size) {
        c->kind = SOOM_HTTP_TOO_LARGE;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    soom_buf_append(&c->out, p, len);
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct soom_http_call *c = arg;
    size_t len = size * n;
    /* a status line starts a response: keep only the last one's headers
     * (after a 100 Continue or a redirect) */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        c->head.len = 0;
    soom_buf_append(&c->head, p, len);
    return len;
}

static enum soom_http_kind kind_of(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return SOOM_HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT: return SOOM_HTTP_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return SOOM_HTTP_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return SOOM_HTTP_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_USE_SSL_FAILED: return SOOM_HTTP_TLS;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return SOOM_HTTP_URL;
    default: return SOOM_HTTP_CONNECTION;
    }
}

const char *soom_http_kind_name(enum soom_http_kind kind)
{
    static const char *const NAMES[] = {"ok",  "timeout",    "refused",   "dns",
                                        "tls", "connection", "too_large", "url"};
    return (unsigned)kind < sizeof NAMES / sizeof NAMES[0] ? NAMES[kind] : "connection";
}

static struct curl_slist *header_list(const struct soom_http_call *c)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < c->nheaders; i++)
        list = curl_slist_append(list, c->headers[i]);
    /* libcurl would add "Expect: 100-continue" to a large body: a round
     * trip more, for servers that rarely refuse */
    list = curl_slist_append(list, "Expect:");
    return list;
}

static CURL *take_easy(struct driver *d)
{
    if (d->neasy > 0)
        return d->easy[--d->neasy];
    CURL *e = curl_easy_init();
    if (e == NULL)
        soom_oom(0);
    return e;
}

static void give_easy(struct driver *d, CURL *e)
{
    if (d->neasy == KEEP_EASY) {
        curl_easy_cleanup(e);
        return;
    }
    curl_easy_reset(e);
    d->easy[d->neasy++] = e;
}

/* The call's time: its own timeout, cut to what is left of the request's. */
static long time_left_ms(const struct soom_http_call *c, bool *budget_cut)
{
    long ms = c->timeout_ms;
    uint64_t budget = soom_wait_budget();
    *budget_cut = false;
    if (budget != 0) {
        uint64_t now = soom_clock_ns();
        long left = budget > now ? (long)((budget - now) / MS) : 0;
        if (ms == 0 || left < ms) {
            ms = left;
            *budget_cut = true;
        }
    }
    return ms;
}

static void set_options(CURL *e, struct soom_http_call *c, struct curl_slist *headers, long ms)
{
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL && c->ca_file[0] != '\0')
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
    if (c->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    if (strcmp(c->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(c->method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
    if (c->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    }
}

/* Waits until the transfer is done: the fiber switches out until woken,
 * a blocking caller turns the private loop. False when the wait itself
 * ran out of time first. */
static bool wait_done(struct transfer *t, long ms)
{
    uint64_t deadline = ms > 0 ? soom_clock_ns() + ((uint64_t)ms + 1000) * MS : 0;
    while (!t->done) {
        if (t->fiber != NULL) {
            if (soom_fiber_wait(t->fiber, deadline) == SOOM_ETIMEDOUT && !t->done)
                return false;
        } else {
            if (deadline != 0 && soom_clock_ns() > deadline)
                return false;
            soom_loop_turn(t->d->loop, 100 * MS);
        }
    }
    return true;
}

int soom_http_perform(struct soom_http_call *c)
{
    c->status = 0;
    c->kind = SOOM_HTTP_OK;
    c->error[0] = '\0';
    c->head.len = c->out.len = 0;
    bool budget_cut;
    long ms = time_left_ms(c, &budget_cut);
    struct driver *d = budget_cut && ms <= 0 ? NULL : driver_for(c);
    if (d == NULL) {
        c->kind = budget_cut ? SOOM_HTTP_TIMEOUT : SOOM_HTTP_CONNECTION;
        snprintf(c->error, sizeof c->error, "%s",
                 budget_cut ? "the request's time ran out" : "cannot make a loop");
        return budget_cut ? SOOM_ETIMEDOUT : SOOM_EIO;
    }
    CURL *e = take_easy(d);
    struct curl_slist *headers = header_list(c);
    struct transfer t = {c, d, NULL, 0, false, CURLE_OK};
    if (soom_wait_switches()) {
        t.fiber = soom_fiber_current();
        t.token = soom_fiber_wait_begin(t.fiber);
    }
    set_options(e, c, headers, ms);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_multi_add_handle(d->multi, e);
    bool done = wait_done(&t, ms);
    curl_multi_remove_handle(d->multi, e);
    if (done && t.result == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
    give_easy(d, e);
    curl_slist_free_all(headers);
    if (done && t.result == CURLE_OK)
        return SOOM_OK;
    if (c->kind != SOOM_HTTP_TOO_LARGE)
        c->kind = done ? kind_of(t.result) : SOOM_HTTP_TIMEOUT;
    if (c->error[0] == '\0')
        snprintf(c->error, sizeof c->error, "%s",
                 done ? curl_easy_strerror(t.result) : "no answer in time");
    return c->kind == SOOM_HTTP_TIMEOUT ? SOOM_ETIMEDOUT : SOOM_EIO;
}
