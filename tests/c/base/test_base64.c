/* Unit tests of core/src/base/base64.c: both alphabets, padding, encoding in
 * pieces, and what a strict decode refuses. */
#include "soom/base64.h"
#include "test.h"

static const char *SAMPLES[] = {"",     "f",     "fo",     "foo",
                                "foob", "fooba", "foobar", "\xff\xfe\xfd\xfc"};
#define NSAMPLES (sizeof SAMPLES / sizeof SAMPLES[0])

static void test_standard(void)
{
    static const char *WANT[] = {"",         "Zg==",     "Zm8=",     "Zm9v",
                                 "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "//79/A=="};
    for (size_t i = 0; i < NSAMPLES; i++) {
        struct soom_buf b;
        soom_buf_init(&b);
        size_t n = strlen(SAMPLES[i]);
        soom_base64_encode((const unsigned char *)SAMPLES[i], n, false, &b);
        CHECK_STR(b.data ? b.data : "", WANT[i]);
        CHECK_INT(b.len, soom_base64_len(n, false));
        unsigned char out[16];
        size_t outlen = 99;
        CHECK(soom_base64_decode(b.data ? b.data : "", b.len, false, out, &outlen));
        CHECK_INT(outlen, n);
        CHECK(memcmp(out, SAMPLES[i], n) == 0);
        soom_buf_cleanup(&b);
    }
}

static void test_url(void)
{
    for (size_t i = 0; i < NSAMPLES; i++) {
        struct soom_buf b;
        soom_buf_init(&b);
        size_t n = strlen(SAMPLES[i]);
        soom_base64_encode((const unsigned char *)SAMPLES[i], n, true, &b);
        CHECK(b.len == 0 || strpbrk(b.data, "+/=") == NULL);
        CHECK_INT(b.len, soom_base64_len(n, true));
        unsigned char out[16];
        size_t outlen;
        CHECK(soom_base64_decode(b.data ? b.data : "", b.len, true, out, &outlen));
        CHECK_INT(outlen, n);
        CHECK(memcmp(out, SAMPLES[i], n) == 0);
        soom_buf_cleanup(&b);
    }
}

static void test_decode_rules(void)
{
    unsigned char out[16];
    size_t n;
    /* lenient: both alphabets, padding optional */
    CHECK(soom_base64_decode("//79/A==", 8, false, out, &n) && n == 4);
    CHECK(soom_base64_decode("__79_A", 6, false, out, &n) && n == 4);
    /* strict: only the URL alphabet, no padding, no stray bits */
    CHECK(!soom_base64_decode("//79/A", 6, true, out, &n));
    CHECK(!soom_base64_decode("__79_A==", 8, true, out, &n));
    CHECK(!soom_base64_decode("Zh", 2, true, out, &n)); /* "Zg" is the canonical text */
    CHECK(soom_base64_decode("Zg", 2, true, out, &n) && n == 1 && out[0] == 'f');
    CHECK(!soom_base64_decode("a", 1, false, out, &n));
    CHECK(!soom_base64_decode("ab d", 4, false, out, &n));
}

static void test_pieces(void)
{
    /* every piece but the last a multiple of 3: the same text */
    const unsigned char data[] = "0123456789abcdefghij";
    char whole[64], parts[64];
    char *e1 = soom_base64_write(whole, data, 20, false);
    char *w = soom_base64_write(parts, data, 6, false);
    w = soom_base64_write(w, data + 6, 9, false);
    w = soom_base64_write(w, data + 15, 5, false);
    CHECK_INT(e1 - whole, w - parts);
    CHECK(memcmp(whole, parts, (size_t)(w - parts)) == 0);
}

/* Every byte in every position of a group: accepted exactly when it is in
 * the alphabet (strict: the URL-safe one; else either), decoded to its
 * value. */
static void test_every_byte(void)
{
    static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int strict = 0; strict < 2; strict++) {
        for (int c = 0; c < 256; c++) {
            if (!strict && c == '=')
                continue; /* padding, read by test_decode_rules */
            const char *at = c ? memchr(URL, c, 64) : NULL;
            int value = at                      ? (int)(at - URL)
                        : (!strict && c == '+') ? 62
                        : (!strict && c == '/') ? 63
                                                : -1;
            for (int pos = 0; pos < 4; pos++) {
                char text[4] = {'A', 'A', 'A', 'A'};
                text[pos] = (char)c;
                unsigned char out[4];
                size_t n;
                bool ok = soom_base64_decode(text, 4, strict, out, &n);
                CHECK(ok == (value >= 0));
                if (ok) {
                    unsigned v = (unsigned)out[0] << 16 | (unsigned)out[1] << 8 | out[2];
                    CHECK_INT((v >> (18 - 6 * pos)) & 63, value);
                }
            }
        }
    }
}

int main(void)
{
    RUN(test_standard);
    RUN(test_url);
    RUN(test_decode_rules);
    RUN(test_pieces);
    RUN(test_every_byte);
    return test_summary();
}
