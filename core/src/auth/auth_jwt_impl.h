/*
 * Private to the JWT files: the configuration and its keys, the algorithm
 * table, and the signature primitives auth_jwt_keys.c provides to the
 * verifier (auth_jwt.c) and the signer (auth_jwt_sign.c). The
 * configuration owns every key; a key owns its OpenSSL objects. Once keys
 * are added nothing here is written again, so readers need no lock.
 */
#ifndef SOOM_AUTH_JWT_IMPL_H
#define SOOM_AUTH_JWT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth_jwt.h"

/* Key families: what decides which algorithms a key verifies. */
enum jwt_family { JWT_OCT, JWT_RSA, JWT_EC, JWT_OKP };

struct jwt_alg_info {
    const char *name;
    enum jwt_family family;
    int md;         /* 0 sha256, 1 sha384, 2 sha512, -1 none (EdDSA) */
    size_t ec_half; /* bytes of r and of s in an ES signature */
};

extern const struct jwt_alg_info JWT_ALGS[SOOM_AUTH_JWT_NALGS];

#define JWT_NMD 3
#define JWT_BIT(a) (1u << (a))

/* evp_md_ctx_st and evp_pkey_st are OpenSSL's; only pointers here. */
struct evp_md_ctx_st;
struct evp_pkey_st;
struct evp_md_st;

struct jwt_key {
    char *kid; /* owned; NULL: none */
    enum jwt_family family;
    unsigned algs; /* JWT_BIT(alg) of every algorithm it verifies */
    bool can_sign;
    /* oct: each digest's state after the padded key, copied per token */
    struct evp_md_ctx_st *inner[JWT_NMD], *outer[JWT_NMD];
    struct evp_pkey_st *pkey; /* RSA, EC, OKP */
};

/* A header segment as PyJWT (and this signer) writes it for a key and an
 * algorithm: {"alg":...,"kid":...,"typ":"JWT"}, base64url'ed. A token
 * whose header is one of these is read without decoding or parsing it. */
struct jwt_header {
    char *seg; /* owned */
    size_t len;
    int alg;
    const char *kid; /* the key's */
};

struct soom_auth_jwt {
    unsigned algorithms; /* accepted: JWT_BIT set */
    int sign_alg;        /* -1: the signing key's first */
    char *sign_kid, *issuer, *audience;
    char *user_id_claim, *token_type_claim, *jti_claim;
    int64_t leeway;
    size_t max_length;
    bool require_exp;
    struct jwt_key **keys;
    size_t nkeys;
    struct jwt_header *headers;
    size_t nheaders;
    struct evp_md_st *md[JWT_NMD]; /* fetched once */
};

/* Frees every key of the configuration (auth_jwt_keys.c). */
void jwt_keys_free(struct soom_auth_jwt *j);

/* Adds the header segments tokens signed with `k` usually carry
 * (auth_jwt.c). */
void jwt_headers_add(struct soom_auth_jwt *j, const struct jwt_key *k);

/* The algorithm named (p, n), or -1. */
int jwt_alg_lookup(const char *p, size_t n);

/* The key with this kid, or NULL. */
const struct jwt_key *jwt_key_by_kid(const struct soom_auth_jwt *j, const char *kid);

/* Whether `sig` is `key`'s signature of (msg, n) under `alg`. */
bool jwt_key_verify(const struct soom_auth_jwt *j, const struct jwt_key *key,
                    enum soom_auth_jwt_alg alg, const unsigned char *msg, size_t n,
                    const unsigned char *sig, size_t siglen);

/* Signs (msg, n) with `key` under `alg`, writing at most JWT_SIG_MAX bytes
 * at `sig`. */
#define JWT_SIG_MAX 1024 /* RSA up to 8192 bits */
bool jwt_key_sign(const struct soom_auth_jwt *j, const struct jwt_key *key,
                  enum soom_auth_jwt_alg alg, const unsigned char *msg, size_t n,
                  unsigned char *sig, size_t *siglen);

/* A new jti: a uuid4 in hex, as simplejwt's uuid4().hex (auth_jwt_sign.c). */
void jwt_new_jti(char out[SOOM_AUTH_JWT_JTI_LEN + 1]);

/* The key and algorithm tokens are signed with, or NULL. */
const struct jwt_key *jwt_signing_key(const struct soom_auth_jwt *j, enum soom_auth_jwt_alg *alg);

#endif
