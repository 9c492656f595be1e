/* Unit tests of core/src/client/client_http.c against a small upstream on
 * loopback (a thread per connection, answering after the delay its path
 * names): calls from fibers of one loop overlap, a blocking caller gets the
 * same answers, and refused connections, timeouts and the request's budget
 * come back as their kinds. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "fiber.h"
#include "loop.h"
#include "soom/error.h"
#include "test.h"
#include "wait.h"

#define MS 1000000ull

static int upstream_port;

/* ---- the upstream: GET /d<ms> answers after <ms>, keeping the connection -- */

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        int ms = 0;
        sscanf(buf, "GET /d%d", &ms);
        usleep((useconds_t)ms * 1000);
        char resp[256];
        const char *body = "{\"ok\":true}";
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Delay: %d\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           ms, strlen(body), body);
        if (write(fd, resp, (size_t)len) != len)
            break;
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    close(fd);
    return NULL;
}

static void *upstream_main(void *arg)
{
    int ls = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static int listen_loopback(bool keep)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    if (keep) {
        listen(s, 128);
        pthread_t t;
        pthread_create(&t, NULL, upstream_main, (void *)(intptr_t)s);
        pthread_detach(t);
    } else {
        close(s); /* a port nothing listens on */
    }
    return port;
}

/* ---- calls ------------------------------------------------------------------ */

struct job {
    char url[128];
    long timeout_ms;
    int rc;
    long status;
    enum soom_http_kind kind;
    bool delay_header;
    bool done;
};

static void call(struct job *j)
{
    struct soom_http_call c;
    soom_http_call_init(&c);
    c.method = "GET";
    c.url = j->url;
    c.timeout_ms = j->timeout_ms;
    c.max_per_host = 64;
    j->rc = soom_http_perform(&c);
    j->status = c.status;
    j->kind = c.kind;
    j->delay_header = c.head.data != NULL && strstr(c.head.data, "X-Delay:") != NULL;
    soom_http_call_cleanup(&c);
    j->done = true;
}

static void call_fiber(void *arg)
{
    call(arg);
}

static void run_on_fibers(struct job *jobs, int n)
{
    struct soom_loop *l;
    CHECK_INT(soom_loop_new(&l), SOOM_OK);
    for (int i = 0; i < n; i++)
        soom_fiber_run(l, call_fiber, &jobs[i]);
    uint64_t end = soom_clock_ns() + 10000 * MS;
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++)
            left += !jobs[i].done;
        if (left == 0 || soom_clock_ns() > end)
            break;
        soom_loop_turn(l, 100 * MS);
    }
    soom_loop_free(l); /* and the thread's client with it */
}

static void test_calls_overlap_on_one_loop(void)
{
    struct job jobs[20];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 20; i++) {
        snprintf(jobs[i].url, sizeof jobs[i].url, "http://127.0.0.1:%d/d200", upstream_port);
        jobs[i].timeout_ms = 5000;
    }
    uint64_t t0 = soom_clock_ns();
    run_on_fibers(jobs, 20);
    uint64_t took = soom_clock_ns() - t0;
    for (int i = 0; i < 20; i++) {
        CHECK_INT(jobs[i].rc, SOOM_OK);
        CHECK_INT(jobs[i].status, 200);
        CHECK(jobs[i].delay_header);
    }
    /* twenty 200 ms calls on one thread: together, not one by one (4 s) */
    CHECK(took < 1500 * MS);
}

static void test_failures_have_kinds(void)
{
    struct job jobs[2];
    memset(jobs, 0, sizeof jobs);
    snprintf(jobs[0].url, sizeof jobs[0].url, "http://127.0.0.1:%d/x", listen_loopback(false));
    snprintf(jobs[1].url, sizeof jobs[1].url, "http://127.0.0.1:%d/d3000", upstream_port);
    jobs[0].timeout_ms = jobs[1].timeout_ms = 200;
    uint64_t t0 = soom_clock_ns();
    run_on_fibers(jobs, 2);
    CHECK_INT(jobs[0].rc, SOOM_EIO);
    CHECK_INT(jobs[0].kind, SOOM_HTTP_REFUSED);
    CHECK_INT(jobs[1].rc, SOOM_ETIMEDOUT);
    CHECK_INT(jobs[1].kind, SOOM_HTTP_TIMEOUT);
    CHECK(soom_clock_ns() - t0 < 2000 * MS);
    CHECK_STR(soom_http_kind_name(SOOM_HTTP_DNS), "dns");
}

static void test_blocking_caller_and_budget(void)
{
    struct job j;
    memset(&j, 0, sizeof j);
    snprintf(j.url, sizeof j.url, "http://127.0.0.1:%d/d10", upstream_port);
    call(&j); /* no fiber: the thread waits */
    CHECK_INT(j.rc, SOOM_OK);
    CHECK_INT(j.status, 200);
    /* the budget ends a call whose own timeout is longer */
    memset(&j, 0, sizeof j);
    snprintf(j.url, sizeof j.url, "http://127.0.0.1:%d/d3000", upstream_port);
    j.timeout_ms = 10000;
    uint64_t t0 = soom_clock_ns();
    soom_wait_set_budget(t0 + 150 * MS);
    call(&j);
    soom_wait_set_budget(0);
    CHECK_INT(j.kind, SOOM_HTTP_TIMEOUT);
    CHECK(soom_clock_ns() - t0 < 1500 * MS);
    /* a budget already spent: no call at all */
    memset(&j, 0, sizeof j);
    snprintf(j.url, sizeof j.url, "http://127.0.0.1:%d/d0", upstream_port);
    soom_wait_set_budget(soom_clock_ns() - 1);
    call(&j);
    soom_wait_set_budget(0);
    CHECK_INT(j.rc, SOOM_ETIMEDOUT);
}

int main(void)
{
    upstream_port = listen_loopback(true);
    RUN(test_calls_overlap_on_one_loop);
    RUN(test_failures_have_kinds);
    RUN(test_blocking_caller_and_budget);
    soom_fiber_thread_cleanup();
    return test_summary();
}
