/*
 * The keys of a JWT configuration (see auth_jwt.h): HMAC secrets with their
 * padded-key digest states computed once, PEM keys, JWKS documents, and the
 * signature primitives over them. A key belongs to its configuration from
 * the moment it is added and is freed with it; a JWKS document's keys are
 * all added or none. OpenSSL's error queue is emptied after every parse, so
 * a refused key leaves nothing behind for the next caller on the thread.
 */
#include <cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "auth_jwt_impl.h"
#include "soom/base64.h"
#include "soom/error.h"

#define HS_ALGS                                                                                    \
    (JWT_BIT(SOOM_AUTH_JWT_HS256) | JWT_BIT(SOOM_AUTH_JWT_HS384) | JWT_BIT(SOOM_AUTH_JWT_HS512))
#define RS_ALGS                                                                                    \
    (JWT_BIT(SOOM_AUTH_JWT_RS256) | JWT_BIT(SOOM_AUTH_JWT_RS384) | JWT_BIT(SOOM_AUTH_JWT_RS512))
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return SOOM_ECONFIG;
}

static void key_free(struct jwt_key *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < JWT_NMD; i++) {
        EVP_MD_CTX_free(k->inner[i]);
        EVP_MD_CTX_free(k->outer[i]);
    }
    EVP_PKEY_free(k->pkey);
    free(k->kid);
    free(k);
}

void jwt_keys_free(struct soom_auth_jwt *j)
{
    for (size_t i = 0; i < j->nkeys; i++)
        key_free(j->keys[i]);
    free(j->keys);
}

const struct jwt_key *jwt_key_by_kid(const struct soom_auth_jwt *j, const char *kid)
{
    for (size_t i = 0; i < j->nkeys; i++)
        if (j->keys[i]->kid != NULL && strcmp(j->keys[i]->kid, kid) == 0)
            return j->keys[i];
    return NULL;
}

/* Appends keys [0, n) to the configuration, or none when a kid is taken
 * (by a key of the configuration or another of the new ones). */
static int commit(struct soom_auth_jwt *j, struct jwt_key **keys, size_t n, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *kid = keys[i]->kid;
        bool taken = kid != NULL && jwt_key_by_kid(j, kid) != NULL;
        for (size_t k = 0; k < i && !taken; k++)
            taken = kid != NULL && keys[k]->kid != NULL && strcmp(keys[k]->kid, kid) == 0;
        if (taken) {
            int rc = fail(err, errlen, "two keys have the kid \"%s\"", kid);
            for (size_t k = 0; k < n; k++)
                key_free(keys[k]);
            return rc;
        }
    }
    j->keys = xrealloc(j->keys, (j->nkeys + n) * sizeof *j->keys);
    memcpy(j->keys + j->nkeys, keys, n * sizeof *keys);
    j->nkeys += n;
    for (size_t i = 0; i < n; i++)
        jwt_headers_add(j, keys[i]);
    return SOOM_OK;
}

/* ---- secrets ------------------------------------------------------------- */

static const size_t BLOCK[JWT_NMD] = {64, 128, 128};

/* A public key pasted as a secret is how algorithm confusion starts: a
 * verifier that takes the PEM text as an HMAC secret accepts tokens anyone
 * with the public key can sign. PyJWT refuses the same. */
static bool looks_like_public_key(const char *s, size_t n)
{
    static const char *const PREFIXES[] = {"ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-"};
    for (size_t i = 0; i + 11 <= n; i++)
        if (memcmp(s + i, "-----BEGIN ", 11) == 0)
            return true;
    for (size_t i = 0; i < sizeof PREFIXES / sizeof PREFIXES[0]; i++)
        if (n >= strlen(PREFIXES[i]) && memcmp(s, PREFIXES[i], strlen(PREFIXES[i])) == 0)
            return true;
    return false;
}

static void hmac_states(const struct soom_auth_jwt *j, struct jwt_key *k, const char *secret,
                        size_t n)
{
    for (int m = 0; m < JWT_NMD; m++) {
        unsigned char key[128] = {0}, ipad[128], opad[128];
        if (n > BLOCK[m]) {
            unsigned int len;
            EVP_Digest(secret, n, key, &len, j->md[m], NULL);
        } else {
            memcpy(key, secret, n);
        }
        for (size_t i = 0; i < BLOCK[m]; i++) {
            ipad[i] = key[i] ^ 0x36;
            opad[i] = key[i] ^ 0x5c;
        }
        k->inner[m] = EVP_MD_CTX_new();
        k->outer[m] = EVP_MD_CTX_new();
        if (k->inner[m] == NULL || k->outer[m] == NULL)
            soom_oom(0);
        EVP_DigestInit_ex(k->inner[m], j->md[m], NULL);
        EVP_DigestUpdate(k->inner[m], ipad, BLOCK[m]);
        EVP_DigestInit_ex(k->outer[m], j->md[m], NULL);
        EVP_DigestUpdate(k->outer[m], opad, BLOCK[m]);
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(ipad, sizeof ipad);
        OPENSSL_cleanse(opad, sizeof opad);
    }
}

static struct jwt_key *key_new(const char *kid, enum jwt_family f, unsigned algs)
{
    struct jwt_key *k = xcalloc(1, sizeof *k);
    k->kid = kid ? xstrdup(kid) : NULL;
    k->family = f;
    k->algs = algs;
    return k;
}

static int secret_key(const struct soom_auth_jwt *j, const char *kid, const char *secret, size_t n,
                      struct jwt_key **out, char *err, size_t errlen)
{
    if (n == 0)
        return fail(err, errlen, "the secret is empty");
    if (looks_like_public_key(secret, n))
        return fail(err, errlen, "the secret is a PEM or SSH key: HMAC secrets must not be keys");
    struct jwt_key *k = key_new(kid, JWT_OCT, HS_ALGS);
    k->can_sign = true;
    hmac_states(j, k, secret, n);
    *out = k;
    return SOOM_OK;
}

int soom_auth_jwt_add_secret(struct soom_auth_jwt *j, const char *kid, const char *secret, size_t n,
                             char *err, size_t errlen)
{
    struct jwt_key *k;
    int rc = secret_key(j, kid, secret, n, &k, err, errlen);
    return rc == SOOM_OK ? commit(j, &k, 1, err, errlen) : rc;
}

/* ---- asymmetric keys ----------------------------------------------------- */

/* The algorithms an OpenSSL key verifies, or 0 for a key type or size not
 * accepted. */
static unsigned pkey_algs(EVP_PKEY *pk, enum jwt_family *f, const char **why)
{
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_RSA) {
        *f = JWT_RSA;
        int bits = EVP_PKEY_get_bits(pk);
        *why = "RSA keys need 2048 to 8192 bits";
        return bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS ? RS_ALGS : 0;
    }
    if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
        *f = JWT_OKP;
        return JWT_BIT(SOOM_AUTH_JWT_EDDSA);
    }
    *why = "the key is not RSA, EC on P-256, P-384 or P-521, Ed25519 or Ed448";
    if (id != EVP_PKEY_EC)
        return 0;
    *f = JWT_EC;
    char group[64];
    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL))
        return 0;
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return JWT_BIT(SOOM_AUTH_JWT_ES256);
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return JWT_BIT(SOOM_AUTH_JWT_ES384);
    if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
        return JWT_BIT(SOOM_AUTH_JWT_ES512);
    return 0;
}

/* Wraps an OpenSSL key (taking it over) with the algorithms its type
 * allows, narrowed to `only` when not 0. */
static int pkey_key(EVP_PKEY *pk, const char *kid, unsigned only, bool can_sign,
                    struct jwt_key **out, char *err, size_t errlen)
{
    enum jwt_family f = JWT_RSA;
    const char *why = "unsupported key";
    unsigned algs = pkey_algs(pk, &f, &why);
    if (algs == 0 || (only != 0 && (algs & only) == 0)) {
        EVP_PKEY_free(pk);
        return fail(err, errlen, "%s", algs == 0 ? why : "the key's alg does not fit its type");
    }
    struct jwt_key *k = key_new(kid, f, only ? algs & only : algs);
    k->pkey = pk;
    k->can_sign = can_sign;
    ERR_clear_error();
    *out = k;
    return SOOM_OK;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

int soom_auth_jwt_add_pem(struct soom_auth_jwt *j, const char *kid, const char *pem, size_t n,
                          char *err, size_t errlen)
{
    if (n > 64 * 1024)
        return fail(err, errlen, "the PEM text is too long");
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    if (b == NULL)
        soom_oom(n);
    bool private = true;
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    if (pk == NULL) {
        private = false;
        BIO_reset(b);
        pk = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
    }
    if (pk == NULL) {
        BIO_reset(b);
        X509 *x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
        pk = x ? X509_get_pubkey(x) : NULL;
        X509_free(x);
    }
    BIO_free(b);
    if (pk == NULL)
        return fail(err, errlen, "no unencrypted PEM private key, public key or certificate");
    struct jwt_key *k;
    int rc = pkey_key(pk, kid, 0, private, &k, err, errlen);
    return rc == SOOM_OK ? commit(j, &k, 1, err, errlen) : rc;
}

/* ---- JWKS ---------------------------------------------------------------- */

/* The base64url member `name` of a JWK, decoded into `out` (cap bytes). */
static bool jwk_bytes(const cJSON *jwk, const char *name, unsigned char *out, size_t cap,
                      size_t *len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
    if (!cJSON_IsString(v))
        return false;
    size_t n = strlen(v->valuestring);
    return n > 0 && n * 3 / 4 + 1 <= cap && soom_base64_decode(v->valuestring, n, false, out, len);
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;
    if (params == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return pk;
}

static EVP_PKEY *jwk_rsa(const cJSON *jwk)
{
    unsigned char n[RSA_MAX_BITS / 8 + 2], e[16];
    size_t nlen, elen;
    if (!jwk_bytes(jwk, "n", n, sizeof n, &nlen) || !jwk_bytes(jwk, "e", e, sizeof e, &elen))
        return NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    EVP_PKEY *pk = NULL;
    if (bld != NULL && bn != NULL && be != NULL &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pk = from_params("RSA", bld);
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

static EVP_PKEY *jwk_ec(const cJSON *jwk)
{
    static const struct {
        const char *crv;
        size_t len;
    } CURVES[] = {{"P-256", 32}, {"P-384", 48}, {"P-521", 66}};
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
    for (size_t i = 0; cJSON_IsString(crv) && i < sizeof CURVES / sizeof CURVES[0]; i++) {
        if (strcmp(crv->valuestring, CURVES[i].crv) != 0)
            continue;
        unsigned char pt[1 + 2 * 66 + 2], y[66 + 2];
        size_t xlen, ylen;
        pt[0] = 0x04; /* uncompressed point: x then y */
        if (!jwk_bytes(jwk, "x", pt + 1, sizeof pt - 1, &xlen) ||
            !jwk_bytes(jwk, "y", y, sizeof y, &ylen) || xlen != CURVES[i].len ||
            ylen != CURVES[i].len)
            return NULL;
        memcpy(pt + 1 + xlen, y, ylen);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        EVP_PKEY *pk = NULL;
        if (bld != NULL &&
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, CURVES[i].crv, 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * xlen))
            pk = from_params("EC", bld);
        OSSL_PARAM_BLD_free(bld);
        return pk;
    }
    return NULL;
}

static EVP_PKEY *jwk_okp(const cJSON *jwk)
{
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
    unsigned char x[64];
    size_t xlen;
    if (!cJSON_IsString(crv) || !jwk_bytes(jwk, "x", x, sizeof x, &xlen))
        return NULL;
    if (strcmp(crv->valuestring, "Ed25519") == 0 && xlen == 32)
        return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen);
    if (strcmp(crv->valuestring, "Ed448") == 0 && xlen == 57)
        return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED448, NULL, x, xlen);
    return NULL;
}

/* One JWK: SOOM_OK with *out set, SOOM_OK with *out NULL for a key to
 * skip, or SOOM_ECONFIG. */
static int jwk_key(const struct soom_auth_jwt *j, const cJSON *jwk, size_t i, struct jwt_key **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    if (!cJSON_IsObject(jwk) || !cJSON_IsString(kty) || (kid != NULL && !cJSON_IsString(kid)) ||
        (alg != NULL && !cJSON_IsString(alg)))
        return fail(err, errlen, "key %zu: not a JWK (kty, and kid and alg as strings)", i);
    int a = alg ? jwt_alg_lookup(alg->valuestring, strlen(alg->valuestring)) : -1;
    if ((cJSON_IsString(use) && strcmp(use->valuestring, "sig") != 0) || (alg != NULL && a < 0))
        return SOOM_OK; /* for encryption, or for an algorithm not read here */
    const char *k = kid ? kid->valuestring : NULL;
    const char *t = kty->valuestring;
    if (strcmp(t, "oct") == 0) {
        unsigned char s[1024];
        size_t slen;
        if (!jwk_bytes(jwk, "k", s, sizeof s, &slen))
            return fail(err, errlen, "key %zu: an oct key needs its k", i);
        if (a >= 0 && JWT_ALGS[a].family != JWT_OCT)
            return fail(err, errlen, "key %zu: the key's alg does not fit its type", i);
        int rc = secret_key(j, k, (const char *)s, slen, out, err, errlen);
        OPENSSL_cleanse(s, sizeof s);
        if (rc == SOOM_OK && a >= 0)
            (*out)->algs = JWT_BIT(a);
        return rc;
    }
    EVP_PKEY *pk;
    if (strcmp(t, "RSA") == 0)
        pk = jwk_rsa(jwk);
    else if (strcmp(t, "EC") == 0)
        pk = jwk_ec(jwk);
    else if (strcmp(t, "OKP") == 0)
        pk = jwk_okp(jwk);
    else
        return SOOM_OK; /* a key type not read here */
    if (pk == NULL)
        return fail(err, errlen, "key %zu: a malformed %s key", i, t);
    return pkey_key(pk, k, a >= 0 ? JWT_BIT(a) : 0, false, out, err, errlen);
}

int soom_auth_jwt_add_jwks(struct soom_auth_jwt *j, const char *json, size_t n, char *err,
                           size_t errlen)
{
    struct soom_json *doc;
    if (soom_json_parse(json, n, 16, &doc, NULL) != SOOM_OK)
        return fail(err, errlen, "the JWKS document is not JSON");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive((const cJSON *)doc, "keys");
    if (!cJSON_IsArray(keys)) {
        soom_json_free(doc);
        return fail(err, errlen, "the JWKS document has no \"keys\" array");
    }
    size_t cap = (size_t)cJSON_GetArraySize(keys), got = 0, i = 0;
    struct jwt_key **list = xcalloc(cap ? cap : 1, sizeof *list);
    int rc = SOOM_OK;
    for (const cJSON *jwk = keys->child; jwk != NULL && rc == SOOM_OK; jwk = jwk->next, i++) {
        rc = jwk_key(j, jwk, i, &list[got], err, errlen);
        if (rc == SOOM_OK && list[got] != NULL)
            got++;
    }
    soom_json_free(doc);
    if (rc == SOOM_OK && got == 0)
        rc = fail(err, errlen, "the JWKS document has no key for a signature algorithm read here");
    if (rc == SOOM_OK)
        rc = commit(j, list, got, err, errlen);
    else
        for (size_t k = 0; k < got; k++)
            key_free(list[k]);
    free(list);
    return rc;
}
