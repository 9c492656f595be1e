/*
 * JWS signatures over a configuration's keys: HMAC from the precomputed
 * key states, RSA PKCS#1 v1.5, ECDSA (JOSE's fixed-size r||s, which OpenSSL
 * speaks as DER) and EdDSA; and signing whole tokens, simplejwt's shape
 * included. Every call allocates its own OpenSSL contexts, so the shared
 * configuration is only read.
 */
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "auth_impl.h"
#include "auth_jwt_impl.h"
#include "soom/base64.h"
#include "soom/error.h"
#include "soom/json.h"

static bool hmac(const struct jwt_key *k, int m, const unsigned char *msg, size_t n,
                 unsigned char *out, unsigned *outlen)
{
    unsigned char inner[EVP_MAX_MD_SIZE];
    unsigned ilen;
    EVP_MD_CTX *t = auth_thread_ctx();
    return EVP_MD_CTX_copy_ex(t, k->inner[m]) && EVP_DigestUpdate(t, msg, n) &&
           EVP_DigestFinal_ex(t, inner, &ilen) && EVP_MD_CTX_copy_ex(t, k->outer[m]) &&
           EVP_DigestUpdate(t, inner, ilen) && EVP_DigestFinal_ex(t, out, outlen);
}

/* JOSE's r||s as the DER OpenSSL verifies, at `der` (cap bytes). */
static int ec_to_der(const unsigned char *sig, size_t half, unsigned char *der, size_t cap)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    int len = -1;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* the signature owns them now */
        if (i2d_ECDSA_SIG(es, NULL) <= (int)cap) {
            unsigned char *p = der;
            len = i2d_ECDSA_SIG(es, &p);
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return len;
}

static bool der_to_ec(const unsigned char *der, size_t n, size_t half, unsigned char *sig)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (es == NULL)
        return false;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    bool ok = BN_bn2binpad(r, sig, (int)half) == (int)half &&
              BN_bn2binpad(s, sig + half, (int)half) == (int)half;
    ECDSA_SIG_free(es);
    return ok;
}

static const EVP_MD *alg_md(const struct soom_auth_jwt *j, enum soom_auth_jwt_alg alg)
{
    int m = JWT_ALGS[alg].md;
    return m >= 0 ? j->md[m] : NULL;
}

bool jwt_key_verify(const struct soom_auth_jwt *j, const struct jwt_key *key,
                    enum soom_auth_jwt_alg alg, const unsigned char *msg, size_t n,
                    const unsigned char *sig, size_t siglen)
{
    const struct jwt_alg_info *ai = &JWT_ALGS[alg];
    if (key->family == JWT_OCT) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned len;
        return hmac(key, ai->md, msg, n, mac, &len) && len == siglen &&
               CRYPTO_memcmp(mac, sig, len) == 0;
    }
    unsigned char der[160];
    if (key->family == JWT_EC) {
        int len = siglen == 2 * ai->ec_half ? ec_to_der(sig, ai->ec_half, der, sizeof der) : -1;
        if (len < 0)
            return false;
        sig = der;
        siglen = (size_t)len;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL)
        soom_oom(0);
    bool ok = EVP_DigestVerifyInit(c, NULL, alg_md(j, alg), NULL, key->pkey) == 1 &&
              EVP_DigestVerify(c, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok;
}

bool jwt_key_sign(const struct soom_auth_jwt *j, const struct jwt_key *key,
                  enum soom_auth_jwt_alg alg, const unsigned char *msg, size_t n,
                  unsigned char *sig, size_t *siglen)
{
    const struct jwt_alg_info *ai = &JWT_ALGS[alg];
    if (key->family == JWT_OCT) {
        unsigned len;
        bool ok = hmac(key, ai->md, msg, n, sig, &len);
        *siglen = len;
        return ok;
    }
    unsigned char raw[JWT_SIG_MAX];
    size_t len = sizeof raw;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL)
        soom_oom(0);
    bool ok = EVP_DigestSignInit(c, NULL, alg_md(j, alg), NULL, key->pkey) == 1 &&
              EVP_DigestSign(c, NULL, &len, msg, n) == 1 && len <= sizeof raw &&
              EVP_DigestSign(c, raw, &len, msg, n) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    if (!ok)
        return false;
    if (key->family == JWT_EC) {
        *siglen = 2 * ai->ec_half;
        return der_to_ec(raw, len, ai->ec_half, sig);
    }
    memcpy(sig, raw, len);
    *siglen = len;
    return true;
}

const struct jwt_key *jwt_signing_key(const struct soom_auth_jwt *j, enum soom_auth_jwt_alg *alg)
{
    const struct jwt_key *k = NULL;
    for (size_t i = 0; i < j->nkeys && k == NULL; i++) {
        const struct jwt_key *c = j->keys[i];
        bool named = j->sign_kid == NULL || (c->kid != NULL && strcmp(c->kid, j->sign_kid) == 0);
        if (c->can_sign && named)
            k = c;
    }
    unsigned usable = k ? k->algs & j->algorithms : 0;
    if (usable == 0)
        return NULL;
    if (j->sign_alg >= 0) {
        if ((usable & JWT_BIT(j->sign_alg)) == 0)
            return NULL;
        *alg = (enum soom_auth_jwt_alg)j->sign_alg;
        return k;
    }
    int a = 0;
    while ((usable & JWT_BIT(a)) == 0)
        a++;
    *alg = (enum soom_auth_jwt_alg)a;
    return k;
}

/* ---- tokens -------------------------------------------------------------- */

static bool is_object_text(const char *p, size_t n)
{
    struct soom_json *doc;
    if (soom_json_parse(p, n, SOOM_JSON_MAX_DEPTH, &doc, NULL) != SOOM_OK)
        return false;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    soom_json_free(doc);
    return i < n && p[i] == '{';
}

int soom_auth_jwt_sign(const struct soom_auth_jwt *j, const char *claims, size_t n,
                       struct soom_buf *out)
{
    enum soom_auth_jwt_alg alg;
    const struct jwt_key *key = jwt_signing_key(j, &alg);
    if (key == NULL)
        return SOOM_ECONFIG;
    if (!is_object_text(claims, n))
        return SOOM_EINVAL;
    /* PyJWT's header, members sorted as it writes them */
    struct soom_buf h;
    soom_buf_init(&h);
    soom_buf_printf(&h, "{\"alg\":\"%s\"", JWT_ALGS[alg].name);
    if (key->kid != NULL) {
        soom_buf_puts(&h, ",\"kid\":");
        soom_json_write_string(&h, key->kid, strlen(key->kid));
    }
    soom_buf_puts(&h, ",\"typ\":\"JWT\"}");
    size_t start = out->len;
    soom_base64_encode((const unsigned char *)h.data, h.len, true, out);
    soom_buf_putc(out, '.');
    soom_base64_encode((const unsigned char *)claims, n, true, out);
    soom_buf_cleanup(&h);
    unsigned char sig[JWT_SIG_MAX];
    size_t siglen;
    if (!jwt_key_sign(j, key, alg, (const unsigned char *)out->data + start, out->len - start, sig,
                      &siglen)) {
        out->len = start;
        out->data[start] = '\0';
        return SOOM_EINTERNAL;
    }
    soom_buf_putc(out, '.');
    soom_base64_encode(sig, siglen, true, out);
    return SOOM_OK;
}

/* A uuid4's 32 hex digits, as simplejwt's uuid4().hex. */
void jwt_new_jti(char out[SOOM_AUTH_JWT_JTI_LEN + 1])
{
    static const char HEX[] = "0123456789abcdef";
    unsigned char u[16];
    auth_random(u, sizeof u);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof u; i++) {
        out[2 * i] = HEX[u[i] >> 4];
        out[2 * i + 1] = HEX[u[i] & 15];
    }
    out[SOOM_AUTH_JWT_JTI_LEN] = '\0';
}

static bool integer_text(const char *p, size_t n)
{
    size_t i = n > 0 && p[0] == '-' ? 1 : 0;
    if (i == n || n - i > 16 || (p[i] == '0' && n - i > 1))
        return false;
    for (; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

int soom_auth_jwt_issue(const struct soom_auth_jwt *j, const struct soom_auth_jwt_issue *t,
                        struct soom_buf *out, char jti[SOOM_AUTH_JWT_JTI_LEN + 1])
{
    /* a user id that is not UTF-8 is refused, not written escaped: the
     * token must carry the id the database holds */
    if (t->token_type == NULL || t->user_id == NULL || t->user_id_len == 0 ||
        (t->user_id_is_int && !integer_text(t->user_id, t->user_id_len)) ||
        !soom_json_utf8_valid(t->user_id, t->user_id_len))
        return SOOM_EINVAL;
    char id[SOOM_AUTH_JWT_JTI_LEN + 1];
    jwt_new_jti(id);
    struct soom_buf c;
    soom_buf_init(&c);
    soom_buf_putc(&c, '{');
    soom_json_write_string(&c, j->token_type_claim, strlen(j->token_type_claim));
    soom_buf_putc(&c, ':');
    soom_json_write_string(&c, t->token_type, strlen(t->token_type));
    soom_buf_printf(&c, ",\"exp\":%lld,\"iat\":%lld,", (long long)(t->now + t->lifetime),
                    (long long)t->now);
    soom_json_write_string(&c, j->jti_claim, strlen(j->jti_claim));
    soom_buf_printf(&c, ":\"%s\",", id);
    soom_json_write_string(&c, j->user_id_claim, strlen(j->user_id_claim));
    soom_buf_putc(&c, ':');
    if (t->user_id_is_int)
        soom_buf_append(&c, t->user_id, t->user_id_len);
    else
        soom_json_write_string(&c, t->user_id, t->user_id_len);
    if (j->audience != NULL) {
        soom_buf_puts(&c, ",\"aud\":");
        soom_json_write_string(&c, j->audience, strlen(j->audience));
    }
    if (j->issuer != NULL) {
        soom_buf_puts(&c, ",\"iss\":");
        soom_json_write_string(&c, j->issuer, strlen(j->issuer));
    }
    soom_buf_putc(&c, '}');
    int rc = soom_auth_jwt_sign(j, c.data, c.len, out);
    soom_buf_cleanup(&c);
    if (rc == SOOM_OK && jti != NULL)
        memcpy(jti, id, sizeof id);
    return rc;
}
