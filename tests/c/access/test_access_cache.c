/* Unit tests of core/src/access/access_cache.c: values found by their key
 * and by nothing else, the TTL, a full bucket dropping what expires first
 * (the table never grows), entries keyed by their whole text (one byte off
 * is a miss), an expiry of their own, the cache off, and many threads at
 * once. */
#include <pthread.h>
#include <unistd.h>

#include "access_impl.h"
#include "clock.h"
#include "soom/buf.h"
#include "test.h"

static bool get(struct access_cache *c, const char *key, char *out, size_t cap)
{
    unsigned char k[ACCESS_DIGEST];
    access_cache_key("t", 1, key, strlen(key), k);
    struct soom_buf b;
    soom_buf_init(&b);
    bool found = access_cache_get(c, k, &b);
    if (found)
        snprintf(out, cap, "%.*s", (int)b.len, b.data);
    soom_buf_cleanup(&b);
    return found;
}

static void put(struct access_cache *c, const char *key, const char *value)
{
    unsigned char k[ACCESS_DIGEST];
    access_cache_key("t", 1, key, strlen(key), k);
    access_cache_put(c, k, value, strlen(value));
}

static void test_found_by_key_only(void)
{
    struct access_cache *c = access_cache_new(64, 60);
    char v[64];
    CHECK(!get(c, "a", v, sizeof v));
    put(c, "a", "alpha");
    put(c, "b", "beta");
    CHECK(get(c, "a", v, sizeof v) && strcmp(v, "alpha") == 0);
    CHECK(get(c, "b", v, sizeof v) && strcmp(v, "beta") == 0);
    CHECK(!get(c, "c", v, sizeof v));
    put(c, "a", "again");
    CHECK(get(c, "a", v, sizeof v) && strcmp(v, "again") == 0);
    /* a tag keeps two classes' keys apart */
    unsigned char k1[ACCESS_DIGEST], k2[ACCESS_DIGEST];
    access_cache_key("token:1", 7, "abc", 3, k1);
    access_cache_key("token:", 6, "1abc", 4, k2);
    CHECK(memcmp(k1, k2, ACCESS_DIGEST) != 0);
    access_cache_free(c);
}

static void test_ttl(void)
{
    struct access_cache *c = access_cache_new(64, 0.05);
    char v[64];
    put(c, "k", "v");
    CHECK(get(c, "k", v, sizeof v));
    usleep(80000);
    CHECK(!get(c, "k", v, sizeof v));
    access_cache_free(c);
    CHECK(access_cache_new(64, 0) == NULL); /* 0: off */
    CHECK(!get(NULL, "k", v, sizeof v));
    put(NULL, "k", "v"); /* off: nothing kept, nothing fails */
}

static void test_bounded(void)
{
    /* 16 slots: 10,000 keys leave at most 16 behind, the newest ones */
    struct access_cache *c = access_cache_new(16, 60);
    char key[32], v[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        put(c, key, key);
    }
    int found = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        found += get(c, key, v, sizeof v);
    }
    CHECK(found > 0 && found <= 16);
    CHECK(get(c, "key9999", v, sizeof v) && strcmp(v, "key9999") == 0);
    access_cache_free(c);
}

static void test_text_keys(void)
{
    struct access_cache *c = access_cache_new(64, 60);
    const char *jwt = "jwtuser:0|eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl";
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK(!access_cache_get_text(c, jwt, strlen(jwt), &b));
    access_cache_put_text(c, jwt, strlen(jwt), "user", 4, 0);
    CHECK(access_cache_get_text(c, jwt, strlen(jwt), &b));
    CHECK(b.len == 4 && memcmp(b.data, "user", 4) == 0);
    char other[128];
    snprintf(other, sizeof other, "%s", jwt);
    other[strlen(other) - 1] = 'X'; /* one byte off: another token */
    soom_buf_clear(&b);
    CHECK(!access_cache_get_text(c, other, strlen(other), &b));
    CHECK(!access_cache_get_text(c, jwt, strlen(jwt) - 1, &b));
    /* its own expiry ends it before the TTL */
    access_cache_put_text(c, other, strlen(other), "u2", 2, soom_clock_ns() + 30000000ull);
    CHECK(access_cache_get_text(c, other, strlen(other), &b));
    usleep(50000);
    soom_buf_clear(&b);
    CHECK(!access_cache_get_text(c, other, strlen(other), &b));
    soom_buf_cleanup(&b);
    access_cache_free(c);
}

static struct access_cache *shared;

static void *hammer(void *arg)
{
    char key[32], v[64];
    int base = (int)(intptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "t%d-%d", base, i % 50);
        put(shared, key, key);
        if (get(shared, key, v, sizeof v) && strcmp(v, key) != 0)
            return (void *)1; /* a value under another key */
    }
    return NULL;
}

static void test_threads(void)
{
    shared = access_cache_new(256, 60);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
    access_cache_free(shared);
}

int main(void)
{
    RUN(test_found_by_key_only);
    RUN(test_ttl);
    RUN(test_bounded);
    RUN(test_text_keys);
    RUN(test_threads);
    return test_summary();
}
