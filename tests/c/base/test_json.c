/* Unit tests of core/src/base/json.c: parsing guards (depth, UTF-8, NUL),
 * the exact printer, and number and string writing. */
#include <stdio.h>
#include <stdlib.h>

#include "soom/error.h"
#include "soom/json.h"
#include "test.h"

static int parse(const char *text, struct soom_json **doc)
{
    struct soom_json_error err;
    return soom_json_parse(text, strlen(text), 64, doc, &err);
}

static void test_print_exact(void)
{
    /* cJSON's printer would write 1 and 9.00719925474099e+15 for these */
    struct soom_json *doc;
    CHECK_INT(parse("{\"a\":[1.0000000000000002,9007199254740992,0.1,-2.5e-300,\"x\\ny\"],"
                    "\"b\":null,\"c\":{},\"d\":[true,false]}",
                    &doc),
              SOOM_OK);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_print(doc, &b);
    CHECK_STR(b.data, "{\"a\":[1.0000000000000002,9007199254740992,0.1,-2.5e-300,\"x\\ny\"],"
                      "\"b\":null,\"c\":{},\"d\":[true,false]}");
    soom_buf_cleanup(&b);
    soom_json_free(doc);
}

static void test_parse_ok(void)
{
    struct soom_json *doc;
    CHECK_INT(parse("{\"a\": [1, 2, {\"b\": null}], \"c\": \"\xc3\xa9\"}  \n", &doc), SOOM_OK);
    soom_json_free(doc);
    CHECK_INT(parse("42", &doc), SOOM_OK);
    soom_json_free(doc);
}

static void test_parse_errors(void)
{
    struct soom_json *doc;
    struct soom_json_error err;
    CHECK_INT(parse("{\"a\": }", &doc), SOOM_EBADJSON);
    CHECK(doc == NULL);
    CHECK_INT(parse("{} {}", &doc), SOOM_EBADJSON);
    CHECK_INT(parse("", &doc), SOOM_EBADJSON);
    CHECK_INT(parse("[1,]", &doc), SOOM_EBADJSON);
    const char *t = "{\"a\":1,}";
    CHECK_INT(soom_json_parse(t, strlen(t), 64, &doc, &err), SOOM_EBADJSON);
    CHECK(err.offset <= strlen(t));
}

static void test_depth_cap(void)
{
    char deep[2 * 200 + 1];
    struct soom_json *doc;
    for (int depth = 63; depth <= 65; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = '\0';
        int rc = parse(deep, &doc);
        CHECK_INT(rc, depth <= 64 ? SOOM_OK : SOOM_EDEPTH);
        soom_json_free(doc);
    }
    /* brackets inside strings do not count */
    CHECK_INT(
        parse("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", &doc),
        SOOM_OK);
    soom_json_free(doc);
    /* a hostile 100,000-deep body is refused by the scan, not the parser */
    size_t n = 100000;
    char *huge = malloc(n + 1);
    memset(huge, '[', n);
    huge[n] = '\0';
    struct soom_json_error err;
    CHECK_INT(soom_json_parse(huge, n, 64, &doc, &err), SOOM_EDEPTH);
    CHECK_INT(err.offset, 64);
    free(huge);
}

static void test_utf8(void)
{
    struct soom_json *doc;
    CHECK_INT(parse("\"\xff\"", &doc), SOOM_EUTF8);
    CHECK_INT(parse("\"\xc3\"", &doc), SOOM_EUTF8);             /* truncated */
    CHECK_INT(parse("\"\xc0\xaf\"", &doc), SOOM_EUTF8);         /* overlong */
    CHECK_INT(parse("\"\xed\xa0\x80\"", &doc), SOOM_EUTF8);     /* surrogate */
    CHECK_INT(parse("\"\xf4\x90\x80\x80\"", &doc), SOOM_EUTF8); /* > U+10FFFF */
    CHECK_INT(parse("\"\xf0\x9f\x98\x80\"", &doc), SOOM_OK);    /* emoji */
    soom_json_free(doc);
    CHECK(soom_json_utf8_valid("h\xc3\xa9llo", 6));
    CHECK(!soom_json_utf8_valid("\x80", 1));
    /* an escaped NUL would be truncated by C strings: valid JSON, but refused
     * as a value the core cannot take, named by its pointer */
    struct soom_json_error err;
    const char *nul = "{\"a\":[1,{\"b~/\\u00e9\":\"x\\u0000\"}]}";
    CHECK_INT(soom_json_parse(nul, strlen(nul), 64, &doc, &err), SOOM_EVALUE);
    CHECK_STR(err.pointer, "/a/1/b~0~1\xc3\xa9");
    CHECK_STR(err.code, "nul");
    CHECK(doc == NULL);
    /* malformed text after it is a 400 first */
    CHECK_INT(parse("[\"\\u0000\", 01]", &doc), SOOM_EBADJSON);
    CHECK_INT(parse("\"a\\\\u0000b\"", &doc), SOOM_OK); /* an escaped backslash */
    soom_json_free(doc);
}

/* RFC 8259 exactly: what cJSON alone would take and must not. */
static void test_rfc8259(void)
{
    static const char *const refused[] = {
        "-01",
        "012",
        "[00]",
        "2.",
        ".5",
        "1.e5",
        "1e",
        "1e+",
        "-",
        "+1",
        "[-]",
        "0x10",
        "1.5x",
        "Infinity",
        "NaN",
        "[1 2]",
        "{\"a\" 1}",
        "{1:2}",
        "{\"a\":1,}",
        "[,1]",
        "tru",
        "nulll",
        "\"a\x01b\"",
        "\"tab\there\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\uD800\"",
        "\"\\uDC00\"",
        "\"\\uD800\\u0041\"",
        "\v1",
        "1\f",
        "[1,\x0b2]",
        "\xc2\xa0"
        "1",
        "'a'",
        "{\"a\":1}}",
        "\"unterminated",
        "[1",
        "{\"a\":",
    };
    struct soom_json *doc;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = parse(refused[i], &doc);
        if (rc != SOOM_EBADJSON)
            fprintf(stderr, "accepted or misread: %s (%d)\n", refused[i], rc);
        CHECK_INT(rc, SOOM_EBADJSON);
        CHECK(doc == NULL);
    }
    /* a raw NUL byte inside a string, which cJSON would cut the string at */
    CHECK_INT(soom_json_parse("\"abc\0-hidden\"", 13, 64, &doc, NULL), SOOM_EBADJSON);
    CHECK_INT(soom_json_parse("[1]\0", 4, 64, &doc, NULL), SOOM_EBADJSON);
    static const char *const taken[] = {
        "0",
        "-0",
        "0.5",
        "-0.0e-0",
        "1E+2",
        "1e00",
        "[]",
        "{}",
        " \t\r\n[ 1 , 2 ] ",
        "\"\\ud83d\\ude00 \\/ \\b\\f\\n\\r\\t\\\"\"",
        "{\"a\":{\"a\":1}}",
        "\xef\xbb\xbf{}",
        "\xef\xbb\xbf"
        "6", /* found by fuzz_json: cJSON skips the mark only when more than a byte follows */
    };
    for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
        int rc = parse(taken[i], &doc);
        if (rc != SOOM_OK)
            fprintf(stderr, "refused: %s (%d)\n", taken[i], rc);
        CHECK_INT(rc, SOOM_OK);
        soom_json_free(doc);
    }
}

static void test_duplicate_names(void)
{
    struct soom_json *doc;
    struct soom_json_error err;
    const char *t = "{\"a\":1,\"b\":{\"x\":1,\"\\u0078\":2}}";
    CHECK_INT(soom_json_parse(t, strlen(t), 64, &doc, &err), SOOM_EBADJSON);
    CHECK_STR(err.pointer, "/b/x");
    /* a large object goes through the sort: still found, anywhere */
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_putc(&b, '{');
    for (int i = 0; i < 1000; i++)
        soom_buf_printf(&b, "\"k%d\":%d,", i, i);
    soom_buf_puts(&b, "\"k500\":0}");
    CHECK_INT(soom_json_parse(b.data, b.len, 64, &doc, &err), SOOM_EBADJSON);
    CHECK_STR(err.pointer, "/k500");
    b.data[b.len - 7] = 'z'; /* z500: no duplicate */
    CHECK_INT(soom_json_parse(b.data, b.len, 64, &doc, &err), SOOM_OK);
    soom_json_free(doc);
    soom_buf_cleanup(&b);
    /* the same name in two objects is fine */
    CHECK_INT(parse("[{\"a\":1},{\"a\":2}]", &doc), SOOM_OK);
    soom_json_free(doc);
}

static void test_numbers_exact(void)
{
    struct soom_json *doc;
    struct soom_json_error err;
    /* beyond a double's range: valid JSON, a 422 by name */
    const char *t = "{\"a\":[0,1e999]}";
    CHECK_INT(soom_json_parse(t, strlen(t), 64, &doc, &err), SOOM_EVALUE);
    CHECK_STR(err.pointer, "/a/1");
    CHECK_STR(err.code, "range");
    CHECK_INT(parse("-1e999", &doc), SOOM_EVALUE);
    /* longer than cJSON reads */
    char longnum[80];
    memset(longnum, '7', 70);
    longnum[70] = '\0';
    CHECK_INT(parse(longnum, &doc), SOOM_EVALUE);
    /* digits a double would round are kept and printed whole */
    t = "[100000000000000000000,-9007199254740993,0.10000000000000000000001,1e-400,12,1.5]";
    CHECK_INT(parse(t, &doc), SOOM_OK);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_print(doc, &b);
    CHECK_STR(b.data, t);
    soom_buf_cleanup(&b);
    /* a path that cannot carry the text (Lua) refuses integers beyond 2^53 */
    CHECK_INT(soom_json_check_exact(doc, &err), SOOM_EVALUE);
    CHECK_STR(err.pointer, "/0");
    soom_json_free(doc);
    CHECK_INT(parse("{\"n\":[9007199254740992,-9007199254740992,1.2345678901234567]}", &doc),
              SOOM_OK);
    CHECK_INT(soom_json_check_exact(doc, &err), SOOM_OK);
    soom_json_free(doc);
    CHECK_INT(parse("{\"n\":{\"m\":9007199254740993}}", &doc), SOOM_OK);
    CHECK_INT(soom_json_check_exact(doc, &err), SOOM_EVALUE);
    CHECK_STR(err.pointer, "/n/m");
    soom_json_free(doc);
}

static void test_write_numbers(void)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_write_number(&b, 9007199254740992.0);
    CHECK_STR(b.data, "9007199254740992");
    soom_buf_clear(&b);
    soom_json_write_number(&b, -9007199254740991.0);
    CHECK_STR(b.data, "-9007199254740991");
    soom_buf_clear(&b);
    soom_json_write_number(&b, 0.1);
    CHECK_STR(b.data, "0.1");
    soom_buf_clear(&b);
    soom_json_write_number(&b, 1e300);
    CHECK_STR(b.data, "1e+300");
    soom_buf_clear(&b);
    CHECK_INT(soom_json_write_number(&b, 0.0 / 0.0), SOOM_EINVAL);
    CHECK_INT(b.len, 0);
    soom_json_write_int(&b, INT64_MIN);
    CHECK_STR(b.data, "-9223372036854775808");
    soom_buf_cleanup(&b);
}

static void test_write_string(void)
{
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_write_string(&b, "a\"b\\c\n\x01\xc3\xa9", 9);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    soom_buf_cleanup(&b);
}

/* Bytes that are not UTF-8 (a request's path or header, a handler's
 * string) come out as the text \xHH: the document stays valid UTF-8 and the
 * bytes stay visible. Valid sequences of every length pass unchanged. */
static void test_write_string_not_utf8(void)
{
    struct soom_buf b;
    soom_buf_init(&b);
    const char in[] = "/x\xff|\xc3|\xe2\x82|\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|"
                      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    soom_json_write_string(&b, in, sizeof in - 1);
    CHECK_STR(b.data, "\"/x\\\\xff|\\\\xc3|\\\\xe2\\\\x82|\\\\xed\\\\xa0\\\\x80|\\\\xc0\\\\xaf|"
                      "\\\\xf4\\\\x90\\\\x80\\\\x80|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    CHECK(soom_json_utf8_valid(b.data, b.len));
    soom_buf_cleanup(&b);
}

int main(void)
{
    RUN(test_print_exact);
    RUN(test_parse_ok);
    RUN(test_parse_errors);
    RUN(test_depth_cap);
    RUN(test_utf8);
    RUN(test_rfc8259);
    RUN(test_duplicate_names);
    RUN(test_numbers_exact);
    RUN(test_write_numbers);
    RUN(test_write_string);
    RUN(test_write_string_not_utf8);
    return test_summary();
}
