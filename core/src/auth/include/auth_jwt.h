/*
 * JSON Web Tokens as djangorestframework-simplejwt makes and reads them:
 * compact JWS (RFC 7515) signed with HS256/384/512 (a secret), RS256/384/512
 * (RSA), ES256/384/512 (ECDSA on P-256, P-384, P-521) or EdDSA (Ed25519,
 * Ed448), carrying simplejwt's claims (token_type, exp, iat, jti and the
 * user id).
 *
 * Lifecycle: a configuration (struct soom_auth_jwt) is made once with
 * soom_auth_jwt_new(), given its keys (secrets, PEM keys, JWKS documents),
 * then shared read-only: soom_auth_jwt_verify(), _sign() and _issue() take
 * it const and may run on any number of threads at once. Keys are parsed
 * and HMAC key states computed when they are added, never per token.
 * soom_auth_jwt_free() releases it (accepts NULL).
 *
 * The key decides the algorithm, never the token: a secret verifies only
 * HS*, an RSA key only RS*, an EC key only the ES* of its curve, an EdDSA
 * key only EdDSA, so a token cannot pick an algorithm its key was not made
 * for (an HS256 token "signed" with an RSA public key as the secret finds no
 * key). "alg": "none" is always refused, and so is any "crit" header.
 */
#ifndef SOOM_AUTH_JWT_H
#define SOOM_AUTH_JWT_H

#include <stdbool.h>
#include <stdint.h>

#include "soom/buf.h"
#include "soom/json.h"

struct soom_auth_jwt;

enum soom_auth_jwt_alg {
    SOOM_AUTH_JWT_HS256,
    SOOM_AUTH_JWT_HS384,
    SOOM_AUTH_JWT_HS512,
    SOOM_AUTH_JWT_RS256,
    SOOM_AUTH_JWT_RS384,
    SOOM_AUTH_JWT_RS512,
    SOOM_AUTH_JWT_ES256,
    SOOM_AUTH_JWT_ES384,
    SOOM_AUTH_JWT_ES512,
    SOOM_AUTH_JWT_EDDSA,
    SOOM_AUTH_JWT_NALGS
};

/* Why a token was refused: XX(name, code, message). `code` is a stable
 * snake_case word (for problem types and logs), `message` a sentence. */
#define SOOM_AUTH_JWT_REASONS(XX)                                                                  \
    XX(NONE, "valid", "the token is valid")                                                        \
    XX(TOO_LONG, "too_long", "the token is too long")                                              \
    XX(MALFORMED, "malformed", "the token is not three base64url segments")                        \
    XX(BAD_HEADER, "bad_header", "the token's header is not a JSON object with an alg")            \
    XX(UNSIGNED, "unsigned", "unsigned tokens (alg none) are not accepted")                        \
    XX(BAD_ALG, "bad_algorithm", "the token's algorithm is unknown or not allowed")                \
    XX(CRIT, "critical_header", "the token has critical header parameters")                        \
    XX(UNKNOWN_KID, "unknown_kid", "no key has the token's kid")                                   \
    XX(NO_KEY, "no_key", "no key may verify the token's algorithm")                                \
    XX(BAD_SIGNATURE, "bad_signature", "the token's signature does not verify")                    \
    XX(BAD_CLAIMS, "bad_claims", "the token's claims are not a JSON object")                       \
    XX(BAD_TIME, "bad_time_claim", "exp, nbf or iat is not a number")                              \
    XX(NO_EXP, "no_exp", "the token has no exp claim")                                             \
    XX(EXPIRED, "expired", "the token has expired")                                                \
    XX(NOT_YET_VALID, "not_yet_valid", "the token is not valid yet (nbf)")                         \
    XX(ISSUED_IN_FUTURE, "issued_in_future", "the token was issued in the future (iat)")           \
    XX(BAD_ISSUER, "bad_issuer", "the token's issuer is wrong or missing")                         \
    XX(BAD_AUDIENCE, "bad_audience", "the token's audience is wrong or missing")                   \
    XX(WRONG_TYPE, "wrong_token_type", "the token has the wrong or no token type")                 \
    XX(NO_USER, "no_user_id", "the token has no usable user id")

enum soom_auth_jwt_reason {
#define SOOM_AUTH_JWT_REASON_ENUM(name, code, msg) SOOM_AUTH_JWT_##name,
    SOOM_AUTH_JWT_REASONS(SOOM_AUTH_JWT_REASON_ENUM)
#undef SOOM_AUTH_JWT_REASON_ENUM
};

/* The stable code and the message of a reason; static strings. */
const char *soom_auth_jwt_reason_code(enum soom_auth_jwt_reason r);
const char *soom_auth_jwt_reason_message(enum soom_auth_jwt_reason r);

/* An algorithm's JOSE name ("HS256", ..., "EdDSA"); a static string. */
const char *soom_auth_jwt_alg_name(enum soom_auth_jwt_alg a);

/* A configuration's options; the strings are copied by soom_auth_jwt_new(). */
struct soom_auth_jwt_options {
    const char *algorithms;       /* accepted, comma-separated ("HS256,RS256");
                                     NULL: every algorithm the keys allow */
    const char *sign_algorithm;   /* NULL: the signing key's first algorithm
                                     (HS256, RS256, ES256/384/512, EdDSA) */
    const char *sign_kid;         /* the signing key; NULL: the first key
                                     that can sign (a secret, a private PEM) */
    const char *issuer;           /* NULL: iss neither checked nor issued */
    const char *audience;         /* NULL: aud neither checked nor issued */
    int64_t leeway;               /* seconds of clock skew allowed (0) */
    const char *user_id_claim;    /* "user_id" */
    const char *token_type_claim; /* "token_type" */
    const char *jti_claim;        /* "jti" */
    size_t max_length;            /* longest token read, in bytes (8192) */
    bool require_exp;             /* a token without exp is refused (true,
                                     as simplejwt does) */
};

/* Fills the defaults (simplejwt's claim names, no issuer or audience). */
void soom_auth_jwt_options_init(struct soom_auth_jwt_options *o);

/* A new configuration without keys, in *out (owned by the caller, freed
 * with soom_auth_jwt_free). Returns SOOM_OK, or SOOM_ECONFIG with the
 * reason in err (an unknown algorithm name, an empty claim name). */
int soom_auth_jwt_new(const struct soom_auth_jwt_options *o, struct soom_auth_jwt **out, char *err,
                      size_t errlen);

/* Frees a configuration and its keys. Accepts NULL. */
void soom_auth_jwt_free(struct soom_auth_jwt *j);

/* Adds an HMAC secret (HS256/384/512), under `kid` (NULL: none). Returns
 * SOOM_OK, or SOOM_ECONFIG with the reason in err: an empty secret, a
 * secret that is a PEM key or certificate (the algorithm-confusion trap),
 * a kid already taken. */
int soom_auth_jwt_add_secret(struct soom_auth_jwt *j, const char *kid, const char *secret, size_t n,
                             char *err, size_t errlen);

/* Adds a PEM key under `kid` (NULL: none): a public key (SubjectPublicKey-
 * Info), a certificate, or a private key (PKCS#8 or traditional, not
 * encrypted), which can also sign. RSA keys need 2048 bits or more; EC
 * keys are P-256, P-384 or P-521; EdDSA keys Ed25519 or Ed448. Returns
 * SOOM_OK or SOOM_ECONFIG with the reason in err. */
int soom_auth_jwt_add_pem(struct soom_auth_jwt *j, const char *kid, const char *pem, size_t n,
                          char *err, size_t errlen);

/* Adds the keys of a JWKS document ({"keys": [...]}, RFC 7517): kty RSA,
 * EC, OKP and oct; a key's "alg", when present, narrows it to that
 * algorithm; keys for encryption ("use": "enc") or of another kty are
 * skipped. Returns SOOM_OK, or SOOM_ECONFIG with the reason in err (not
 * JSON, a malformed key, no usable key, a kid already taken). */
int soom_auth_jwt_add_jwks(struct soom_auth_jwt *j, const char *json, size_t n, char *err,
                           size_t errlen);

/* What a verified token says. Caller-allocated; soom_auth_jwt_claims_init()
 * before use and soom_auth_jwt_claims_cleanup() after (it frees the claims
 * document). The pointers borrow from the document or from the struct
 * itself, so do not copy the struct. */
struct soom_auth_jwt_claims {
    enum soom_auth_jwt_reason reason; /* SOOM_AUTH_JWT_NONE when verified */
    enum soom_auth_jwt_alg alg;
    struct soom_json *claims; /* the claims object (owned) */
    const char *user_id;      /* the user id as text, or NULL */
    size_t user_id_len;
    bool user_id_is_int; /* it was a JSON integer (then in user_id_int) */
    int64_t user_id_int;
    const char *token_type; /* NULL when absent */
    const char *jti;        /* NULL when absent or not a string */
    int64_t exp, iat;       /* seconds since 1970; 0 when absent */
    char user_id_buf_[24];
};

void soom_auth_jwt_claims_init(struct soom_auth_jwt_claims *c);
void soom_auth_jwt_claims_cleanup(struct soom_auth_jwt_claims *c);

/* Verifies the compact token (token, n) at time `now` (seconds since 1970:
 * time(NULL) but for tests). With `token_type` (simplejwt's "access" for
 * authentication, "refresh" for the refresh view) the token's type claim
 * must equal it and the user id claim must be an integer (exact: at most
 * 2^53 in magnitude) or a non-empty string; with NULL neither is required.
 * Returns SOOM_OK with `out` filled, or SOOM_EAUTH with out->reason set and
 * no document kept. */
int soom_auth_jwt_verify(const struct soom_auth_jwt *j, const char *token, size_t n,
                         const char *token_type, int64_t now, struct soom_auth_jwt_claims *out);

/* Signs the claims (claims, n), a JSON object's text, with the signing key
 * and algorithm, appending header.payload.signature to `out`. The header is
 * {"alg":...,"kid":...,"typ":"JWT"} (kid when the key has one). Returns
 * SOOM_OK; SOOM_EINVAL when the claims are not a JSON object; SOOM_ECONFIG
 * when the configuration has no key that can sign. */
int soom_auth_jwt_sign(const struct soom_auth_jwt *j, const char *claims, size_t n,
                       struct soom_buf *out);

/* A token as simplejwt issues it. */
struct soom_auth_jwt_issue {
    const char *token_type; /* "access" or "refresh" */
    const char *user_id;    /* its text: digits when user_id_is_int */
    size_t user_id_len;
    bool user_id_is_int;
    int64_t now;      /* iat */
    int64_t lifetime; /* exp = now + lifetime (simplejwt: 5 minutes for
                         access tokens, a day for refresh tokens) */
};

#define SOOM_AUTH_JWT_JTI_LEN 32 /* hex digits, uuid4().hex as simplejwt */

/* Signs a token with token_type, exp, iat, a new random jti, the user id
 * claim and, when configured, iss and aud. Writes the jti at `jti` when not
 * NULL. Returns SOOM_OK, SOOM_EINVAL (no token type, an empty or, for an
 * integer, non-numeric user id) or SOOM_ECONFIG (no signing key). */
int soom_auth_jwt_issue(const struct soom_auth_jwt *j, const struct soom_auth_jwt_issue *t,
                        struct soom_buf *out, char jti[SOOM_AUTH_JWT_JTI_LEN + 1]);

/* Signs a token made from the claims of a verified one, as simplejwt
 * derives an access token from a refresh token (every claim copied but the
 * type, exp and jti, which are new) or rotates a refresh token (`new_iat`:
 * iat is new too). exp is `now` + `lifetime`. Writes the new jti at `jti`
 * when not NULL. Returns SOOM_OK, SOOM_EINVAL when `claims` is not an
 * object, or SOOM_ECONFIG (no signing key). */
int soom_auth_jwt_reissue(const struct soom_auth_jwt *j, const struct soom_json *claims,
                          const char *token_type, int64_t now, int64_t lifetime, bool new_iat,
                          struct soom_buf *out, char jti[SOOM_AUTH_JWT_JTI_LEN + 1]);

#endif
