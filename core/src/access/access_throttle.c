/*
 * Throttles (see access_impl.h): rates as Django REST framework writes
 * them, the client address they key anonymous requests by, and the
 * in-process counters.
 *
 * Counting is by fixed windows that start with a key's first request: a
 * key may make `limit` requests until its window of `period` seconds ends,
 * then a new window starts. Each hit is one increment under the lock of
 * the key's bucket, so concurrent requests are counted exactly: of 200 at
 * once against a limit of 50, exactly 50 pass. The table has a fixed
 * number of slots (throttle_cache_size); when a bucket is full the slot
 * whose window ends first is reused, so a flood of new clients costs
 * memory that never grows (and, at worst, forgets the oldest windows).
 * Keys are SHA-256 digests (truncated) of the scope, period and identity.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_key.h"
#include "clock.h"
#include "soom/config.h"

#define WAYS 8
#define KEY_BYTES 16

struct counter {
    unsigned char key[KEY_BYTES];
    uint64_t window_end; /* monotonic ns; 0: empty */
    long hits;
};

struct bucket {
    pthread_mutex_t lock;
    struct counter slots[WAYS];
};

struct access_throttles {
    struct bucket *buckets;
    size_t nbuckets;
};

struct access_throttles *access_throttles_new(size_t entries)
{
    struct access_throttles *t = xcalloc(1, sizeof *t);
    t->nbuckets = (entries + WAYS - 1) / WAYS;
    if (t->nbuckets == 0)
        t->nbuckets = 1;
    t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
    for (size_t i = 0; i < t->nbuckets; i++)
        pthread_mutex_init(&t->buckets[i].lock, NULL);
    return t;
}

void access_throttles_free(struct access_throttles *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        pthread_mutex_destroy(&t->buckets[i].lock);
    free(t->buckets);
    free(t);
}

static bool digits(const char **p, long *out)
{
    const char *s = *p;
    long v = 0;
    while (*s >= '0' && *s <= '9' && v < 100000000000L)
        v = v * 10 + (*s++ - '0');
    if (s == *p || (*s >= '0' && *s <= '9'))
        return false;
    *p = s;
    *out = v;
    return true;
}

bool access_rate_parse(const char *rate, long *limit, long *period)
{
    const char *p = rate;
    long n, k = 1;
    if (rate == NULL || !digits(&p, &n) || n < 1 || *p++ != '/')
        return false;
    if (*p >= '0' && *p <= '9' && (!digits(&p, &k) || k < 1 || k > 100000))
        return false;
    long unit;
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return false;
    }
    /* "hour", "min", "day"...: DRF reads the first letter only */
    for (p++; *p; p++)
        if (!(*p >= 'a' && *p <= 'z'))
            return false;
    if (unit * k > 10L * 366 * 86400)
        return false; /* ten years at most: windows' ends stay far from overflow */
    *limit = n;
    *period = unit * k;
    return true;
}

/* ---- the client's address ---------------------------------------------------------- */

static const char *peer_text(struct soom_request *r)
{
    char buf[INET6_ADDRSTRLEN] = "";
    const struct sockaddr *sa = r->peer;
    if (sa != NULL && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  sizeof buf);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], buf, sizeof buf);
        else
            inet_ntop(AF_INET6, a6, buf, sizeof buf);
    }
    return soom_arena_strndup(r->arena, buf, strlen(buf));
}

/* The k-th address from the right (1: the last) of every X-Forwarded-For
 * header taken together, in (*p, *n); false when there are fewer than k
 * (then the leftmost, as DRF does) or none at all. */
static bool forwarded(const struct soom_request *r, long k, const char **p, size_t *n)
{
    const char *found = NULL;
    size_t flen = 0;
    long seen = 0;
    /* walk right to left over the headers and their comma-separated items */
    for (size_t h = r->nheaders; h-- > 0 && seen < k;) {
        const struct soom_kv *kv = &r->headers[h];
        if (kv->key_len != 15 || strncasecmp(kv->key, "X-Forwarded-For", 15) != 0)
            continue;
        size_t end = kv->value_len;
        while (seen < k) {
            size_t start = end;
            while (start > 0 && kv->value[start - 1] != ',')
                start--;
            size_t a = start, b = end;
            while (a < b && (kv->value[a] == ' ' || kv->value[a] == '\t'))
                a++;
            while (b > a && (kv->value[b - 1] == ' ' || kv->value[b - 1] == '\t'))
                b--;
            found = kv->value + a, flen = b - a, seen++;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    *p = found, *n = flen;
    return found != NULL && flen > 0;
}

const char *access_client_address(struct soom_request *r)
{
    const struct soom_config *cfg = r->config;
    const char *p;
    size_t n;
    if (cfg->trust_proxy && cfg->proxy_count > 0 && forwarded(r, cfg->proxy_count, &p, &n))
        return soom_arena_strndup(r->arena, p, n);
    return peer_text(r);
}

/* ---- counting ------------------------------------------------------------------------ */

void access_throttle_hit(struct access_throttles *store, const struct access_throttle *t,
                         const char *key, size_t n, long *hits, long *reset)
{
    unsigned char d[32];
    soom_auth_sha256_parts(key, n, "", 0, d);
    uint64_t h;
    memcpy(&h, d, sizeof h);
    struct bucket *b = &store->buckets[h % store->nbuckets];
    uint64_t now = soom_clock_ns();
    pthread_mutex_lock(&b->lock);
    struct counter *slot = NULL, *victim = &b->slots[0];
    for (int i = 0; i < WAYS && slot == NULL; i++) {
        struct counter *c = &b->slots[i];
        if (c->window_end != 0 && memcmp(c->key, d, KEY_BYTES) == 0)
            slot = c;
        else if (c->window_end < victim->window_end)
            victim = c;
    }
    if (slot == NULL || slot->window_end <= now) {
        if (slot == NULL) {
            slot = victim;
            memcpy(slot->key, d, KEY_BYTES);
        }
        slot->window_end = now + (uint64_t)t->period * 1000000000ull;
        slot->hits = 0;
    }
    slot->hits++;
    *hits = slot->hits;
    uint64_t left = slot->window_end - now;
    pthread_mutex_unlock(&b->lock);
    *reset = (long)((left + 999999999ull) / 1000000000ull);
}
