/*
 * Unit tests of the metrics registry, its segment and the text format:
 * declarations refused with a reason, counts from several threads and from
 * forked processes summed in one scrape, a process's gauges cleared when it
 * ends while its counters stay, and the exact exposition of each kind.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops_metrics.h"
#include "soom/error.h"
#include "soom/router.h"
#include "test.h"

static const char *const ROUTES[] = {"/hello", "/samples/{id:int}"};

static void setup(unsigned processes, unsigned threads)
{
    struct soom_metrics_options o = {processes, threads, NULL,
                                     ROUTES,    2,       {"LuaJIT 2.1", "0.9.75", "15.0"}};
    char err[256];
    CHECK_INT(soom_metrics_setup(&o, err, sizeof err), SOOM_OK);
}

static char *scrape(void)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_metrics_expose(&b);
    soom_buf_putc(&b, '\0');
    return b.data;
}

static bool has(const char *text, const char *line)
{
    return strstr(text, line) != NULL;
}

static void test_declare_refusals(void)
{
    char err[256];
    const char *l1[] = {"kind"};
    const char *dup[] = {"a", "a"};
    const char *le[] = {"le"};
    CHECK(soom_metrics_declare(SOOM_METRIC_COUNTER, "9bad", "", NULL, 0, NULL, 0, err, sizeof err) <
          0);
    CHECK(strstr(err, "9bad") != NULL);
    CHECK(soom_metrics_declare(SOOM_METRIC_COUNTER, "http_mine", "", NULL, 0, NULL, 0, err,
                               sizeof err) < 0);
    CHECK(soom_metrics_declare(SOOM_METRIC_COUNTER, "jobs_total", "", dup, 2, NULL, 0, err,
                               sizeof err) < 0);
    CHECK(strstr(err, "twice") != NULL);
    CHECK(soom_metrics_declare(SOOM_METRIC_HISTOGRAM, "job_seconds", "", le, 1, NULL, 0, err,
                               sizeof err) < 0);
    double desc[] = {1, 0.5};
    CHECK(soom_metrics_declare(SOOM_METRIC_HISTOGRAM, "job_seconds", "", NULL, 0, desc, 2, err,
                               sizeof err) < 0);
    int id = soom_metrics_declare(SOOM_METRIC_COUNTER, "jobs_total", "Jobs", l1, 1, NULL, 0, err,
                                  sizeof err);
    CHECK(id >= 0);
    CHECK_INT(soom_metrics_declare(SOOM_METRIC_COUNTER, "jobs_total", "Jobs", l1, 1, NULL, 0, err,
                                   sizeof err),
              id);
    CHECK(soom_metrics_declare(SOOM_METRIC_GAUGE, "jobs_total", "Jobs", l1, 1, NULL, 0, err,
                               sizeof err) < 0);
    CHECK(strstr(err, "differently") != NULL);
    setup(1, 2);
    CHECK(soom_metrics_declare(SOOM_METRIC_COUNTER, "late_total", "", NULL, 0, NULL, 0, err,
                               sizeof err) < 0);
    CHECK(strstr(err, "when the app loads") != NULL);
    /* the same declaration again (a worker state loading the app) is fine */
    CHECK_INT(soom_metrics_declare(SOOM_METRIC_COUNTER, "jobs_total", "Jobs", l1, 1, NULL, 0, err,
                                   sizeof err),
              id);
    soom_metrics_reset();
}

static void test_buckets(void)
{
    double b[8];
    CHECK_INT(soom_metrics_parse_buckets("0.1, 0.5 1", b, 8), 3);
    CHECK(b[1] == 0.5);
    CHECK_INT(soom_metrics_parse_buckets("1 0.5", b, 8), -1);
    CHECK_INT(soom_metrics_parse_buckets("1 x", b, 8), -1);
    CHECK_INT(soom_metrics_parse_buckets("", b, 8), -1);
    struct soom_metrics_options o = {1, 1, "2 1", ROUTES, 2, {NULL, NULL, NULL}};
    char err[256];
    CHECK_INT(soom_metrics_setup(&o, err, sizeof err), SOOM_EINVAL);
    CHECK(strstr(err, "metrics.buckets") != NULL);
    soom_metrics_reset();
}

static void test_requests_exposed(void)
{
    setup(1, 2);
    soom_metrics_process_begin(0);
    soom_metrics_request(0, SOOM_MM_GET, 200, 3000000, 0, 27);       /* 3 ms */
    soom_metrics_request(0, SOOM_MM_GET, 200, 2000000000ull, 0, 27); /* 2 s */
    soom_metrics_request(1, SOOM_MM_POST, 422, 20000000, 120, 300);
    soom_metrics_request(-1, soom_metrics_method(0), 404, 1000, 0, 90);
    soom_metrics_in_flight(1);
    char *t = scrape();
    CHECK(has(t, "# TYPE http_requests_total counter\n"));
    CHECK(has(t, "http_requests_total{method=\"GET\",route=\"/hello\",status=\"200\"} 2\n"));
    CHECK(has(t, "http_requests_total{method=\"POST\",route=\"/samples/{id:int}\","
                 "status=\"422\"} 1\n"));
    CHECK(has(t, "http_requests_total{method=\"_OTHER\",route=\"unmatched\",status=\"404\"} 1\n"));
    CHECK(has(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\","
                 "le=\"0.005\"} 1\n"));
    CHECK(has(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\","
                 "le=\"1\"} 1\n"));
    CHECK(has(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\","
                 "le=\"2.5\"} 2\n"));
    CHECK(has(t, "http_request_duration_seconds_bucket{method=\"GET\",route=\"/hello\","
                 "le=\"+Inf\"} 2\n"));
    CHECK(has(t, "http_request_duration_seconds_sum{method=\"GET\",route=\"/hello\"} 2.003\n"));
    CHECK(has(t, "http_request_duration_seconds_count{method=\"GET\",route=\"/hello\"} 2\n"));
    CHECK(has(t, "http_request_size_bytes_sum{method=\"POST\",route=\"/samples/{id:int}\"} 120\n"));
    CHECK(!has(t, "http_request_duration_seconds_count{method=\"POST\",route=\"/hello\"}"));
    CHECK(has(t, "http_requests_in_flight 1\n"));
    CHECK(has(t, "soom_build_info{version=\"" SOOM_VERSION "\",luajit=\"LuaJIT 2.1\","
                 "libmicrohttpd=\"0.9.75\",libpq=\"15.0\"} 1\n"));
    CHECK(has(t, "soom_error_reports_dropped_total{reason=\"queue_full\"} 0\n"));
    CHECK(has(t, "process_start_time_seconds 1"));
    CHECK(has(t, "# TYPE process_cpu_seconds_total counter\n"));
    free(t);
    soom_metrics_reset();
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        soom_metrics_request(0, SOOM_MM_GET, 200, 1000, 0, 10);
    return NULL;
}

static void test_threads_summed(void)
{
    setup(1, 2); /* 7 shards: 12 threads share the last one */
    soom_metrics_process_begin(0);
    pthread_t t[12];
    for (int i = 0; i < 12; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < 12; i++)
        pthread_join(t[i], NULL);
    char *s = scrape();
    CHECK(has(s, "http_requests_total{method=\"GET\",route=\"/hello\",status=\"200\"} 120000\n"));
    CHECK(has(s, "http_response_size_bytes_sum{method=\"GET\",route=\"/hello\"} 1200000\n"));
    free(s);
    soom_metrics_reset();
}

/* Three processes count in one segment; one "dies" (its gauges go) and a
 * replacement in the same block keeps counting on top of its counts. */
static void test_processes_summed(void)
{
    setup(3, 2);
    for (unsigned p = 0; p < 3; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            soom_metrics_process_begin(p);
            for (unsigned i = 0; i <= p; i++)
                soom_metrics_request(1, SOOM_MM_GET, 200, 1000, 0, 1);
            soom_metrics_in_flight(1);
            soom_metrics_pool_acquire(2000000, true);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
    }
    char *t = scrape();
    CHECK(has(t, "http_requests_total{method=\"GET\",route=\"/samples/{id:int}\","
                 "status=\"200\"} 6\n"));
    CHECK(has(t, "http_requests_in_flight 3\n"));
    CHECK(has(t, "soom_db_pool_acquire_timeouts_total 3\n"));
    CHECK(has(t, "soom_db_pool_wait_seconds_bucket{le=\"0.005\"} 3\n"));
    free(t);
    soom_metrics_process_end(2);
    pid_t pid = fork();
    if (pid == 0) {
        soom_metrics_process_begin(2);
        soom_metrics_request(1, SOOM_MM_GET, 200, 1000, 0, 1);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    t = scrape();
    CHECK(has(t, "http_requests_total{method=\"GET\",route=\"/samples/{id:int}\","
                 "status=\"200\"} 7\n"));
    CHECK(has(t, "http_requests_in_flight 2\n"));
    free(t);
    soom_metrics_reset();
}

static void test_app_metrics(void)
{
    char err[256];
    const char *labels[] = {"queue", "outcome"};
    double bounds[] = {0.1, 1};
    int c = soom_metrics_declare(SOOM_METRIC_COUNTER, "jobs_total", "Jobs \\ done\nok", labels, 2,
                                 NULL, 0, err, sizeof err);
    int g = soom_metrics_declare(SOOM_METRIC_GAUGE, "queue_depth", "Depth", NULL, 0, NULL, 0, err,
                                 sizeof err);
    int h = soom_metrics_declare(SOOM_METRIC_HISTOGRAM, "job_seconds", "Time", NULL, 0, bounds, 2,
                                 err, sizeof err);
    CHECK(c >= 0 && g >= 0 && h >= 0);
    setup(1, 1);
    soom_metrics_process_begin(0);
    const char *v[] = {"mail\"x", "ok"};
    size_t n[] = {6, 2};
    int s = soom_metrics_series(c, v, n, 2);
    CHECK(s >= 0);
    CHECK_INT(soom_metrics_series(c, v, n, 2), s);
    CHECK_INT(soom_metrics_series(c, v, n, 1), SOOM_EINVAL);
    CHECK_INT(soom_metrics_add(s, 2.5), SOOM_OK);
    CHECK_INT(soom_metrics_add(s, -1), SOOM_EINVAL);
    CHECK_INT(soom_metrics_set(s, 1), SOOM_EINVAL);
    int gs = soom_metrics_series(g, NULL, NULL, 0);
    CHECK_INT(soom_metrics_set(gs, 10), SOOM_OK);
    CHECK_INT(soom_metrics_add(gs, -3), SOOM_OK);
    int hs = soom_metrics_series(h, NULL, NULL, 0);
    CHECK_INT(soom_metrics_observe(hs, 0.05), SOOM_OK);
    CHECK_INT(soom_metrics_observe(hs, 0.5), SOOM_OK);
    CHECK_INT(soom_metrics_observe(hs, 7), SOOM_OK);
    char *t = scrape();
    CHECK(has(t, "# HELP jobs_total Jobs \\\\ done\\nok\n"));
    CHECK(has(t, "jobs_total{queue=\"mail\\\"x\",outcome=\"ok\"} 2.5\n"));
    CHECK(has(t, "queue_depth 7\n"));
    CHECK(has(t, "job_seconds_bucket{le=\"0.1\"} 1\njob_seconds_bucket{le=\"1\"} 2\n"
                 "job_seconds_bucket{le=\"+Inf\"} 3\njob_seconds_sum 7.55\njob_seconds_count 3\n"));
    free(t);
    soom_metrics_reset();
}

static void test_off_records_nothing(void)
{
    soom_metrics_request(0, SOOM_MM_GET, 200, 1, 1, 1);
    soom_metrics_in_flight(1);
    CHECK(!soom_metrics_enabled());
    CHECK(soom_metrics_shard().cells == NULL);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_metrics_expose(&b);
    CHECK_INT(b.len, 0);
    soom_buf_cleanup(&b);
}

int main(void)
{
    RUN(test_declare_refusals);
    RUN(test_buckets);
    RUN(test_requests_exposed);
    RUN(test_threads_summed);
    RUN(test_processes_summed);
    RUN(test_app_metrics);
    RUN(test_off_records_nothing);
    return test_summary();
}
