/*
 * Unit tests of W3C trace context: a well-formed traceparent continued
 * with its tracestate, every malformed form replaced by a new trace.
 */
#include <string.h>

#include "ops_trace.h"
#include "test.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void begin(struct soom_trace *t, const char *tp, const char *ts)
{
    soom_trace_begin(t, tp, tp ? strlen(tp) : 0, ts, ts ? strlen(ts) : 0);
}

static void test_continued(void)
{
    struct soom_trace t;
    begin(&t, GOOD, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    CHECK_STR(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_STR(t.parent_id, "00f067aa0ba902b7");
    CHECK(strcmp(t.span_id, "00f067aa0ba902b7") != 0);
    CHECK_INT(strlen(t.span_id), 16);
    CHECK_INT(t.flags, 1);
    CHECK(t.state != NULL && t.state_len == 39);
    char out[SOOM_TRACEPARENT_LEN + 1];
    soom_trace_format(&t, out);
    CHECK(strncmp(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0);
    CHECK(strcmp(out + 52, "-01") == 0);
    CHECK(soom_trace_valid(out, strlen(out)));
    begin(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL);
    CHECK_INT(t.flags, 0);
    /* a later version with more fields is read as version 00 */
    begin(&t, "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future", NULL);
    CHECK_STR(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

static void test_malformed_replaced(void)
{
    static const char *const BAD[] = {
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version not hex */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent id */
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   /* short trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* 00 with more */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper case */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  /* upper case */
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  /* separators */
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* no dash after */
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        struct soom_trace t;
        begin(&t, BAD[i], "rojo=1");
        CHECK(!soom_trace_valid(BAD[i], BAD[i] ? strlen(BAD[i]) : 0));
        CHECK(strcmp(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736") != 0);
        CHECK_INT(strlen(t.trace_id), 32);
        CHECK_STR(t.parent_id, "");
        CHECK(t.state == NULL); /* a tracestate without its traceparent is dropped */
        char out[SOOM_TRACEPARENT_LEN + 1];
        soom_trace_format(&t, out);
        CHECK(soom_trace_valid(out, strlen(out)));
    }
}

static void test_new_ids_differ(void)
{
    struct soom_trace a, b;
    begin(&a, NULL, NULL);
    begin(&b, NULL, NULL);
    CHECK(strcmp(a.trace_id, b.trace_id) != 0);
    CHECK(strcmp(a.span_id, b.span_id) != 0);
    CHECK_INT(a.flags, 1);
}

static void test_tracestate_bounds(void)
{
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct soom_trace t;
    begin(&t, GOOD, big);
    CHECK(t.state == NULL);
    begin(&t, GOOD, "a=1\r\nX: y");
    CHECK(t.state == NULL);
}

/* New ids are lower-case hex, every digit in use, and the flags are
 * written back as the two digits they came in. */
static void test_hex_digits(void)
{
    bool seen[16] = {false};
    struct soom_trace t;
    for (int i = 0; i < 64; i++) {
        begin(&t, NULL, NULL);
        char out[SOOM_TRACEPARENT_LEN + 1];
        soom_trace_format(&t, out);
        CHECK(soom_trace_valid(out, strlen(out)));
        for (const char *p = out + 3; p < out + 52; p++) {
            if (*p == '-')
                continue;
            const char *at = strchr("0123456789abcdef", *p);
            CHECK(at != NULL && *p != '\0');
            if (at != NULL)
                seen[at - "0123456789abcdef"] = true;
        }
    }
    for (int d = 0; d < 16; d++)
        CHECK(seen[d]);
    begin(&t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-9e", NULL);
    char out[SOOM_TRACEPARENT_LEN + 1];
    soom_trace_format(&t, out);
    CHECK_STR(out + 52, "-9e");
}

int main(void)
{
    RUN(test_continued);
    RUN(test_malformed_replaced);
    RUN(test_new_ids_differ);
    RUN(test_tracestate_bounds);
    RUN(test_hex_digits);
    return test_summary();
}
