/* Unit tests of core/src/auth/auth_jwt_sign.c: tokens signed with every
 * algorithm verify, both with the verifier and independently with
 * libcrypto here; simplejwt's claim shape from soom_auth_jwt_issue; the
 * choice of signing key and algorithm; and what signing refuses.
 * simplejwt's own check of these tokens is in
 * tests/http/test_auth_django.py. */
#include "jwt_test.h"

/* Splits a token into its signing input and decoded signature. */
static bool split(const char *t, size_t *input_len, unsigned char *sig, size_t *siglen)
{
    const char *last = strrchr(t, '.');
    if (last == NULL)
        return false;
    *input_len = (size_t)(last - t);
    return soom_base64_decode(last + 1, strlen(last + 1), true, sig, siglen);
}

/* The signature checked with libcrypto directly: HMAC when `secret`,
 * else EVP verification (ECDSA's r||s turned into DER first). */
static bool independent_verify(const char *t, const char *secret, EVP_PKEY *pk, const EVP_MD *md,
                               size_t half)
{
    size_t n, siglen;
    unsigned char sig[1100];
    if (!split(t, &n, sig, &siglen))
        return false;
    if (secret != NULL) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned len;
        HMAC(md, secret, (int)strlen(secret), (const unsigned char *)t, n, mac, &len);
        return len == siglen && memcmp(mac, sig, len) == 0;
    }
    unsigned char der[200];
    const unsigned char *s = sig;
    if (half) {
        if (siglen != 2 * half)
            return false;
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL), BN_bin2bn(sig + half, (int)half, NULL));
        unsigned char *p = der;
        siglen = (size_t)i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        s = der;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(c, NULL, md, NULL, pk) == 1 &&
              EVP_DigestVerify(c, s, siglen, (const unsigned char *)t, n) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static const char *SIGN_ALG;
static const char *SIGN_KID;

static void tweak_sign(struct soom_auth_jwt_options *o)
{
    o->sign_algorithm = SIGN_ALG;
    o->sign_kid = SIGN_KID;
    o->issuer = "soom";
    o->audience = "orders";
}

static void test_hs_every_size(void)
{
    const char *algs[] = {"HS256", "HS384", "HS512"};
    const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    for (int i = 0; i < 3; i++) {
        SIGN_ALG = algs[i];
        SIGN_KID = NULL;
        struct soom_auth_jwt *j = jt_config(NULL, tweak_sign);
        CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "shh", 3, NULL, 0), SOOM_OK);
        struct soom_buf b;
        soom_buf_init(&b);
        CHECK_INT(soom_auth_jwt_sign(j, JT_CLAIMS, strlen(JT_CLAIMS), &b), SOOM_OK);
        CHECK(independent_verify(b.data, "shh", NULL, mds[i], 0));
        CHECK(!independent_verify(b.data, "shH", NULL, mds[i], 0));
        struct soom_auth_jwt_claims c;
        soom_auth_jwt_claims_init(&c);
        CHECK_INT(soom_auth_jwt_verify(j, b.data, b.len, "access", NOW, &c), SOOM_EAUTH);
        CHECK_INT(c.reason, SOOM_AUTH_JWT_BAD_ISSUER); /* JT_CLAIMS has no iss: checked */
        soom_auth_jwt_claims_cleanup(&c);
        /* the header is PyJWT's, byte for byte */
        char *dot = strchr(b.data, '.');
        unsigned char head[128];
        size_t hl;
        CHECK(soom_base64_decode(b.data, (size_t)(dot - b.data), true, head, &hl));
        char want[64];
        snprintf(want, sizeof want, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
        CHECK(hl == strlen(want) && memcmp(head, want, hl) == 0);
        soom_buf_cleanup(&b);
        soom_auth_jwt_free(j);
    }
}

struct kind {
    const char *alg, *type, *curve;
    size_t bits;
    const EVP_MD *md;
    size_t half;
};

static void test_asymmetric_every_kind(void)
{
    const struct kind kinds[] = {
        {"RS256", "RSA", NULL, 2048, EVP_sha256(), 0},
        {"RS384", "RSA", NULL, 2048, EVP_sha384(), 0},
        {"RS512", "RSA", NULL, 3072, EVP_sha512(), 0},
        {"ES256", "EC", "P-256", 0, EVP_sha256(), 32},
        {"ES384", "EC", "P-384", 0, EVP_sha384(), 48},
        {"ES512", "EC", "P-521", 0, EVP_sha512(), 66},
        {"EdDSA", "ED25519", NULL, 0, NULL, 0},
        {"EdDSA", "ED448", NULL, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const struct kind *k = &kinds[i];
        EVP_PKEY *pk = jt_keygen(k->type, k->curve, k->bits);
        char *priv = jt_pem(pk, true), *pub = jt_pem(pk, false);
        SIGN_ALG = k->alg;
        SIGN_KID = NULL;
        struct soom_auth_jwt *signer = jt_config(NULL, tweak_sign);
        struct soom_auth_jwt *verifier = jt_config(NULL, tweak_sign);
        CHECK_INT(soom_auth_jwt_add_pem(signer, "sig-1", priv, strlen(priv), NULL, 0), SOOM_OK);
        CHECK_INT(soom_auth_jwt_add_pem(verifier, "sig-1", pub, strlen(pub), NULL, 0), SOOM_OK);
        struct soom_auth_jwt_issue is = {.token_type = "access",
                                         .user_id = "42",
                                         .user_id_len = 2,
                                         .user_id_is_int = true,
                                         .now = NOW,
                                         .lifetime = 300};
        struct soom_buf b;
        soom_buf_init(&b);
        char jti[SOOM_AUTH_JWT_JTI_LEN + 1];
        CHECK_INT(soom_auth_jwt_issue(signer, &is, &b, jti), SOOM_OK);
        CHECK(independent_verify(b.data, NULL, pk, k->md, k->half));
        struct soom_auth_jwt_claims c;
        soom_auth_jwt_claims_init(&c);
        CHECK_INT(soom_auth_jwt_verify(verifier, b.data, b.len, "access", NOW, &c), SOOM_OK);
        CHECK_STR(c.jti, jti);
        CHECK_STR(soom_auth_jwt_alg_name(c.alg), k->alg);
        /* the public half cannot sign */
        struct soom_buf none;
        soom_buf_init(&none);
        CHECK_INT(soom_auth_jwt_issue(verifier, &is, &none, NULL), SOOM_ECONFIG);
        CHECK_INT(none.len, 0);
        soom_buf_cleanup(&none);
        soom_auth_jwt_claims_cleanup(&c);
        soom_buf_cleanup(&b);
        soom_auth_jwt_free(signer);
        soom_auth_jwt_free(verifier);
        free(priv);
        free(pub);
        EVP_PKEY_free(pk);
    }
}

static void test_issue_shape(void)
{
    SIGN_ALG = NULL;
    SIGN_KID = NULL;
    struct soom_auth_jwt *j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "k", 1, NULL, 0), SOOM_OK);
    struct soom_auth_jwt_issue is = {.token_type = "refresh",
                                     .user_id = "a\"b",
                                     .user_id_len = 3,
                                     .now = NOW,
                                     .lifetime = 86400};
    struct soom_buf b;
    soom_buf_init(&b);
    char jti[SOOM_AUTH_JWT_JTI_LEN + 1];
    CHECK_INT(soom_auth_jwt_issue(j, &is, &b, jti), SOOM_OK);
    /* a uuid4 in hex */
    CHECK_INT(strlen(jti), 32);
    CHECK(jti[12] == '4' && strchr("89ab", jti[16]) != NULL);
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    CHECK_INT(soom_auth_jwt_verify(j, b.data, b.len, "refresh", NOW, &c), SOOM_OK);
    CHECK_STR(c.user_id, "a\"b");
    CHECK(!c.user_id_is_int);
    CHECK_INT(c.exp, NOW + 86400);
    CHECK_INT(c.iat, NOW);
    CHECK_STR(c.token_type, "refresh");
    struct soom_buf text;
    soom_buf_init(&text);
    soom_json_print(c.claims, &text);
    CHECK(strstr(text.data, "\"iss\":\"soom\"") != NULL);
    CHECK(strstr(text.data, "\"aud\":\"orders\"") != NULL);
    CHECK(strncmp(text.data, "{\"token_type\":\"refresh\",\"exp\":", 30) == 0);
    soom_buf_cleanup(&text);
    /* a refresh token is not an access token */
    CHECK_INT(soom_auth_jwt_verify(j, b.data, b.len, "access", NOW, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_WRONG_TYPE);
    /* and it expires */
    CHECK_INT(soom_auth_jwt_verify(j, b.data, b.len, "refresh", NOW + 86400, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_EXPIRED);
    /* two tokens never share a jti */
    char jti2[SOOM_AUTH_JWT_JTI_LEN + 1];
    soom_buf_clear(&b);
    CHECK_INT(soom_auth_jwt_issue(j, &is, &b, jti2), SOOM_OK);
    CHECK(strcmp(jti, jti2) != 0);
    soom_auth_jwt_claims_cleanup(&c);
    soom_buf_cleanup(&b);
    soom_auth_jwt_free(j);
}

static void test_issue_refusals(void)
{
    SIGN_ALG = NULL;
    SIGN_KID = NULL;
    struct soom_auth_jwt *j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "k", 1, NULL, 0), SOOM_OK);
    const char *bad_ints[] = {"", "12a", "1.5", "-", "01", "1e3", "99999999999999999", " 1"};
    struct soom_buf b;
    soom_buf_init(&b);
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        struct soom_auth_jwt_issue is = {.token_type = "access",
                                         .user_id = bad_ints[i],
                                         .user_id_len = strlen(bad_ints[i]),
                                         .user_id_is_int = true,
                                         .now = NOW,
                                         .lifetime = 60};
        CHECK_INT(soom_auth_jwt_issue(j, &is, &b, NULL), SOOM_EINVAL);
    }
    struct soom_auth_jwt_issue is = {.user_id = "1", .user_id_len = 1, .now = NOW};
    CHECK_INT(soom_auth_jwt_issue(j, &is, &b, NULL), SOOM_EINVAL); /* no type */
    is.token_type = "access";
    is.user_id = "\xff";
    CHECK_INT(soom_auth_jwt_issue(j, &is, &b, NULL), SOOM_EINVAL); /* not UTF-8 */
    CHECK_INT(b.len, 0);
    const char *not_objects[] = {"", "[]", "1", "\"x\"", "{", "{} {}", "null"};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++)
        CHECK_INT(soom_auth_jwt_sign(j, not_objects[i], strlen(not_objects[i]), &b), SOOM_EINVAL);
    CHECK_INT(b.len, 0);
    CHECK_INT(soom_auth_jwt_sign(j, " {\"a\":1}", 8, &b), SOOM_OK);
    soom_buf_cleanup(&b);
    soom_auth_jwt_free(j);
}

static void test_signing_key_choice(void)
{
    EVP_PKEY *ec = jt_keygen("EC", "P-256", 0);
    char *priv = jt_pem(ec, true);
    /* the first key that can sign, unless sign_kid names one */
    SIGN_ALG = NULL;
    SIGN_KID = NULL;
    struct soom_auth_jwt *j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_pem(j, "ec", priv, strlen(priv), NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_add_secret(j, "hs", "k", 1, NULL, 0), SOOM_OK);
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_auth_jwt_sign(j, "{}", 2, &b), SOOM_OK);
    CHECK(independent_verify(b.data, NULL, ec, EVP_sha256(), 32));
    unsigned char head[128];
    size_t hl;
    CHECK(soom_base64_decode(b.data, (size_t)(strchr(b.data, '.') - b.data), true, head, &hl));
    const char *want = "{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"JWT\"}";
    CHECK(hl == strlen(want) && memcmp(head, want, hl) == 0);
    soom_auth_jwt_free(j);
    SIGN_KID = "hs";
    j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_pem(j, "ec", priv, strlen(priv), NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_add_secret(j, "hs", "k", 1, NULL, 0), SOOM_OK);
    soom_buf_clear(&b);
    CHECK_INT(soom_auth_jwt_sign(j, "{}", 2, &b), SOOM_OK);
    CHECK(independent_verify(b.data, "k", NULL, EVP_sha256(), 0));
    soom_auth_jwt_free(j);
    /* a signing algorithm the key cannot do, or a kid naming no key */
    SIGN_KID = NULL;
    SIGN_ALG = "RS256";
    j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_pem(j, "ec", priv, strlen(priv), NULL, 0), SOOM_OK);
    soom_buf_clear(&b);
    CHECK_INT(soom_auth_jwt_sign(j, "{}", 2, &b), SOOM_ECONFIG);
    soom_auth_jwt_free(j);
    SIGN_ALG = NULL;
    SIGN_KID = "nobody";
    j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_add_pem(j, "ec", priv, strlen(priv), NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_sign(j, "{}", 2, &b), SOOM_ECONFIG);
    CHECK_INT(b.len, 0);
    soom_auth_jwt_free(j);
    /* no key at all */
    SIGN_KID = NULL;
    j = jt_config(NULL, tweak_sign);
    CHECK_INT(soom_auth_jwt_sign(j, "{}", 2, &b), SOOM_ECONFIG);
    soom_auth_jwt_free(j);
    soom_buf_cleanup(&b);
    free(priv);
    EVP_PKEY_free(ec);
}

int main(void)
{
    RUN(test_hs_every_size);
    RUN(test_asymmetric_every_kind);
    RUN(test_issue_shape);
    RUN(test_issue_refusals);
    RUN(test_signing_key_choice);
    return test_summary();
}
