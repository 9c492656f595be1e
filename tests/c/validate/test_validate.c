/* Unit tests of the validator (core/src/validate/validate_*.c): error pointers and
 * messages, the max_errors and depth bounds, big arrays, invalid UTF-8 in
 * hand-built trees, a catastrophic pattern, compile-time refusals, format
 * assertions, query coercion, errors as JSON, and a run from four threads.
 * Conformance to the specification is test_jsonschema_suite's job. */
#include <cJSON.h>
#include <pthread.h>
#include <stdlib.h>

#include "soom/error.h"
#include "soom/validate.h"
#include "test.h"

static struct soom_validator *compile_opts(const char *schema,
                                           const struct soom_validate_options *o)
{
    struct soom_validator *v = NULL;
    char err[256];
    int rc = soom_validate_compile(schema, strlen(schema), o, &v, err, sizeof err);
    if (rc != SOOM_OK)
        fprintf(stderr, "  compile: %s\n", err);
    CHECK_INT(rc, SOOM_OK);
    return v;
}

static struct soom_validator *compile(const char *schema)
{
    return compile_opts(schema, NULL);
}

static struct soom_json *parse(const char *text)
{
    struct soom_json *doc = NULL;
    struct soom_json_error e;
    CHECK_INT(soom_json_parse(text, strlen(text), 64, &doc, &e), SOOM_OK);
    return doc;
}

/* Validates `text`; returns the code and leaves the errors in *e / *n. */
static int check(const struct soom_validator *v, const char *text, struct soom_arena *a,
                 struct soom_validate_error **e, size_t *n)
{
    struct soom_json *doc = parse(text);
    int rc = soom_validate_run(v, doc, a, e, n);
    soom_json_free(doc);
    return rc;
}

/* The error at `pointer` with `code`, or NULL. */
static const struct soom_validate_error *find(const struct soom_validate_error *e, size_t n,
                                              const char *pointer, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].pointer, pointer) == 0 && strcmp(e[i].code, code) == 0)
            return &e[i];
    return NULL;
}

static void test_all_errors_with_pointers(void)
{
    struct soom_validator *v = compile(
        "{\"type\":\"object\",\"required\":[\"name\",\"id\"],\"properties\":{"
        "\"name\":{\"type\":\"string\",\"maxLength\":5},"
        "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"price\"],"
        "\"properties\":{\"price\":{\"type\":\"number\",\"minimum\":0}}}}}}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    int rc = check(v,
                   "{\"name\":\"far too long\",\"items\":[{\"price\":1},{\"price\":2},"
                   "{\"price\":3},{\"price\":-1},{}]}",
                   a, &e, &n);
    CHECK_INT(rc, SOOM_EINVALID);
    CHECK_INT(n, 4);
    const struct soom_validate_error *x = find(e, n, "/name", "maxLength");
    CHECK(x != NULL);
    if (x != NULL)
        CHECK_STR(x->detail, "must be at most 5 characters");
    x = find(e, n, "/items/3/price", "minimum");
    CHECK(x != NULL);
    if (x != NULL)
        CHECK_STR(x->detail, "must be at least 0");
    CHECK(find(e, n, "/items/4/price", "required") != NULL);
    x = find(e, n, "/id", "required");
    CHECK(x != NULL);
    if (x != NULL)
        CHECK_STR(x->detail, "is required");
    CHECK_INT(check(v, "{\"name\":\"ok\",\"id\":1,\"items\":[{\"price\":0}]}", a, &e, &n), SOOM_OK);
    CHECK_INT(n, 0);
    CHECK(e == NULL);
    soom_arena_free(a);
    soom_validate_free(v);
}

static void test_escaped_pointers(void)
{
    struct soom_validator *v =
        compile("{\"properties\":{\"a/b\":{\"type\":\"integer\"},\"c~d\":{\"type\":\"integer\"}},"
                "\"additionalProperties\":false}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    CHECK_INT(check(v, "{\"a/b\":\"x\",\"c~d\":\"y\",\"~/\":1}", a, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 3);
    CHECK(find(e, n, "/a~1b", "type") != NULL);
    CHECK(find(e, n, "/c~0d", "type") != NULL);
    const struct soom_validate_error *x = find(e, n, "/~0~1", "additionalProperties");
    CHECK(x != NULL);
    if (x != NULL)
        CHECK_STR(x->detail, "is not allowed");
    soom_arena_free(a);
    soom_validate_free(v);
}

static void test_max_errors(void)
{
    struct soom_validate_options o;
    soom_validate_options_init(&o);
    CHECK_INT(o.max_errors, 100);
    o.max_errors = 10;
    struct soom_validator *v = compile_opts("{\"items\":{\"type\":\"integer\"}}", &o);
    char doc[512] = "[";
    for (int i = 0; i < 50; i++)
        strcat(doc, i ? ",\"x\"" : "\"x\"");
    strcat(doc, "]");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    CHECK_INT(check(v, doc, a, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 10);
    CHECK_STR(e[9].pointer, "/9");
    soom_arena_free(a);
    soom_validate_free(v);
}

/* A tree nested `depth` arrays deep, built by hand (the parser would cap
 * it). Freed level by level: cJSON_Delete would recurse as deep. */
static cJSON *deep_tree(int depth)
{
    cJSON *root = cJSON_CreateArray(), *cur = root;
    for (int i = 1; i < depth; i++) {
        cJSON *next = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, next);
        cur = next;
    }
    return root;
}

static void free_deep(cJSON *t)
{
    while (t != NULL) {
        cJSON *child = t->child;
        t->child = NULL;
        cJSON_Delete(t);
        t = child;
    }
}

static void test_depth_limits(void)
{
    const char *tree = "{\"$defs\":{\"n\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/n\"}}},"
                       "\"$ref\":\"#/$defs/n\"}";
    struct soom_validator *v = compile(tree);
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    cJSON *deep = deep_tree(100000);
    CHECK_INT(soom_validate_run(v, (struct soom_json *)deep, a, &e, &n), SOOM_EINVALID);
    CHECK(n == 1 && strcmp(e[0].code, "depth") == 0);
    free_deep(deep);
    cJSON *shallow = deep_tree(50);
    CHECK_INT(soom_validate_run(v, (struct soom_json *)shallow, a, &e, &n), SOOM_OK);
    free_deep(shallow);
    soom_validate_free(v);

    struct soom_validate_options o;
    soom_validate_options_init(&o);
    o.max_depth = 10;
    v = compile_opts(tree, &o);
    CHECK_INT(check(v, "[[[]]]", a, &e, &n), SOOM_OK);
    CHECK_INT(check(v, "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", a, &e, &n), SOOM_EINVALID);
    CHECK(n == 1 && strcmp(e[0].code, "depth") == 0);
    soom_validate_free(v);
    soom_arena_free(a);

    /* references that loop without consuming input never compile */
    char err[256];
    CHECK_INT(soom_validate_compile("{\"$ref\":\"#\"}", 12, NULL, &v, err, sizeof err),
              SOOM_EINVAL);
    CHECK(strstr(err, "infinite $ref loop") != NULL);
    const char *loop = "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"anyOf\":[{\"type\":"
                       "\"string\"},{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}";
    CHECK_INT(soom_validate_compile(loop, strlen(loop), NULL, &v, err, sizeof err), SOOM_EINVAL);
    CHECK(v == NULL);
}

static void test_huge_array(void)
{
    struct soom_validator *v =
        compile("{\"type\":\"array\",\"maxItems\":200000,\"uniqueItems\":true,\"items\":{"
                "\"type\":\"object\",\"required\":[\"id\",\"name\"],\"additionalProperties\":false,"
                "\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":0},"
                "\"name\":{\"type\":\"string\",\"maxLength\":10}}}}");
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 100000; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", i);
        cJSON_AddStringToObject(o, "name", "item");
        cJSON_AddItemToArray(arr, o);
    }
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    CHECK_INT(soom_validate_run(v, (struct soom_json *)arr, a, &e, &n), SOOM_OK);
    /* one duplicate and one bad item among 100,000 */
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 99999), "id"), 12345);
    cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 54321), "id"), -1);
    CHECK_INT(soom_validate_run(v, (struct soom_json *)arr, a, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 2);
    CHECK(find(e, n, "/54321/id", "minimum") != NULL);
    const struct soom_validate_error *u = find(e, n, "", "uniqueItems");
    CHECK(u != NULL && strstr(u->detail, "items 12345 and 99999") != NULL);
    cJSON_Delete(arr);
    soom_arena_free(a);
    soom_validate_free(v);
}

/* Strings are byte-exact: a tree built by hand may hold invalid UTF-8. A
 * length counts each malformed byte as one character (never reading past
 * the string); a pattern refuses such a string. */
static void test_invalid_utf8(void)
{
    struct soom_validator *min5 = compile("{\"minLength\":5}");
    struct soom_validator *max5 = compile("{\"maxLength\":5}");
    struct soom_validator *pat = compile("{\"pattern\":\"^.*$\"}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    cJSON *s = cJSON_CreateString("\xff\xfe abc"); /* 6 "characters" */
    CHECK_INT(soom_validate_run(min5, (struct soom_json *)s, a, &e, &n), SOOM_OK);
    CHECK_INT(soom_validate_run(max5, (struct soom_json *)s, a, &e, &n), SOOM_EINVALID);
    CHECK_INT(soom_validate_run(pat, (struct soom_json *)s, a, &e, &n), SOOM_EINVALID);
    CHECK(n == 1 && strcmp(e[0].detail, "must be valid UTF-8 text") == 0);
    cJSON_Delete(s);
    s = cJSON_CreateString("ab\xe2\x82"); /* a truncated sequence at the end: 4 */
    CHECK_INT(soom_validate_run(max5, (struct soom_json *)s, a, &e, &n), SOOM_OK);
    CHECK_INT(soom_validate_run(min5, (struct soom_json *)s, a, &e, &n), SOOM_EINVALID);
    cJSON_Delete(s);
    s = cJSON_CreateString("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* 5 x e-acute */
    CHECK_INT(soom_validate_run(min5, (struct soom_json *)s, a, &e, &n), SOOM_OK);
    CHECK_INT(soom_validate_run(max5, (struct soom_json *)s, a, &e, &n), SOOM_OK);
    CHECK_INT(soom_validate_run(pat, (struct soom_json *)s, a, &e, &n), SOOM_OK);
    cJSON_Delete(s);
    soom_arena_free(a);
    soom_validate_free(min5);
    soom_validate_free(max5);
    soom_validate_free(pat);
}

static void test_catastrophic_pattern(void)
{
    struct soom_validator *v = compile("{\"pattern\":\"^(a+)+$\"}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    char doc[128] = "\"";
    memset(doc + 1, 'a', 60);
    strcpy(doc + 61, "!\"");
    /* Without the match limit this would backtrack 2^60 times. */
    CHECK_INT(check(v, doc, a, &e, &n), SOOM_EINVALID);
    CHECK(n == 1 && strcmp(e[0].code, "pattern") == 0);
    CHECK_INT(check(v, "\"aaaa\"", a, &e, &n), SOOM_OK);
    soom_arena_free(a);
    soom_validate_free(v);
}

static void test_invalid_schemas(void)
{
    static const char *const CASES[][2] = {
        {"{\"properties\":{\"name\":{\"minLength\":-1}}}",
         "/properties/name/minLength: must be a non-negative integer"},
        {"{\"type\":\"strin\"}", "/type: must be one of null"},
        {"{\"pattern\":\"(\"}", "/pattern: invalid regular expression"},
        {"{\"patternProperties\":{\"[\":true}}", "/patternProperties/[: invalid regular"},
        {"{\"$ref\":\"#/$defs/missing\"}", "/$ref: \""},
        {"{\"items\":5}", "/items: must be a schema"},
        {"{\"required\":[\"a\",\"a\"]}", "/required: must be an array of unique strings"},
        {"{\"multipleOf\":0}", "/multipleOf: must be a number greater than 0"},
        {"{\"allOf\":[]}", "/allOf: must be a non-empty array of schemas"},
        {"{\"properties\":{\"a/b\":{\"maxItems\":1.5}}}", "/properties/a~1b/maxItems: must be"},
        {"{\"$ref\":\"http://example.com/x.json\"}", "/$ref: cannot resolve remote reference"},
        {"{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", "/$schema: unsupported"},
        {"{\"type\":", "(root): the schema is not valid JSON"},
        {"{} {}", "(root): the schema is not valid JSON"},
        {"42", "(root): must be a schema"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct soom_validator *v = (struct soom_validator *)1;
        char err[256];
        int rc = soom_validate_compile(CASES[i][0], strlen(CASES[i][0]), NULL, &v, err, sizeof err);
        CHECK_INT(rc, SOOM_EINVAL);
        CHECK(v == NULL);
        if (strncmp(err, CASES[i][1], strlen(CASES[i][1])) != 0) {
            test_failed_checks++;
            fprintf(stderr, "  FAIL %s: got \"%s\", expected \"%s...\"\n", CASES[i][0], err,
                    CASES[i][1]);
        }
    }
}

static void test_format_assertion(void)
{
    static const struct {
        const char *format, *good[5], *bad[5];
    } CASES[] = {
        {"email",
         {"joe@example.com", "\\\"joe bloggs\\\"@example.com", "a.b+c@x.io", "joe@[127.0.0.1]",
          "joe@[IPv6:::1]"},
         {"joe.example.com", "joe.@example.com", "te..st@example.com", "joe@-x.com", "@x.com"}},
        {"date-time",
         {"2024-02-29T23:59:60Z", "1990-12-31t15:59:60-08:00", "2024-01-01T10:00:00.123+02:00",
          "2024-01-01T10:00:00z", NULL},
         {"2023-02-29T10:00:00Z", "1998-12-31T23:59:60+01:00", "2024-01-01 10:00:00Z",
          "2024-01-01T10:00:00", "2024-01-01T24:00:00Z"}},
        {"date",
         {"2024-12-31", "2000-02-29", NULL},
         {"2024-13-01", "1900-02-29", "2024-1-01", NULL}},
        {"time",
         {"10:20:30.5+02:00", "23:59:60Z", NULL},
         {"10:20:30", "24:00:00Z", "1:2:3Z", NULL}},
        {"duration",
         {"P1Y2M3DT4H5M6S", "PT36H", "P2W", "PT0S", "P1M"},
         {"P1Y2D", "P", "PT", "P1Y1W", "PT1.5S"}},
        {"uuid",
         {"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", NULL},
         {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", NULL}},
        {"ipv4",
         {"192.168.0.1", "0.0.0.0", "255.255.255.255", NULL},
         {"192.168.0.01", "256.1.1.1", "1.2.3", "1.2.3.4.5", NULL}},
        {"ipv6",
         {"fe80::1:2", "::", "::ffff:192.168.0.1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::"},
         {"fe80:::1", "1:2:3:4:5:6:7:8:9", "12345::", ":1::2", "1::2::3"}},
        {"uri",
         {"https://example.com/a?b#c", "mailto:a@b.com", "urn:isbn:0451450523",
          "http://[::1]:8080/", NULL},
         {"/relative/only", "http://exa mple.com", "http://example.com:80a/", "1http://x", NULL}},
    };
    struct soom_validate_options on;
    soom_validate_options_init(&on);
    on.format_assertion = true;
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char schema[128], text[128];
        snprintf(schema, sizeof schema, "{\"format\":\"%s\"}", CASES[i].format);
        struct soom_validator *off = compile(schema), *v = compile_opts(schema, &on);
        for (int k = 0; k < 5 && CASES[i].good[k] != NULL; k++) {
            snprintf(text, sizeof text, "\"%s\"", CASES[i].good[k]);
            if (check(v, text, a, &e, &n) != SOOM_OK) {
                test_failed_checks++;
                fprintf(stderr, "  FAIL format %s refused %s\n", CASES[i].format, text);
            }
        }
        for (int k = 0; k < 5 && CASES[i].bad[k] != NULL; k++) {
            snprintf(text, sizeof text, "\"%s\"", CASES[i].bad[k]);
            CHECK_INT(check(off, text, a, &e, &n), SOOM_OK); /* an annotation by default */
            if (check(v, text, a, &e, &n) != SOOM_EINVALID || strcmp(e[0].code, "format") != 0) {
                test_failed_checks++;
                fprintf(stderr, "  FAIL format %s accepted %s\n", CASES[i].format, text);
            }
        }
        soom_validate_free(off);
        soom_validate_free(v);
    }
    soom_arena_free(a);
}

static void test_applicator_reports(void)
{
    struct soom_validator *v =
        compile("{\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"string\","
                "\"maxLength\":3}]},\"b\":{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]},"
                "\"c\":{\"not\":{\"const\":1}}}}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    CHECK_INT(check(v, "{\"a\":\"toolong\",\"b\":5,\"c\":1}", a, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 3);
    CHECK(find(e, n, "/a", "maxLength") != NULL); /* the one branch of the right type */
    CHECK(find(e, n, "/b", "oneOf") != NULL);
    CHECK(find(e, n, "/c", "not") != NULL);
    CHECK_INT(check(v, "{\"a\":5}", a, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 1);
    CHECK_STR(e[0].code, "type");
    CHECK_STR(e[0].detail, "must be a string or null");
    soom_arena_free(a);
    soom_validate_free(v);
}

static void test_errors_json(void)
{
    struct soom_validate_error e[2] = {{"/a~1b", "must be \"x\"", "const"},
                                       {"", "is not allowed", "false"}};
    struct soom_buf b;
    soom_buf_init(&b);
    soom_validate_errors_json(e, 2, "body", &b);
    CHECK_STR(b.data, "[{\"pointer\":\"/a~1b\",\"detail\":\"must be \\\"x\\\"\",\"code\":"
                      "\"const\",\"source\":\"body\"},{\"pointer\":\"\",\"detail\":\"is not "
                      "allowed\",\"code\":\"false\",\"source\":\"body\"}]");
    soom_buf_clear(&b);
    soom_validate_errors_json(e, 0, "query", &b);
    CHECK_STR(b.data, "[]");
    soom_buf_cleanup(&b);
}

static void test_verdict_only_and_text(void)
{
    const char *schema = "{\"type\": \"integer\"}";
    struct soom_validator *v = compile(schema);
    CHECK_STR(soom_validate_schema(v), schema);
    struct soom_json *doc = parse("\"x\"");
    CHECK_INT(soom_validate_run(v, doc, NULL, NULL, NULL), SOOM_EINVALID);
    soom_json_free(doc);
    doc = parse("1.0"); /* an integer: a number with no fraction */
    CHECK_INT(soom_validate_run(v, doc, NULL, NULL, NULL), SOOM_OK);
    soom_json_free(doc);
    soom_validate_free(v);
    soom_validate_free(NULL);
}

#define Q(k, v)                                                                                    \
    {                                                                                              \
        k, sizeof k - 1, v, sizeof v - 1                                                           \
    }

static int query(const struct soom_validator *v, const struct soom_validate_param *p, size_t n,
                 struct soom_arena *a, char *text, struct soom_validate_error **e, size_t *ne)
{
    struct soom_json *out = NULL;
    int rc = soom_validate_query(v, p, n, a, &out, e, ne);
    CHECK(out != NULL);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_print(out, &b);
    strcpy(text, b.data ? b.data : "");
    soom_buf_cleanup(&b);
    soom_json_free(out);
    return rc;
}

static void test_query_coercion(void)
{
    struct soom_validator *v =
        compile("{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                "\"page\":{\"type\":\"integer\",\"minimum\":1},\"active\":{\"type\":\"boolean\"},"
                "\"price\":{\"type\":[\"number\",\"null\"]},\"q\":{\"type\":\"string\"},"
                "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                "\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}");
    struct soom_arena *a = soom_arena_new(0);
    struct soom_validate_error *e;
    size_t n;
    char text[512];
    struct soom_validate_param ok[] = {Q("page", "2"),    Q("active", "1"), Q("tags", "a"),
                                       Q("ids", "1,2,3"), Q("tags", "b,c"), Q("q", "42"),
                                       Q("price", "9.5")};
    CHECK_INT(query(v, ok, 7, a, text, &e, &n), SOOM_OK);
    CHECK_STR(text, "{\"page\":2,\"active\":true,\"tags\":[\"a\",\"b\",\"c\"],\"ids\":[1,2,3],"
                    "\"q\":\"42\",\"price\":9.5}");
    struct soom_validate_param bools[] = {Q("active", "false"), Q("price", "null")};
    CHECK_INT(query(v, bools, 2, a, text, &e, &n), SOOM_OK);
    CHECK_STR(text, "{\"active\":false,\"price\":null}");

    struct soom_validate_param bad[] = {Q("page", "42abc"), Q("ids", "1,x"), Q("active", "yes")};
    CHECK_INT(query(v, bad, 3, a, text, &e, &n), SOOM_EINVALID);
    CHECK_INT(n, 3); /* one error per bad value, no echo from validation */
    CHECK(find(e, n, "/page", "type") != NULL);
    CHECK(find(e, n, "/ids/1", "type") != NULL);
    const struct soom_validate_error *x = find(e, n, "/active", "type");
    CHECK(x != NULL && strcmp(x->detail, "must be a boolean") == 0);

    struct soom_validate_param rules[] = {Q("page", "0"), Q("page", "3"), Q("zap", "1"),
                                          Q("q", "a"), Q("q", "b")};
    CHECK_INT(query(v, rules, 5, a, text, &e, &n), SOOM_EINVALID);
    CHECK(find(e, n, "/page", "type") != NULL); /* given twice */
    CHECK(find(e, n, "/q", "type") != NULL);
    CHECK(find(e, n, "/zap", "additionalProperties") != NULL);
    struct soom_validate_param low[] = {Q("page", "0")};
    CHECK_INT(query(v, low, 1, a, text, &e, &n), SOOM_EINVALID);
    CHECK(n == 1 && strcmp(e[0].code, "minimum") == 0);
    soom_arena_free(a);
    soom_validate_free(v);
}

struct worker {
    const struct soom_validator *v;
    int mismatches;
};

static void *work(void *p)
{
    struct worker *w = p;
    const char *good = "{\"sku\":\"AB-1234\",\"qty\":3,\"tags\":[\"x\",\"y\"]}";
    const char *bad = "{\"sku\":\"ab-12\",\"qty\":0,\"tags\":[\"x\",\"x\"]}";
    struct soom_json *g = NULL, *b = NULL;
    struct soom_json_error err;
    soom_json_parse(good, strlen(good), 64, &g, &err);
    soom_json_parse(bad, strlen(bad), 64, &b, &err);
    for (int i = 0; i < 2000; i++) {
        struct soom_arena *a = soom_arena_new(0);
        struct soom_validate_error *e;
        size_t n;
        if (soom_validate_run(w->v, g, a, &e, &n) != SOOM_OK)
            w->mismatches++;
        if (soom_validate_run(w->v, b, a, &e, &n) != SOOM_EINVALID || n != 3)
            w->mismatches++;
        soom_arena_free(a);
    }
    soom_json_free(g);
    soom_json_free(b);
    return NULL;
}

static void test_threads(void)
{
    struct soom_validator *v =
        compile("{\"type\":\"object\",\"properties\":{\"sku\":{\"type\":\"string\","
                "\"pattern\":\"^[A-Z]{2}-[0-9]{4}$\"},\"qty\":{\"type\":\"integer\",\"minimum\":1},"
                "\"tags\":{\"type\":\"array\",\"uniqueItems\":true}}}");
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){v, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(w[i].mismatches, 0);
    }
    soom_validate_free(v);
}

int main(void)
{
    RUN(test_all_errors_with_pointers);
    RUN(test_escaped_pointers);
    RUN(test_max_errors);
    RUN(test_depth_limits);
    RUN(test_huge_array);
    RUN(test_invalid_utf8);
    RUN(test_catastrophic_pattern);
    RUN(test_invalid_schemas);
    RUN(test_format_assertion);
    RUN(test_applicator_reports);
    RUN(test_errors_json);
    RUN(test_verdict_only_and_text);
    RUN(test_query_coercion);
    RUN(test_threads);
    return test_summary();
}
