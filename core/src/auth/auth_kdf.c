/*
 * The hashers libcrypto computes: pbkdf2_sha256 and pbkdf2_sha1
 * ("<iterations>$<salt>$<base64>") and Django 4.0's scrypt
 * ("<N>$<salt>$<r>$<p>$<base64>"). As Django does, a check recomputes the
 * hash text from the stored salt and parameters and compares the two texts
 * in constant time, so a stored hash that Django would refuse (a
 * non-canonical number or encoding) is refused here too.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "auth_impl.h"
#include "auth_key.h"
#include "soom/base64.h"
#include "soom/error.h"

#define PBKDF2_MAX_DK 32 /* SHA-256 */
#define SCRYPT_DK 64     /* Django's dklen */

/* The next '$'-separated field of (*p, *n), which it consumes. */
static bool next_field(const char **p, size_t *n, const char **f, size_t *flen)
{
    size_t d = auth_find(*p, *n, '$');
    if (d == *n)
        return false;
    *f = *p;
    *flen = d;
    *p += d + 1;
    *n -= d + 1;
    return true;
}

static bool salt_ok(size_t n)
{
    return n > 0 && n <= AUTH_SALT_MAX;
}

/* ---- pbkdf2 -------------------------------------------------------------- */

static void pbkdf2_text(bool sha1, const char *pw, size_t n, const char *salt, size_t slen,
                        uint32_t iterations, struct soom_buf *out)
{
    unsigned char dk[PBKDF2_MAX_DK];
    const EVP_MD *md = sha1 ? EVP_sha1() : EVP_sha256();
    int dklen = EVP_MD_get_size(md);
    PKCS5_PBKDF2_HMAC(n ? pw : "", (int)n, (const unsigned char *)salt, (int)slen, (int)iterations,
                      md, dklen, dk);
    soom_base64_encode(dk, (size_t)dklen, false, out);
    OPENSSL_cleanse(dk, sizeof dk);
}

int auth_pbkdf2_check(const struct soom_auth_password_params *p, bool sha1, const char *pw,
                      size_t n, const char *rest, size_t rlen, bool *must_update)
{
    const char *it, *salt;
    size_t itlen, slen;
    uint64_t iterations;
    if (!next_field(&rest, &rlen, &it, &itlen) || !next_field(&rest, &rlen, &salt, &slen))
        return SOOM_EINVAL;
    if (!auth_parse_uint(it, itlen, AUTH_PBKDF2_MAX_ITERATIONS, &iterations) || iterations == 0 ||
        !salt_ok(slen) || rlen == 0 || rlen > AUTH_HASH_MAX)
        return SOOM_EINVAL;
    struct soom_buf b;
    soom_buf_init(&b);
    pbkdf2_text(sha1, pw, n, salt, slen, (uint32_t)iterations, &b);
    bool ok = soom_auth_equal(b.data, b.len, rest, rlen);
    soom_buf_cleanup(&b);
    *must_update = iterations < p->pbkdf2_iterations || auth_salt_weak(slen);
    return ok ? SOOM_OK : SOOM_EAUTH;
}

int auth_pbkdf2_make(const struct soom_auth_password_params *p, bool sha1, const char *pw, size_t n,
                     struct soom_buf *out)
{
    if (p->pbkdf2_iterations == 0 || p->pbkdf2_iterations > AUTH_PBKDF2_MAX_ITERATIONS)
        return SOOM_EINVAL;
    char salt[AUTH_SALT_CHARS];
    auth_salt(salt);
    soom_buf_printf(out, "%s$%u$%.*s$", sha1 ? "pbkdf2_sha1" : "pbkdf2_sha256",
                    p->pbkdf2_iterations, AUTH_SALT_CHARS, salt);
    pbkdf2_text(sha1, pw, n, salt, AUTH_SALT_CHARS, p->pbkdf2_iterations, out);
    return SOOM_OK;
}

/* ---- scrypt -------------------------------------------------------------- */

struct scrypt_params {
    uint64_t n, r, p;
};

/* Bytes scrypt needs for (N, r, p), or 0 when beyond the limit or not a
 * valid choice (N a power of two above 1, r and p positive). */
static uint64_t scrypt_memory(const struct scrypt_params *s)
{
    const uint64_t limit = (uint64_t)AUTH_MAX_MEMORY_KIB * 1024;
    if (s->n < 2 || (s->n & (s->n - 1)) != 0 || s->r == 0 || s->p == 0)
        return 0;
    if (s->r > limit / 128 || s->n + 2 > limit / (128 * s->r) || s->p > limit / (128 * s->r))
        return 0;
    uint64_t need = 128 * s->r * (s->n + 2) + 128 * s->r * s->p;
    return need <= limit ? need : 0;
}

static bool scrypt_text(const char *pw, size_t n, const char *salt, size_t slen,
                        const struct scrypt_params *s, struct soom_buf *out)
{
    uint64_t mem = scrypt_memory(s);
    unsigned char dk[SCRYPT_DK];
    if (mem == 0 || EVP_PBE_scrypt(n ? pw : "", n, (const unsigned char *)salt, slen, s->n, s->r,
                                   s->p, mem + 4096, dk, sizeof dk) != 1)
        return false;
    soom_base64_encode(dk, sizeof dk, false, out);
    OPENSSL_cleanse(dk, sizeof dk);
    return true;
}

int auth_scrypt_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                      const char *rest, size_t rlen, bool *must_update)
{
    const char *nf, *salt, *rf, *pf;
    size_t nlen, slen, rflen, pflen;
    struct scrypt_params s;
    if (!next_field(&rest, &rlen, &nf, &nlen) || !next_field(&rest, &rlen, &salt, &slen) ||
        !next_field(&rest, &rlen, &rf, &rflen) || !next_field(&rest, &rlen, &pf, &pflen))
        return SOOM_EINVAL;
    if (!auth_parse_uint(nf, nlen, UINT32_MAX, &s.n) || !auth_parse_uint(rf, rflen, 1024, &s.r) ||
        !auth_parse_uint(pf, pflen, 1024, &s.p) || !salt_ok(slen) || scrypt_memory(&s) == 0 ||
        rlen == 0 || rlen > AUTH_HASH_MAX)
        return SOOM_EINVAL;
    struct soom_buf b;
    soom_buf_init(&b);
    bool done = scrypt_text(pw, n, salt, slen, &s, &b);
    bool ok = done && soom_auth_equal(b.data, b.len, rest, rlen);
    soom_buf_cleanup(&b);
    if (!done)
        return SOOM_EINVAL;
    *must_update = s.n < p->scrypt_work_factor || s.r < p->scrypt_block_size ||
                   s.p < p->scrypt_parallelism || auth_salt_weak(slen);
    return ok ? SOOM_OK : SOOM_EAUTH;
}

int auth_scrypt_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                     struct soom_buf *out)
{
    struct scrypt_params s = {p->scrypt_work_factor, p->scrypt_block_size, p->scrypt_parallelism};
    if (scrypt_memory(&s) == 0)
        return SOOM_EINVAL;
    char salt[AUTH_SALT_CHARS];
    auth_salt(salt);
    struct soom_buf hash;
    soom_buf_init(&hash);
    if (!scrypt_text(pw, n, salt, AUTH_SALT_CHARS, &s, &hash)) {
        soom_buf_cleanup(&hash);
        return SOOM_EINVAL;
    }
    soom_buf_printf(out, "scrypt$%u$%.*s$%u$%u$%s", p->scrypt_work_factor, AUTH_SALT_CHARS, salt,
                    p->scrypt_block_size, p->scrypt_parallelism, hash.data);
    soom_buf_cleanup(&hash);
    return SOOM_OK;
}
