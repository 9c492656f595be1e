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
static void write_time(struct soom_buf *b, uint64_t mono)
{
    static _Thread_local uint64_t base_mono, base_real; /* ns, one second apart at most */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[24];
    struct timespec ts;
    if (mono == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        mono = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
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
    char frac[8];
    long us = (long)(real % 1000000000u / 1000);
    for (int i = 5; i >= 0; i--) {
        frac[i] = (char)('0' + us % 10);
        us /= 10;
    }
    /* {"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ","level":" in one copy */
    char head[64];
    memcpy(head, "{\"time\":\"", 9);
    memcpy(head + 9, cached, 19);
    head[28] = '.';
    memcpy(head + 29, frac, 6);
    memcpy(head + 35, "Z\",\"level\":\"", 12);
    soom_buf_append(b, head, 47);
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

/* The access line buffer is per thread and freed when the thread exits:
 * in the thread-per-connection model threads come and go. */
static pthread_key_t access_key;
static pthread_once_t access_once = PTHREAD_ONCE_INIT;

static void access_buf_free(void *p)
{
    struct soom_buf *b = p;
    soom_buf_cleanup(b);
    free(b);
}

static void access_key_init(void)
{
    pthread_key_create(&access_key, access_buf_free);
}

static struct soom_buf *access_buf(void)
{
    pthread_once(&access_once, access_key_init);
    struct soom_buf *b = pthread_getspecific(access_key);
    if (b == NULL) {
        b = malloc(sizeof *b);
        if (b == NULL)
            return NULL;
        soom_buf_init(b);
        pthread_setspecific(access_key, b);
    }
    return b;
}

#define PUT_LITERAL(b, s) soom_buf_append((b), (s), sizeof(s) - 1)

void soom_log_access(const struct soom_access *a)
{
    if (!log_access || !soom_log_enabled(SOOM_LOG_INFO))
        return;
    struct soom_buf *bp = access_buf();
    if (bp == NULL)
        return;
    struct soom_buf b = *bp;
    soom_buf_clear(&b);
    write_time(&b, a->now_ns);
    PUT_LITERAL(&b, "info\",\"msg\":\"request\",\"request_id\":\"");
    soom_buf_append(&b, a->request_id, a->request_id_len);
    PUT_LITERAL(&b, "\",\"method\":");
    if (a->method_safe) {
        soom_buf_putc(&b, '"');
        soom_buf_puts(&b, a->method);
        soom_buf_putc(&b, '"');
    } else {
        soom_json_write_string(&b, a->method, strlen(a->method));
    }
    PUT_LITERAL(&b, ",\"path\":");
    soom_json_write_string(&b, a->path, a->path_len);
    PUT_LITERAL(&b, ",\"route\":");
    if (a->route_json != NULL)
        soom_buf_puts(&b, a->route_json);
    else
        PUT_LITERAL(&b, "null");
    PUT_LITERAL(&b, ",\"status\":");
    soom_json_write_int(&b, a->status);
    PUT_LITERAL(&b, ",\"bytes\":");
    soom_json_write_int(&b, (int64_t)a->bytes);
    PUT_LITERAL(&b, ",\"duration_us\":");
    soom_json_write_int(&b, a->duration_us);
    if (a->lua)
        PUT_LITERAL(&b, ",\"lua\":true");
    else
        PUT_LITERAL(&b, ",\"lua\":false");
    PUT_LITERAL(&b, "}\n");
    write_all(b.data, b.len);
    *bp = b;
}
