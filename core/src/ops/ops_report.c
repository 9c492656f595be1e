/*
 * Error reports (see ops_report.h): a bounded FIFO of events under one
 * mutex (held for a few pointer moves, never while sending), and one
 * sender thread with a libcurl handle of its own. The only file that
 * includes curl.h; its use stays this small and private.
 *
 * Drops are counted by reason in /metrics and logged: the first at once,
 * then at most one line per ten seconds with the count since the last.
 */
#include "ops_report.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "ops_metrics.h"
#include "soom/buf.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/log.h"

struct event {
    struct event *next;
    double time; /* when it happened, seconds since the epoch */
    size_t len;
    char data[];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct event *head, *tail;
    size_t n, max;
    bool running, stopping;
    pthread_t thread;
    struct soom_dsn dsn;
    char *dsn_text, *release, *environment, *server_name;
    long timeout_ms;
    uint64_t retry_at; /* monotonic ns: rate limited until then */
} rq = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static _Atomic uint64_t drops_unlogged;
static _Atomic uint64_t drop_logged_at;

/* ---- the DSN ------------------------------------------------------------ */

static int dsn_fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "error_reporting.dsn: %s (expected https://<key>@<host>/<project>)", why);
    return SOOM_ECONFIG;
}

int soom_report_parse_dsn(const char *dsn, struct soom_dsn *out, char *err, size_t errlen)
{
    const char *scheme_end = strstr(dsn, "://");
    if (scheme_end == NULL || !((scheme_end - dsn == 4 && strncmp(dsn, "http", 4) == 0) ||
                                (scheme_end - dsn == 5 && strncmp(dsn, "https", 5) == 0)))
        return dsn_fail(err, errlen, "not an http or https URL");
    const char *user = scheme_end + 3;
    const char *at = strchr(user, '@');
    const char *slash = strchr(user, '/');
    if (at == NULL || (slash != NULL && at > slash) || at == user)
        return dsn_fail(err, errlen, "no public key");
    const char *colon = memchr(user, ':', (size_t)(at - user)); /* a legacy secret */
    size_t keylen = (size_t)((colon ? colon : at) - user);
    const char *host = at + 1;
    const char *last = strrchr(host, '/');
    if (last == NULL || last[1] == '\0' || last == host)
        return dsn_fail(err, errlen, "no project id");
    const char *project = last + 1;
    for (const char *p = project; *p; p++) {
        if (*p < '0' || *p > '9')
            return dsn_fail(err, errlen, "the project id is not a number");
    }
    if (keylen >= sizeof out->key || strlen(project) >= sizeof out->project)
        return dsn_fail(err, errlen, "too long");
    memcpy(out->key, user, keylen);
    out->key[keylen] = '\0';
    snprintf(out->project, sizeof out->project, "%s", project);
    int n = snprintf(out->url, sizeof out->url, "%.*s%.*s/api/%s/envelope/", (int)(user - dsn), dsn,
                     (int)(last - host), host, project);
    if (n < 0 || (size_t)n >= sizeof out->url)
        return dsn_fail(err, errlen, "too long");
    return SOOM_OK;
}

/* ---- drops ---------------------------------------------------------------- */

static void dropped(enum soom_report_drop reason)
{
    static const char *const WHY[] = {"the queue is full", "the receiver failed",
                                      "the receiver asked to back off"};
    soom_metrics_report_dropped(reason);
    uint64_t pending = atomic_fetch_add(&drops_unlogged, 1) + 1;
    uint64_t now = soom_clock_ns(), last = atomic_load(&drop_logged_at);
    if (last != 0 && now - last < 10000000000ull)
        return;
    if (!atomic_compare_exchange_strong(&drop_logged_at, &last, now))
        return; /* another thread logs it */
    atomic_fetch_sub(&drops_unlogged, pending);
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_WARN, "error reports dropped");
    soom_log_int(&l, "count", (long long)pending);
    soom_log_str(&l, "reason", WHY[reason]);
    soom_log_end(&l);
}

/* ---- the queue ------------------------------------------------------------ */

void soom_report_event(const char *event, size_t len)
{
    pthread_mutex_lock(&rq.lock);
    if (!rq.running || rq.stopping) {
        pthread_mutex_unlock(&rq.lock);
        return;
    }
    bool full = rq.n >= rq.max;
    bool limited = rq.retry_at != 0 && soom_clock_ns() < rq.retry_at;
    pthread_mutex_unlock(&rq.lock);
    if (full || limited) {
        dropped(limited ? SOOM_DROP_RATE_LIMITED : SOOM_DROP_QUEUE_FULL);
        return;
    }
    struct event *e = xmalloc(sizeof *e + len);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->next = NULL;
    e->time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    e->len = len;
    memcpy(e->data, event, len);
    pthread_mutex_lock(&rq.lock);
    if (rq.n >= rq.max) { /* filled meanwhile */
        pthread_mutex_unlock(&rq.lock);
        free(e);
        dropped(SOOM_DROP_QUEUE_FULL);
        return;
    }
    if (rq.tail)
        rq.tail->next = e;
    else
        rq.head = e;
    rq.tail = e;
    rq.n++;
    pthread_cond_signal(&rq.cond);
    pthread_mutex_unlock(&rq.lock);
}

static struct event *pop(void)
{
    struct event *e = rq.head;
    if (e != NULL) {
        rq.head = e->next;
        if (rq.head == NULL)
            rq.tail = NULL;
        rq.n--;
    }
    return e;
}

/* ---- envelopes -------------------------------------------------------------- */

static void put_field(struct soom_buf *b, const char *key, const char *value)
{
    soom_buf_putc(b, '"');
    soom_buf_puts(b, key);
    soom_buf_puts(b, "\":");
    soom_json_write_string(b, value, strlen(value));
    soom_buf_putc(b, ',');
}

static void event_id(char *out)
{
    static const char HEX[] = "0123456789abcdef";
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t t = soom_clock_ns();
        memcpy(r, &t, 8);
        memcpy(r + 8, &out, sizeof out < 8 ? sizeof out : 8);
    }
    for (int i = 0; i < 16; i++) {
        out[2 * i] = HEX[r[i] >> 4];
        out[2 * i + 1] = HEX[r[i] & 15];
    }
    out[32] = '\0';
}

/* The event with the fields the sender owns spliced after its opening
 * brace, in an envelope of one item. */
static void envelope(const struct event *e, struct soom_buf *out)
{
    char id[33], num[64];
    event_id(id);
    struct soom_buf ev;
    soom_buf_init(&ev);
    soom_buf_putc(&ev, '{');
    put_field(&ev, "event_id", id);
    snprintf(num, sizeof num, "\"timestamp\":%.6f,", e->time);
    soom_buf_puts(&ev, num);
    put_field(&ev, "platform", "other");
    put_field(&ev, "level", "error");
    put_field(&ev, "logger", "soom");
    if (rq.release[0])
        put_field(&ev, "release", rq.release);
    put_field(&ev, "environment", rq.environment);
    put_field(&ev, "server_name", rq.server_name);
    soom_buf_puts(&ev, "\"sdk\":{\"name\":\"soom\",\"version\":\"" SOOM_VERSION "\"}");
    const char *rest = e->len > 0 && e->data[0] == '{' ? e->data + 1 : "}";
    size_t restlen = e->len > 0 && e->data[0] == '{' ? e->len - 1 : 1;
    if (restlen > 0 && rest[0] != '}')
        soom_buf_putc(&ev, ',');
    soom_buf_append(&ev, rest, restlen);
    soom_buf_puts(out, "{\"event_id\":\"");
    soom_buf_puts(out, id);
    soom_buf_puts(out, "\",\"dsn\":");
    soom_json_write_string(out, rq.dsn_text, strlen(rq.dsn_text));
    snprintf(num, sizeof num, "}\n{\"type\":\"event\",\"length\":%zu}\n", ev.len);
    soom_buf_puts(out, num);
    soom_buf_append(out, ev.data, ev.len);
    soom_buf_putc(out, '\n');
    soom_buf_cleanup(&ev);
}

/* ---- sending ------------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Keeps Retry-After (seconds) from a response's headers. */
static size_t header_line(char *p, size_t size, size_t n, void *ud)
{
    size_t len = size * n;
    long *retry = ud;
    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char t[32];
        size_t m = len - 12 < sizeof t - 1 ? len - 12 : sizeof t - 1;
        memcpy(t, p + 12, m);
        t[m] = '\0';
        char *end;
        long v = strtol(t, &end, 10);
        if (end != t && v >= 0)
            *retry = v;
    }
    return len;
}

/* POSTs one envelope; returns the HTTP status (0: no answer) and the
 * Retry-After seconds it gave (-1: none). */
static long post(CURL *curl, const struct soom_buf *body, long *retry_after)
{
    char auth[256];
    snprintf(auth, sizeof auth,
             "X-Sentry-Auth: Sentry sentry_version=7, sentry_key=%s, sentry_client=soom/%s",
             rq.dsn.key, SOOM_VERSION);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-sentry-envelope");
    h = curl_slist_append(h, auth);
    *retry_after = -1;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, rq.dsn.url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body->len);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, rq.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, rq.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, retry_after);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "soom/" SOOM_VERSION);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

static void deliver(CURL *curl, struct event *e)
{
    pthread_mutex_lock(&rq.lock);
    bool limited = rq.retry_at != 0 && soom_clock_ns() < rq.retry_at;
    pthread_mutex_unlock(&rq.lock);
    if (limited) {
        dropped(SOOM_DROP_RATE_LIMITED);
        return;
    }
    struct soom_buf body;
    soom_buf_init(&body);
    envelope(e, &body);
    long retry;
    long status = post(curl, &body, &retry);
    soom_buf_cleanup(&body);
    if (status >= 200 && status < 300) {
        soom_metrics_report_sent();
        return;
    }
    if (status == 429) {
        /* without a Retry-After, Sentry's documented default is 60 s */
        uint64_t wait = (uint64_t)(retry >= 0 ? retry : 60) * 1000000000ull;
        pthread_mutex_lock(&rq.lock);
        rq.retry_at = soom_clock_ns() + wait;
        pthread_mutex_unlock(&rq.lock);
        dropped(SOOM_DROP_RATE_LIMITED);
        return;
    }
    dropped(SOOM_DROP_SEND_FAILED);
}

static void *sender_main(void *arg)
{
    (void)arg;
    CURL *curl = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&rq.lock);
        while (rq.head == NULL && !rq.stopping)
            pthread_cond_wait(&rq.cond, &rq.lock);
        struct event *e = pop();
        pthread_mutex_unlock(&rq.lock);
        if (e == NULL)
            break; /* stopping, and nothing left */
        if (curl != NULL)
            deliver(curl, e);
        else
            dropped(SOOM_DROP_SEND_FAILED);
        free(e);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

int soom_report_start(const struct soom_report_options *o, char *err, size_t errlen)
{
    struct soom_dsn dsn;
    int rc = soom_report_parse_dsn(o->dsn, &dsn, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    if (rq.running)
        return SOOM_OK;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rq.dsn = dsn;
    rq.dsn_text = xstrdup(o->dsn);
    rq.release = xstrdup(o->release ? o->release : "");
    rq.environment = xstrdup(o->environment && *o->environment ? o->environment : "production");
    rq.server_name = xstrdup(o->server_name ? o->server_name : "");
    rq.max = o->queue > 0 ? o->queue : 1;
    rq.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
    rq.retry_at = 0;
    rq.stopping = false;
    rq.running = pthread_create(&rq.thread, NULL, sender_main, NULL) == 0;
    return rq.running ? SOOM_OK : SOOM_EIO;
}

bool soom_report_enabled(void)
{
    return rq.running;
}

void soom_report_stop(long wait_ms)
{
    if (!rq.running)
        return;
    uint64_t deadline = soom_clock_ns() + (uint64_t)wait_ms * 1000000u;
    for (;;) {
        pthread_mutex_lock(&rq.lock);
        bool empty = rq.head == NULL;
        pthread_mutex_unlock(&rq.lock);
        if (empty || soom_clock_ns() >= deadline)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&rq.lock);
    rq.stopping = true;
    struct event *e;
    while ((e = pop()) != NULL) {
        free(e);
        dropped(SOOM_DROP_SEND_FAILED);
    }
    pthread_cond_signal(&rq.cond);
    pthread_mutex_unlock(&rq.lock);
    /* a send in progress ends within its timeout */
    pthread_join(rq.thread, NULL);
    rq.running = false;
    free(rq.dsn_text);
    free(rq.release);
    free(rq.environment);
    free(rq.server_name);
    rq.dsn_text = rq.release = rq.environment = rq.server_name = NULL;
    curl_global_cleanup();
}
