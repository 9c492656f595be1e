/* Unit tests of core/src/auth/auth_password.c and the hashers behind it
 * (auth_kdf.c, auth_argon2.c, auth_bcrypt.c): every hasher round-trips,
 * must_update follows the parameters, and malformed hashes, from a table
 * and from every truncation and corruption of valid ones, are refused
 * without a crash. Django's own hashes are checked in
 * tests/http/test_auth_django.py. Work parameters are kept tiny here. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <time.h>

#include "auth_password.h"
#include "soom/base64.h"
#include "soom/error.h"
#include "test.h"

static struct soom_auth_password_params cheap(enum soom_auth_hasher h)
{
    struct soom_auth_password_params p;
    soom_auth_password_params_init(&p);
    p.hasher = h;
    p.pbkdf2_iterations = 1000;
    p.argon2_time_cost = 1;
    p.argon2_memory_cost = 64;
    p.argon2_parallelism = 1;
    p.bcrypt_rounds = 4;
    p.scrypt_work_factor = 16;
    p.scrypt_block_size = 2;
    p.scrypt_parallelism = 1;
    p.equalize_time = false;
    return p;
}

static const enum soom_auth_hasher ALL[] = {SOOM_AUTH_PBKDF2_SHA256, SOOM_AUTH_PBKDF2_SHA1,
                                            SOOM_AUTH_ARGON2,        SOOM_AUTH_BCRYPT_SHA256,
                                            SOOM_AUTH_BCRYPT,        SOOM_AUTH_SCRYPT};
#define NALL (sizeof ALL / sizeof ALL[0])

static int check(const struct soom_auth_password_params *p, const char *pw, const char *enc,
                 size_t elen, bool *update)
{
    bool u = false;
    int rc = soom_auth_password_check(p, pw, strlen(pw), enc, elen, &u);
    if (update != NULL)
        *update = u;
    return rc;
}

static void test_defaults_and_names(void)
{
    struct soom_auth_password_params p;
    soom_auth_password_params_init(&p);
    CHECK_INT(p.hasher, SOOM_AUTH_PBKDF2_SHA256);
    CHECK_INT(p.pbkdf2_iterations, SOOM_AUTH_PBKDF2_ITERATIONS);
    CHECK_INT(p.argon2_memory_cost, 102400);
    CHECK_INT(p.bcrypt_rounds, 12);
    CHECK_INT(p.scrypt_work_factor, 16384);
    CHECK(p.equalize_time);
    for (size_t i = 0; i < NALL; i++) {
        enum soom_auth_hasher h;
        CHECK_INT(soom_auth_hasher_parse(soom_auth_hasher_name(ALL[i]), &h), SOOM_OK);
        CHECK_INT(h, ALL[i]);
    }
    enum soom_auth_hasher h;
    CHECK_INT(soom_auth_hasher_parse("md5", &h), SOOM_EINVAL);
    CHECK_INT(soom_auth_hasher_parse("", &h), SOOM_EINVAL);
    CHECK_INT(soom_auth_hasher_parse(NULL, &h), SOOM_EINVAL);
    CHECK_INT(soom_auth_hasher_parse("PBKDF2_SHA256", &h), SOOM_EINVAL);
}

static void test_round_trip_every_hasher(void)
{
    const char *passwords[] = {"", "s3cret", "pässwörd ✓", "a much longer passphrase than most"};
    for (size_t i = 0; i < NALL; i++) {
        struct soom_auth_password_params p = cheap(ALL[i]);
        for (size_t k = 0; k < sizeof passwords / sizeof passwords[0]; k++) {
            struct soom_buf b;
            soom_buf_init(&b);
            CHECK_INT(soom_auth_password_make(&p, passwords[k], strlen(passwords[k]), &b), SOOM_OK);
            const char *name = soom_auth_hasher_name(ALL[i]);
            CHECK(b.len > strlen(name) && memcmp(b.data, name, strlen(name)) == 0 &&
                  b.data[strlen(name)] == '$');
            bool update = true;
            CHECK_INT(check(&p, passwords[k], b.data, b.len, &update), SOOM_OK);
            CHECK(!update);
            CHECK_INT(check(&p, "wrong", b.data, b.len, NULL), SOOM_EAUTH);
            CHECK_INT(check(&p, "s3creT", b.data, b.len, NULL), SOOM_EAUTH);
            soom_buf_cleanup(&b);
        }
    }
}

static void test_new_salts_differ(void)
{
    for (size_t i = 0; i < NALL; i++) {
        struct soom_auth_password_params p = cheap(ALL[i]);
        struct soom_buf a, b;
        soom_buf_init(&a);
        soom_buf_init(&b);
        soom_auth_password_make(&p, "x", 1, &a);
        soom_auth_password_make(&p, "x", 1, &b);
        CHECK(a.len > 0 && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0));
        soom_buf_cleanup(&a);
        soom_buf_cleanup(&b);
    }
}

static void test_shapes(void)
{
    struct soom_buf b;
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    soom_buf_init(&b);
    soom_auth_password_make(&p, "pw", 2, &b);
    /* pbkdf2_sha256$1000$<22 salt>$<44 base64> */
    CHECK_INT(b.len, strlen("pbkdf2_sha256$1000$") + 22 + 1 + 44);
    CHECK(strncmp(b.data, "pbkdf2_sha256$1000$", 19) == 0 && b.data[19 + 22] == '$');
    soom_buf_clear(&b);
    p = cheap(SOOM_AUTH_ARGON2);
    soom_auth_password_make(&p, "pw", 2, &b);
    CHECK(strncmp(b.data, "argon2$argon2id$v=19$m=64,t=1,p=1$", 34) == 0);
    soom_buf_clear(&b);
    p.argon2i = true;
    soom_auth_password_make(&p, "pw", 2, &b);
    CHECK(strncmp(b.data, "argon2$argon2i$v=19$m=64,t=1,p=1$", 33) == 0);
    soom_buf_clear(&b);
    p = cheap(SOOM_AUTH_BCRYPT_SHA256);
    soom_auth_password_make(&p, "pw", 2, &b);
    CHECK_INT(b.len, strlen("bcrypt_sha256$") + 60);
    CHECK(strncmp(b.data, "bcrypt_sha256$$2b$04$", 21) == 0);
    soom_buf_clear(&b);
    p = cheap(SOOM_AUTH_SCRYPT);
    soom_auth_password_make(&p, "pw", 2, &b);
    CHECK(strncmp(b.data, "scrypt$16$", 10) == 0 && strstr(b.data + 10 + 22, "$2$1$") != NULL);
    CHECK_INT(b.len, strlen("scrypt$16$") + 22 + strlen("$2$1$") + 88);
    soom_buf_cleanup(&b);
}

/* A hash made with `made` and checked under `policy`: must_update? */
static bool update_for(struct soom_auth_password_params made,
                       struct soom_auth_password_params policy)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_auth_password_make(&made, "pw", 2, &b);
    bool update = false;
    int rc = soom_auth_password_check(&policy, "pw", 2, b.data, b.len, &update);
    CHECK_INT(rc, SOOM_OK);
    soom_buf_cleanup(&b);
    return update;
}

static void test_must_update(void)
{
    struct soom_auth_password_params made = cheap(SOOM_AUTH_PBKDF2_SHA256), policy = made;
    CHECK(!update_for(made, policy));
    policy.pbkdf2_iterations = 2000;
    CHECK(update_for(made, policy)); /* fewer iterations than new hashes get */
    policy.pbkdf2_iterations = 500;
    CHECK(!update_for(made, policy)); /* more is fine: nothing to gain */
    policy = made;
    policy.hasher = SOOM_AUTH_ARGON2;
    CHECK(update_for(made, policy)); /* another algorithm is preferred */

    made = cheap(SOOM_AUTH_ARGON2);
    policy = made;
    CHECK(!update_for(made, policy));
    policy.argon2_memory_cost = 128;
    CHECK(update_for(made, policy));
    policy = made;
    policy.argon2_time_cost = 2;
    CHECK(update_for(made, policy));
    policy = made;
    policy.argon2_parallelism = 2;
    CHECK(update_for(made, policy));
    made.argon2i = true;
    policy = cheap(SOOM_AUTH_ARGON2);
    CHECK(update_for(made, policy)); /* argon2i when argon2id is wanted */

    made = cheap(SOOM_AUTH_BCRYPT);
    policy = made;
    CHECK(!update_for(made, policy));
    policy.bcrypt_rounds = 5;
    CHECK(update_for(made, policy));

    made = cheap(SOOM_AUTH_SCRYPT);
    policy = made;
    CHECK(!update_for(made, policy));
    policy.scrypt_work_factor = 32;
    CHECK(update_for(made, policy));
    policy = made;
    policy.scrypt_block_size = 4;
    CHECK(update_for(made, policy));
}

/* pbkdf2_sha256$<it>$<salt>$<hash> computed here with libcrypto alone. */
static void independent_pbkdf2(const char *salt, unsigned it, const char *pw, struct soom_buf *out)
{
    unsigned char dk[32];
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), (const unsigned char *)salt, (int)strlen(salt), (int)it,
                      EVP_sha256(), 32, dk);
    soom_buf_printf(out, "pbkdf2_sha256$%u$%s$", it, salt);
    soom_base64_encode(dk, 32, false, out);
}

static void test_weak_salt_must_update(void)
{
    /* Django's must_update_salt: the 12-character salts of Django before
     * 3.1 hold less than 128 bits, 22 characters do */
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    struct soom_buf b;
    soom_buf_init(&b);
    independent_pbkdf2("shortsalt123", 1000, "pw", &b);
    bool update = false;
    CHECK_INT(soom_auth_password_check(&p, "pw", 2, b.data, b.len, &update), SOOM_OK);
    CHECK(update);
    soom_buf_clear(&b);
    independent_pbkdf2("abcdefghijklmnopqrstuv", 1000, "pw", &b);
    update = true;
    CHECK_INT(soom_auth_password_check(&p, "pw", 2, b.data, b.len, &update), SOOM_OK);
    CHECK(!update);
    CHECK_INT(soom_auth_password_check(&p, "pW", 2, b.data, b.len, &update), SOOM_EAUTH);
    soom_buf_cleanup(&b);
}

static void test_unusable_and_missing(void)
{
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    CHECK_INT(check(&p, "pw", NULL, 0, NULL), SOOM_EAUTH);
    CHECK_INT(check(&p, "pw", "", 0, NULL), SOOM_EAUTH);
    CHECK_INT(check(&p, "pw", "!", 1, NULL), SOOM_EAUTH);
    CHECK_INT(check(&p, "", "!", 1, NULL), SOOM_EAUTH);
    const char *unusable = "!u5Jd8MkzqjMAVbVqnE4L5ZwNXsYgc1dCwxUVHA7c";
    CHECK_INT(check(&p, "pw", unusable, strlen(unusable), NULL), SOOM_EAUTH);
    /* an unusable marker in front of a real hash still never matches */
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_putc(&b, '!');
    soom_auth_password_make(&p, "pw", 2, &b);
    CHECK_INT(check(&p, "pw", b.data, b.len, NULL), SOOM_EAUTH);
    CHECK_INT(check(&p, "pw", b.data + 1, b.len - 1, NULL), SOOM_OK);
    soom_buf_cleanup(&b);
}

static void test_long_and_nul_passwords(void)
{
    char *big = malloc(SOOM_AUTH_PASSWORD_MAX + 2);
    memset(big, 'a', SOOM_AUTH_PASSWORD_MAX + 1);
    big[SOOM_AUTH_PASSWORD_MAX + 1] = '\0';
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_auth_password_make(&p, big, SOOM_AUTH_PASSWORD_MAX + 1, &b), SOOM_EINVAL);
    CHECK_INT(b.len, 0);
    CHECK_INT(soom_auth_password_make(&p, big, SOOM_AUTH_PASSWORD_MAX, &b), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, SOOM_AUTH_PASSWORD_MAX, b.data, b.len, NULL),
              SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, SOOM_AUTH_PASSWORD_MAX + 1, b.data, b.len, NULL),
              SOOM_EAUTH);
    soom_buf_clear(&b);
    /* plain bcrypt reads 72 bytes: a password and its 72-byte prefix match */
    p = cheap(SOOM_AUTH_BCRYPT);
    CHECK_INT(soom_auth_password_make(&p, big, 100, &b), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, 72, b.data, b.len, NULL), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, 71, b.data, b.len, NULL), SOOM_EAUTH);
    soom_buf_clear(&b);
    /* bcrypt_sha256 does not truncate */
    p = cheap(SOOM_AUTH_BCRYPT_SHA256);
    CHECK_INT(soom_auth_password_make(&p, big, 100, &b), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, 100, b.data, b.len, NULL), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, big, 72, b.data, b.len, NULL), SOOM_EAUTH);
    soom_buf_clear(&b);
    /* NUL bytes: plain bcrypt cannot hash them; the others hash every byte */
    p = cheap(SOOM_AUTH_BCRYPT);
    CHECK_INT(soom_auth_password_make(&p, "a\0b", 3, &b), SOOM_EINVAL);
    CHECK_INT(b.len, 0);
    CHECK_INT(soom_auth_password_make(&p, "a", 1, &b), SOOM_OK);
    CHECK_INT(soom_auth_password_check(&p, "a\0b", 3, b.data, b.len, NULL), SOOM_EAUTH);
    soom_buf_clear(&b);
    for (size_t i = 0; i < NALL; i++) {
        if (ALL[i] == SOOM_AUTH_BCRYPT)
            continue;
        p = cheap(ALL[i]);
        soom_buf_clear(&b);
        CHECK_INT(soom_auth_password_make(&p, "a\0b", 3, &b), SOOM_OK);
        CHECK_INT(soom_auth_password_check(&p, "a\0b", 3, b.data, b.len, NULL), SOOM_OK);
        CHECK_INT(soom_auth_password_check(&p, "a\0c", 3, b.data, b.len, NULL), SOOM_EAUTH);
        CHECK_INT(soom_auth_password_check(&p, "a", 1, b.data, b.len, NULL), SOOM_EAUTH);
    }
    soom_buf_cleanup(&b);
    free(big);
}

static void test_bad_parameters_make_nothing(void)
{
    struct {
        enum soom_auth_hasher h;
        int field;
        uint32_t value;
    } cases[] = {
        {SOOM_AUTH_PBKDF2_SHA256, 0, 0},  {SOOM_AUTH_PBKDF2_SHA1, 0, 200000000},
        {SOOM_AUTH_ARGON2, 1, 0},         {SOOM_AUTH_ARGON2, 2, 7},
        {SOOM_AUTH_ARGON2, 2, 2u << 20},  {SOOM_AUTH_ARGON2, 3, 0},
        {SOOM_AUTH_ARGON2, 3, 65},        {SOOM_AUTH_BCRYPT, 4, 3},
        {SOOM_AUTH_BCRYPT_SHA256, 4, 32}, {SOOM_AUTH_SCRYPT, 5, 0},
        {SOOM_AUTH_SCRYPT, 5, 1},         {SOOM_AUTH_SCRYPT, 5, 24},
        {SOOM_AUTH_SCRYPT, 5, 1u << 31},  {SOOM_AUTH_SCRYPT, 6, 0},
        {SOOM_AUTH_SCRYPT, 7, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct soom_auth_password_params p = cheap(cases[i].h);
        uint32_t *fields[] = {&p.pbkdf2_iterations,  &p.argon2_time_cost,  &p.argon2_memory_cost,
                              &p.argon2_parallelism, &p.bcrypt_rounds,     &p.scrypt_work_factor,
                              &p.scrypt_block_size,  &p.scrypt_parallelism};
        *fields[cases[i].field] = cases[i].value;
        struct soom_buf b;
        soom_buf_init(&b);
        CHECK_INT(soom_auth_password_make(&p, "pw", 2, &b), SOOM_EINVAL);
        CHECK_INT(b.len, 0);
        soom_buf_cleanup(&b);
    }
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    p.hasher = (enum soom_auth_hasher)42;
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_auth_password_make(&p, "pw", 2, &b), SOOM_EINVAL);
    soom_buf_cleanup(&b);
}

/* Hashes no parser may accept. Each is refused as malformed (SOOM_EINVAL);
 * the "A" in the hash parts stands for the right length of base64. */
static const char *const MALFORMED[] = {
    "pbkdf2_sha256",
    "pbkdf2_sha256$",
    "pbkdf2_sha256$$$",
    "pbkdf2_sha256$1000",
    "pbkdf2_sha256$1000$salt",
    "pbkdf2_sha256$1000$salt$",
    "pbkdf2_sha256$$salt$AAAA",
    "pbkdf2_sha256$0$salt$AAAA",
    "pbkdf2_sha256$01000$salt$AAAA",
    "pbkdf2_sha256$-1000$salt$AAAA",
    "pbkdf2_sha256$+1000$salt$AAAA",
    "pbkdf2_sha256$ 1000$salt$AAAA",
    "pbkdf2_sha256$1e3$salt$AAAA",
    "pbkdf2_sha256$100000001$salt$AAAA",
    "pbkdf2_sha256$99999999999999999999999$salt$AAAA",
    "pbkdf2_sha256$1000$$AAAA",
    "pbkdf2_sha1$1000$$AAAA",
    "PBKDF2_SHA256$1000$salt$AAAA",
    "pbkdf2$1000$salt$AAAA",
    "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99",
    "sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
    "5f4dcc3b5aa765d61d8327deb882cf99",
    "crypt$$abN0vqt0hXSBU",
    "unknown$abc",
    "$",
    "$$$$",
    "argon2",
    "argon2$",
    "argon2$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=9$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1001,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=65$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
    "argon2$argon2id$v=19$m=64,t=1,p=1$$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2Fs*HNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAA$AAAAAAAAAA",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHR$AAAAAAAAAAAAAAAAAAAAAA",  /* stray bits */
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAA", /* padding */
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAB",
    "argon2$argon2id$v=19$m=64,t=1,p=1$c2FsdHNh_HQ$AAAAAAAAAAAAAAAAAAAAAA", /* URL alphabet */
    "argon2$$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
    "bcrypt",
    "bcrypt$",
    "bcrypt$$2b$04$",
    "bcrypt$$2x$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
    "bcrypt$$2c$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
    "bcrypt$$2b$03$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
    "bcrypt$$2b$32$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
    "bcrypt$$2b$4$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz012345",
    "bcrypt$$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz0123",
    "bcrypt$$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz012345",
    "bcrypt$$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz0123!",
    "bcrypt$2b$04$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz012345",
    "bcrypt_sha256$$2b$04$abcdefghijklmnopqrstu$abcdefghijklmnopqrstuvwxyz01234",
    "bcrypt_sha256$$2b$0a$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
    "scrypt",
    "scrypt$16384$salt$8$1",
    "scrypt$16384$salt$8$1$",
    "scrypt$16384$salt$8$$AAAA",
    "scrypt$16384$salt$$1$AAAA",
    "scrypt$$salt$8$1$AAAA",
    "scrypt$16384$$8$1$AAAA",
    "scrypt$16383$salt$8$1$AAAA",
    "scrypt$1$salt$8$1$AAAA",
    "scrypt$0$salt$8$1$AAAA",
    "scrypt$16384$salt$0$1$AAAA",
    "scrypt$16384$salt$8$0$AAAA",
    "scrypt$1048576$salt$16$1$AAAA",
    "scrypt$4294967296$salt$8$1$AAAA",
    "scrypt$16384$salt$8$1025$AAAA",
    "scrypt$016384$salt$8$1$AAAA",
};

static void test_malformed_table(void)
{
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    for (size_t i = 0; i < sizeof MALFORMED / sizeof MALFORMED[0]; i++) {
        int rc = check(&p, "password", MALFORMED[i], strlen(MALFORMED[i]), NULL);
        if (rc != SOOM_EINVAL)
            fprintf(stderr, "  not refused as malformed (%d): %s\n", rc, MALFORMED[i]);
        CHECK_INT(rc, SOOM_EINVAL);
    }
    /* a NUL byte inside the stored text (its length given) */
    const char nul[] = "pbkdf2_sha256$10\0000$salt$AAAA";
    CHECK_INT(check(&p, "pw", nul, sizeof nul - 1, NULL), SOOM_EINVAL);
}

/* Every prefix and every one-character corruption of valid hashes is
 * refused (as malformed or as a mismatch), never accepted, never a crash. */
static void test_truncations_and_corruptions(void)
{
    static const char REPLACEMENTS[] = {'#', '$', 'A', '0', '\0', '\xff'};
    for (size_t i = 0; i < NALL; i++) {
        struct soom_auth_password_params p = cheap(ALL[i]);
        struct soom_buf b;
        soom_buf_init(&b);
        soom_auth_password_make(&p, "pw", 2, &b);
        for (size_t len = 0; len < b.len; len++)
            CHECK(soom_auth_password_check(&p, "pw", 2, b.data, len, NULL) != SOOM_OK);
        char *copy = malloc(b.len + 1);
        for (size_t at = 0; at < b.len; at++) {
            for (size_t r = 0; r < sizeof REPLACEMENTS; r++) {
                if (b.data[at] == REPLACEMENTS[r])
                    continue;
                memcpy(copy, b.data, b.len);
                copy[at] = REPLACEMENTS[r];
                int rc = soom_auth_password_check(&p, "pw", 2, copy, b.len, NULL);
                if (rc == SOOM_OK)
                    fprintf(stderr, "  accepted %.*s\n", (int)b.len, copy);
                CHECK(rc == SOOM_EAUTH || rc == SOOM_EINVAL);
            }
        }
        free(copy);
        soom_buf_cleanup(&b);
    }
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A missing, unusable or malformed hash costs a hash of the default kind
 * (Django's fake_runtime), so timing does not tell them from a wrong
 * password; with equalize_time off it costs nothing. Thread CPU time,
 * with wide margins, so a busy machine does not matter. */
static void test_equalized_time(void)
{
    struct soom_auth_password_params p = cheap(SOOM_AUTH_PBKDF2_SHA256);
    p.pbkdf2_iterations = 100000;
    p.equalize_time = true;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_auth_password_make(&p, "pw", 2, &b);
    const char *others[] = {NULL, "!unusable", "unknown$abc", "pbkdf2_sha256$x$y$z"};
    double t0 = cpu_seconds();
    CHECK_INT(check(&p, "nope", b.data, b.len, NULL), SOOM_EAUTH);
    double wrong = cpu_seconds() - t0;
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        size_t n = others[i] ? strlen(others[i]) : 0;
        p.equalize_time = true;
        t0 = cpu_seconds();
        CHECK(check(&p, "nope", others[i], n, NULL) != SOOM_OK);
        double equalized = cpu_seconds() - t0;
        p.equalize_time = false;
        t0 = cpu_seconds();
        CHECK(check(&p, "nope", others[i], n, NULL) != SOOM_OK);
        double bare = cpu_seconds() - t0;
        CHECK(equalized > wrong * 0.5);
        CHECK(bare < wrong * 0.2);
    }
    soom_buf_cleanup(&b);
}

int main(void)
{
    RUN(test_defaults_and_names);
    RUN(test_round_trip_every_hasher);
    RUN(test_new_salts_differ);
    RUN(test_shapes);
    RUN(test_must_update);
    RUN(test_weak_salt_must_update);
    RUN(test_unusable_and_missing);
    RUN(test_long_and_nul_passwords);
    RUN(test_bad_parameters_make_nothing);
    RUN(test_malformed_table);
    RUN(test_truncations_and_corruptions);
    RUN(test_equalized_time);
    return test_summary();
}
