/* Unit tests of core/src/auth/auth_jwt_keys.c: PEM keys (public,
 * private, certificates) and JWKS documents for every algorithm family,
 * with keys generated at run time; what decides the algorithm (the key,
 * never the token); algorithm confusion; kid routing and rotation; and the
 * keys and documents that must be refused. */
#include <openssl/x509.h>

#include "jwt_test.h"

struct family {
    const char *alg;
    EVP_PKEY *key;
    const EVP_MD *md;
    size_t half;
    const char *type, *curve; /* to make another key of the kind */
    size_t bits;
};

static struct family FAMILIES[8];
static size_t NFAMILIES;

static void make_keys(void)
{
    EVP_PKEY *rsa = jt_keygen("RSA", NULL, 2048);
    EVP_PKEY_up_ref(rsa);
    EVP_PKEY_up_ref(rsa);
    struct family f[] = {
        {"RS256", rsa, EVP_sha256(), 0, "RSA", NULL, 2048},
        {"RS384", rsa, EVP_sha384(), 0, "RSA", NULL, 2048},
        {"RS512", rsa, EVP_sha512(), 0, "RSA", NULL, 2048},
        {"ES256", jt_keygen("EC", "P-256", 0), EVP_sha256(), 32, "EC", "P-256", 0},
        {"ES384", jt_keygen("EC", "P-384", 0), EVP_sha384(), 48, "EC", "P-384", 0},
        {"ES512", jt_keygen("EC", "P-521", 0), EVP_sha512(), 66, "EC", "P-521", 0},
        {"EdDSA", jt_keygen("ED25519", NULL, 0), NULL, 0, "ED25519", NULL, 0},
        {"EdDSA", jt_keygen("ED448", NULL, 0), NULL, 0, "ED448", NULL, 0},
    };
    memcpy(FAMILIES, f, sizeof f);
    NFAMILIES = sizeof f / sizeof f[0];
}

static void free_keys(void)
{
    for (size_t i = 0; i < NFAMILIES; i++)
        EVP_PKEY_free(FAMILIES[i].key);
}

static char *token_for(const struct family *f, const char *kid)
{
    char header[128];
    if (kid)
        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", f->alg, kid);
    else
        snprintf(header, sizeof header, "{\"alg\":\"%s\"}", f->alg);
    return jt_pk(header, JT_CLAIMS, f->key, f->md, f->half);
}

static void test_public_pem_every_family(void)
{
    for (size_t i = 0; i < NFAMILIES; i++) {
        struct family *f = &FAMILIES[i];
        struct soom_auth_jwt *j = jt_config(NULL, NULL);
        char *pem = jt_pem(f->key, false);
        char err[256] = "";
        CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), err, sizeof err), SOOM_OK);
        char *t = token_for(f, NULL);
        CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
        /* the same token under another key of the family fails */
        struct family other = *f;
        other.key = jt_keygen(f->type, f->curve, f->bits);
        char *forged = token_for(&other, NULL);
        CHECK_REASON(j, forged, SOOM_AUTH_JWT_BAD_SIGNATURE);
        /* a signature of the wrong size for the curve */
        if (f->half) {
            char *dot = strrchr(t, '.');
            unsigned char sig[200];
            size_t n;
            CHECK(soom_base64_decode(dot + 1, strlen(dot + 1), true, sig, &n) && n == 2 * f->half);
            struct soom_buf cut;
            soom_buf_init(&cut);
            soom_buf_append(&cut, t, (size_t)(dot + 1 - t));
            soom_base64_encode(sig, n - 1, true, &cut);
            CHECK_REASON(j, cut.data, SOOM_AUTH_JWT_BAD_SIGNATURE);
            soom_buf_cleanup(&cut);
        }
        EVP_PKEY_free(other.key);
        free(forged);
        free(t);
        free(pem);
        soom_auth_jwt_free(j);
    }
}

/* The key decides the algorithm: a key of one family never verifies a
 * token that names another, whatever the signature. */
static void test_key_decides_algorithm(void)
{
    static const char *const ALGS[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                       "RS512", "ES256", "ES384", "ES512", "EdDSA"};
    for (size_t i = 0; i < NFAMILIES; i++) {
        struct soom_auth_jwt *j = jt_config(NULL, NULL);
        char *pem = jt_pem(FAMILIES[i].key, false);
        CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), NULL, 0), SOOM_OK);
        for (size_t a = 0; a < sizeof ALGS / sizeof ALGS[0]; a++) {
            bool same_family = strncmp(ALGS[a], FAMILIES[i].alg, 2) == 0;
            bool fits =
                strcmp(ALGS[a], FAMILIES[i].alg) == 0 || (same_family && FAMILIES[i].alg[0] == 'R');
            if (fits)
                continue;
            char header[64];
            snprintf(header, sizeof header, "{\"alg\":\"%s\"}", ALGS[a]);
            /* "signed" with the PEM text as an HMAC secret: the classic
             * confusion attack */
            char *t = jt_hs(header, JT_CLAIMS, pem, strlen(pem), EVP_sha256());
            CHECK_REASON(j, t, SOOM_AUTH_JWT_NO_KEY);
            free(t);
        }
        free(pem);
        soom_auth_jwt_free(j);
    }
}

static void test_confusion_secret_refused(void)
{
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    char *pem = jt_pem(FAMILIES[0].key, false);
    char err[256] = "";
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, pem, strlen(pem), err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "PEM") != NULL);
    const char *ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKr user@host";
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, ssh, strlen(ssh), NULL, 0), SOOM_ECONFIG);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "", 0, NULL, 0), SOOM_ECONFIG);
    /* a JWKS oct key whose bytes are a PEM is refused the same way */
    char *k = jt_b64url(pem, strlen(pem));
    char *doc = malloc(strlen(k) + 64);
    sprintf(doc, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"}]}", k);
    CHECK_INT(soom_auth_jwt_add_jwks(j, doc, strlen(doc), NULL, 0), SOOM_ECONFIG);
    free(doc);
    free(k);
    free(pem);
    soom_auth_jwt_free(j);
}

static void test_private_pem_and_certificate(void)
{
    struct family *f = &FAMILIES[0];
    char *pem = jt_pem(f->key, true);
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), NULL, 0), SOOM_OK);
    char *t = token_for(f, NULL);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    soom_auth_jwt_free(j);
    free(pem);
    /* a self-signed certificate of the same key */
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, f->key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"soom test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, f->key, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    X509_free(x);
    char *cert = jt_bio_text(b);
    j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_pem(j, NULL, cert, strlen(cert), NULL, 0), SOOM_OK);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    soom_auth_jwt_free(j);
    free(cert);
    free(t);
}

static void test_pem_refused(void)
{
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    char err[256];
    const char *texts[] = {"", "not a key",
                           "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        err[0] = '\0';
        CHECK_INT(soom_auth_jwt_add_pem(j, NULL, texts[i], strlen(texts[i]), err, sizeof err),
                  SOOM_ECONFIG);
        CHECK(err[0] != '\0');
    }
    /* keys of a refused kind or size */
    EVP_PKEY *bad[] = {jt_keygen("RSA", NULL, 1024), jt_keygen("EC", "secp256k1", 0),
                       jt_keygen("X25519", NULL, 0)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *pem = jt_pem(bad[i], false);
        err[0] = '\0';
        CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), err, sizeof err), SOOM_ECONFIG);
        CHECK(err[0] != '\0');
        free(pem);
        EVP_PKEY_free(bad[i]);
    }
    /* an encrypted private key: no passphrase is ever asked for */
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(b, FAMILIES[3].key, EVP_aes_128_cbc(), NULL, 0, NULL,
                                  (void *)"passphrase");
    char *enc = jt_bio_text(b);
    CHECK(strstr(enc, "ENCRYPTED") != NULL);
    CHECK_INT(soom_auth_jwt_add_pem(j, NULL, enc, strlen(enc), NULL, 0), SOOM_ECONFIG);
    free(enc);
    CHECK(j != NULL);
    soom_auth_jwt_free(j);
}

static void test_jwks_every_family(void)
{
    struct soom_buf doc;
    soom_buf_init(&doc);
    soom_buf_puts(&doc, "{\"keys\":[");
    /* one JWK per key (the RSA key once), each with a kid */
    for (size_t i = 2; i < NFAMILIES; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, "\"kid\":\"k%zu\",\"use\":\"sig\"", i);
        char *jwk = jt_jwk(FAMILIES[i].key, extra);
        soom_buf_printf(&doc, "%s%s", i > 2 ? "," : "", jwk);
        free(jwk);
    }
    soom_buf_puts(&doc, ",{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VjcmV0LXNlY3JldA\"}]}");
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    char err[256] = "";
    CHECK_INT(soom_auth_jwt_add_jwks(j, doc.data, doc.len, err, sizeof err), SOOM_OK);
    if (err[0])
        fprintf(stderr, "  %s\n", err);
    for (size_t i = 2; i < NFAMILIES; i++) {
        char kid[32];
        snprintf(kid, sizeof kid, "k%zu", i);
        char *t = token_for(&FAMILIES[i], kid);
        CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
        free(t);
        /* without a kid no key is chosen: every key of the set has one */
        t = token_for(&FAMILIES[i], NULL);
        CHECK_REASON(j, t, SOOM_AUTH_JWT_NO_KEY);
        free(t);
        /* another key's kid: its type does not fit, or its signature fails */
        t = token_for(&FAMILIES[i], i == 2 ? "k3" : "k2");
        enum soom_auth_jwt_reason r = jt_verify(j, t);
        CHECK(r == SOOM_AUTH_JWT_NO_KEY || r == SOOM_AUTH_JWT_BAD_SIGNATURE);
        free(t);
    }
    char *t = token_for(&FAMILIES[3], "k9");
    CHECK_REASON(j, t, SOOM_AUTH_JWT_UNKNOWN_KID);
    free(t);
    t = jt_hs("{\"alg\":\"HS512\",\"kid\":\"hs\"}", JT_CLAIMS, "secret-secret", 13, EVP_sha512());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    soom_auth_jwt_free(j);
    soom_buf_cleanup(&doc);
}

static char *jwks_of(const char *jwk)
{
    char *doc = malloc(strlen(jwk) + 16);
    sprintf(doc, "{\"keys\":[%s]}", jwk);
    return doc;
}

static void test_jwks_alg_narrows(void)
{
    char *jwk = jt_jwk(FAMILIES[0].key, "\"alg\":\"RS256\"");
    char *doc = jwks_of(jwk);
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_jwks(j, doc, strlen(doc), NULL, 0), SOOM_OK);
    char *t = token_for(&FAMILIES[0], NULL);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    t = token_for(&FAMILIES[1], NULL); /* RS384 with the same key */
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NO_KEY);
    free(t);
    soom_auth_jwt_free(j);
    free(doc);
    free(jwk);
    /* an alg that does not fit the kty is a configuration error */
    jwk = jt_jwk(FAMILIES[0].key, "\"alg\":\"ES256\"");
    doc = jwks_of(jwk);
    j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_jwks(j, doc, strlen(doc), NULL, 0), SOOM_ECONFIG);
    soom_auth_jwt_free(j);
    free(doc);
    free(jwk);
}

static void test_jwks_skips_and_refusals(void)
{
    char *rsa = jt_jwk(FAMILIES[0].key, "\"kid\":\"r\"");
    char *ec = jt_jwk(FAMILIES[3].key, "\"kid\":\"e\"");
    char buf[8192];
    /* an encryption key, an unknown kty and an unknown alg are skipped */
    snprintf(buf, sizeof buf,
             "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
             "{\"kty\":\"XYZ\"},{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\"},%s]}",
             rsa);
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_jwks(j, buf, strlen(buf), NULL, 0), SOOM_OK);
    /* the same kid twice, in one document or across two */
    CHECK_INT(soom_auth_jwt_add_jwks(j, buf, strlen(buf), NULL, 0), SOOM_ECONFIG);
    soom_auth_jwt_free(j);
    const char *bad[] = {
        "",
        "[]",
        "{}",
        "{\"keys\":{}}",
        "{\"keys\":[]}",
        "{\"keys\":[1]}",
        "{\"keys\":[{}]}",
        "{\"keys\":[{\"kty\":1}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":5,\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"alg\":7,\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", /* 17 bits */
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"!!!!\",\"e\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQAB\",\"y\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "\",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}", /* not on the curve */
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AQAB\",\"y\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AQAB\"}]}",
        "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAA\"}]}",
        "{\"keys\":[{\"kty\":\"oct\"}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"\"}]}",
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"alg\":\"RS256\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = jt_config(NULL, NULL);
        char err[256] = "";
        int rc = soom_auth_jwt_add_jwks(j, bad[i], strlen(bad[i]), err, sizeof err);
        if (rc != SOOM_ECONFIG)
            fprintf(stderr, "  accepted %s\n", bad[i]);
        CHECK_INT(rc, SOOM_ECONFIG);
        CHECK(err[0] != '\0');
        soom_auth_jwt_free(j);
    }
    /* a bad key anywhere keeps the good ones out too */
    snprintf(buf, sizeof buf, "{\"keys\":[%s,{\"kty\":\"oct\"},%s]}", rsa, ec);
    j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_jwks(j, buf, strlen(buf), NULL, 0), SOOM_ECONFIG);
    char *t = token_for(&FAMILIES[0], "r");
    CHECK_REASON(j, t, SOOM_AUTH_JWT_UNKNOWN_KID);
    free(t);
    soom_auth_jwt_free(j);
    free(rsa);
    free(ec);
}

static void test_kid_routing_and_rotation(void)
{
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_secret(j, "old", "old secret", 10, NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_add_secret(j, "new", "new secret", 10, NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_add_secret(j, "new", "again", 5, NULL, 0), SOOM_ECONFIG);
    char *t =
        jt_hs("{\"alg\":\"HS256\",\"kid\":\"old\"}", JT_CLAIMS, "old secret", 10, EVP_sha256());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    t = jt_hs("{\"alg\":\"HS256\",\"kid\":\"new\"}", JT_CLAIMS, "old secret", 10, EVP_sha256());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_SIGNATURE);
    free(t);
    soom_auth_jwt_free(j);
    /* secrets without a kid: each is tried, as during a rotation */
    j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "first", 5, NULL, 0), SOOM_OK);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, "second", 6, NULL, 0), SOOM_OK);
    char *pem = jt_pem(FAMILIES[0].key, false);
    CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), NULL, 0), SOOM_OK);
    t = jt_hs(JT_HS256, JT_CLAIMS, "second", 6, EVP_sha256());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    t = jt_hs(JT_HS256, JT_CLAIMS, "third", 5, EVP_sha256());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_SIGNATURE);
    free(t);
    /* the confusion attempt meets the real secrets only, and fails */
    t = jt_hs(JT_HS256, JT_CLAIMS, pem, strlen(pem), EVP_sha256());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_SIGNATURE);
    free(t);
    t = token_for(&FAMILIES[0], NULL);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    free(pem);
    soom_auth_jwt_free(j);
}

int main(void)
{
    make_keys();
    RUN(test_public_pem_every_family);
    RUN(test_key_decides_algorithm);
    RUN(test_confusion_secret_refused);
    RUN(test_private_pem_and_certificate);
    RUN(test_pem_refused);
    RUN(test_jwks_every_family);
    RUN(test_jwks_alg_narrows);
    RUN(test_jwks_skips_and_refusals);
    RUN(test_kid_routing_and_rotation);
    free_keys();
    return test_summary();
}
