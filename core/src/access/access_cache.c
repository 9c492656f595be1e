/*
 * The credential cache (see access_impl.h): what a token, a JWT's user id
 * or a permission resolved to, kept for a few seconds so that a client
 * sending the same credentials request after request costs one lookup per
 * TTL instead of one per request.
 *
 * A set-associative table: the key's digest picks a bucket of WAYS slots,
 * each bucket behind its own lock, so threads rarely wait on each other
 * and the table's size is fixed when it is made (it never grows with the
 * number of clients). A full bucket drops the slot that expires first.
 * Keys are SHA-256 digests, compared in constant time; values are copies
 * owned by their slot (malloc'ed, freed when replaced or with the table).
 * Entries keyed by a long text that is already a proof of itself (a JWT
 * whose signature verified) are found by a seeded fast hash of it and
 * matched on the whole text, in constant time: hashing a token with
 * SHA-256 would cost as much as checking its HMAC.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_key.h"
#include "clock.h"
#include "hash.h"
#include "soom/buf.h"

#define WAYS 8

struct slot {
    unsigned char key[ACCESS_DIGEST];
    uint64_t expires; /* monotonic ns; 0: empty */
    char *value;
    size_t len;
    char *text; /* an entry keyed by its text (a verified JWT): the text; else NULL */
    size_t text_len;
};

struct bucket {
    pthread_mutex_t lock;
    struct slot slots[WAYS];
};

struct access_cache {
    struct bucket *buckets;
    size_t nbuckets;
    uint64_t ttl_ns;
    uint64_t seed; /* of the texts' hash: drawn at start-up */
};

struct access_cache *access_cache_new(size_t entries, double ttl_seconds)
{
    if (ttl_seconds <= 0 || entries == 0)
        return NULL; /* off: every lookup goes to the database */
    struct access_cache *c = xcalloc(1, sizeof *c);
    c->nbuckets = (entries + WAYS - 1) / WAYS;
    c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
    for (size_t i = 0; i < c->nbuckets; i++)
        pthread_mutex_init(&c->buckets[i].lock, NULL);
    c->ttl_ns = (uint64_t)(ttl_seconds * 1e9);
    unsigned char seed[8];
    soom_auth_random(seed, sizeof seed);
    memcpy(&c->seed, seed, sizeof c->seed);
    return c;
}

void access_cache_free(struct access_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (int k = 0; k < WAYS; k++) {
            free(c->buckets[i].slots[k].value);
            free(c->buckets[i].slots[k].text);
        }
        pthread_mutex_destroy(&c->buckets[i].lock);
    }
    free(c->buckets);
    free(c);
}

void access_cache_key(const char *tag, size_t tlen, const char *p, size_t n,
                      unsigned char out[ACCESS_DIGEST])
{
    /* the tag (a class number and kind) keeps two classes' keys apart; its
     * length first, so no tag and key can run into another's */
    char head[72];
    size_t h = tlen < 64 ? tlen : 64;
    head[0] = (char)h;
    memcpy(head + 1, tag, h);
    soom_auth_sha256_parts(head, h + 1, p, n, out);
}

static struct bucket *bucket_of(const struct access_cache *c,
                                const unsigned char key[ACCESS_DIGEST])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return &c->buckets[h % c->nbuckets];
}

bool access_cache_get(struct access_cache *c, const unsigned char key[ACCESS_DIGEST],
                      struct soom_buf *out)
{
    if (c == NULL)
        return false;
    struct bucket *b = bucket_of(c, key);
    uint64_t now = soom_clock_ns();
    bool found = false;
    pthread_mutex_lock(&b->lock);
    for (int k = 0; k < WAYS; k++) {
        struct slot *s = &b->slots[k];
        if (s->expires > now && soom_auth_equal(s->key, ACCESS_DIGEST, key, ACCESS_DIGEST)) {
            soom_buf_append(out, s->value, s->len);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

/* Stores (value, n) in the bucket under `key` (and `text` when keyed by
 * text): the same key's slot, else an empty or expired one, else the one
 * that expires first. */
static void store(struct access_cache *c, struct bucket *b, const unsigned char key[ACCESS_DIGEST],
                  const char *text, size_t tn, const char *value, size_t n, uint64_t expires)
{
    char *copy = xmalloc(n ? n : 1);
    memcpy(copy, value, n);
    char *tcopy = NULL;
    if (text != NULL) {
        tcopy = xmalloc(tn ? tn : 1);
        memcpy(tcopy, text, tn);
    }
    uint64_t now = soom_clock_ns();
    pthread_mutex_lock(&b->lock);
    struct slot *victim = &b->slots[0];
    for (int k = 0; k < WAYS; k++) {
        struct slot *s = &b->slots[k];
        if (s->expires != 0 && memcmp(s->key, key, ACCESS_DIGEST) == 0 &&
            (text == NULL) == (s->text == NULL) &&
            (text == NULL || (s->text_len == tn && memcmp(s->text, text, tn) == 0))) {
            victim = s;
            break;
        }
        if (s->expires <= now) {
            if (victim->expires > now)
                victim = s;
        } else if (victim->expires > now && s->expires < victim->expires) {
            victim = s;
        }
    }
    char *old = victim->value, *oldtext = victim->text;
    memcpy(victim->key, key, ACCESS_DIGEST);
    victim->value = copy;
    victim->len = n;
    victim->text = tcopy;
    victim->text_len = tn;
    uint64_t ttl = now + c->ttl_ns;
    victim->expires = expires != 0 && expires < ttl ? expires : ttl;
    pthread_mutex_unlock(&b->lock);
    free(old);
    free(oldtext);
}

void access_cache_put(struct access_cache *c, const unsigned char key[ACCESS_DIGEST],
                      const char *value, size_t n)
{
    if (c == NULL)
        return;
    store(c, bucket_of(c, key), key, NULL, 0, value, n, 0);
}

/* ---- entries keyed by their text ----------------------------------------------------- */

/* A seeded 64-bit hash of the text: what picks the bucket and rejects most
 * slots; the whole text decides. */
static void text_key(const struct access_cache *c, const char *p, size_t n,
                     unsigned char out[ACCESS_DIGEST])
{
    uint64_t h = soom_hash_bytes(p, n, c->seed);
    memset(out, 0, ACCESS_DIGEST);
    memcpy(out, &h, sizeof h);
    memcpy(out + 8, &n, sizeof n);
}

bool access_cache_get_text(struct access_cache *c, const char *text, size_t n, struct soom_buf *out)
{
    if (c == NULL)
        return false;
    unsigned char key[ACCESS_DIGEST];
    text_key(c, text, n, key);
    struct bucket *b = bucket_of(c, key);
    uint64_t now = soom_clock_ns();
    bool found = false;
    pthread_mutex_lock(&b->lock);
    for (int k = 0; k < WAYS && !found; k++) {
        struct slot *s = &b->slots[k];
        if (s->expires > now && s->text != NULL && memcmp(s->key, key, 16) == 0 &&
            soom_auth_equal(s->text, s->text_len, text, n)) {
            soom_buf_append(out, s->value, s->len);
            found = true;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

void access_cache_put_text(struct access_cache *c, const char *text, size_t n, const char *value,
                           size_t vn, uint64_t expires)
{
    if (c == NULL)
        return;
    unsigned char key[ACCESS_DIGEST];
    text_key(c, text, n, key);
    store(c, bucket_of(c, key), key, text, n, value, vn, expires);
}
