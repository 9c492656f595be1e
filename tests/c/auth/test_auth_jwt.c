/* Unit tests of core/src/auth/auth_jwt.c, the verifier: tokens built here
 * on libcrypto (jwt_test.h) with every header and claim the verifier must
 * refuse, tables of malformed encodings, every truncation and one-character
 * corruption of valid tokens, and RFC 7515's own example. simplejwt's and
 * PyJWT's tokens are checked in tests/http/test_auth_django.py. */
#include <pthread.h>

#include "jwt_test.h"

static const char SECRET[] = "a secret of the test";

static struct soom_auth_jwt *hs_config(const char *algorithms,
                                       void (*tweak)(struct soom_auth_jwt_options *))
{
    struct soom_auth_jwt *j = jt_config(algorithms, tweak);
    CHECK_INT(soom_auth_jwt_add_secret(j, NULL, SECRET, strlen(SECRET), NULL, 0), SOOM_OK);
    return j;
}

static char *hs(const char *header, const char *claims)
{
    return jt_hs(header, claims, SECRET, strlen(SECRET), EVP_sha256());
}

static void test_valid_token_and_claims(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    char *t = hs(JT_HS256, JT_CLAIMS);
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), "access", NOW, &c), SOOM_OK);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_NONE);
    CHECK_INT(c.alg, SOOM_AUTH_JWT_HS256);
    CHECK(c.user_id_is_int);
    CHECK_INT(c.user_id_int, 42);
    CHECK_STR(c.user_id, "42");
    CHECK_INT(c.user_id_len, 2);
    CHECK_STR(c.token_type, "access");
    CHECK_STR(c.jti, "j1");
    CHECK_INT(c.exp, 1700000300);
    CHECK_INT(c.iat, 1700000000);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_print(c.claims, &b);
    CHECK(strstr(b.data, "\"user_id\":42") != NULL);
    soom_buf_cleanup(&b);
    /* verifying again into the same struct drops the previous claims */
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), NULL, NOW, &c), SOOM_OK);
    CHECK_INT(soom_auth_jwt_verify(j, "x", 1, NULL, NOW, &c), SOOM_EAUTH);
    CHECK(c.claims == NULL && c.user_id == NULL);
    soom_auth_jwt_claims_cleanup(&c);
    soom_auth_jwt_claims_cleanup(&c); /* twice is harmless */
    free(t);
    soom_auth_jwt_free(j);
    soom_auth_jwt_free(NULL);
}

static void test_string_user_id(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    char *t = hs(JT_HS256, "{\"token_type\":\"access\",\"exp\":1700000300,"
                           "\"user_id\":\"6f1c0a9e-uuid\"}");
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), "access", NOW, &c), SOOM_OK);
    CHECK(!c.user_id_is_int);
    CHECK_STR(c.user_id, "6f1c0a9e-uuid");
    CHECK(c.jti == NULL && c.iat == 0);
    soom_auth_jwt_claims_cleanup(&c);
    free(t);
    soom_auth_jwt_free(j);
}

static void tweak_claims(struct soom_auth_jwt_options *o)
{
    o->issuer = "https://issuer.example";
    o->audience = "orders";
    o->leeway = 10;
    o->user_id_claim = "uid";
}

struct claims_case {
    const char *claims;
    enum soom_auth_jwt_reason want;
};

/* Claims under issuer "https://issuer.example", audience "orders", a
 * leeway of 10 s and the user id in "uid", verified at NOW as access. */
#define BASE "\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":\"orders\""
#define USER ",\"uid\":7"
#define EXP ",\"exp\":1700000300"
static const struct claims_case CLAIMS[] = {
    {"{" BASE USER EXP "}", SOOM_AUTH_JWT_NONE},
    {"{" BASE USER ",\"exp\":1700000000}", SOOM_AUTH_JWT_NONE},    /* inside the leeway */
    {"{" BASE USER ",\"exp\":1699999991}", SOOM_AUTH_JWT_NONE},    /* still inside */
    {"{" BASE USER ",\"exp\":1699999990}", SOOM_AUTH_JWT_EXPIRED}, /* exp <= now - leeway */
    {"{" BASE USER ",\"exp\":1000}", SOOM_AUTH_JWT_EXPIRED},
    {"{" BASE USER ",\"exp\":1700000300.5}", SOOM_AUTH_JWT_NONE},
    {"{" BASE USER ",\"exp\":\"1700000300\"}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER ",\"exp\":true}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER ",\"exp\":null}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER ",\"exp\":[1700000300]}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER ",\"exp\":1e300}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER "}", SOOM_AUTH_JWT_NO_EXP},
    {"{" BASE USER EXP ",\"nbf\":1700000010}", SOOM_AUTH_JWT_NONE},
    {"{" BASE USER EXP ",\"nbf\":1700000011}", SOOM_AUTH_JWT_NOT_YET_VALID},
    {"{" BASE USER EXP ",\"nbf\":\"soon\"}", SOOM_AUTH_JWT_BAD_TIME},
    {"{" BASE USER EXP ",\"iat\":1700000010}", SOOM_AUTH_JWT_NONE},
    {"{" BASE USER EXP ",\"iat\":1700000100}", SOOM_AUTH_JWT_ISSUED_IN_FUTURE},
    {"{" BASE USER EXP ",\"iat\":{}}", SOOM_AUTH_JWT_BAD_TIME},
    {"{\"token_type\":\"access\",\"aud\":\"orders\"" USER EXP "}", SOOM_AUTH_JWT_BAD_ISSUER},
    {"{\"token_type\":\"access\",\"iss\":\"https://evil.example\",\"aud\":\"orders\"" USER EXP "}",
     SOOM_AUTH_JWT_BAD_ISSUER},
    {"{\"token_type\":\"access\",\"iss\":[\"https://issuer.example\"],\"aud\":\"orders\"" USER EXP
     "}",
     SOOM_AUTH_JWT_BAD_ISSUER},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\"" USER EXP "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":\"billing\"" USER EXP
     "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":[\"billing\","
     "\"orders\"]" USER EXP "}",
     SOOM_AUTH_JWT_NONE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":[\"billing\"]" USER EXP
     "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":[\"orders\",1]" USER EXP
     "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":[]" USER EXP "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"access\",\"iss\":\"https://issuer.example\",\"aud\":7" USER EXP "}",
     SOOM_AUTH_JWT_BAD_AUDIENCE},
    {"{\"token_type\":\"refresh\",\"iss\":\"https://issuer.example\",\"aud\":\"orders\"" USER EXP
     "}",
     SOOM_AUTH_JWT_WRONG_TYPE},
    {"{\"iss\":\"https://issuer.example\",\"aud\":\"orders\"" USER EXP "}",
     SOOM_AUTH_JWT_WRONG_TYPE},
    {"{\"token_type\":\"Access\",\"iss\":\"https://issuer.example\",\"aud\":\"orders\"" USER EXP
     "}",
     SOOM_AUTH_JWT_WRONG_TYPE},
    {"{\"token_type\":1,\"iss\":\"https://issuer.example\",\"aud\":\"orders\"" USER EXP "}",
     SOOM_AUTH_JWT_WRONG_TYPE},
    {"{" BASE EXP "}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"user_id\":7}", SOOM_AUTH_JWT_NO_USER}, /* the claim is "uid" here */
    {"{" BASE EXP ",\"uid\":\"\"}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":7.5}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":true}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":null}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":{\"id\":7}}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":[7]}", SOOM_AUTH_JWT_NO_USER},
    {"{" BASE EXP ",\"uid\":18014398509481984}", SOOM_AUTH_JWT_NO_USER}, /* 2^54: inexact */
    {"{" BASE EXP ",\"uid\":9007199254740992}", SOOM_AUTH_JWT_NONE},     /* 2^53 */
    {"{" BASE EXP ",\"uid\":-3}", SOOM_AUTH_JWT_NONE},
    {"{" BASE EXP ",\"uid\":0}", SOOM_AUTH_JWT_NONE},
    {"{" BASE EXP ",\"uid\":\"7\",\"jti\":5}", SOOM_AUTH_JWT_NONE}, /* jti not a string: none */
    {"{" BASE USER EXP ",\"uid\":8}", SOOM_AUTH_JWT_BAD_CLAIMS},    /* a duplicate member */
    {"[" BASE USER EXP "]", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"\"claims\"", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"7", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"null", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"{" BASE USER EXP, SOOM_AUTH_JWT_BAD_CLAIMS},
    {"{" BASE USER EXP "} {}", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"{" BASE USER EXP ",\"x\":\"\xff\"}", SOOM_AUTH_JWT_BAD_CLAIMS}, /* not UTF-8 */
    {"{" BASE USER EXP ",\"x\":\"a\\u0000b\"}", SOOM_AUTH_JWT_BAD_CLAIMS},
    {"{" BASE USER EXP ",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
     SOOM_AUTH_JWT_BAD_CLAIMS},
    {"", SOOM_AUTH_JWT_MALFORMED}, /* an empty segment */
};

static void test_claims_table(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, tweak_claims);
    for (size_t i = 0; i < sizeof CLAIMS / sizeof CLAIMS[0]; i++) {
        char *t = hs(JT_HS256, CLAIMS[i].claims);
        enum soom_auth_jwt_reason r = jt_verify(j, t);
        if (r != CLAIMS[i].want)
            fprintf(stderr, "  claims %s: got %s, expected %s\n", CLAIMS[i].claims,
                    soom_auth_jwt_reason_code(r), soom_auth_jwt_reason_code(CLAIMS[i].want));
        CHECK_INT(r, CLAIMS[i].want);
        free(t);
    }
    soom_auth_jwt_free(j);
}

static void tweak_no_exp(struct soom_auth_jwt_options *o)
{
    o->require_exp = false;
}

static void test_untyped_and_optional_exp(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, tweak_no_exp);
    char *t = hs(JT_HS256, "{\"token_type\":\"refresh\"}");
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    /* no type asked: any type, no user id needed */
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), NULL, NOW, &c), SOOM_OK);
    CHECK_STR(c.token_type, "refresh");
    CHECK(c.user_id == NULL && c.exp == 0);
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), "refresh", NOW, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_NO_USER);
    CHECK_INT(soom_auth_jwt_verify(j, t, strlen(t), "access", NOW, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_WRONG_TYPE);
    soom_auth_jwt_claims_cleanup(&c);
    free(t);
    soom_auth_jwt_free(j);
}

struct header_case {
    const char *header;
    enum soom_auth_jwt_reason want;
};

static const struct header_case HEADERS[] = {
    {"{\"alg\":\"HS256\"}", SOOM_AUTH_JWT_NONE},
    {"{\"typ\":\"JWT\",\"alg\":\"HS256\",\"extra\":[1,2]}", SOOM_AUTH_JWT_NONE},
    {"{\"alg\":\"none\"}", SOOM_AUTH_JWT_UNSIGNED},
    {"{\"alg\":\"None\"}", SOOM_AUTH_JWT_UNSIGNED},
    {"{\"alg\":\"NONE\"}", SOOM_AUTH_JWT_UNSIGNED},
    {"{\"alg\":\"nOnE\",\"typ\":\"JWT\"}", SOOM_AUTH_JWT_UNSIGNED},
    {"{\"alg\":\"hs256\"}", SOOM_AUTH_JWT_BAD_ALG},
    {"{\"alg\":\"HS1\"}", SOOM_AUTH_JWT_BAD_ALG},
    {"{\"alg\":\"PS256\"}", SOOM_AUTH_JWT_BAD_ALG},
    {"{\"alg\":\"\"}", SOOM_AUTH_JWT_BAD_ALG},
    {"{\"alg\":\"HS256 \"}", SOOM_AUTH_JWT_BAD_ALG},
    {"{\"alg\":\"RS256\"}", SOOM_AUTH_JWT_NO_KEY}, /* only a secret is configured */
    {"{\"alg\":\"EdDSA\"}", SOOM_AUTH_JWT_NO_KEY},
    {"{\"alg\":\"HS384\"}", SOOM_AUTH_JWT_BAD_SIGNATURE}, /* signed with HS256 */
    {"{\"typ\":\"JWT\"}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":256}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":null}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":[\"HS256\"]}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\",\"kid\":7}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\",\"kid\":\"nobody\"}", SOOM_AUTH_JWT_UNKNOWN_KID},
    {"{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", SOOM_AUTH_JWT_CRIT},
    {"{\"alg\":\"HS256\",\"crit\":[]}", SOOM_AUTH_JWT_CRIT},
    {"{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", SOOM_AUTH_JWT_CRIT},
    {"{\"alg\":\"HS256\",\"alg\":\"HS256\"}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"none\",\"alg\":\"HS256\"}", SOOM_AUTH_JWT_BAD_HEADER},
    {"[\"HS256\"]", SOOM_AUTH_JWT_BAD_HEADER},
    {"\"HS256\"", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\"", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\"}x", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS\\u0000256\"}", SOOM_AUTH_JWT_BAD_HEADER},
    {"{\"alg\":\"HS256\",\"x\":\"\xc3\x28\"}", SOOM_AUTH_JWT_BAD_HEADER},
    /* an embedded key is never used */
    {"{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"YQ\"}}", SOOM_AUTH_JWT_NONE},
};

static void test_header_table(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    for (size_t i = 0; i < sizeof HEADERS / sizeof HEADERS[0]; i++) {
        char *t = hs(HEADERS[i].header, JT_CLAIMS);
        enum soom_auth_jwt_reason r = jt_verify(j, t);
        if (r != HEADERS[i].want)
            fprintf(stderr, "  header %s: got %s, expected %s\n", HEADERS[i].header,
                    soom_auth_jwt_reason_code(r), soom_auth_jwt_reason_code(HEADERS[i].want));
        CHECK_INT(r, HEADERS[i].want);
        free(t);
    }
    soom_auth_jwt_free(j);
}

/* Headers as PyJWT writes them are recognised without being parsed; the
 * answers are the same as for any other spelling of the same header. */
static void test_known_headers(void)
{
    struct soom_auth_jwt *j = hs_config("HS256,HS384", NULL);
    CHECK_INT(soom_auth_jwt_add_secret(j, "k1", "kid secret", 10, NULL, 0), SOOM_OK);
    const struct {
        const char *header;
        const char *secret;
        const EVP_MD *md;
        enum soom_auth_jwt_reason want;
    } cases[] = {
        {"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", SECRET, EVP_sha256(), SOOM_AUTH_JWT_NONE},
        {"{\"typ\":\"JWT\",\"alg\":\"HS256\"}", SECRET, EVP_sha256(), SOOM_AUTH_JWT_NONE},
        {"{\"alg\":\"HS384\",\"typ\":\"JWT\"}", SECRET, EVP_sha384(), SOOM_AUTH_JWT_NONE},
        {"{\"alg\":\"HS512\",\"typ\":\"JWT\"}", SECRET, EVP_sha512(), SOOM_AUTH_JWT_BAD_ALG},
        {"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", "kid secret", EVP_sha256(),
         SOOM_AUTH_JWT_NONE},
        {"{\"kid\":\"k1\",\"alg\":\"HS256\"}", "kid secret", EVP_sha256(), SOOM_AUTH_JWT_NONE},
        {"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", SECRET, EVP_sha256(),
         SOOM_AUTH_JWT_BAD_SIGNATURE},
        {"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "kid secret", EVP_sha256(),
         SOOM_AUTH_JWT_BAD_SIGNATURE},
        {"{\"alg\":\"HS256\",\"kid\":\"k2\",\"typ\":\"JWT\"}", "kid secret", EVP_sha256(),
         SOOM_AUTH_JWT_UNKNOWN_KID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = jt_hs(cases[i].header, JT_CLAIMS, cases[i].secret, strlen(cases[i].secret),
                        cases[i].md);
        CHECK_REASON(j, t, cases[i].want);
        free(t);
    }
    soom_auth_jwt_free(j);
}

static void test_alg_none_without_signature(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    char *h = jt_b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26);
    char *c = jt_b64url(JT_CLAIMS, strlen(JT_CLAIMS));
    char t[1024];
    snprintf(t, sizeof t, "%s.%s.", h, c);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_UNSIGNED);
    snprintf(t, sizeof t, "%s.%s", h, c);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_MALFORMED);
    /* and an HS256 header with the signature left off */
    free(h);
    h = jt_b64url(JT_HS256, strlen(JT_HS256));
    snprintf(t, sizeof t, "%s.%s.", h, c);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_SIGNATURE);
    free(h);
    free(c);
    soom_auth_jwt_free(j);
}

static void test_allowed_algorithms(void)
{
    struct soom_auth_jwt *j = hs_config("HS512, HS384", NULL);
    char *t = hs(JT_HS256, JT_CLAIMS);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_ALG);
    free(t);
    t = jt_hs("{\"alg\":\"HS384\"}", JT_CLAIMS, SECRET, strlen(SECRET), EVP_sha384());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    t = jt_hs("{\"alg\":\"HS512\"}", JT_CLAIMS, SECRET, strlen(SECRET), EVP_sha512());
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    soom_auth_jwt_free(j);
}

/* Secrets longer than a digest's block are hashed first (RFC 2104); the
 * precomputed states must agree with libcrypto's HMAC() for every size. */
static void test_secret_lengths(void)
{
    size_t sizes[] = {1, 32, 63, 64, 65, 127, 128, 129, 300};
    const EVP_MD *mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    const char *headers[] = {"{\"alg\":\"HS256\"}", "{\"alg\":\"HS384\"}", "{\"alg\":\"HS512\"}"};
    char secret[300];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (char)('a' + i % 26);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct soom_auth_jwt *j = jt_config(NULL, NULL);
        CHECK_INT(soom_auth_jwt_add_secret(j, NULL, secret, sizes[s], NULL, 0), SOOM_OK);
        for (int m = 0; m < 3; m++) {
            char *t = jt_hs(headers[m], JT_CLAIMS, secret, sizes[s], mds[m]);
            CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
            free(t);
            t = jt_hs(headers[m], JT_CLAIMS, secret, sizes[s] - 1, mds[m]);
            CHECK_REASON(j, t, SOOM_AUTH_JWT_BAD_SIGNATURE);
            free(t);
        }
        soom_auth_jwt_free(j);
    }
}

/* Tokens that are not three base64url segments, or not a token at all. */
static const char *const MALFORMED[] = {
    "",
    ".",
    "..",
    "...",
    "abc",
    "a.b",
    "a.b.c.d",
    "a.b.c.d.e", /* a JWE's five segments */
    ".eyJhIjoxfQ.c2ln",
    "eyJhbGciOiJIUzI1NiJ9..c2ln",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln.",
    "eyJhbGciOiJIUzI1NiJ9=.eyJhIjoxfQ.c2ln",  /* padding */
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ==.c2ln", /* padding */
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln=",
    "eyJhbGciOiJIUzI1NiJ9.eyJh+joxfQ.c2ln", /* the standard alphabet */
    "eyJhbGciOiJIUzI1NiJ9.eyJh/joxfQ.c2ln",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2l+",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2l",  /* stray bits at the end */
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfR.c2ln", /* stray bits in the claims */
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c",    /* one character: no byte */
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln c",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln\n",
    " eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln",
    "eyJhbGciOiJIUzI1NiJ9 .eyJhIjoxfQ.c2ln",
    "e.eyJhIjoxfQ.c2ln",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2ln%3D",
    "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.@@@@",
};

static void test_malformed_table(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    for (size_t i = 0; i < sizeof MALFORMED / sizeof MALFORMED[0]; i++) {
        enum soom_auth_jwt_reason r = jt_verify(j, MALFORMED[i]);
        if (r != SOOM_AUTH_JWT_MALFORMED)
            fprintf(stderr, "  \"%s\": %s\n", MALFORMED[i], soom_auth_jwt_reason_code(r));
        CHECK_INT(r, SOOM_AUTH_JWT_MALFORMED);
    }
    /* a NUL byte inside the token, its length given */
    char *t = hs(JT_HS256, JT_CLAIMS);
    size_t n = strlen(t);
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    t[5] = '\0';
    CHECK_INT(soom_auth_jwt_verify(j, t, n, "access", NOW, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_MALFORMED);
    soom_auth_jwt_claims_cleanup(&c);
    free(t);
    soom_auth_jwt_free(j);
}

/* Signatures of every length around the largest one read (1024 bytes, an
 * RSA-8192 signature): refused, nothing written past a buffer. */
static void test_long_signatures(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    char *t = hs(JT_HS256, JT_CLAIMS);
    char *dot = strrchr(t, '.');
    struct soom_buf b;
    soom_buf_init(&b);
    for (size_t n = 1355; n < 1375; n++) {
        soom_buf_clear(&b);
        soom_buf_append(&b, t, (size_t)(dot + 1 - t));
        for (size_t i = 0; i < n; i++)
            soom_buf_putc(&b, 'A');
        enum soom_auth_jwt_reason r = jt_verify(j, b.data);
        CHECK(r == SOOM_AUTH_JWT_MALFORMED || r == SOOM_AUTH_JWT_BAD_SIGNATURE);
    }
    soom_buf_cleanup(&b);
    free(t);
    soom_auth_jwt_free(j);
}

static void tweak_short(struct soom_auth_jwt_options *o)
{
    o->max_length = 200;
}

static void test_too_long(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, tweak_short);
    char claims[512];
    snprintf(claims, sizeof claims,
             "{\"token_type\":\"access\",\"exp\":1700000300,\"user_id\":1,\"pad\":\"%0100d\"}", 0);
    char *t = hs(JT_HS256, claims);
    CHECK(strlen(t) > 200);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_TOO_LONG);
    free(t);
    t = hs(JT_HS256, "{\"token_type\":\"access\",\"exp\":1700000300,\"user_id\":1}");
    CHECK(strlen(t) <= 200);
    CHECK_REASON(j, t, SOOM_AUTH_JWT_NONE);
    free(t);
    soom_auth_jwt_free(j);
    /* the default bound: 8 KiB */
    j = hs_config(NULL, NULL);
    char *big = malloc(9000);
    memset(big, 'a', 8999);
    big[8999] = '\0';
    CHECK_REASON(j, big, SOOM_AUTH_JWT_TOO_LONG);
    free(big);
    soom_auth_jwt_free(j);
}

/* Every prefix and every one-character change of a valid token is
 * refused. */
static void test_truncations_and_corruptions(void)
{
    static const char SUBST[] = {'A', 'B', 'Q', 'g', 'w', '_', '-', '.', '=', '+', '\0', '\x80'};
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    char *t = hs(JT_HS256, JT_CLAIMS);
    size_t n = strlen(t);
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    for (size_t len = 0; len < n; len++)
        CHECK_INT(soom_auth_jwt_verify(j, t, len, "access", NOW, &c), SOOM_EAUTH);
    char *copy = malloc(n + 1);
    size_t tried = 0;
    for (size_t at = 0; at < n; at++) {
        for (size_t s = 0; s < sizeof SUBST; s++) {
            if (t[at] == SUBST[s])
                continue;
            memcpy(copy, t, n + 1);
            copy[at] = SUBST[s];
            int rc = soom_auth_jwt_verify(j, copy, n, "access", NOW, &c);
            if (rc == SOOM_OK)
                fprintf(stderr, "  accepted %s\n", copy);
            CHECK_INT(rc, SOOM_EAUTH);
            tried++;
        }
    }
    CHECK(tried > 10 * n);
    CHECK_INT(soom_auth_jwt_verify(j, t, n, "access", NOW, &c), SOOM_OK);
    soom_auth_jwt_claims_cleanup(&c);
    free(copy);
    free(t);
    soom_auth_jwt_free(j);
}

/* RFC 7515, appendix A.1: the HS256 example, key and token as printed
 * there (its exp, 1300819380, is in 2011). */
static void test_rfc7515_example(void)
{
    const char *jwks = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-"
                       "EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}]}";
    const char *token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
                        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    struct soom_auth_jwt *j = jt_config(NULL, NULL);
    CHECK_INT(soom_auth_jwt_add_jwks(j, jwks, strlen(jwks), NULL, 0), SOOM_OK);
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    CHECK_INT(soom_auth_jwt_verify(j, token, strlen(token), NULL, 1300819000, &c), SOOM_OK);
    CHECK_INT(c.exp, 1300819380);
    CHECK_INT(soom_auth_jwt_verify(j, token, strlen(token), NULL, 1300819380, &c), SOOM_EAUTH);
    CHECK_INT(c.reason, SOOM_AUTH_JWT_EXPIRED);
    soom_auth_jwt_claims_cleanup(&c);
    soom_auth_jwt_free(j);
}

struct shared {
    const struct soom_auth_jwt *j;
    const char *good, *bad;
    int rounds, failures;
};

static void *verify_many(void *arg)
{
    struct shared *s = arg;
    for (int i = 0; i < s->rounds; i++) {
        if (jt_verify(s->j, s->good) != SOOM_AUTH_JWT_NONE)
            s->failures++;
        if (jt_verify(s->j, s->bad) != SOOM_AUTH_JWT_BAD_SIGNATURE)
            s->failures++;
    }
    return NULL;
}

/* One configuration, read by several threads at once (as worker threads
 * will): every answer stays right. */
static void test_shared_between_threads(void)
{
    struct soom_auth_jwt *j = hs_config(NULL, NULL);
    EVP_PKEY *ec = jt_keygen("EC", "P-256", 0);
    char *pem = jt_pem(ec, false);
    CHECK_INT(soom_auth_jwt_add_pem(j, NULL, pem, strlen(pem), NULL, 0), SOOM_OK);
    char *hs_good = hs(JT_HS256, JT_CLAIMS);
    char *hs_bad = jt_hs(JT_HS256, JT_CLAIMS, "other", 5, EVP_sha256());
    char *ec_good = jt_pk("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", JT_CLAIMS, ec, EVP_sha256(), 32);
    EVP_PKEY *other = jt_keygen("EC", "P-256", 0);
    char *ec_bad = jt_pk("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", JT_CLAIMS, other, EVP_sha256(), 32);
    struct shared work[4] = {
        {j, hs_good, hs_bad, 2000, 0},
        {j, hs_good, hs_bad, 2000, 0},
        {j, ec_good, ec_bad, 100, 0},
        {j, ec_good, ec_bad, 100, 0},
    };
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, verify_many, &work[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(work[i].failures, 0);
    }
    free(hs_good);
    free(hs_bad);
    free(ec_good);
    free(ec_bad);
    free(pem);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other);
    soom_auth_jwt_free(j);
}

static void test_reason_texts(void)
{
    CHECK_STR(soom_auth_jwt_reason_code(SOOM_AUTH_JWT_EXPIRED), "expired");
    CHECK_STR(soom_auth_jwt_reason_code(SOOM_AUTH_JWT_UNKNOWN_KID), "unknown_kid");
    CHECK(strstr(soom_auth_jwt_reason_message(SOOM_AUTH_JWT_UNSIGNED), "none") != NULL);
    CHECK_STR(soom_auth_jwt_reason_code((enum soom_auth_jwt_reason)99), "unknown");
    CHECK_STR(soom_auth_jwt_alg_name(SOOM_AUTH_JWT_EDDSA), "EdDSA");
    CHECK_STR(soom_auth_jwt_alg_name(SOOM_AUTH_JWT_NALGS), "unknown");
}

static void test_options_refused(void)
{
    const char *lists[] = {"HS999", "", ",", "HS256,,RS256", "none", "HS256,none"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        struct soom_auth_jwt_options o;
        soom_auth_jwt_options_init(&o);
        o.algorithms = lists[i];
        struct soom_auth_jwt *j = NULL;
        char err[128] = "";
        CHECK_INT(soom_auth_jwt_new(&o, &j, err, sizeof err), SOOM_ECONFIG);
        CHECK(j == NULL && err[0] != '\0');
    }
    struct soom_auth_jwt_options o;
    soom_auth_jwt_options_init(&o);
    struct soom_auth_jwt *j = NULL;
    o.algorithms = "RS256";
    o.sign_algorithm = "HS256";
    CHECK_INT(soom_auth_jwt_new(&o, &j, NULL, 0), SOOM_ECONFIG);
    soom_auth_jwt_options_init(&o);
    o.user_id_claim = "";
    CHECK_INT(soom_auth_jwt_new(&o, &j, NULL, 0), SOOM_ECONFIG);
    soom_auth_jwt_options_init(&o);
    o.leeway = -1;
    CHECK_INT(soom_auth_jwt_new(&o, &j, NULL, 0), SOOM_ECONFIG);
    CHECK(j == NULL);
    soom_auth_jwt_options_init(&o);
    o.algorithms = " RS256 , ES256 ";
    CHECK_INT(soom_auth_jwt_new(&o, &j, NULL, 0), SOOM_OK);
    soom_auth_jwt_free(j);
}

int main(void)
{
    RUN(test_valid_token_and_claims);
    RUN(test_string_user_id);
    RUN(test_claims_table);
    RUN(test_untyped_and_optional_exp);
    RUN(test_header_table);
    RUN(test_known_headers);
    RUN(test_alg_none_without_signature);
    RUN(test_allowed_algorithms);
    RUN(test_secret_lengths);
    RUN(test_malformed_table);
    RUN(test_too_long);
    RUN(test_long_signatures);
    RUN(test_truncations_and_corruptions);
    RUN(test_rfc7515_example);
    RUN(test_shared_between_threads);
    RUN(test_reason_texts);
    RUN(test_options_refused);
    return test_summary();
}
