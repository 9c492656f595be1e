/* Unit tests of core/src/page.c: base64url, signed cursors (and every way
 * a cursor can be refused), keyset and ORDER BY SQL. */
#include <stdlib.h>

#include "soom/error.h"
#include "soom/page.h"
#include "test.h"

static unsigned char key[SOOM_CURSOR_KEY_BYTES];

static struct soom_cursor position(void)
{
    struct soom_cursor c = {.direction = SOOM_CURSOR_NEXT, .nvalues = 3};
    c.values[0] = "42";
    c.lens[0] = 2;
    c.values[1] = "2026-11-29 02:13:31.123456+00";
    c.lens[1] = strlen(c.values[1]);
    c.values[2] = "a\0b";
    c.lens[2] = 3;
    return c;
}

static void test_base64url(void)
{
    const char *samples[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        struct soom_buf b;
        soom_buf_init(&b);
        size_t n = strlen(samples[i]);
        soom_base64url_encode((const unsigned char *)samples[i], n, &b);
        unsigned char out[16];
        size_t outlen = 99;
        CHECK(soom_base64url_decode(b.data ? b.data : "", b.len, out, &outlen));
        CHECK_INT(outlen, n);
        CHECK(memcmp(out, samples[i], n) == 0);
        CHECK(b.len == 0 || strpbrk(b.data, "+/=") == NULL);
        soom_buf_cleanup(&b);
    }
    unsigned char out[16];
    size_t n;
    CHECK(!soom_base64url_decode("ab+d", 4, out, &n));
    CHECK(!soom_base64url_decode("a", 1, out, &n));
    CHECK(!soom_base64url_decode("ab=", 3, out, &n));
}

static void test_roundtrip(void)
{
    struct soom_cursor c = position();
    struct soom_buf b;
    soom_buf_init(&b);
    soom_cursor_encode(&c, 7, key, sizeof key, &b);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_cursor d;
    const char *why = NULL;
    CHECK_INT(soom_cursor_decode(b.data, b.len, 7, 3, key, sizeof key, a, &d, &why), SOOM_OK);
    CHECK_INT(d.direction, SOOM_CURSOR_NEXT);
    CHECK_INT(d.nvalues, 3);
    CHECK_STR(d.values[0], "42");
    CHECK_INT(d.lens[2], 3);
    CHECK(memcmp(d.values[2], "a\0b", 3) == 0);
    c.direction = SOOM_CURSOR_PREV;
    soom_buf_clear(&b);
    soom_cursor_encode(&c, 7, key, sizeof key, &b);
    CHECK_INT(soom_cursor_decode(b.data, b.len, 7, 3, key, sizeof key, a, &d, &why), SOOM_OK);
    CHECK_INT(d.direction, SOOM_CURSOR_PREV);
    soom_buf_cleanup(&b);
    soom_arena_free(a);
}

static void test_refused(void)
{
    struct soom_cursor c = position();
    struct soom_buf b;
    soom_buf_init(&b);
    soom_cursor_encode(&c, 7, key, sizeof key, &b);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_cursor d;
    const char *why = NULL;
    /* tampered: every single-character change is caught */
    for (size_t i = 0; i < b.len; i++) {
        char *t = strdup(b.data);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK_INT(soom_cursor_decode(t, b.len, 7, 3, key, sizeof key, a, &d, &why), SOOM_EBADREQ);
        free(t);
    }
    /* truncated */
    for (size_t n = 0; n < b.len; n++)
        CHECK_INT(soom_cursor_decode(b.data, n, 7, 3, key, sizeof key, a, &d, &why), SOOM_EBADREQ);
    /* foreign: another ordering, or another key */
    CHECK_INT(soom_cursor_decode(b.data, b.len, 8, 3, key, sizeof key, a, &d, &why), SOOM_EBADREQ);
    CHECK(strstr(why, "ordering") != NULL);
    unsigned char other[SOOM_CURSOR_KEY_BYTES];
    memcpy(other, key, sizeof key);
    other[0] ^= 1;
    CHECK_INT(soom_cursor_decode(b.data, b.len, 7, 3, other, sizeof other, a, &d, &why),
              SOOM_EBADREQ);
    /* a position with another number of keys */
    CHECK_INT(soom_cursor_decode(b.data, b.len, 7, 2, key, sizeof key, a, &d, &why), SOOM_EBADREQ);
    /* garbage */
    CHECK_INT(soom_cursor_decode("not a cursor!", 13, 7, 3, key, sizeof key, a, &d, &why),
              SOOM_EBADREQ);
    CHECK_INT(soom_cursor_decode("", 0, 7, 3, key, sizeof key, a, &d, &why), SOOM_EBADREQ);
    soom_buf_cleanup(&b);
    soom_arena_free(a);
}

static void test_keys(void)
{
    unsigned char k1[SOOM_CURSOR_KEY_BYTES], k2[SOOM_CURSOR_KEY_BYTES];
    CHECK(!soom_page_key("s3cret", k1));
    CHECK(!soom_page_key("s3cret", k2));
    CHECK(memcmp(k1, k2, sizeof k1) == 0);
    CHECK(soom_page_key("", k2));
    CHECK(memcmp(k1, k2, sizeof k1) != 0);
    const char *o1[] = {"-score", "id"}, *o2[] = {"score", "id"};
    CHECK(soom_page_fingerprint(o1, 2) != soom_page_fingerprint(o2, 2));
    CHECK(soom_page_fingerprint(o1, 2) == soom_page_fingerprint(o1, 2));
}

static void test_keyset_sql(void)
{
    const char *cols[] = {"\"score\"", "\"created_at\"", "\"id\""};
    bool asc[] = {false, false, false}, desc[] = {true, true, true}, mixed[] = {true, false, false};
    struct soom_buf b;
    soom_buf_init(&b);
    soom_page_keyset_sql(&b, cols, asc, 3, false, 4);
    CHECK_STR(b.data, "(\"score\", \"created_at\", \"id\") > ($4, $5, $6)");
    soom_buf_clear(&b);
    soom_page_keyset_sql(&b, cols, desc, 3, false, 1);
    CHECK_STR(b.data, "(\"score\", \"created_at\", \"id\") < ($1, $2, $3)");
    soom_buf_clear(&b);
    soom_page_keyset_sql(&b, cols, asc, 3, true, 1);
    CHECK_STR(b.data, "(\"score\", \"created_at\", \"id\") < ($1, $2, $3)");
    soom_buf_clear(&b);
    soom_page_keyset_sql(&b, cols, mixed, 3, false, 1);
    CHECK_STR(b.data, "((\"score\" < $1) OR (\"score\" = $1 AND \"created_at\" > $2) OR "
                      "(\"score\" = $1 AND \"created_at\" = $2 AND \"id\" > $3))");
    soom_buf_clear(&b);
    soom_page_keyset_sql(&b, cols, mixed, 3, true, 1);
    CHECK_STR(b.data, "((\"score\" > $1) OR (\"score\" = $1 AND \"created_at\" < $2) OR "
                      "(\"score\" = $1 AND \"created_at\" = $2 AND \"id\" < $3))");
    soom_buf_clear(&b);
    soom_page_order_sql(&b, cols, mixed, 3, false);
    CHECK_STR(b.data, "ORDER BY \"score\" DESC, \"created_at\" ASC, \"id\" ASC");
    soom_buf_clear(&b);
    soom_page_order_sql(&b, cols, mixed, 3, true);
    CHECK_STR(b.data, "ORDER BY \"score\" ASC, \"created_at\" DESC, \"id\" DESC");
    soom_buf_cleanup(&b);
}

int main(void)
{
    soom_page_key("test key", key);
    RUN(test_base64url);
    RUN(test_roundtrip);
    RUN(test_refused);
    RUN(test_keys);
    RUN(test_keyset_sql);
    return test_summary();
}
