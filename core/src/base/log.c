/*
 * JSON-lines logging. The timestamp's date and time up to the second are
 * formatted once per second per thread; only the microseconds are written
 * per line, which keeps the access log cheap enough to leave on.
 */
#include "soom/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "soom/json.h"

static enum soom_log_level log_level = SOOM_LOG_INFO;
static bool log_access = true;
static int log_fd = STDERR_FILENO;

static const char *LEVEL_NAMES[] = {"debug", "info", "warn", "error"};

void soom_log_setup(enum soom_log_level level, bool access_log, int fd)
{
    log_level = level;
    log_access = access_log;
    log_fd = fd;
}

bool soom_log_enabled(enum soom_log_level level)
{
    return level >= log_level;
}

/* Writes {"time":"2026-11-29T02:13:31.123456Z","level":" for the instant
 * `mono` (a CLOCK_MONOTONIC time in ns; 0 reads the clock). The wall clock
 * is read once per second per thread and derived from the monotonic one in
 * between, and the date part is formatted once per second too: the access
 * log is on by default, so a line must cost little. */
#define TIME_HEAD_LEN 47 /* {"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ","level":" */

/* Writes the TIME_HEAD_LEN bytes at `w`, which has room for them. */
static char *put_time(char *w, uint64_t mono)
{
    static _Thread_local uint64_t base_mono, base_real; /* ns, one second apart at most */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    struct timespec ts;
    if (mono == 0)
        mono = soom_clock_ns();
    if (base_mono == 0 || mono - base_mono >= 1000000000u || mono < base_mono) {
        clock_gettime(CLOCK_REALTIME, &ts);
        base_real = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        base_mono = mono;
    }
    uint64_t real = base_real + (mono - base_mono);
    time_t sec = (time_t)(real / 1000000000u);
    if (sec != cached_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = sec;
    }
    memcpy(w, "{\"time\":\"", 9);
    memcpy(w + 9, cached, 19);
    w[28] = '.';
    long us = (long)(real % 1000000000u / 1000);
    for (int i = 5; i >= 0; i--) {
        w[29 + i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(w + 35, "Z\",\"level\":\"", 12);
    return w + TIME_HEAD_LEN;
}

static void write_time(struct soom_buf *b, uint64_t mono)
{
    soom_buf_reserve(b, TIME_HEAD_LEN);
    b->len = (size_t)(put_time(b->data + b->len, mono) - b->data);
    b->data[b->len] = '\0';
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(log_fd, p, n);
        if (w <= 0)
            return; /* nowhere to report a failing log; drop the line */
        p += w;
        n -= (size_t)w;
    }
}

void soom_log_begin(struct soom_log_line *l, enum soom_log_level level, const char *msg)
{
    soom_buf_init(&l->buf);
    l->enabled = soom_log_enabled(level);
    if (!l->enabled)
        return;
    write_time(&l->buf, 0);
    soom_buf_puts(&l->buf, LEVEL_NAMES[level]);
    soom_buf_puts(&l->buf, "\",\"msg\":");
    soom_json_write_string(&l->buf, msg, strlen(msg));
}

void soom_log_strn(struct soom_log_line *l, const char *key, const char *value, size_t len)
{
    if (!l->enabled)
        return;
    soom_buf_putc(&l->buf, ',');
    soom_json_write_string(&l->buf, key, strlen(key));
    soom_buf_putc(&l->buf, ':');
    if (value == NULL)
        soom_buf_puts(&l->buf, "null");
    else
        soom_json_write_string(&l->buf, value, len);
}

void soom_log_str(struct soom_log_line *l, const char *key, const char *value)
{
    soom_log_strn(l, key, value, value ? strlen(value) : 0);
}

void soom_log_int(struct soom_log_line *l, const char *key, long long value)
{
    if (!l->enabled)
        return;
    soom_buf_putc(&l->buf, ',');
    soom_json_write_string(&l->buf, key, strlen(key));
    soom_buf_putc(&l->buf, ':');
    soom_json_write_int(&l->buf, value);
}

void soom_log_bool(struct soom_log_line *l, const char *key, bool value)
{
    if (!l->enabled)
        return;
    soom_buf_putc(&l->buf, ',');
    soom_json_write_string(&l->buf, key, strlen(key));
    soom_buf_puts(&l->buf, value ? ":true" : ":false");
}

void soom_log_end(struct soom_log_line *l)
{
    if (l->enabled) {
        soom_buf_puts(&l->buf, "}\n");
        write_all(l->buf.data, l->buf.len);
    }
    soom_buf_cleanup(&l->buf);
}

void soom_log_msg(enum soom_log_level level, const char *msg)
{
    struct soom_log_line l;
    soom_log_begin(&l, level, msg);
    soom_log_end(&l);
}

/* Access lines are buffered per thread and written in batches: a write(2)
 * per request costs more than the rest of the line, and at 100,000 requests
 * a second it is what the server would spend its time on. A thread's buffer
 * is written when it holds `buffer_bytes` or its oldest line is 100 ms old,
 * and soom_log_flush() (the server calls it every 100 ms and on shutdown)
 * writes every thread's buffer, so a line is at most ~100 ms late and none
 * is lost on a clean exit. Buffers live in a list under a lock for that
 * flush; each has its own lock, uncontended but for the flusher's visits.
 * A thread's buffer is flushed and freed when the thread exits. */
struct access_buf {
    pthread_mutex_t lock;
    struct soom_buf buf;
    uint64_t since; /* when its oldest line was written */
    struct access_buf *prev, *next;
};

#define FLUSH_NS 100000000ull

static size_t buffer_bytes = 16384;
static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct access_buf *bufs;
static pthread_key_t access_key;
static pthread_once_t access_once = PTHREAD_ONCE_INIT;

/* Writes out a buffer; its lock is held. */
static void drain_buf(struct access_buf *ab)
{
    if (ab->buf.len > 0)
        write_all(ab->buf.data, ab->buf.len);
    soom_buf_clear(&ab->buf);
}

/* The thread's buffer, also kept in a plain thread-local: the key only
 * serves to flush and free it when the thread ends. */
static _Thread_local struct access_buf *thread_buf;

static void access_buf_free(void *p)
{
    struct access_buf *ab = p;
    thread_buf = NULL;
    pthread_mutex_lock(&bufs_lock);
    if (ab->prev)
        ab->prev->next = ab->next;
    else
        bufs = ab->next;
    if (ab->next)
        ab->next->prev = ab->prev;
    pthread_mutex_unlock(&bufs_lock);
    pthread_mutex_lock(&ab->lock);
    drain_buf(ab);
    pthread_mutex_unlock(&ab->lock);
    pthread_mutex_destroy(&ab->lock);
    soom_buf_cleanup(&ab->buf);
    free(ab);
}

static void access_key_init(void)
{
    pthread_key_create(&access_key, access_buf_free);
}

static struct access_buf *access_buf(void)
{
    if (thread_buf != NULL)
        return thread_buf;
    pthread_once(&access_once, access_key_init);
    struct access_buf *ab = pthread_getspecific(access_key);
    if (ab != NULL)
        return thread_buf = ab;
    ab = calloc(1, sizeof *ab);
    if (ab == NULL)
        return NULL;
    pthread_mutex_init(&ab->lock, NULL);
    soom_buf_init(&ab->buf);
    pthread_mutex_lock(&bufs_lock);
    ab->next = bufs;
    if (bufs)
        bufs->prev = ab;
    bufs = ab;
    pthread_mutex_unlock(&bufs_lock);
    pthread_setspecific(access_key, ab);
    return thread_buf = ab;
}

void soom_log_buffer(size_t bytes)
{
    buffer_bytes = bytes;
}

void soom_log_flush(void)
{
    pthread_mutex_lock(&bufs_lock);
    for (struct access_buf *ab = bufs; ab != NULL; ab = ab->next) {
        pthread_mutex_lock(&ab->lock);
        drain_buf(ab);
        pthread_mutex_unlock(&ab->lock);
    }
    pthread_mutex_unlock(&bufs_lock);
}

/* The access line is written through a pointer into room reserved once
 * for its longest form: the line of every request is the log's hot path,
 * and a check for room, a call and a terminating NUL per piece cost about
 * a third of it. */
#define PUT_LITERAL(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) + sizeof(s) - 1)
#define INT_MAX_LEN 20 /* digits of a 64-bit integer, and its sign */

static char *put_bytes(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

static char *put_int(char *w, long long v)
{
    char tmp[INT_MAX_LEN];
    char *e = tmp + sizeof tmp, *p = e;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    return put_bytes(w, p, (size_t)(e - p));
}

/* A JSON string through soom_json_write_string, which needs at most
 * 6 * n + 2 bytes: the room reserved covers them. */
static char *put_json_string(struct soom_buf *b, char *w, const char *s, size_t n)
{
    b->len = (size_t)(w - b->data);
    soom_json_write_string(b, s, n);
    return b->data + b->len;
}

void soom_log_access(const struct soom_log_access *a)
{
    if (!log_access || !soom_log_enabled(SOOM_LOG_INFO))
        return;
    struct access_buf *ab = access_buf();
    if (ab == NULL)
        return;
    uint64_t now = a->now_ns ? a->now_ns : soom_clock_ns();
    size_t method_len = strlen(a->method);
    size_t route_len = a->route_json != NULL ? strlen(a->route_json) : 4;
    /* the literals below with some to spare, the ids, and each string
     * written as JSON at its longest */
    size_t room = 256 + TIME_HEAD_LEN + 3 * INT_MAX_LEN + a->request_id_len + 32 + 16 + route_len +
                  6 * method_len + 6 * a->path_len + 6 * a->user_len;
    pthread_mutex_lock(&ab->lock);
    if (ab->buf.len == 0)
        ab->since = now;
    struct soom_buf b = ab->buf;
    soom_buf_reserve(&b, room);
    char *w = put_time(b.data + b.len, now);
    w = PUT_LITERAL(w, "info\",\"msg\":\"request\",\"request_id\":\"");
    w = put_bytes(w, a->request_id, a->request_id_len);
    if (a->trace_id != NULL && a->trace_id[0] != '\0') {
        w = PUT_LITERAL(w, "\",\"trace_id\":\"");
        w = put_bytes(w, a->trace_id, 32);
        w = PUT_LITERAL(w, "\",\"span_id\":\"");
        w = put_bytes(w, a->span_id, 16);
    }
    w = PUT_LITERAL(w, "\",\"method\":");
    if (a->method_safe) {
        *w++ = '"';
        w = put_bytes(w, a->method, method_len);
        *w++ = '"';
    } else {
        w = put_json_string(&b, w, a->method, method_len);
    }
    w = PUT_LITERAL(w, ",\"path\":");
    w = put_json_string(&b, w, a->path, a->path_len);
    w = PUT_LITERAL(w, ",\"route\":");
    if (a->route_json != NULL)
        w = put_bytes(w, a->route_json, route_len);
    else
        w = PUT_LITERAL(w, "null");
    w = PUT_LITERAL(w, ",\"status\":");
    w = put_int(w, a->status);
    w = PUT_LITERAL(w, ",\"bytes\":");
    w = put_int(w, (long long)a->bytes);
    w = PUT_LITERAL(w, ",\"duration_us\":");
    w = put_int(w, a->duration_us);
    if (a->lua)
        w = PUT_LITERAL(w, ",\"lua\":true");
    else
        w = PUT_LITERAL(w, ",\"lua\":false");
    if (a->user != NULL) {
        w = PUT_LITERAL(w, ",\"user\":");
        w = put_json_string(&b, w, a->user, a->user_len);
    }
    w = PUT_LITERAL(w, "}\n");
    *w = '\0';
    b.len = (size_t)(w - b.data);
    ab->buf = b;
    if (ab->buf.len >= buffer_bytes || now - ab->since >= FLUSH_NS)
        drain_buf(ab);
    pthread_mutex_unlock(&ab->lock);
}
