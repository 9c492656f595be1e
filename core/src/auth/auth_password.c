/*
 * Django's password hashes (see auth_password.h): the defaults, reading the
 * algorithm name and handing the rest to its hasher, the work an unusable
 * or missing hash still costs (the helpers every hasher shares are in
 * auth_util.c). Stateless; every buffer is the caller's or lives on the
 * stack for one call.
 */
#include "auth_password.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_impl.h"
#include "soom/base64.h"
#include "soom/error.h"

void soom_auth_password_params_init(struct soom_auth_password_params *p)
{
    *p = (struct soom_auth_password_params){
        .hasher = SOOM_AUTH_PBKDF2_SHA256,
        .pbkdf2_iterations = SOOM_AUTH_PBKDF2_ITERATIONS,
        .argon2_time_cost = 2,
        .argon2_memory_cost = 102400,
        .argon2_parallelism = 8,
        .bcrypt_rounds = 12,
        .scrypt_work_factor = 1u << 14,
        .scrypt_block_size = 8,
        .scrypt_parallelism = 1,
        .equalize_time = true,
    };
}

static const char *const NAMES[] = {
    [SOOM_AUTH_PBKDF2_SHA256] = "pbkdf2_sha256",
    [SOOM_AUTH_PBKDF2_SHA1] = "pbkdf2_sha1",
    [SOOM_AUTH_ARGON2] = "argon2",
    [SOOM_AUTH_BCRYPT_SHA256] = "bcrypt_sha256",
    [SOOM_AUTH_BCRYPT] = "bcrypt",
    [SOOM_AUTH_SCRYPT] = "scrypt",
};
#define NHASHERS (sizeof NAMES / sizeof NAMES[0])

const char *soom_auth_hasher_name(enum soom_auth_hasher h)
{
    return (size_t)h < NHASHERS ? NAMES[h] : "unknown";
}

static bool hasher_lookup(const char *p, size_t n, enum soom_auth_hasher *out)
{
    for (size_t i = 0; i < NHASHERS; i++) {
        if (strlen(NAMES[i]) == n && memcmp(NAMES[i], p, n) == 0) {
            *out = (enum soom_auth_hasher)i;
            return true;
        }
    }
    return false;
}

int soom_auth_hasher_parse(const char *name, enum soom_auth_hasher *out)
{
    return name != NULL && hasher_lookup(name, strlen(name), out) ? SOOM_OK : SOOM_EINVAL;
}

int soom_auth_password_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                            struct soom_buf *out)
{
    if (n > SOOM_AUTH_PASSWORD_MAX)
        return SOOM_EINVAL;
    switch (p->hasher) {
    case SOOM_AUTH_PBKDF2_SHA256: return auth_pbkdf2_make(p, false, pw, n, out);
    case SOOM_AUTH_PBKDF2_SHA1: return auth_pbkdf2_make(p, true, pw, n, out);
    case SOOM_AUTH_ARGON2: return auth_argon2_make(p, pw, n, out);
    case SOOM_AUTH_BCRYPT_SHA256: return auth_bcrypt_make(p, true, pw, n, out);
    case SOOM_AUTH_BCRYPT: return auth_bcrypt_make(p, false, pw, n, out);
    case SOOM_AUTH_SCRYPT: return auth_scrypt_make(p, pw, n, out);
    }
    return SOOM_EINVAL;
}

/* Django's fake_runtime: when there is nothing to check against, hash the
 * password once anyway, so that a missing user, an unusable password and a
 * wrong password take the same time. */
static int equalize(const struct soom_auth_password_params *p, const char *pw, size_t n, int rc)
{
    if (p->equalize_time) {
        struct soom_buf b;
        soom_buf_init(&b);
        soom_auth_password_make(p, pw, n > SOOM_AUTH_PASSWORD_MAX ? 0 : n, &b);
        soom_buf_cleanup(&b);
    }
    return rc;
}

static int check_with(const struct soom_auth_password_params *p, enum soom_auth_hasher h,
                      const char *pw, size_t n, const char *rest, size_t rlen, bool *update)
{
    switch (h) {
    case SOOM_AUTH_PBKDF2_SHA256: return auth_pbkdf2_check(p, false, pw, n, rest, rlen, update);
    case SOOM_AUTH_PBKDF2_SHA1: return auth_pbkdf2_check(p, true, pw, n, rest, rlen, update);
    case SOOM_AUTH_ARGON2: return auth_argon2_check(p, pw, n, rest, rlen, update);
    case SOOM_AUTH_BCRYPT_SHA256: return auth_bcrypt_check(p, true, pw, n, rest, rlen, update);
    case SOOM_AUTH_BCRYPT: return auth_bcrypt_check(p, false, pw, n, rest, rlen, update);
    case SOOM_AUTH_SCRYPT: return auth_scrypt_check(p, pw, n, rest, rlen, update);
    }
    return SOOM_EINVAL;
}

int soom_auth_password_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                             const char *encoded, size_t elen, bool *must_update)
{
    bool update = false;
    if (encoded == NULL || elen == 0 || encoded[0] == '!')
        return equalize(p, pw, n, SOOM_EAUTH);
    size_t dollar = auth_find(encoded, elen, '$');
    enum soom_auth_hasher h;
    if (dollar == elen || !hasher_lookup(encoded, dollar, &h))
        return equalize(p, pw, n, SOOM_EINVAL);
    if (n > SOOM_AUTH_PASSWORD_MAX)
        return equalize(p, pw, n, SOOM_EAUTH);
    int rc = check_with(p, h, pw, n, encoded + dollar + 1, elen - dollar - 1, &update);
    if (rc == SOOM_EINVAL)
        return equalize(p, pw, n, rc);
    if (rc == SOOM_OK && must_update != NULL)
        *must_update = update || h != p->hasher;
    return rc;
}

/* ---- shared helpers ------------------------------------------------------ */
