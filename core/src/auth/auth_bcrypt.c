/*
 * Django's bcrypt and bcrypt_sha256 hashers on libcrypt (libxcrypt, part of
 * every Debian system), whose bcrypt is Openwall's crypt_blowfish. Django
 * stores "bcrypt$" or "bcrypt_sha256$" before the usual
 * "$2b$<cost>$<22 salt><31 hash>". bcrypt_sha256 hashes the hex digits of
 * the password's SHA-256, so long passwords are not truncated; plain bcrypt
 * reads the first 72 bytes only, as the Python bcrypt package Django uses
 * (which also reads $2a$ and $2y$ as $2b$, and refuses NUL bytes).
 */
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "alloc.h"
#include "auth_impl.h"
#include "soom/error.h"

#define SETTING_LEN 60 /* "$2b$12$" + 22 + 31 */
#define KEY_MAX 72     /* bytes of the password bcrypt reads */

static bool b64_char(char c)
{
    return c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

/* "$2[aby]$NN$" + 53 characters of bcrypt's alphabet; its cost in *cost. */
static bool setting_ok(const char *s, size_t n, unsigned *cost)
{
    if (n != SETTING_LEN || s[0] != '$' || s[1] != '2' || strchr("aby", s[2]) == NULL ||
        s[2] == '\0' || s[3] != '$' || s[6] != '$' || s[4] < '0' || s[4] > '3' || s[5] < '0' ||
        s[5] > '9')
        return false;
    *cost = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
    for (size_t i = 7; i < n; i++)
        if (!b64_char(s[i]))
            return false;
    return *cost >= 4 && *cost <= 31;
}

/* The key bcrypt is given: the password's first 72 bytes, or the 64 hex
 * digits of its SHA-256. False for a NUL byte in a plain password. */
static bool make_key(bool sha256, const char *pw, size_t n, char key[KEY_MAX + 1])
{
    if (sha256) {
        static const char HEX[] = "0123456789abcdef";
        unsigned char d[32];
        EVP_Digest(n ? pw : "", n, d, NULL, EVP_sha256(), NULL);
        for (size_t i = 0; i < 32; i++) {
            key[2 * i] = HEX[d[i] >> 4];
            key[2 * i + 1] = HEX[d[i] & 15];
        }
        key[64] = '\0';
        OPENSSL_cleanse(d, sizeof d);
        return true;
    }
    if (memchr(pw, '\0', n) != NULL)
        return false;
    size_t k = n < KEY_MAX ? n : KEY_MAX;
    memcpy(key, pw, k);
    key[k] = '\0';
    return true;
}

/* bcrypt of `key` with `setting` ("$2b$..."), written as a whole encoded
 * hash at `out` (SETTING_LEN + 1 bytes). */
static bool run_crypt(const char *key, const char *setting, char *out)
{
    struct crypt_data *data = xcalloc(1, sizeof *data);
    char *r = crypt_rn(key, setting, data, (int)sizeof *data);
    bool ok = r != NULL && r[0] == '$' && strlen(r) == SETTING_LEN;
    if (ok)
        memcpy(out, r, SETTING_LEN + 1);
    OPENSSL_cleanse(data, sizeof *data);
    free(data);
    return ok;
}

int auth_bcrypt_check(const struct soom_auth_password_params *p, bool sha256, const char *pw,
                      size_t n, const char *rest, size_t rlen, bool *must_update)
{
    unsigned cost;
    if (!setting_ok(rest, rlen, &cost))
        return SOOM_EINVAL;
    char key[KEY_MAX + 1];
    if (!make_key(sha256, pw, n, key))
        return SOOM_EAUTH; /* no password with a NUL byte was ever hashed */
    char setting[SETTING_LEN + 1], got[SETTING_LEN + 1];
    memcpy(setting, rest, SETTING_LEN);
    setting[SETTING_LEN] = '\0';
    setting[2] = 'b';
    bool done = run_crypt(key, setting, got);
    OPENSSL_cleanse(key, sizeof key);
    if (!done)
        return SOOM_EINVAL;
    /* the prefix is the stored one, the rest what bcrypt computed */
    bool ok = CRYPTO_memcmp(got + 4, rest + 4, SETTING_LEN - 4) == 0;
    *must_update = cost < p->bcrypt_rounds;
    return ok ? SOOM_OK : SOOM_EAUTH;
}

int auth_bcrypt_make(const struct soom_auth_password_params *p, bool sha256, const char *pw,
                     size_t n, struct soom_buf *out)
{
    if (p->bcrypt_rounds < 4 || p->bcrypt_rounds > 31)
        return SOOM_EINVAL;
    char key[KEY_MAX + 1];
    if (!make_key(sha256, pw, n, key))
        return SOOM_EINVAL;
    unsigned char rnd[16];
    auth_random(rnd, sizeof rnd);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE], got[SETTING_LEN + 1];
    bool done = crypt_gensalt_rn("$2b$", p->bcrypt_rounds, (const char *)rnd, sizeof rnd, setting,
                                 sizeof setting) != NULL &&
                run_crypt(key, setting, got);
    OPENSSL_cleanse(key, sizeof key);
    if (!done)
        return SOOM_EINVAL;
    soom_buf_printf(out, "%s$%s", sha256 ? "bcrypt_sha256" : "bcrypt", got);
    return SOOM_OK;
}
