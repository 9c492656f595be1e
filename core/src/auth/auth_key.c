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

void soom_auth_key_generate(char out[SOOM_AUTH_KEY_LEN + 1])
{
    unsigned char r[SOOM_AUTH_KEY_LEN / 2];
    auth_random(r, sizeof r);
    hex(r, sizeof r, out);
}

void soom_auth_key_sha256(const char *p, size_t n, char out[SOOM_AUTH_KEY_SHA256 + 1])
{
    unsigned char d[SOOM_AUTH_KEY_SHA256 / 2];
    EVP_Digest(n ? p : "", n, d, NULL, EVP_sha256(), NULL);
    hex(d, sizeof d, out);
}

void soom_auth_sha256_parts(const void *a, size_t an, const void *b, size_t bn,
                            unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, an);
    EVP_DigestUpdate(ctx, b, bn);
    EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
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
