/* Unit tests of core/src/auth/auth_key.c: DRF-shaped random keys, their
 * SHA-256 digests (FIPS 180-2's test vectors), the key shape check and the
 * constant-time comparison. */
#include "auth_key.h"
#include "test.h"

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void test_generate(void)
{
    char a[SOOM_AUTH_KEY_LEN + 1], b[SOOM_AUTH_KEY_LEN + 1];
    soom_auth_key_generate(a);
    soom_auth_key_generate(b);
    CHECK_INT(strlen(a), 40);
    CHECK(lower_hex(a, 40));
    CHECK(strcmp(a, b) != 0);
    CHECK(soom_auth_key_valid(a, strlen(a)));
    /* every hex digit shows up over a few keys: the bytes are not biased to
     * a few values */
    int seen[16] = {0};
    for (int k = 0; k < 20; k++) {
        soom_auth_key_generate(a);
        for (int i = 0; i < 40; i++)
            seen[a[i] <= '9' ? a[i] - '0' : a[i] - 'a' + 10]++;
    }
    for (int d = 0; d < 16; d++)
        CHECK(seen[d] > 0);
}

static void test_sha256(void)
{
    char out[SOOM_AUTH_KEY_SHA256 + 1];
    soom_auth_key_sha256("abc", 3, out);
    CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    soom_auth_key_sha256("", 0, out);
    CHECK_STR(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    soom_auth_key_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
    CHECK_STR(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK_INT(strlen(out), 64);
}

static void test_valid(void)
{
    CHECK(soom_auth_key_valid("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", 40));
    CHECK(soom_auth_key_valid("short-key", 9));
    CHECK(!soom_auth_key_valid("", 0));
    CHECK(!soom_auth_key_valid("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b0", 41));
    CHECK(!soom_auth_key_valid("with space", 10));
    CHECK(!soom_auth_key_valid("tab\there", 8));
    CHECK(!soom_auth_key_valid("nul\0here", 8));
    CHECK(!soom_auth_key_valid("del\x7f", 4));
    CHECK(!soom_auth_key_valid("newline\n", 8));
}

static void test_equal(void)
{
    CHECK(soom_auth_equal("abc", 3, "abc", 3));
    CHECK(soom_auth_equal("", 0, "", 0));
    CHECK(!soom_auth_equal("abc", 3, "abd", 3));
    CHECK(!soom_auth_equal("abc", 3, "abc", 2));
    CHECK(!soom_auth_equal("abc", 3, "abcd", 4));
    CHECK(!soom_auth_equal("a\0c", 3, "a\0d", 3));
    CHECK(soom_auth_equal("a\0c", 3, "a\0c", 3));
}

int main(void)
{
    RUN(test_generate);
    RUN(test_sha256);
    RUN(test_valid);
    RUN(test_equal);
    return test_summary();
}
