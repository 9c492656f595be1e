/*
 * JWT configurations and verification (see auth_jwt.h): options, and
 * reading a compact token in the order that keeps
 * untrusted bytes away from anything costly: length, shape, header, key
 * choice, signature, and only then the claims. The header and the claims
 * are parsed with the core's JSON parser and walked as cJSON trees (the
 * verification is on the request path); the claims document is handed to
 * the caller's struct, everything else lives on the stack for one call.
 */
#include <cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth_jwt_impl.h"
#include "soom/base64.h"
#include "soom/error.h"

#define ALL_ALGS ((1u << SOOM_AUTH_JWT_NALGS) - 1)
#define HEADER_MAX 1024              /* decoded header bytes */
#define MEMBERS_MAX 256              /* members of the header or the claims */
#define EXACT_INT 9007199254740992.0 /* 2^53 */

/* ---- configurations ------------------------------------------------------ */

void soom_auth_jwt_options_init(struct soom_auth_jwt_options *o)
{
    *o = (struct soom_auth_jwt_options){
        .user_id_claim = "user_id",
        .token_type_claim = "token_type",
        .jti_claim = "jti",
        .max_length = 8192,
        .require_exp = true,
    };
}

static int config_fail(char *err, size_t errlen, const char *what, const char *value)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s", what, value ? value : "");
    return SOOM_ECONFIG;
}

/* The JWT_BIT set of a comma-separated list of names. */
static int parse_algorithms(const char *list, unsigned *out, char *err, size_t errlen)
{
    *out = 0;
    const char *p = list;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        while (n > 0 && *p == ' ')
            p++, n--;
        size_t len = n;
        while (len > 0 && p[len - 1] == ' ')
            len--;
        int a = jwt_alg_lookup(p, len);
        if (a < 0) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(len < 31 ? len : 31), p);
            return config_fail(err, errlen, "unknown JWT algorithm: ", name);
        }
        *out |= JWT_BIT(a);
        p += n + (p[n] == ',');
    }
    return *out ? SOOM_OK : config_fail(err, errlen, "no JWT algorithm in the list", NULL);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int soom_auth_jwt_new(const struct soom_auth_jwt_options *o, struct soom_auth_jwt **out, char *err,
                      size_t errlen)
{
    unsigned algs = ALL_ALGS;
    int sign = -1;
    if (o->algorithms != NULL && parse_algorithms(o->algorithms, &algs, err, errlen) != SOOM_OK)
        return SOOM_ECONFIG;
    if (o->sign_algorithm != NULL) {
        sign = jwt_alg_lookup(o->sign_algorithm, strlen(o->sign_algorithm));
        if (sign < 0 || (algs & JWT_BIT(sign)) == 0)
            return config_fail(err, errlen, "the signing algorithm is unknown or not accepted: ",
                               o->sign_algorithm);
    }
    if (o->user_id_claim == NULL || o->token_type_claim == NULL || o->jti_claim == NULL ||
        !*o->user_id_claim || !*o->token_type_claim || !*o->jti_claim)
        return config_fail(err, errlen, "the claim names must not be empty", NULL);
    if (o->leeway < 0 || o->leeway > 86400 * 365)
        return config_fail(err, errlen, "the leeway is out of range", NULL);
    struct soom_auth_jwt *j = xcalloc(1, sizeof *j);
    j->algorithms = algs;
    j->sign_alg = sign;
    j->sign_kid = dup_or_null(o->sign_kid);
    j->issuer = dup_or_null(o->issuer);
    j->audience = dup_or_null(o->audience);
    j->user_id_claim = xstrdup(o->user_id_claim);
    j->token_type_claim = xstrdup(o->token_type_claim);
    j->jti_claim = xstrdup(o->jti_claim);
    j->leeway = o->leeway;
    j->max_length = o->max_length ? o->max_length : 8192;
    j->require_exp = o->require_exp;
    static const char *const MD[JWT_NMD] = {"SHA256", "SHA384", "SHA512"};
    for (int m = 0; m < JWT_NMD; m++)
        if ((j->md[m] = EVP_MD_fetch(NULL, MD[m], NULL)) == NULL)
            soom_oom(0);
    *out = j;
    return SOOM_OK;
}

void soom_auth_jwt_free(struct soom_auth_jwt *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->nheaders; i++)
        free(j->headers[i].seg);
    free(j->headers);
    jwt_keys_free(j);
    for (int m = 0; m < JWT_NMD; m++)
        EVP_MD_free(j->md[m]);
    free(j->sign_kid);
    free(j->issuer);
    free(j->audience);
    free(j->user_id_claim);
    free(j->token_type_claim);
    free(j->jti_claim);
    free(j);
}

/* ---- verification -------------------------------------------------------- */

void soom_auth_jwt_claims_init(struct soom_auth_jwt_claims *c)
{
    memset(c, 0, sizeof *c);
}

void soom_auth_jwt_claims_cleanup(struct soom_auth_jwt_claims *c)
{
    soom_json_free(c->claims);
    soom_auth_jwt_claims_init(c);
}

/* A JSON object whose member names are all different (RFC 7515 asks a
 * verifier to refuse duplicates or take the last; cJSON would take the
 * first, the issuer's Python the last, so neither is safe). */
static bool plain_object(const cJSON *o)
{
    if (!cJSON_IsObject(o))
        return false;
    size_t n = 0;
    for (const cJSON *a = o->child; a != NULL; a = a->next, n++) {
        if (n >= MEMBERS_MAX)
            return false;
        for (const cJSON *b = o->child; b != a; b = b->next)
            if (strcmp(a->string, b->string) == 0)
                return false;
    }
    return true;
}

/* Decodes a base64url segment strictly (one text per value) into a new
 * malloc'ed buffer, or NULL. */
static unsigned char *decode_segment(const char *p, size_t n, size_t max, size_t *len)
{
    if (n > max * 4 / 3 + 4)
        return NULL;
    unsigned char *raw = xmalloc(n * 3 / 4 + 1);
    if (!soom_base64_decode(p, n, true, raw, len)) {
        free(raw);
        return NULL;
    }
    return raw;
}

/* Parses decoded bytes as a JSON object with distinct member names. */
static cJSON *parse_object(const unsigned char *raw, size_t len)
{
    struct soom_json *doc = NULL;
    if (soom_json_parse((const char *)raw, len, 16, &doc, NULL) != SOOM_OK)
        return NULL;
    if (!plain_object((const cJSON *)doc)) {
        soom_json_free(doc);
        return NULL;
    }
    return (cJSON *)doc;
}

struct token {
    const char *p;
    size_t head_len, body_len, sig_len; /* the three segments */
    const char *body, *sig;
    int alg;
    const char *kid;
};

static int refuse(struct soom_auth_jwt_claims *out, enum soom_auth_jwt_reason r)
{
    out->reason = r;
    return SOOM_EAUTH;
}

/* Splits the token and reads its header: alg, kid, no crit. */
static enum soom_auth_jwt_reason read_header(const struct soom_auth_jwt *j, struct token *t,
                                             size_t n, cJSON **header)
{
    const char *d1 = memchr(t->p, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - t->p)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - t->p)) != NULL)
        return SOOM_AUTH_JWT_MALFORMED;
    t->head_len = (size_t)(d1 - t->p);
    t->body = d1 + 1;
    t->body_len = (size_t)(d2 - t->body);
    t->sig = d2 + 1;
    t->sig_len = n - (size_t)(t->sig - t->p);
    if (t->head_len == 0 || t->body_len == 0)
        return SOOM_AUTH_JWT_MALFORMED;
    for (size_t i = 0; i < j->nheaders; i++) {
        const struct jwt_header *k = &j->headers[i];
        if (k->len == t->head_len && memcmp(k->seg, t->p, k->len) == 0) {
            t->alg = k->alg;
            t->kid = k->kid;
            return t->sig_len == 0 ? SOOM_AUTH_JWT_BAD_SIGNATURE : SOOM_AUTH_JWT_NONE;
        }
    }
    size_t len;
    unsigned char *raw = decode_segment(t->p, t->head_len, HEADER_MAX, &len);
    if (raw == NULL)
        return SOOM_AUTH_JWT_MALFORMED;
    cJSON *h = *header = parse_object(raw, len);
    free(raw);
    const cJSON *alg = h ? cJSON_GetObjectItemCaseSensitive(h, "alg") : NULL;
    const cJSON *kid = h ? cJSON_GetObjectItemCaseSensitive(h, "kid") : NULL;
    if (!cJSON_IsString(alg) || (kid != NULL && !cJSON_IsString(kid)))
        return SOOM_AUTH_JWT_BAD_HEADER;
    if (strcasecmp(alg->valuestring, "none") == 0)
        return SOOM_AUTH_JWT_UNSIGNED;
    t->alg = jwt_alg_lookup(alg->valuestring, strlen(alg->valuestring));
    if (t->alg < 0 || (j->algorithms & JWT_BIT(t->alg)) == 0)
        return SOOM_AUTH_JWT_BAD_ALG;
    /* nothing here implements an extension a token could require */
    if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL)
        return SOOM_AUTH_JWT_CRIT;
    t->kid = kid ? kid->valuestring : NULL;
    if (t->sig_len == 0)
        return SOOM_AUTH_JWT_BAD_SIGNATURE;
    return SOOM_AUTH_JWT_NONE;
}

/* Verifies the signature with the token's key: the one its kid names, or
 * any key without a kid; only keys whose type allows the algorithm. */
static enum soom_auth_jwt_reason check_signature(const struct soom_auth_jwt *j,
                                                 const struct token *t)
{
    unsigned char sig[JWT_SIG_MAX];
    size_t siglen;
    /* n characters decode to at most 3n/4 bytes: 1364 to 1023 */
    if (t->sig_len > JWT_SIG_MAX / 3 * 4 ||
        !soom_base64_decode(t->sig, t->sig_len, true, sig, &siglen))
        return SOOM_AUTH_JWT_MALFORMED;
    const unsigned char *msg = (const unsigned char *)t->p;
    size_t msglen = t->head_len + 1 + t->body_len;
    if (t->kid != NULL) {
        const struct jwt_key *k = jwt_key_by_kid(j, t->kid);
        if (k == NULL)
            return SOOM_AUTH_JWT_UNKNOWN_KID;
        if ((k->algs & JWT_BIT(t->alg)) == 0)
            return SOOM_AUTH_JWT_NO_KEY;
        return jwt_key_verify(j, k, (enum soom_auth_jwt_alg)t->alg, msg, msglen, sig, siglen)
                   ? SOOM_AUTH_JWT_NONE
                   : SOOM_AUTH_JWT_BAD_SIGNATURE;
    }
    bool tried = false;
    for (size_t i = 0; i < j->nkeys; i++) {
        const struct jwt_key *k = j->keys[i];
        if (k->kid != NULL || (k->algs & JWT_BIT(t->alg)) == 0)
            continue;
        tried = true;
        if (jwt_key_verify(j, k, (enum soom_auth_jwt_alg)t->alg, msg, msglen, sig, siglen))
            return SOOM_AUTH_JWT_NONE;
    }
    return tried ? SOOM_AUTH_JWT_BAD_SIGNATURE : SOOM_AUTH_JWT_NO_KEY;
}

/* A NumericDate claim: absent (false, fine), a finite number (true), or
 * anything else (*bad). */
static bool time_claim(const cJSON *c, const char *name, int64_t *out, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    if (v == NULL)
        return false;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > EXACT_INT) {
        *bad = true;
        return false;
    }
    *out = (int64_t)floor(v->valuedouble);
    return true;
}

static enum soom_auth_jwt_reason check_times(const struct soom_auth_jwt *j, const cJSON *c,
                                             int64_t now, struct soom_auth_jwt_claims *out)
{
    bool bad = false;
    int64_t exp = 0, nbf = 0, iat = 0;
    bool has_exp = time_claim(c, "exp", &exp, &bad);
    bool has_nbf = time_claim(c, "nbf", &nbf, &bad);
    bool has_iat = time_claim(c, "iat", &iat, &bad);
    if (bad)
        return SOOM_AUTH_JWT_BAD_TIME;
    if (!has_exp && j->require_exp)
        return SOOM_AUTH_JWT_NO_EXP;
    /* PyJWT's comparisons: expired when exp <= now - leeway */
    if (has_exp && exp <= now - j->leeway)
        return SOOM_AUTH_JWT_EXPIRED;
    if (has_nbf && nbf > now + j->leeway)
        return SOOM_AUTH_JWT_NOT_YET_VALID;
    if (has_iat && iat > now + j->leeway)
        return SOOM_AUTH_JWT_ISSUED_IN_FUTURE;
    out->exp = has_exp ? exp : 0;
    out->iat = has_iat ? iat : 0;
    return SOOM_AUTH_JWT_NONE;
}

static bool audience_ok(const char *want, const cJSON *aud)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return false;
    bool found = false;
    for (const cJSON *a = aud->child; a != NULL; a = a->next) {
        if (!cJSON_IsString(a))
            return false;
        found = found || strcmp(a->valuestring, want) == 0;
    }
    return found;
}

/* The user id: an exact integer or a non-empty string. */
static bool read_user(const cJSON *v, struct soom_auth_jwt_claims *out)
{
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        out->user_id = v->valuestring;
        out->user_id_len = strlen(v->valuestring);
        return true;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > EXACT_INT ||
        v->valuedouble != floor(v->valuedouble))
        return false;
    out->user_id_is_int = true;
    out->user_id_int = (int64_t)v->valuedouble;
    /* digits written backwards from the end of the buffer: no printf on
     * the request path */
    char *end = out->user_id_buf_ + sizeof out->user_id_buf_ - 1, *w = end;
    *w = '\0';
    uint64_t mag =
        out->user_id_int < 0 ? (uint64_t)(-out->user_id_int) : (uint64_t)out->user_id_int;
    do {
        *--w = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    if (out->user_id_int < 0)
        *--w = '-';
    out->user_id = w;
    out->user_id_len = (size_t)(end - w);
    return true;
}

static enum soom_auth_jwt_reason check_claims(const struct soom_auth_jwt *j, const cJSON *c,
                                              const char *token_type, int64_t now,
                                              struct soom_auth_jwt_claims *out)
{
    enum soom_auth_jwt_reason r = check_times(j, c, now, out);
    if (r != SOOM_AUTH_JWT_NONE)
        return r;
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
    if (j->issuer != NULL && !(cJSON_IsString(iss) && strcmp(iss->valuestring, j->issuer) == 0))
        return SOOM_AUTH_JWT_BAD_ISSUER;
    if (j->audience != NULL &&
        !audience_ok(j->audience, cJSON_GetObjectItemCaseSensitive(c, "aud")))
        return SOOM_AUTH_JWT_BAD_AUDIENCE;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, j->token_type_claim);
    out->token_type = cJSON_IsString(type) ? type->valuestring : NULL;
    if (token_type != NULL && (out->token_type == NULL || strcmp(out->token_type, token_type) != 0))
        return SOOM_AUTH_JWT_WRONG_TYPE;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(c, j->user_id_claim);
    if (!read_user(user, out) && (token_type != NULL || user != NULL))
        return SOOM_AUTH_JWT_NO_USER;
    const cJSON *jti = cJSON_GetObjectItemCaseSensitive(c, j->jti_claim);
    out->jti = cJSON_IsString(jti) ? jti->valuestring : NULL;
    return SOOM_AUTH_JWT_NONE;
}

int soom_auth_jwt_verify(const struct soom_auth_jwt *j, const char *token, size_t n,
                         const char *token_type, int64_t now, struct soom_auth_jwt_claims *out)
{
    soom_auth_jwt_claims_cleanup(out);
    if (n > j->max_length)
        return refuse(out, SOOM_AUTH_JWT_TOO_LONG);
    struct token t = {.p = token};
    cJSON *header = NULL;
    unsigned char *body = NULL;
    size_t body_len = 0;
    enum soom_auth_jwt_reason r = n == 0 ? SOOM_AUTH_JWT_MALFORMED : read_header(j, &t, n, &header);
    /* the claims are decoded (not parsed) before the signature is checked,
     * so a token that is not base64url is malformed whoever signed it */
    if (r == SOOM_AUTH_JWT_NONE &&
        (body = decode_segment(t.body, t.body_len, j->max_length, &body_len)) == NULL)
        r = SOOM_AUTH_JWT_MALFORMED;
    if (r == SOOM_AUTH_JWT_NONE)
        r = check_signature(j, &t);
    soom_json_free((struct soom_json *)header);
    cJSON *claims = r == SOOM_AUTH_JWT_NONE ? parse_object(body, body_len) : NULL;
    free(body);
    if (r == SOOM_AUTH_JWT_NONE && claims == NULL)
        r = SOOM_AUTH_JWT_BAD_CLAIMS;
    if (r == SOOM_AUTH_JWT_NONE) {
        out->alg = (enum soom_auth_jwt_alg)t.alg;
        r = check_claims(j, claims, token_type, now, out);
    }
    if (r != SOOM_AUTH_JWT_NONE) {
        soom_json_free((struct soom_json *)claims);
        soom_auth_jwt_claims_init(out);
        return refuse(out, r);
    }
    out->claims = (struct soom_json *)claims;
    return SOOM_OK;
}
