/*
 * Helpers the hashers and the token files share (see auth_impl.h): random
 * bytes and salts, strict decimal parsing, base64 without padding, and a
 * digest context per thread. A leaf: it calls nothing else of the module.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "auth_impl.h"
#include "soom/base64.h"

void auth_random(void *p, size_t n)
{
    if (RAND_bytes(p, (int)n) != 1) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"no random numbers\"}\n");
        abort();
    }
}

static const char ALNUM[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

void auth_salt(char out[AUTH_SALT_CHARS])
{
    size_t have = 0;
    while (have < AUTH_SALT_CHARS) {
        unsigned char r[32];
        auth_random(r, sizeof r);
        /* 248 = 4 * 62: rejecting the rest keeps every character equally
         * likely */
        for (size_t i = 0; i < sizeof r && have < AUTH_SALT_CHARS; i++)
            if (r[i] < 248)
                out[have++] = ALNUM[r[i] % 62];
    }
}

bool auth_salt_weak(size_t n)
{
    /* log2(62) = 5.954 bits per character: 22 characters reach 128 bits */
    return n < AUTH_SALT_CHARS;
}

bool auth_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 19 || (p[0] == '0' && n > 1))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

size_t auth_find(const char *p, size_t n, char c)
{
    const char *q = memchr(p, c, n);
    return q ? (size_t)(q - p) : n;
}

void auth_b64_nopad(const unsigned char *p, size_t n, struct soom_buf *out)
{
    soom_base64_encode(p, n, false, out);
    while (out->len > 0 && out->data[out->len - 1] == '=')
        out->data[--out->len] = '\0';
}

/* ---- a digest context per thread -------------------------------------------------- */

/* Digests on the request path (a token's SHA-256, a JWT's HMAC) would
 * otherwise allocate, fetch and free a context each time: a third of what
 * a short digest costs. A thread's context is freed when the thread ends. */
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha256_md;

static void ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void ctx_init(void)
{
    pthread_key_create(&ctx_key, ctx_free);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (sha256_md == NULL)
        sha256_md = EVP_sha256();
}

EVP_MD_CTX *auth_thread_ctx(void)
{
    pthread_once(&ctx_once, ctx_init);
    EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
            soom_oom(0);
        pthread_setspecific(ctx_key, ctx);
    }
    return ctx;
}

const EVP_MD *auth_sha256_md(void)
{
    pthread_once(&ctx_once, ctx_init);
    return sha256_md;
}
