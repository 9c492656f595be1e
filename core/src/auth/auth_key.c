/*
 * DRF token keys (see auth_key.h): random keys, their SHA-256 digests and
 * the constant-time comparison, on libcrypto.
 */
#include "auth_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth_impl.h"

static const char HEX[] = "0123456789abcdef";

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void soom_auth_random(void *p, size_t n)
{
    auth_random(p, n);
}

void soom_auth_key_generate(char out[SOOM_AUTH_KEY_LEN + 1])
{
    unsigned char r[SOOM_AUTH_KEY_LEN / 2];
    auth_random(r, sizeof r);
    hex(r, sizeof r, out);
}

void soom_auth_key_sha256(const char *p, size_t n, char out[SOOM_AUTH_KEY_SHA256 + 1])
{
    unsigned char d[SOOM_AUTH_KEY_SHA256 / 2];
    soom_auth_sha256_parts(n ? p : "", n, "", 0, d);
    hex(d, sizeof d, out);
}

void soom_auth_sha256_parts(const void *a, size_t an, const void *b, size_t bn,
                            unsigned char out[32])
{
    EVP_MD_CTX *ctx = auth_thread_ctx();
    EVP_DigestInit_ex(ctx, auth_sha256_md(), NULL);
    EVP_DigestUpdate(ctx, a, an);
    EVP_DigestUpdate(ctx, b, bn);
    EVP_DigestFinal_ex(ctx, out, NULL);
}

bool soom_auth_key_valid(const char *p, size_t n)
{
    if (n == 0 || n > SOOM_AUTH_KEY_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f)
            return false;
    return true;
}

bool soom_auth_equal(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && CRYPTO_memcmp(a, b, an) == 0;
}
