/*
 * Unit tests of error reports: DSNs parsed or refused, an event delivered
 * as an envelope with the auth header to a receiver on loopback (a socket
 * served by this test), and a 429 with Retry-After honoured: later events
 * are dropped without being sent.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ops_report.h"
#include "soom/error.h"
#include "test.h"

static void test_dsn(void)
{
    struct soom_dsn d;
    char err[256];
    CHECK_INT(soom_report_parse_dsn("https://abc123@o1.ingest.example.com/42", &d, err, sizeof err),
              SOOM_OK);
    CHECK_STR(d.url, "https://o1.ingest.example.com/api/42/envelope/");
    CHECK_STR(d.key, "abc123");
    CHECK_STR(d.project, "42");
    CHECK_INT(soom_report_parse_dsn("http://k:secret@127.0.0.1:9000/sentry/7", &d, err, sizeof err),
              SOOM_OK);
    CHECK_STR(d.url, "http://127.0.0.1:9000/sentry/api/7/envelope/");
    CHECK_STR(d.key, "k");
    CHECK_INT(soom_report_parse_dsn("ftp://k@h/1", &d, err, sizeof err), SOOM_ECONFIG);
    CHECK_INT(soom_report_parse_dsn("https://h/1", &d, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "public key") != NULL);
    CHECK_INT(soom_report_parse_dsn("https://k@h/", &d, err, sizeof err), SOOM_ECONFIG);
    CHECK_INT(soom_report_parse_dsn("https://k@h/abc", &d, err, sizeof err), SOOM_ECONFIG);
}

/* A receiver answering `status` to every request, keeping what it got. */
static struct {
    int fd, port, status, requests;
    char last[8192];
} rx;

static void *receive(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        size_t n = 0;
        char *body = NULL;
        long want = -1;
        while (n < sizeof rx.last - 1) {
            ssize_t r = read(c, rx.last + n, sizeof rx.last - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            rx.last[n] = '\0';
            body = strstr(rx.last, "\r\n\r\n");
            char *cl = strcasestr(rx.last, "Content-Length:");
            if (body && cl)
                want = strtol(cl + 15, NULL, 10);
            if (body && want >= 0 && (long)(n - (size_t)(body + 4 - rx.last)) >= want)
                break;
        }
        rx.requests++;
        char resp[160];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 %d X\r\nRetry-After: 30\r\nContent-Length: 2\r\n"
                           "Connection: close\r\n\r\n{}",
                           rx.status);
        ssize_t w = write(c, resp, (size_t)len);
        (void)w;
        close(c);
    }
}

static void start_receiver(int status)
{
    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(rx.fd, (struct sockaddr *)&a, sizeof a);
    socklen_t sl = sizeof a;
    getsockname(rx.fd, (struct sockaddr *)&a, &sl);
    rx.port = ntohs(a.sin_port);
    rx.status = status;
    listen(rx.fd, 8);
    pthread_t t;
    pthread_create(&t, NULL, receive, NULL);
    pthread_detach(t);
}

static void wait_requests(int n)
{
    for (int i = 0; i < 300 && rx.requests < n; i++)
        usleep(10000);
}

static void test_delivered_then_rate_limited(void)
{
    start_receiver(200);
    char dsn[128], err[256];
    snprintf(dsn, sizeof dsn, "http://pubkey@127.0.0.1:%d/3", rx.port);
    struct soom_report_options o = {dsn, 4, 2000, "app@1.2", "staging", "host-a"};
    CHECK_INT(soom_report_start(&o, err, sizeof err), SOOM_OK);
    CHECK(soom_report_enabled());
    const char *ev = "{\"exception\":{\"values\":[{\"type\":\"LuaError\",\"value\":\"boom\"}]}}";
    soom_report_event(ev, strlen(ev));
    wait_requests(1);
    CHECK_INT(rx.requests, 1);
    CHECK(strstr(rx.last, "POST /api/3/envelope/ HTTP/1.1") != NULL);
    CHECK(strstr(rx.last, "X-Sentry-Auth: Sentry sentry_version=7, sentry_key=pubkey,") != NULL);
    CHECK(strstr(rx.last, "Content-Type: application/x-sentry-envelope") != NULL);
    CHECK(strstr(rx.last, "\n{\"type\":\"event\",\"length\":") != NULL);
    CHECK(strstr(rx.last, "\"release\":\"app@1.2\"") != NULL);
    CHECK(strstr(rx.last, "\"environment\":\"staging\"") != NULL);
    CHECK(strstr(rx.last, "\"server_name\":\"host-a\"") != NULL);
    CHECK(strstr(rx.last, ",\"exception\":{\"values\":[{\"type\":\"LuaError\"") != NULL);
    /* 429: the next event is sent and refused, the one after is not sent */
    rx.status = 429;
    soom_report_event(ev, strlen(ev));
    wait_requests(2);
    CHECK_INT(rx.requests, 2);
    usleep(50000);
    soom_report_event(ev, strlen(ev));
    usleep(200000);
    CHECK_INT(rx.requests, 2);
    soom_report_stop(500);
    CHECK(!soom_report_enabled());
    close(rx.fd);
}

int main(void)
{
    RUN(test_dsn);
    RUN(test_delivered_then_rate_limited);
    return test_summary();
}
