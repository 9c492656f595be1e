/* Credential costs of the auth module: JWT verifications per second for
 * every algorithm family (simplejwt-shaped access tokens, keys generated at
 * start-up) and the time of one password check for every Django hasher at
 * its default cost. Built by the Makefile beside it, not by the project's
 * build; run.sh compares it with simplejwt and Django in the same run.
 *
 *   bench [seconds]            every figure
 *   bench count ALG N          N verifications of one ALG token (for
 *                              valgrind --tool=callgrind)
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_jwt.h"
#include "auth_password.h"
#include "soom/error.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *private_pem(const char *type, const char *curve, size_t bits)
{
    EVP_PKEY *pk = bits    ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
                   : curve ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve)
                           : EVP_PKEY_Q_keygen(NULL, NULL, type);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(pk);
    return s;
}

struct subject {
    const char *alg;
    struct soom_auth_jwt *j;
    struct soom_buf token;
};

static void setup(struct subject *s, const char *alg)
{
    struct soom_auth_jwt_options o;
    soom_auth_jwt_options_init(&o);
    o.algorithms = alg;
    char err[256];
    if (soom_auth_jwt_new(&o, &s->j, err, sizeof err) != SOOM_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    int rc;
    if (alg[0] == 'H') {
        const char *secret = "django-insecure-a-secret-key-of-fifty-characters-x";
        rc = soom_auth_jwt_add_secret(s->j, NULL, secret, strlen(secret), err, sizeof err);
    } else {
        char *pem = alg[0] == 'R'                    ? private_pem("RSA", NULL, 2048)
                    : alg[0] == 'E' && alg[1] == 'S' ? private_pem("EC", "P-256", 0)
                                                     : private_pem("ED25519", NULL, 0);
        rc = soom_auth_jwt_add_pem(s->j, NULL, pem, strlen(pem), err, sizeof err);
        free(pem);
    }
    if (rc != SOOM_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    s->alg = alg;
    struct soom_auth_jwt_issue t = {.token_type = "access",
                                    .user_id = "42",
                                    .user_id_len = 2,
                                    .user_id_is_int = true,
                                    .now = time(NULL),
                                    .lifetime = 3600};
    soom_buf_init(&s->token);
    soom_auth_jwt_issue(s->j, &t, &s->token, NULL);
}

static int verify(const struct subject *s, int64_t at)
{
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    int rc = soom_auth_jwt_verify(s->j, s->token.data, s->token.len, "access", at, &c);
    soom_auth_jwt_claims_cleanup(&c);
    return rc;
}

/* The best of five rounds of `seconds / 5`, in verifications per second. */
static double measure(const struct subject *s, double seconds)
{
    double best = 0;
    int64_t at = time(NULL);
    for (int round = 0; round < 5; round++) {
        long n = 0;
        double t0 = now(), t1;
        do {
            for (int i = 0; i < 100; i++)
                if (verify(s, at) != SOOM_OK)
                    exit(1);
            n += 100;
            t1 = now();
        } while (t1 - t0 < seconds / 5);
        if (n / (t1 - t0) > best)
            best = n / (t1 - t0);
    }
    return best;
}

static void password(const char *label, enum soom_auth_hasher h, uint32_t iterations)
{
    struct soom_auth_password_params p;
    soom_auth_password_params_init(&p);
    p.hasher = h;
    if (iterations)
        p.pbkdf2_iterations = iterations;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_auth_password_make(&p, "correct horse battery staple", 28, &b);
    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        if (soom_auth_password_check(&p, "correct horse battery staple", 28, b.data, b.len, NULL) !=
            SOOM_OK)
            exit(1);
        if (now() - t0 < best)
            best = now() - t0;
    }
    printf("password %-28s %8.1f ms\n", label, best * 1e3);
    soom_buf_cleanup(&b);
}

static const char *const ALGS[] = {"HS256", "HS512", "RS256", "ES256", "EdDSA"};

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "count") == 0) {
        struct subject s;
        setup(&s, argv[2]);
        long n = atol(argv[3]);
        int64_t at = time(NULL);
        for (long i = 0; i < n; i++)
            if (verify(&s, at) != SOOM_OK)
                return 1;
        return 0;
    }
    double seconds = argc > 1 ? atof(argv[1]) : 2;
    for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++) {
        struct subject s;
        setup(&s, ALGS[i]);
        double rate = measure(&s, seconds);
        printf("jwt %-6s %10.0f verifies/s %8.2f us each (%zu-byte token)\n", ALGS[i], rate,
               1e6 / rate, s.token.len);
        soom_buf_cleanup(&s.token);
        soom_auth_jwt_free(s.j);
    }
    password("pbkdf2_sha256 1000000", SOOM_AUTH_PBKDF2_SHA256, 1000000);
    password("pbkdf2_sha256 260000", SOOM_AUTH_PBKDF2_SHA256, 260000);
    password("pbkdf2_sha1 1000000", SOOM_AUTH_PBKDF2_SHA1, 1000000);
    password("argon2id t=2 m=102400 p=8", SOOM_AUTH_ARGON2, 0);
    password("bcrypt_sha256 12", SOOM_AUTH_BCRYPT_SHA256, 0);
    password("bcrypt 12", SOOM_AUTH_BCRYPT, 0);
    password("scrypt N=16384 r=8 p=1", SOOM_AUTH_SCRYPT, 0);
    return 0;
}
