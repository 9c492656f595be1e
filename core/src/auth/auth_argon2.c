/*
 * Django's argon2 hasher on Debian's libargon2. Django stores argon2-cffi's
 * encoding behind its own name:
 *   argon2$argon2id$v=19$m=102400,t=2,p=8$<salt>$<hash>
 * with salt and hash in standard base64 without padding; the salt is the
 * 22 alphanumerics Django made, encoded once more. argon2i and argon2d
 * hashes and the form without "v=" (version 1.0) are read as
 * argon2-cffi reads them. The hash is recomputed with the stored
 * parameters and compared in constant time.
 */
#include <argon2.h>
#include <openssl/crypto.h>
#include <string.h>

#include "auth_impl.h"
#include "soom/base64.h"
#include "soom/error.h"

#define HASH_LEN 16 /* argon2-cffi's DEFAULT_HASH_LENGTH, Django's choice */

struct argon2_hash {
    argon2_type type;
    uint32_t version, m, t, p;
    unsigned char salt[AUTH_SALT_MAX], hash[AUTH_HASH_MAX];
    size_t saltlen, hashlen;
};

/* Consumes `lit` at the front of (*p, *n). */
static bool eat(const char **p, size_t *n, const char *lit)
{
    size_t l = strlen(lit);
    if (*n < l || memcmp(*p, lit, l) != 0)
        return false;
    *p += l;
    *n -= l;
    return true;
}

/* Consumes a decimal up to (and with) the terminator `end`. */
static bool eat_number(const char **p, size_t *n, char end, uint64_t max, uint32_t *out)
{
    size_t d = auth_find(*p, *n, end);
    uint64_t v;
    if (d == *n || !auth_parse_uint(*p, d, max, &v))
        return false;
    *out = (uint32_t)v;
    *p += d + 1;
    *n -= d + 1;
    return true;
}

/* Standard base64 without padding, as libargon2 reads it: canonical only
 * (no padding, no other alphabet, no stray bits), checked by encoding the
 * decoded bytes again. */
static bool eat_b64(const char *p, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
    /* decoding needs n * 3 / 4 + 1 bytes of room */
    if (n == 0 || n * 3 / 4 + 1 > cap || !soom_base64_decode(p, n, false, out, outlen))
        return false;
    struct soom_buf b;
    soom_buf_init(&b);
    auth_b64_nopad(out, *outlen, &b);
    bool same = b.len == n && memcmp(b.data, p, n) == 0;
    soom_buf_cleanup(&b);
    return same;
}

static bool parse_type(const char **p, size_t *n, argon2_type *type)
{
    if (eat(p, n, "argon2id$"))
        *type = Argon2_id;
    else if (eat(p, n, "argon2i$"))
        *type = Argon2_i;
    else if (eat(p, n, "argon2d$"))
        *type = Argon2_d;
    else
        return false;
    return true;
}

static bool parse(const char *p, size_t n, struct argon2_hash *h)
{
    if (!parse_type(&p, &n, &h->type))
        return false;
    h->version = ARGON2_VERSION_10;
    if (eat(&p, &n, "v=")) {
        if (!eat_number(&p, &n, '$', 255, &h->version))
            return false;
        if (h->version != ARGON2_VERSION_10 && h->version != ARGON2_VERSION_13)
            return false;
    }
    if (!eat(&p, &n, "m=") || !eat_number(&p, &n, ',', AUTH_MAX_MEMORY_KIB, &h->m) ||
        !eat(&p, &n, "t=") || !eat_number(&p, &n, ',', AUTH_ARGON2_MAX_TIME, &h->t) ||
        !eat(&p, &n, "p=") || !eat_number(&p, &n, '$', AUTH_ARGON2_MAX_LANES, &h->p))
        return false;
    if (h->t < 1 || h->p < 1 || h->m < 8 * h->p)
        return false;
    size_t d = auth_find(p, n, '$');
    if (d == n || !eat_b64(p, d, h->salt, sizeof h->salt, &h->saltlen) ||
        !eat_b64(p + d + 1, n - d - 1, h->hash, sizeof h->hash, &h->hashlen))
        return false;
    return h->saltlen >= ARGON2_MIN_SALT_LENGTH && h->hashlen >= ARGON2_MIN_OUTLEN;
}

static bool compute(const struct argon2_hash *h, const char *pw, size_t n, unsigned char *out,
                    size_t outlen)
{
    argon2_context c = {
        .out = out,
        .outlen = (uint32_t)outlen,
        .pwd = (uint8_t *)(uintptr_t)(n ? pw : ""),
        .pwdlen = (uint32_t)n,
        .salt = (uint8_t *)(uintptr_t)h->salt,
        .saltlen = (uint32_t)h->saltlen,
        .t_cost = h->t,
        .m_cost = h->m,
        .lanes = h->p,
        .threads = h->p,
        .version = h->version,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    return argon2_ctx(&c, h->type) == ARGON2_OK;
}

int auth_argon2_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                      const char *rest, size_t rlen, bool *must_update)
{
    struct argon2_hash h;
    unsigned char got[AUTH_HASH_MAX];
    if (!parse(rest, rlen, &h) || !compute(&h, pw, n, got, h.hashlen))
        return SOOM_EINVAL;
    bool ok = CRYPTO_memcmp(got, h.hash, h.hashlen) == 0;
    OPENSSL_cleanse(got, sizeof got);
    argon2_type want = p->argon2i ? Argon2_i : Argon2_id;
    *must_update = h.type != want || h.version != ARGON2_VERSION_13 || h.t < p->argon2_time_cost ||
                   h.m < p->argon2_memory_cost || h.p < p->argon2_parallelism ||
                   h.hashlen < HASH_LEN || auth_salt_weak(h.saltlen);
    return ok ? SOOM_OK : SOOM_EAUTH;
}

int auth_argon2_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                     struct soom_buf *out)
{
    struct argon2_hash h = {
        .type = p->argon2i ? Argon2_i : Argon2_id,
        .version = ARGON2_VERSION_13,
        .m = p->argon2_memory_cost,
        .t = p->argon2_time_cost,
        .p = p->argon2_parallelism,
        .saltlen = AUTH_SALT_CHARS,
        .hashlen = HASH_LEN,
    };
    if (h.t < 1 || h.t > AUTH_ARGON2_MAX_TIME || h.p < 1 || h.p > AUTH_ARGON2_MAX_LANES ||
        h.m < 8 * h.p || h.m > AUTH_MAX_MEMORY_KIB)
        return SOOM_EINVAL;
    auth_salt((char *)h.salt);
    if (!compute(&h, pw, n, h.hash, h.hashlen))
        return SOOM_EINVAL;
    soom_buf_printf(out, "argon2$%s$v=19$m=%u,t=%u,p=%u$",
                    h.type == Argon2_i ? "argon2i" : "argon2id", h.m, h.t, h.p);
    auth_b64_nopad(h.salt, h.saltlen, out);
    soom_buf_putc(out, '$');
    auth_b64_nopad(h.hash, h.hashlen, out);
    return SOOM_OK;
}
