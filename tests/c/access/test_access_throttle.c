/* Unit tests of core/src/access/access_throttle.c: DRF's rates and the
 * multiplied ones, refusals of what does not parse, fixed windows (a new
 * one once the period ends), keys counted apart, counts exact from many
 * threads at once, a table that never grows, and the client address
 * behind proxies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access_impl.h"
#include "soom/config.h"
#include "test.h"

static void test_rates(void)
{
    long n, p;
    CHECK(access_rate_parse("100/hour", &n, &p) && n == 100 && p == 3600);
    CHECK(access_rate_parse("5/s", &n, &p) && n == 5 && p == 1);
    CHECK(access_rate_parse("1000/day", &n, &p) && n == 1000 && p == 86400);
    CHECK(access_rate_parse("20/min", &n, &p) && n == 20 && p == 60);
    CHECK(access_rate_parse("5/10m", &n, &p) && n == 5 && p == 600);
    CHECK(access_rate_parse("3/2hours", &n, &p) && n == 3 && p == 7200);
    const char *bad[] = {"",      "100",   "/h",   "0/h",   "x/h",        "10/",     "10/y",
                         "10/10", "10/h!", "-1/s", "10/0m", "5 per hour", "1/4000d", NULL};
    for (int i = 0; bad[i] != NULL; i++)
        CHECK(!access_rate_parse(bad[i], &n, &p));
    CHECK(!access_rate_parse(NULL, &n, &p));
}

static void test_windows(void)
{
    struct access_throttles *t = access_throttles_new(64);
    struct access_throttle one = {.kind = ACCESS_THROTTLE_ANON, .limit = 2, .period = 1};
    long hits, reset;
    access_throttle_hit(t, &one, "a", 1, &hits, &reset);
    CHECK_INT(hits, 1);
    CHECK_INT(reset, 1);
    access_throttle_hit(t, &one, "a", 1, &hits, &reset);
    access_throttle_hit(t, &one, "a", 1, &hits, &reset);
    CHECK_INT(hits, 3);
    access_throttle_hit(t, &one, "b", 1, &hits, &reset);
    CHECK_INT(hits, 1); /* another key counts alone */
    usleep(1100000);
    access_throttle_hit(t, &one, "a", 1, &hits, &reset);
    CHECK_INT(hits, 1); /* a new window */
    access_throttles_free(t);
}

static struct access_throttles *shared;
static struct access_throttle fifty = {.kind = ACCESS_THROTTLE_USER, .limit = 50, .period = 3600};
static _Atomic int passed;

static void *hit(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        long hits, reset;
        access_throttle_hit(shared, &fifty, "user:1", 6, &hits, &reset);
        if (hits <= fifty.limit)
            passed++;
    }
    return NULL;
}

static void test_exact_under_threads(void)
{
    shared = access_throttles_new(1024);
    passed = 0;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, hit, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(passed, 50); /* of 400 */
    long hits, reset;
    access_throttle_hit(shared, &fifty, "user:1", 6, &hits, &reset);
    CHECK_INT(hits, 401);
    access_throttles_free(shared);
}

static void test_bounded(void)
{
    /* 8 slots, 100,000 keys: old windows are reused, memory stays put */
    struct access_throttles *t = access_throttles_new(8);
    struct access_throttle one = {.kind = ACCESS_THROTTLE_ANON, .limit = 1, .period = 60};
    char key[32];
    long hits, reset;
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "ip:%d", i);
        access_throttle_hit(t, &one, key, (size_t)n, &hits, &reset);
        CHECK(hits == 1);
    }
    access_throttles_free(t);
}

static const char *client(struct soom_config *cfg, const char *xff1, const char *xff2)
{
    struct soom_request *r = soom_request_new(NULL, cfg);
    static struct sockaddr_in peer;
    peer.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
    r->peer = (const struct sockaddr *)&peer;
    struct soom_kv *h = soom_arena_calloc(r->arena, 3 * sizeof *h);
    size_t n = 0;
    if (xff1)
        h[n++] = (struct soom_kv){"X-Forwarded-For", 15, xff1, strlen(xff1)};
    if (xff2)
        h[n++] = (struct soom_kv){"x-forwarded-for", 15, xff2, strlen(xff2)};
    r->headers = h;
    r->nheaders = n;
    static char out[64];
    snprintf(out, sizeof out, "%s", access_client_address(r));
    soom_request_free(r);
    return out;
}

static void test_client_address(void)
{
    struct soom_config *cfg = soom_config_new();
    CHECK_STR(client(cfg, "10.0.0.1", NULL), "192.0.2.7"); /* no trust_proxy: the peer */
    cfg->trust_proxy = true;
    cfg->proxy_count = 1;
    CHECK_STR(client(cfg, NULL, NULL), "192.0.2.7");
    CHECK_STR(client(cfg, "203.0.113.5", NULL), "203.0.113.5");
    CHECK_STR(client(cfg, "1.1.1.1, 203.0.113.5", NULL), "203.0.113.5");
    CHECK_STR(client(cfg, " 1.1.1.1 ,  203.0.113.9 ", NULL), "203.0.113.9");
    cfg->proxy_count = 2;
    CHECK_STR(client(cfg, "1.1.1.1, 203.0.113.5", NULL), "1.1.1.1");
    CHECK_STR(client(cfg, "1.1.1.1", "203.0.113.5"), "1.1.1.1"); /* headers taken together */
    cfg->proxy_count = 5;
    CHECK_STR(client(cfg, "1.1.1.1, 2.2.2.2", NULL), "1.1.1.1"); /* fewer: the leftmost */
    cfg->proxy_count = 0;
    CHECK_STR(client(cfg, "1.1.1.1", NULL), "192.0.2.7");
    soom_config_free(cfg);
}

int main(void)
{
    RUN(test_rates);
    RUN(test_windows);
    RUN(test_exact_under_threads);
    RUN(test_bounded);
    RUN(test_client_address);
    return test_summary();
}
