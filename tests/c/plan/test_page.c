/* Unit tests of core/src/plan/page.c: sealed cursors (and every way a cursor
 * can be refused), key rotation, keyset and ORDER BY SQL. */
#include <stdlib.h>
#include <string.h>

#include "soom/base64.h"
#include "soom/error.h"
#include "soom/page.h"
#include "test.h"

static struct soom_page_key *key;

static struct soom_page_cursor position(void)
{
    struct soom_page_cursor c = {.direction = SOOM_PAGE_NEXT, .nvalues = 3};
    c.values[0] = "42";
    c.lens[0] = 2;
    c.values[1] = "2026-11-29 02:13:31.123456+00";
    c.lens[1] = strlen(c.values[1]);
    c.values[2] = "a\0b";
    c.lens[2] = 3;
    return c;
}

static void test_roundtrip(void)
{
    struct soom_page_cursor c = position();
    struct soom_buf b;
    soom_buf_init(&b);
    soom_page_cursor_encode(&c, 7, key, &b);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_page_cursor d;
    const char *why = NULL;
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 7, 3, key, a, &d, &why), SOOM_OK);
    CHECK_INT(d.direction, SOOM_PAGE_NEXT);
    CHECK_INT(d.nvalues, 3);
    CHECK_STR(d.values[0], "42");
    CHECK_INT(d.lens[2], 3);
    CHECK(memcmp(d.values[2], "a\0b", 3) == 0);
    c.direction = SOOM_PAGE_PREV;
    soom_buf_clear(&b);
    soom_page_cursor_encode(&c, 7, key, &b);
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 7, 3, key, a, &d, &why), SOOM_OK);
    CHECK_INT(d.direction, SOOM_PAGE_PREV);
    soom_buf_cleanup(&b);
    soom_arena_free(a);
}

/* A position with a long value (a text ordering column) makes a long
 * cursor, which must decode like any other (found by fuzz_cursor). */
static void test_long_position(void)
{
    char *big = malloc(20000);
    memset(big, 'x', 20000);
    struct soom_page_cursor c = {.direction = SOOM_PAGE_NEXT, .nvalues = 2};
    c.values[0] = big;
    c.lens[0] = 20000;
    c.values[1] = "7";
    c.lens[1] = 1;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_page_cursor_encode(&c, 7, key, &b);
    CHECK(b.len > 26000);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_page_cursor d;
    const char *why = NULL;
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 7, 2, key, a, &d, &why), SOOM_OK);
    CHECK_INT(d.lens[0], 20000);
    CHECK(memcmp(d.values[0], big, 20000) == 0);
    soom_buf_cleanup(&b);
    soom_arena_free(a);
    free(big);
}

static void test_refused(void)
{
    struct soom_page_cursor c = position();
    struct soom_buf b;
    soom_buf_init(&b);
    soom_page_cursor_encode(&c, 7, key, &b);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_page_cursor d;
    const char *why = NULL;
    /* tampered: every single-character change is caught */
    for (size_t i = 0; i < b.len; i++) {
        char *t = strdup(b.data);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK_INT(soom_page_cursor_decode(t, b.len, 7, 3, key, a, &d, &why), SOOM_EBADREQ);
        free(t);
    }
    /* truncated */
    for (size_t n = 0; n < b.len; n++)
        CHECK_INT(soom_page_cursor_decode(b.data, n, 7, 3, key, a, &d, &why), SOOM_EBADREQ);
    /* foreign: another ordering, or another key */
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 8, 3, key, a, &d, &why), SOOM_EBADREQ);
    CHECK(strstr(why, "another listing") != NULL);
    struct soom_page_key *other = soom_page_key_new("another key", NULL);
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 7, 3, other, a, &d, &why), SOOM_EBADREQ);
    soom_page_key_free(other);
    /* a position with another number of keys */
    CHECK_INT(soom_page_cursor_decode(b.data, b.len, 7, 2, key, a, &d, &why), SOOM_EBADREQ);
    /* garbage */
    CHECK_INT(soom_page_cursor_decode("not a cursor!", 13, 7, 3, key, a, &d, &why), SOOM_EBADREQ);
    CHECK_INT(soom_page_cursor_decode("", 0, 7, 3, key, a, &d, &why), SOOM_EBADREQ);
    soom_buf_cleanup(&b);
    soom_arena_free(a);
}

static bool opens(const struct soom_buf *b, const struct soom_page_key *k)
{
    struct soom_arena *a = soom_arena_new(0);
    struct soom_page_cursor d;
    const char *why;
    bool ok = soom_page_cursor_decode(b->data, b->len, 1, 3, k, a, &d, &why) == SOOM_OK;
    soom_arena_free(a);
    return ok;
}

static void test_keys(void)
{
    /* the same secret opens alike; no secret draws a random key */
    bool random = true;
    struct soom_page_key *k1 = soom_page_key_new("s3cret", &random);
    CHECK(!random);
    struct soom_page_key *k2 = soom_page_key_new("s3cret", NULL);
    struct soom_page_key *k3 = soom_page_key_new("", &random);
    CHECK(random);
    struct soom_page_cursor c = position();
    struct soom_buf b1, b2;
    soom_buf_init(&b1);
    soom_buf_init(&b2);
    soom_page_cursor_encode(&c, 1, k1, &b1);
    soom_page_cursor_encode(&c, 1, k1, &b2);
    CHECK(strcmp(b1.data, b2.data) != 0); /* a nonce per cursor */
    CHECK(opens(&b1, k2));
    CHECK(!opens(&b1, k3));
    /* the values are sealed, not merely signed */
    unsigned char raw[256];
    size_t n;
    CHECK(soom_base64_decode(b1.data, b1.len, true, raw, &n));
    CHECK(memmem(raw, n, "2026-11-29", 10) == NULL);
    /* rotation: the new key seals, the old one still opens as a fallback */
    struct soom_page_key *next = soom_page_key_new("new", NULL);
    CHECK_INT(soom_page_key_fallbacks(next, "  older\ts3cret \n"), SOOM_OK);
    CHECK(opens(&b1, next));
    soom_buf_clear(&b2);
    soom_page_cursor_encode(&c, 1, next, &b2);
    CHECK(!opens(&b2, k1)); /* sealed with "new", not with a fallback */
    struct soom_page_key *plain = soom_page_key_new("new", NULL);
    CHECK(opens(&b2, plain));
    CHECK_INT(soom_page_key_fallbacks(plain, "a b c d e f g"), SOOM_OK);
    CHECK_INT(soom_page_key_fallbacks(plain, "h"), SOOM_EINVAL);
    soom_page_key_free(plain);
    soom_page_key_free(next);
    soom_buf_cleanup(&b1);
    soom_buf_cleanup(&b2);
    soom_page_key_free(k1);
    soom_page_key_free(k2);
    soom_page_key_free(k3);
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
    key = soom_page_key_new("test key", NULL);
    RUN(test_roundtrip);
    RUN(test_long_position);
    RUN(test_refused);
    RUN(test_keys);
    RUN(test_keyset_sql);
    soom_page_key_free(key);
    return test_summary();
}
