/*
 * Private to core/src/auth: the helpers the hashers share and the entry
 * points of each hasher, called by auth_password.c once it has read the
 * algorithm name. Each check gets the text after "<algorithm>$" and returns
 * what soom_auth_password_check() returns; each make appends a whole
 * encoded hash. Third-party headers stay in the files that need them:
 * libcrypto's throughout, libargon2's in auth_argon2.c only, libcrypt's in
 * auth_bcrypt.c only, and cJSON's (trees walked in C, on the hot path of
 * JWT verification) in auth_jwt.c and auth_jwt_keys.c only.
 */
#ifndef SOOM_AUTH_IMPL_H
#define SOOM_AUTH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_password.h"
#include "soom/buf.h"

/* Characters of a new salt: Django's 22 of [a-zA-Z0-9], 128 bits. */
#define AUTH_SALT_CHARS 22

/* Fills `p` with `n` random bytes from the system's generator; aborts the
 * process when there is none (like running out of memory, nothing a caller
 * could recover from). */
void auth_random(void *p, size_t n);

/* Writes AUTH_SALT_CHARS random alphanumerics at `out` (no NUL). */
void auth_salt(char out[AUTH_SALT_CHARS]);

/* Whether a salt of `n` alphanumerics has less entropy than Django's 128
 * bits (Django's must_update_salt). */
bool auth_salt_weak(size_t n);

/* Reads the decimal (p, n): digits only, no leading zero, at most `max`. */
bool auth_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out);

/* The position of `c` in (p, n), or n. */
size_t auth_find(const char *p, size_t n, char c);

/* The calling thread's digest context (valid until the thread ends; reset
 * by each EVP_DigestInit_ex or EVP_MD_CTX_copy_ex into it), and SHA-256
 * fetched once. (evp_md_ctx_st and evp_md_st are OpenSSL's.) */
struct evp_md_ctx_st *auth_thread_ctx(void);
const struct evp_md_st *auth_sha256_md(void);

/* Appends standard base64 without padding (argon2's encoding). */
void auth_b64_nopad(const unsigned char *p, size_t n, struct soom_buf *out);

/* pbkdf2_sha256 / pbkdf2_sha1 (auth_kdf.c). */
int auth_pbkdf2_check(const struct soom_auth_password_params *p, bool sha1, const char *pw,
                      size_t n, const char *rest, size_t rlen, bool *must_update);
int auth_pbkdf2_make(const struct soom_auth_password_params *p, bool sha1, const char *pw, size_t n,
                     struct soom_buf *out);

/* scrypt (auth_kdf.c). */
int auth_scrypt_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                      const char *rest, size_t rlen, bool *must_update);
int auth_scrypt_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                     struct soom_buf *out);

/* argon2 (auth_argon2.c). */
int auth_argon2_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                      const char *rest, size_t rlen, bool *must_update);
int auth_argon2_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                     struct soom_buf *out);

/* bcrypt / bcrypt_sha256 (auth_bcrypt.c). */
int auth_bcrypt_check(const struct soom_auth_password_params *p, bool sha256, const char *pw,
                      size_t n, const char *rest, size_t rlen, bool *must_update);
int auth_bcrypt_make(const struct soom_auth_password_params *p, bool sha256, const char *pw,
                     size_t n, struct soom_buf *out);

/* Limits on what a stored hash may ask for: beyond them it is refused as
 * malformed rather than tying a thread up (or exhausting memory) for it. */
#define AUTH_PBKDF2_MAX_ITERATIONS 100000000u
#define AUTH_MAX_MEMORY_KIB (1024u * 1024u) /* argon2 and scrypt: 1 GiB */
#define AUTH_ARGON2_MAX_TIME 1000u
#define AUTH_ARGON2_MAX_LANES 64u
#define AUTH_SALT_MAX 256u
#define AUTH_HASH_MAX 256u /* decoded hash bytes */

#endif
