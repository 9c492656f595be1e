/*
 * What the JWT unit tests share: keys generated at run time with OpenSSL
 * (never stored), their PEM and JWK forms, and tokens built here directly
 * on libcrypto (HMAC, EVP signatures), independently of the signer under
 * test, so a verifier bug and a signer bug cannot cancel out. Every string
 * returned is malloc'ed and freed by the caller.
 */
#ifndef SOOM_JWT_TEST_H
#define SOOM_JWT_TEST_H

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "auth_jwt.h"
#include "soom/base64.h"
#include "soom/error.h"
#include "test.h"

#define NOW 1700000000LL

static inline char *jt_strdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static inline char *jt_b64url(const void *p, size_t n)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_base64_encode(p, n, true, &b);
    char *s = jt_strdup(b.data ? b.data : "", b.len);
    soom_buf_cleanup(&b);
    return s;
}

static inline EVP_PKEY *jt_keygen(const char *type, const char *curve, size_t bits)
{
    EVP_PKEY *pk;
    if (bits)
        pk = EVP_PKEY_Q_keygen(NULL, NULL, type, bits);
    else if (curve)
        pk = EVP_PKEY_Q_keygen(NULL, NULL, type, curve);
    else
        pk = EVP_PKEY_Q_keygen(NULL, NULL, type);
    if (pk == NULL) {
        fprintf(stderr, "cannot generate a %s key\n", type);
        exit(1);
    }
    return pk;
}

static inline char *jt_bio_text(BIO *b)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = jt_strdup(data, (size_t)n);
    BIO_free(b);
    return s;
}

static inline char *jt_pem(EVP_PKEY *pk, bool private)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private)
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, pk);
    return jt_bio_text(b);
}

/* The JWK of a public key (members as RFC 7517 names them), with `extra`
 * members ("\"kid\":\"a\"" ...) in front. */
static inline char *jt_jwk(EVP_PKEY *pk, const char *extra)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, "{%s%s", extra ? extra : "", extra && *extra ? "," : "");
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_RSA) {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
        unsigned char nb[1024], eb[16];
        int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
        char *ns = jt_b64url(nb, (size_t)nl), *es = jt_b64url(eb, (size_t)el);
        soom_buf_printf(&b, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", ns, es);
        free(ns);
        free(es);
        BN_free(n);
        BN_free(e);
    } else if (id == EVP_PKEY_EC) {
        char group[32];
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL);
        const char *crv = strcmp(group, "prime256v1") == 0  ? "P-256"
                          : strcmp(group, "secp384r1") == 0 ? "P-384"
                                                            : "P-521";
        size_t half = crv[2] == '2' ? 32 : crv[2] == '3' ? 48 : 66;
        BIGNUM *x = NULL, *y = NULL;
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        unsigned char xb[66], yb[66];
        BN_bn2binpad(x, xb, (int)half);
        BN_bn2binpad(y, yb, (int)half);
        char *xs = jt_b64url(xb, half), *ys = jt_b64url(yb, half);
        soom_buf_printf(&b, "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv, xs,
                        ys);
        free(xs);
        free(ys);
        BN_free(x);
        BN_free(y);
    } else {
        unsigned char raw[64];
        size_t n = sizeof raw;
        EVP_PKEY_get_raw_public_key(pk, raw, &n);
        char *xs = jt_b64url(raw, n);
        soom_buf_printf(&b, "\"kty\":\"OKP\",\"crv\":\"%s\",\"x\":\"%s\"}",
                        id == EVP_PKEY_ED25519 ? "Ed25519" : "Ed448", xs);
        free(xs);
    }
    char *s = jt_strdup(b.data, b.len);
    soom_buf_cleanup(&b);
    return s;
}

/* header.claims, both base64url'ed, in a buffer to sign. */
static inline void jt_signing_input(const char *header, const char *claims, struct soom_buf *b)
{
    soom_base64_encode((const unsigned char *)header, strlen(header), true, b);
    soom_buf_putc(b, '.');
    soom_base64_encode((const unsigned char *)claims, strlen(claims), true, b);
}

static inline char *jt_finish(struct soom_buf *b, const unsigned char *sig, size_t n)
{
    soom_buf_putc(b, '.');
    soom_base64_encode(sig, n, true, b);
    char *s = jt_strdup(b->data, b->len);
    soom_buf_cleanup(b);
    return s;
}

/* A token HMAC-signed with libcrypto's own HMAC(). */
static inline char *jt_hs(const char *header, const char *claims, const void *secret, size_t n,
                          const EVP_MD *md)
{
    struct soom_buf b;
    soom_buf_init(&b);
    jt_signing_input(header, claims, &b);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len;
    HMAC(md, secret, (int)n, (const unsigned char *)b.data, b.len, mac, &len);
    return jt_finish(&b, mac, len);
}

/* A token signed with a private key; `half` > 0 for ECDSA (JOSE's r||s). */
static inline char *jt_pk(const char *header, const char *claims, EVP_PKEY *pk, const EVP_MD *md,
                          size_t half)
{
    struct soom_buf b;
    soom_buf_init(&b);
    jt_signing_input(header, claims, &b);
    unsigned char sig[1024];
    size_t len = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestSignInit(c, NULL, md, NULL, pk);
    EVP_DigestSign(c, sig, &len, (const unsigned char *)b.data, b.len);
    EVP_MD_CTX_free(c);
    if (half) {
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(es, &r, &s);
        unsigned char raw[132];
        BN_bn2binpad(r, raw, (int)half);
        BN_bn2binpad(s, raw + half, (int)half);
        ECDSA_SIG_free(es);
        return jt_finish(&b, raw, 2 * half);
    }
    return jt_finish(&b, sig, len);
}

/* A configuration accepting `algorithms` (NULL: all), no keys yet. */
static inline struct soom_auth_jwt *jt_config(const char *algorithms,
                                              void (*tweak)(struct soom_auth_jwt_options *))
{
    struct soom_auth_jwt_options o;
    soom_auth_jwt_options_init(&o);
    o.algorithms = algorithms;
    if (tweak)
        tweak(&o);
    struct soom_auth_jwt *j = NULL;
    char err[256];
    if (soom_auth_jwt_new(&o, &j, err, sizeof err) != SOOM_OK) {
        fprintf(stderr, "configuration refused: %s\n", err);
        exit(1);
    }
    return j;
}

/* Verifies as an access token at NOW; the reason, SOOM_AUTH_JWT_NONE when
 * valid. */
static inline enum soom_auth_jwt_reason jt_verify(const struct soom_auth_jwt *j, const char *token)
{
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    int rc = soom_auth_jwt_verify(j, token, strlen(token), "access", NOW, &c);
    enum soom_auth_jwt_reason r = c.reason;
    CHECK((rc == SOOM_OK) == (r == SOOM_AUTH_JWT_NONE));
    CHECK(rc == SOOM_OK || rc == SOOM_EAUTH);
    CHECK((rc == SOOM_OK) == (c.claims != NULL));
    soom_auth_jwt_claims_cleanup(&c);
    return r;
}

#define CHECK_REASON(j, token, want)                                                               \
    do {                                                                                           \
        enum soom_auth_jwt_reason got_ = jt_verify((j), (token));                                  \
        if (got_ != (want))                                                                        \
            fprintf(stderr, "  %s: got %s, expected %s\n", (token),                                \
                    soom_auth_jwt_reason_code(got_), soom_auth_jwt_reason_code(want));             \
        CHECK_INT(got_, (want));                                                                   \
    } while (0)

static const char *const JT_CLAIMS = "{\"token_type\":\"access\",\"exp\":1700000300,"
                                     "\"iat\":1700000000,\"jti\":\"j1\",\"user_id\":42}";
static const char *const JT_HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

#endif
