/*
 * Django's password hashes: checking a password against a stored hash and
 * making new hashes, byte-compatible with django.contrib.auth.hashers.
 *
 * Formats (what Django stores in auth_user.password):
 *   pbkdf2_sha256$<iterations>$<salt>$<base64 hash>
 *   pbkdf2_sha1$<iterations>$<salt>$<base64 hash>
 *   argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<b64 salt>$<b64 hash>
 *     (also argon2i and argon2d, and the older form without v=)
 *   bcrypt_sha256$$2b$<cost>$<22 salt><31 hash>   (bcrypt of the hex SHA-256)
 *   bcrypt$$2b$<cost>$<22 salt><31 hash>          ($2a$ and $2y$ read too)
 *   scrypt$<N>$<salt>$<r>$<p>$<base64 hash>       (Django 4.0's form)
 *   !<anything>                                   an unusable password
 *
 * The parameters are a small value object the caller owns
 * (soom_auth_password_params_init fills the defaults). They say what new
 * hashes use and, for a check, the bar a stored hash must reach not to be
 * reported as must_update. Nothing here keeps state or allocates beyond the
 * call; every function is safe to call from any thread.
 *
 * A check never writes anything: it reports must_update and leaves the
 * rehash to the caller, since a table shared with a Django deployment must
 * not be rewritten behind its back.
 */
#ifndef SOOM_AUTH_PASSWORD_H
#define SOOM_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stdint.h>

#include "soom/buf.h"

enum soom_auth_hasher {
    SOOM_AUTH_PBKDF2_SHA256,
    SOOM_AUTH_PBKDF2_SHA1,
    SOOM_AUTH_ARGON2,
    SOOM_AUTH_BCRYPT_SHA256,
    SOOM_AUTH_BCRYPT,
    SOOM_AUTH_SCRYPT,
};

/* Longest password checked or hashed, in bytes (Django's old limit): a
 * longer one never matches, so a client cannot make a check expensive. */
#define SOOM_AUTH_PASSWORD_MAX 4096

/* Django 5.2's iteration count; Django 3.2 (Debian 12) uses 260000. */
#define SOOM_AUTH_PBKDF2_ITERATIONS 1000000

struct soom_auth_password_params {
    enum soom_auth_hasher hasher; /* what new hashes use; a stored hash of
                                     another algorithm is must_update */
    uint32_t pbkdf2_iterations;   /* SOOM_AUTH_PBKDF2_ITERATIONS */
    bool argon2i;                 /* new argon2 hashes as argon2i (Django
                                     before 3.2) instead of argon2id */
    uint32_t argon2_time_cost;    /* 2 */
    uint32_t argon2_memory_cost;  /* 102400 KiB */
    uint32_t argon2_parallelism;  /* 8 */
    uint32_t bcrypt_rounds;       /* 12 (log2 of the cost), 4..31 */
    uint32_t scrypt_work_factor;  /* N = 16384, a power of two */
    uint32_t scrypt_block_size;   /* r = 8 */
    uint32_t scrypt_parallelism;  /* p = 1 */
    bool equalize_time;           /* an unusable, missing or malformed hash
                                     costs a hash of the default kind, as in
                                     Django, so it cannot be told from a wrong
                                     password by timing (true) */
};

/* Fills Django's current defaults: pbkdf2_sha256 at
 * SOOM_AUTH_PBKDF2_ITERATIONS, argon2id t=2 m=102400 p=8, bcrypt 12 rounds,
 * scrypt N=2^14 r=8 p=1. */
void soom_auth_password_params_init(struct soom_auth_password_params *p);

/* The hasher named `name` (Django's algorithm names: "pbkdf2_sha256",
 * "pbkdf2_sha1", "argon2", "bcrypt_sha256", "bcrypt", "scrypt"). Returns
 * SOOM_OK or SOOM_EINVAL for an unknown name. */
int soom_auth_hasher_parse(const char *name, enum soom_auth_hasher *out);

/* Django's name of a hasher; a static string. */
const char *soom_auth_hasher_name(enum soom_auth_hasher h);

/* Appends a new hash of (pw, n) made with p->hasher and its parameters and
 * a fresh random salt. Returns SOOM_OK, or SOOM_EINVAL when a parameter is
 * out of range, the password is longer than SOOM_AUTH_PASSWORD_MAX or, for
 * plain bcrypt, holds a NUL byte; nothing is appended then. */
int soom_auth_password_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                            struct soom_buf *out);

/* Checks (pw, n) against the stored hash (encoded, elen), comparing in
 * constant time. Returns:
 *   SOOM_OK       the password matches; *must_update (when not NULL) says
 *                 whether the hash is of another algorithm than p->hasher,
 *                 or its work parameters or salt are below p's;
 *   SOOM_EAUTH    it does not, the hash is unusable ("!..."), or there is
 *                 no hash (encoded NULL or elen 0: call it so for a user
 *                 that does not exist, to spend the same time);
 *   SOOM_EINVAL   the hash is malformed, of an unknown algorithm, or asks
 *                 for more work or memory than the limits in docs/AUTH.md.
 * Only SOOM_OK means the password is right. */
int soom_auth_password_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                             const char *encoded, size_t elen, bool *must_update);

#endif
