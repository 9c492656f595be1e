/* Unit tests of core/src/base/log.c: the line format and its timestamp,
 * levels, fields and their escaping, the access line's fields, and how
 * access lines are batched per thread and flushed (by size, by age, by
 * soom_log_flush and when their thread ends). Lines go to a temporary file
 * that each test reads back from where the previous one stopped. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "soom/log.h"
#include "test.h"

static int log_fd = -1;
static off_t read_pos;
static char out[1 << 20];

/* Everything written since the last call, NUL-terminated in `out`. */
static const char *written(void)
{
    ssize_t n = pread(log_fd, out, sizeof out - 1, read_pos);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    read_pos += n;
    return out;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The line without its time: what follows {"time":"...", checked to be an
 * RFC 3339 UTC time with microseconds within a minute of now. */
static const char *after_time(const char *line)
{
    static const char HEAD[] = "{\"time\":\"";
    if (strncmp(line, HEAD, 9) != 0)
        return "(no time)";
    const char *ts = line + 9;
    /* YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
    static const char SHAPE[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    for (size_t i = 0; i < sizeof SHAPE - 1; i++) {
        bool digit = ts[i] >= '0' && ts[i] <= '9';
        if (SHAPE[i] == 'd' ? !digit : ts[i] != SHAPE[i])
            return "(bad time)";
    }
    struct tm tm = {0};
    if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return "(bad time)";
    time_t when = timegm(&tm), now = time(NULL);
    if (when < now - 60 || when > now + 60)
        return "(time is not now)";
    return ts + sizeof SHAPE - 1 + 2; /* past Z", */
}

static void setup(enum soom_log_level level, bool access)
{
    soom_log_flush();
    soom_log_setup(level, access, log_fd);
    soom_log_buffer(0);
    written();
}

static void test_line_format(void)
{
    setup(SOOM_LOG_INFO, true);
    soom_log_msg(SOOM_LOG_INFO, "hello");
    const char *w = written();
    CHECK_INT(count_lines(w), 1);
    CHECK_STR(after_time(w), "\"level\":\"info\",\"msg\":\"hello\"}\n");
    soom_log_msg(SOOM_LOG_ERROR, "bad");
    CHECK_STR(after_time(written()), "\"level\":\"error\",\"msg\":\"bad\"}\n");
}

static void test_levels(void)
{
    setup(SOOM_LOG_WARN, true);
    CHECK(!soom_log_enabled(SOOM_LOG_DEBUG));
    CHECK(!soom_log_enabled(SOOM_LOG_INFO));
    CHECK(soom_log_enabled(SOOM_LOG_WARN));
    CHECK(soom_log_enabled(SOOM_LOG_ERROR));
    soom_log_msg(SOOM_LOG_DEBUG, "d");
    soom_log_msg(SOOM_LOG_INFO, "i");
    CHECK_STR(written(), "");
    soom_log_msg(SOOM_LOG_WARN, "w");
    CHECK_STR(after_time(written()), "\"level\":\"warn\",\"msg\":\"w\"}\n");
    /* a filtered line ignores its fields and writes nothing */
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "filtered");
    CHECK(!l.enabled);
    soom_log_str(&l, "k", "v");
    soom_log_int(&l, "n", 1);
    soom_log_bool(&l, "b", true);
    soom_log_end(&l);
    CHECK_STR(written(), "");
    setup(SOOM_LOG_DEBUG, true);
    soom_log_msg(SOOM_LOG_DEBUG, "d");
    CHECK_STR(after_time(written()), "\"level\":\"debug\",\"msg\":\"d\"}\n");
}

static void test_fields(void)
{
    setup(SOOM_LOG_INFO, true);
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "fields");
    soom_log_str(&l, "s", "text");
    soom_log_strn(&l, "n", "abcdef", 3);
    soom_log_strn(&l, "zero", "a\0b", 3);
    soom_log_str(&l, "none", NULL);
    soom_log_int(&l, "neg", -42);
    soom_log_int(&l, "max", 9223372036854775807LL);
    soom_log_int(&l, "min", -9223372036854775807LL - 1);
    soom_log_bool(&l, "yes", true);
    soom_log_bool(&l, "no", false);
    soom_log_end(&l);
    CHECK_STR(after_time(written()),
              "\"level\":\"info\",\"msg\":\"fields\",\"s\":\"text\",\"n\":\"abc\","
              "\"zero\":\"a\\u0000b\",\"none\":null,\"neg\":-42,\"max\":9223372036854775807,"
              "\"min\":-9223372036854775808,\"yes\":true,\"no\":false}\n");
}

static void test_escaping(void)
{
    setup(SOOM_LOG_INFO, true);
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "a \"quoted\" \\ msg\n");
    soom_log_str(&l, "k\"ey\n", "tab\there\r\x01\x1f\b\f caf\xc3\xa9 \x7f");
    soom_log_end(&l);
    const char *w = written();
    CHECK_INT(count_lines(w), 1);
    CHECK_STR(after_time(w),
              "\"level\":\"info\",\"msg\":\"a \\\"quoted\\\" \\\\ msg\\n\","
              "\"k\\\"ey\\n\":\"tab\\there\\r\\u0001\\u001f\\b\\f caf\xc3\xa9 \x7f\"}\n");
}

static struct soom_log_access access_line(void)
{
    struct soom_log_access a = {
        .request_id = "req-7:ab/c=",
        .request_id_len = 11,
        .method = "GET",
        .method_safe = true,
        .path = "/samples/\"7\"\n",
        .path_len = 13,
        .route_json = "\"/samples/{id}\"",
        .status = 404,
        .bytes = 1234567,
        .duration_us = 89,
        .now_ns = 0,
        .lua = true,
    };
    return a;
}

static void test_access_fields(void)
{
    setup(SOOM_LOG_INFO, true);
    struct soom_log_access a = access_line();
    soom_log_access(&a);
    CHECK_STR(after_time(written()),
              "\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"req-7:ab/c=\","
              "\"method\":\"GET\",\"path\":\"/samples/\\\"7\\\"\\n\",\"route\":\"/samples/{id}\","
              "\"status\":404,\"bytes\":1234567,\"duration_us\":89,\"lua\":true}\n");
    /* a method that is not known safe is escaped; no route is null */
    a.method = "BR\"EW";
    a.method_safe = false;
    a.route_json = NULL;
    a.lua = false;
    a.status = 200;
    a.bytes = 0;
    a.request_id_len = 3; /* the length given, not the string's */
    soom_log_access(&a);
    CHECK_STR(after_time(written()),
              "\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"req\","
              "\"method\":\"BR\\\"EW\",\"path\":\"/samples/\\\"7\\\"\\n\",\"route\":null,"
              "\"status\":200,\"bytes\":0,\"duration_us\":89,\"lua\":false}\n");
    /* a trace context adds its ids after the request id; an empty one none */
    a.trace_id = "0af7651916cd43dd8448eb211c80319c";
    a.span_id = "b7ad6b7169203331";
    soom_log_access(&a);
    CHECK_STR(after_time(written()),
              "\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"req\","
              "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\","
              "\"method\":\"BR\\\"EW\",\"path\":\"/samples/\\\"7\\\"\\n\",\"route\":null,"
              "\"status\":200,\"bytes\":0,\"duration_us\":89,\"lua\":false}\n");
    a.trace_id = "";
    soom_log_access(&a);
    CHECK(strstr(written(), "trace_id") == NULL);
    a.trace_id = NULL;
    /* the time is the request's completion, read from the clock it gives */
    a.now_ns = soom_clock_ns();
    soom_log_access(&a);
    CHECK(strncmp(after_time(written()), "\"level\":\"info\",\"msg\":\"request\"", 30) == 0);
}

static void test_access_off(void)
{
    setup(SOOM_LOG_INFO, false);
    struct soom_log_access a = access_line();
    soom_log_access(&a);
    soom_log_flush();
    CHECK_STR(written(), "");
    soom_log_msg(SOOM_LOG_INFO, "other lines still go");
    CHECK_INT(count_lines(written()), 1);
    setup(SOOM_LOG_WARN, true); /* access lines are info lines */
    soom_log_access(&a);
    soom_log_flush();
    CHECK_STR(written(), "");
}

static void test_batching_by_flush(void)
{
    setup(SOOM_LOG_INFO, true);
    soom_log_buffer(1 << 20);
    struct soom_log_access a = access_line();
    a.now_ns = soom_clock_ns();
    for (int i = 0; i < 3; i++) {
        a.status = 200 + i;
        soom_log_access(&a);
    }
    CHECK_STR(written(), ""); /* held in the thread's buffer */
    soom_log_flush();
    const char *w = written();
    CHECK_INT(count_lines(w), 3);
    const char *s0 = strstr(w, "\"status\":200"), *s1 = strstr(w, "\"status\":201"),
               *s2 = strstr(w, "\"status\":202");
    CHECK(s0 != NULL && s1 != NULL && s2 != NULL && s0 < s1 && s1 < s2);
    soom_log_flush();
    CHECK_STR(written(), ""); /* nothing twice */
}

static void test_batching_by_size(void)
{
    setup(SOOM_LOG_INFO, true);
    struct soom_log_access a = access_line();
    a.now_ns = soom_clock_ns();
    soom_log_access(&a);
    size_t line = strlen(written());
    CHECK(line > 100);
    /* a buffer of two and a half lines is written with its third line */
    soom_log_buffer(line * 5 / 2);
    soom_log_access(&a);
    soom_log_access(&a);
    CHECK_STR(written(), "");
    soom_log_access(&a);
    CHECK_INT(count_lines(written()), 3);
    soom_log_access(&a);
    CHECK_STR(written(), "");
    soom_log_flush();
    CHECK_INT(count_lines(written()), 1);
}

static void test_batching_by_age(void)
{
    setup(SOOM_LOG_INFO, true);
    soom_log_buffer(1 << 20);
    struct soom_log_access a = access_line();
    uint64_t t0 = soom_clock_ns();
    a.now_ns = t0;
    soom_log_access(&a);
    a.now_ns = t0 + 99000000ull; /* 99 ms after the oldest line: held */
    soom_log_access(&a);
    CHECK_STR(written(), "");
    a.now_ns = t0 + 100000000ull; /* 100 ms: the batch goes out */
    soom_log_access(&a);
    CHECK_INT(count_lines(written()), 3);
    /* the next batch's age counts from its own first line */
    a.now_ns = t0 + 150000000ull;
    soom_log_access(&a);
    a.now_ns = t0 + 200000000ull;
    soom_log_access(&a);
    CHECK_STR(written(), "");
    soom_log_flush();
    CHECK_INT(count_lines(written()), 2);
}

static void *log_in_thread(void *arg)
{
    (void)arg;
    struct soom_log_access a = access_line();
    a.status = 299;
    soom_log_access(&a);
    return NULL;
}

static void test_thread_exit_flushes(void)
{
    setup(SOOM_LOG_INFO, true);
    soom_log_buffer(1 << 20);
    pthread_t th;
    CHECK_INT(pthread_create(&th, NULL, log_in_thread, NULL), 0);
    pthread_join(th, NULL);
    const char *w = written();
    CHECK_INT(count_lines(w), 1);
    CHECK(strstr(w, "\"status\":299") != NULL);
}

#define THREADS 4
#define LINES 300

static void *many_lines(void *arg)
{
    struct soom_log_access a = access_line();
    a.status = 200 + (int)(intptr_t)arg;
    for (int i = 0; i < LINES; i++) {
        a.duration_us = i;
        soom_log_access(&a);
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_INFO, "worker");
        soom_log_int(&l, "i", i);
        soom_log_end(&l);
    }
    return NULL;
}

static void test_threads_never_interleave(void)
{
    setup(SOOM_LOG_INFO, true);
    soom_log_buffer(4096);
    pthread_t th[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, many_lines, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    soom_log_flush();
    const char *w = written();
    int lines = 0, whole = 0;
    for (const char *p = w; *p;) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        lines++;
        /* one line is one object: it opens with its time, closes with a
         * brace and holds no other line's start */
        char *line = strndup(p, (size_t)(nl - p));
        whole += strncmp(line, "{\"time\":\"", 9) == 0 && nl[-1] == '}' &&
                 strstr(line + 1, "{\"time\":") == NULL;
        free(line);
        p = nl + 1;
    }
    CHECK_INT(lines, THREADS * LINES * 2);
    CHECK_INT(whole, THREADS * LINES * 2);
}

int main(void)
{
    char path[] = "/tmp/soom-test-log-XXXXXX";
    log_fd = mkstemp(path);
    if (log_fd < 0) {
        perror("mkstemp");
        return 1;
    }
    unlink(path);
    /* every writer appends, as standard output does */
    fcntl(log_fd, F_SETFL, fcntl(log_fd, F_GETFL) | O_APPEND);
    RUN(test_line_format);
    RUN(test_levels);
    RUN(test_fields);
    RUN(test_escaping);
    RUN(test_access_fields);
    RUN(test_access_off);
    RUN(test_batching_by_flush);
    RUN(test_batching_by_size);
    RUN(test_batching_by_age);
    RUN(test_thread_exit_flushes);
    RUN(test_threads_never_interleave);
    soom_log_setup(SOOM_LOG_INFO, true, STDERR_FILENO);
    close(log_fd);
    return test_summary();
}
