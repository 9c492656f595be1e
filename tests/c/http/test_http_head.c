/* Unit tests of core/src/http/http_head.c: the request head's verdicts
 * (framing, Host, field names, the target's forms), the path's decoding
 * and the query's parsing. */
#include <stdarg.h>
#include <stdlib.h>

#include "http_head.h"
#include "test.h"

/* A head of `method` `target` with the fields "Name: value" given as
 * pairs, NULL-terminated; HTTP/1.1 unless `http10`. */
static int verdict_of(struct soom_http_verdict *v, bool http10, const char *method,
                      const char *target, ...)
{
    struct soom_kv fields[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, target);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL && n < 16;) {
        const char *val = va_arg(ap, const char *);
        fields[n++] = (struct soom_kv){k, strlen(k), val, strlen(val)};
    }
    va_end(ap);
    struct soom_http_head h = {method,  strlen(method), target, target ? strlen(target) : 0,
                               !http10, fields,         n};
    return soom_http_head_check(&h, v);
}

#define HOST "Host", "x"

static void test_plain_requests_pass(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "GET", "/items/5?a=1", HOST, NULL), 0);
    CHECK(v.path_len == 8 && memcmp(v.path, "/items/5", 8) == 0);
    CHECK(v.query_len == 3 && memcmp(v.query, "a=1", 3) == 0);
    CHECK(!v.has_length && !v.chunked && v.path_plain);
    CHECK_INT(verdict_of(&v, false, "GET", "/caf%C3%A9?q=%FF", HOST, NULL), 0);
    CHECK(!v.path_plain);
    CHECK_INT(verdict_of(&v, false, "GET", "/caf\xc3\xa9", HOST, NULL), 0);
    CHECK(!v.path_plain);
    CHECK_INT(verdict_of(&v, false, "POST", "/echo", HOST, "Content-Length", "12", NULL), 0);
    CHECK(v.has_length && v.content_length == 12);
    /* whitespace around a valid value is legal; a repeated equal value too */
    CHECK_INT(verdict_of(&v, false, "POST", "/echo", HOST, "Content-Length", " 7 \t",
                         "content-length", "7", NULL),
              0);
    CHECK_INT(v.content_length, 7);
    CHECK_INT(verdict_of(&v, false, "POST", "/echo", HOST, "Transfer-Encoding", "Chunked", NULL),
              0);
    CHECK(v.chunked);
    /* HTTP/1.0 needs no Host */
    CHECK_INT(verdict_of(&v, true, "GET", "/", NULL), 0);
    CHECK(v.query == NULL);
}

static void test_framing_refused(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content-Length", "4", "Transfer-Encoding",
                         "chunked", NULL),
              400);
    CHECK(v.close);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked",
                         "Content-Length", "4", NULL),
              400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content-Length", "2", "Content-Length",
                         "3", NULL),
              400);
    CHECK(v.close);
    const char *bad[] = {"", " ", "2x", "-1", "+2", "2, 2", "0x10", "1 2", "\t"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content-Length", bad[i], NULL), 400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content-Length", "99999999999999999999999",
                         NULL),
              413);
}

static void test_codings(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "gzip", NULL), 501);
    CHECK(v.close);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "gzip, chunked", NULL),
              501);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked, gzip", NULL),
              400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked",
                         "Transfer-Encoding", "gzip", NULL),
              400);
    CHECK_INT(
        verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked, chunked", NULL),
        400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked;x=1", NULL),
              400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chu nked", NULL),
              400);
    /* chunked in two fields, or with trailing space: the library would not
     * frame it as chunked, so it is refused rather than misread */
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "",
                         "Transfer-Encoding", "chunked", NULL),
              400);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding", "chunked ", NULL),
              400);
    CHECK_INT(verdict_of(&v, true, "POST", "/e", "Transfer-Encoding", "chunked", NULL), 400);
}

static void test_fields_and_host(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Transfer-Encoding ", "chunked", NULL),
              400);
    CHECK(v.close);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "X-A\t", "1", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "", "1", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "X(A)", "1", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "host", "y", NULL), 400);
    CHECK_INT(verdict_of(&v, true, "GET", "/", HOST, "Host", "y", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", "Host", "[::1]:8000", NULL), 0);
    CHECK_INT(verdict_of(&v, false, "GET", "/", "Host", "", NULL), 0);
}

/* A known name is matched whatever its case, and only exactly: a CR where
 * it has a '-' (which setting bit 0x20 would make a '-') is no match, but
 * a field name that is not a token. */
static void test_known_names_exactly(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "GET", "/", "HOST", "x", NULL), 0);
    CHECK_INT(verdict_of(&v, false, "GET", "/", "hOsT", "x", "Host", "y", NULL), 400);
    CHECK_STR(v.detail, "more than one Host");
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "CONTENT-length", "5", NULL), 0);
    CHECK(v.has_length && v.content_length == 5);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content\rLength", "5", NULL), 400);
    CHECK(strstr(v.detail, "not a token") != NULL);
    CHECK_INT(verdict_of(&v, false, "POST", "/e", HOST, "Content-Length", "5", "Transfer\rEncoding",
                         "chunked", NULL),
              400);
    CHECK(strstr(v.detail, "not a token") != NULL);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "User\rAgent", "x", NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "X\rRequest\rId", "x", NULL), 400);
    /* a name of a known length that is no known name is a token all the same */
    CHECK_INT(verdict_of(&v, false, "GET", "/", HOST, "Content-Typf", "x", "Hos_", "y", NULL), 0);
    CHECK(v.fields.content_type == NULL);
}

/* The fields the core reads are noted by the same pass, the last of a
 * name winning; absent ones are NULL. */
static void test_fields_noted(void)
{
    struct soom_http_verdict v;
    struct soom_kv fields[] = {
        {"Host", 4, "x", 1},
        {"x-request-id", 12, "a", 1},
        {"CONTENT-TYPE", 12, "application/json", 16},
        {"Content-Length", 14, "2", 1},
        {"traceparent", 11, "t", 1},
        {"TraceState", 10, "s", 1},
        {"X-Request-Id", 12, "b", 1},
    };
    struct soom_http_head h = {"POST", 4, "/e", 2, true, fields, 7};
    CHECK_INT(soom_http_head_check(&h, &v), 0);
    CHECK(v.fields.request_id == &fields[6]);
    CHECK(v.fields.content_type == &fields[2]);
    CHECK(v.fields.content_length == &fields[3]);
    CHECK(v.fields.traceparent == &fields[4]);
    CHECK(v.fields.tracestate == &fields[5]);
    CHECK(v.fields.transfer_encoding == NULL);
    struct soom_kv te[] = {{"Host", 4, "x", 1}, {"transfer-ENCODING", 17, "chunked", 7}};
    struct soom_http_head h2 = {"POST", 4, "/e", 2, true, te, 2};
    CHECK_INT(soom_http_head_check(&h2, &v), 0);
    CHECK(v.chunked && v.fields.transfer_encoding == &te[1] && v.fields.content_type == NULL);
}

static void test_targets(void)
{
    struct soom_http_verdict v;
    CHECK_INT(verdict_of(&v, false, "GET", "http://example.com/items/5?a=1", HOST, NULL), 0);
    CHECK(v.path_len == 8 && memcmp(v.path, "/items/5", 8) == 0);
    CHECK(v.query_len == 3 && memcmp(v.query, "a=1", 3) == 0);
    CHECK_INT(verdict_of(&v, false, "GET", "HTTPS://example.com:8443", HOST, NULL), 0);
    CHECK(v.path_len == 1 && v.path[0] == '/' && v.query == NULL);
    CHECK_INT(verdict_of(&v, false, "GET", "http://example.com?x", HOST, NULL), 0);
    CHECK(v.path_len == 1 && v.query_len == 1);
    CHECK_INT(verdict_of(&v, false, "GET", "http:///x", HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "OPTIONS", "*", HOST, NULL), 0);
    CHECK_INT(verdict_of(&v, false, "GET", "*", HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "items", HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "", HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", NULL, HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/a b", HOST, NULL), 400);
    CHECK_INT(verdict_of(&v, false, "GET", "/a\x01", HOST, NULL), 400);
}

static void test_path_decode(void)
{
    char out[64];
    size_t n;
    CHECK(soom_http_path_decode("/caf%C3%A9/%41", 14, out, &n) == NULL);
    CHECK(n == 8 && memcmp(out, "/caf\xc3\xa9/A", 8) == 0);
    CHECK(soom_http_path_decode("/a+b%2", 6, out, &n) == NULL);
    CHECK(n == 6 && memcmp(out, "/a+b%2", 6) == 0); /* '+' is a plus; a broken escape kept */
    CHECK(soom_http_path_decode("/%zz", 4, out, &n) == NULL);
    CHECK(n == 4 && memcmp(out, "/%zz", 4) == 0);
    CHECK(soom_http_path_decode("/items/5%00abc", 14, out, &n) != NULL);
    CHECK(soom_http_path_decode("/x%FF", 5, out, &n) != NULL);
    CHECK(soom_http_path_decode("/x\xff", 3, out, &n) != NULL);
    CHECK(soom_http_path_decode("/%C0%AF", 7, out, &n) != NULL); /* overlong '/' */
    CHECK(soom_http_path_decode("/\xc3\xa9", 3, out, &n) == NULL);
}

static void test_query_parse(void)
{
    struct soom_arena *a = soom_arena_new(1024);
    struct soom_kv *kv;
    size_t n;
    const char *q = "a=1&b=x+y%21&&c&=v&d=%00z&a=2";
    soom_http_query_parse(a, q, strlen(q), &kv, &n);
    CHECK_INT(n, 6);
    CHECK_STR(kv[0].key, "a");
    CHECK_STR(kv[0].value, "1");
    CHECK_STR(kv[1].value, "x y!");
    CHECK(kv[2].key_len == 1 && kv[2].value_len == 0 && kv[2].value[0] == '\0');
    CHECK(kv[3].key_len == 0 && kv[3].value_len == 1);
    CHECK(kv[4].value_len == 2 && kv[4].value[0] == '\0' && kv[4].value[1] == 'z');
    CHECK_STR(kv[5].value, "2");
    soom_http_query_parse(a, "", 0, &kv, &n);
    CHECK_INT(n, 0);
    /* linear in the number of parameters: 100,000 of them */
    size_t many = 100000;
    char *big = malloc(many * 4);
    for (size_t i = 0; i < many; i++)
        memcpy(big + 4 * i, "k=v&", 4);
    soom_http_query_parse(a, big, many * 4 - 1, &kv, &n);
    CHECK_INT(n, many);
    CHECK(kv[many - 1].key_len == 1 && kv[many - 1].value_len == 1);
    free(big);
    soom_arena_free(a);
}

int main(void)
{
    RUN(test_plain_requests_pass);
    RUN(test_framing_refused);
    RUN(test_codings);
    RUN(test_fields_and_host);
    RUN(test_known_names_exactly);
    RUN(test_fields_noted);
    RUN(test_targets);
    RUN(test_path_decode);
    RUN(test_query_parse);
    return test_summary();
}
