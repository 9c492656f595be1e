/*
 * Token keys in the shape of Django REST framework's authtoken_token: 40
 * lowercase hex characters (20 random bytes), generated here; an app that
 * stores only a digest of each key keeps the hex SHA-256 of the key text.
 * And the constant-time comparison every credential check uses. Stateless
 * functions over caller-owned memory, safe from any thread.
 */
#ifndef SOOM_AUTH_KEY_H
#define SOOM_AUTH_KEY_H

#include <stdbool.h>
#include <stddef.h>

#define SOOM_AUTH_KEY_LEN 40    /* hex characters of a key */
#define SOOM_AUTH_KEY_SHA256 64 /* hex characters of a key's digest */

/* Writes a new random key at `out`: SOOM_AUTH_KEY_LEN hex digits and a NUL,
 * as DRF's Token.generate_key() makes them. */
void soom_auth_key_generate(char out[SOOM_AUTH_KEY_LEN + 1]);

/* Writes the lowercase hex SHA-256 of the key text (p, n) at `out`
 * (SOOM_AUTH_KEY_SHA256 digits and a NUL): what to store, and what to look
 * up, when only digests of keys are kept. */
void soom_auth_key_sha256(const char *p, size_t n, char out[SOOM_AUTH_KEY_SHA256 + 1]);

/* Fills (p, n) with random bytes from the system's generator (aborts the
 * process when there is none). */
void soom_auth_random(void *p, size_t n);

/* Writes the SHA-256 of the bytes of (a, an) followed by (b, bn) at `out`
 * (32 bytes): keys of tables that must not hold credentials themselves. */
void soom_auth_sha256_parts(const void *a, size_t an, const void *b, size_t bn,
                            unsigned char out[32]);

/* Whether (p, n) has the shape of a DRF key: 1 to 40 characters, none of
 * them a space or a control character (DRF keys made by hand may be
 * shorter than 40; anything else cannot be a key and needs no lookup). */
bool soom_auth_key_valid(const char *p, size_t n);

/* Whether (a, an) and (b, bn) are equal, in time that depends on the
 * lengths only, never on where the bytes differ. */
bool soom_auth_equal(const void *a, size_t an, const void *b, size_t bn);

#endif
