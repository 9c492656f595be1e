/* Unit tests of core/src/http/request.c: a request and its arena (the
 * thread's spare arena reused), the headers the pipeline indexes, request
 * ids honoured when well-formed and generated otherwise (version 4 UUIDs),
 * and the accessors of soom/request.h. */
#include <stdlib.h>

#include "request_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/router.h"
#include "test.h"

static struct soom_kv kv(const char *key, const char *value)
{
    struct soom_kv h = {key, strlen(key), value, strlen(value)};
    return h;
}

/* Gives `r` the headers `list` (copied into its arena) and indexes them. */
static void set_headers(struct soom_request *r, const struct soom_kv *list, size_t n)
{
    r->headers = soom_arena_alloc(r->arena, (n ? n : 1) * sizeof *r->headers);
    memcpy(r->headers, list, n * sizeof *list);
    r->nheaders = n;
    soom_request_index_headers(r);
}

static void test_new_and_free(void)
{
    struct soom_config *config = soom_config_new();
    struct soom_request *r = soom_request_new(NULL, config);
    CHECK(r->arena != NULL);
    CHECK(soom_request_arena(r) == r->arena);
    CHECK(r->config == config);
    CHECK_INT(r->status, 200);
    CHECK(r->start_ns > 0);
    CHECK(!r->responded && r->out_body == NULL && r->nheaders == 0 && r->pg == NULL);
    /* the arena is reset and kept as the thread's spare: the next request
     * takes it, so steady traffic allocates no arena */
    struct soom_arena *a = r->arena;
    soom_request_free(r);
    struct soom_request *r2 = soom_request_new(NULL, NULL);
    CHECK(r2->arena == a);
    CHECK_INT(r2->status, 200);
    /* two requests at once: the second gets an arena of its own, and
     * freeing both keeps one spare (the other is freed: ASan sees leaks) */
    struct soom_request *r3 = soom_request_new(NULL, NULL);
    CHECK(r3->arena != a);
    soom_request_free(r2);
    soom_request_free(r3);
    soom_request_free(NULL);
    soom_config_free(config);
}

static void test_index_headers(void)
{
    struct soom_request *r = soom_request_new(NULL, NULL);
    struct soom_kv list[] = {
        kv("content-type", "application/json"),
        kv("X-REQUEST-ID", "abc"),
        kv("Content-Typo", "no"),
        kv("CONTENT-LENGTH", "12"),
        kv("Transfer-Encoding", "chunked"),
        kv("X-Request-Idd", "no"),
        kv("Accept", "*/*"),
        kv("TraceParent", "00-ab-cd-01"),
        kv("tracestate", "k=v"),
        kv("traceparents", "no"),
    };
    set_headers(r, list, sizeof list / sizeof list[0]);
    CHECK(r->h_content_type == &r->headers[0]);
    CHECK(r->h_request_id == &r->headers[1]);
    CHECK(r->h_content_length == &r->headers[3]);
    CHECK(r->h_transfer_encoding == &r->headers[4]);
    CHECK(r->h_traceparent == &r->headers[7]);
    CHECK(r->h_tracestate == &r->headers[8]);
    soom_request_free(r);

    /* none of them: all NULL; a repeated header: the last one */
    r = soom_request_new(NULL, NULL);
    struct soom_kv few[] = {kv("Accept", "*/*"), kv("Host", "x")};
    set_headers(r, few, 2);
    CHECK(r->h_content_type == NULL && r->h_request_id == NULL);
    CHECK(r->h_content_length == NULL && r->h_transfer_encoding == NULL);
    CHECK(r->h_traceparent == NULL && r->h_tracestate == NULL);
    soom_request_free(r);
    r = soom_request_new(NULL, NULL);
    struct soom_kv twice[] = {kv("Content-Type", "text/plain"), kv("content-type", "a/b")};
    set_headers(r, twice, 2);
    CHECK(r->h_content_type == &r->headers[1]);
    soom_request_free(r);
}

/* The id assigned to a request whose X-Request-Id is `given` (NULL: none). */
static const char *id_for(const char *given, size_t given_len, char *buf, size_t n)
{
    struct soom_request *r = soom_request_new(NULL, NULL);
    struct soom_kv h = {"X-Request-Id", 12, given, given_len};
    set_headers(r, &h, given ? 1 : 0);
    soom_request_assign_id(r);
    size_t len;
    const char *id = soom_request_id(r, &len);
    snprintf(buf, n, "%.*s", (int)len, id);
    CHECK_INT(strlen(id), len);
    soom_request_free(r);
    return buf;
}

static bool is_uuid4(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void test_request_id_honoured(void)
{
    char buf[256];
    CHECK_STR(id_for("abc-123", 7, buf, sizeof buf), "abc-123");
    const char *all = "azAZ09-_.:+/=";
    CHECK_STR(id_for(all, strlen(all), buf, sizeof buf), all);
    char longest[SOOM_REQUEST_ID_MAX + 1];
    memset(longest, 'x', SOOM_REQUEST_ID_MAX);
    longest[SOOM_REQUEST_ID_MAX] = '\0';
    CHECK_STR(id_for(longest, SOOM_REQUEST_ID_MAX, buf, sizeof buf), longest);
    /* the header's length counts, not a NUL */
    CHECK_STR(id_for("abcdef", 3, buf, sizeof buf), "abc");
}

static void test_request_id_generated(void)
{
    char buf[256], other[256];
    CHECK(is_uuid4(id_for(NULL, 0, buf, sizeof buf)));
    CHECK(is_uuid4(id_for(NULL, 0, other, sizeof other)));
    CHECK(strcmp(buf, other) != 0);
    /* ill-formed ids are replaced, never echoed */
    const char *bad[] = {"",           "has space", "quote\"", "new\nline",   "caf\xc3\xa9",
                         "semi;colon", "<script>",  "tab\t",   "back\\slash", "comma,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        id_for(bad[i], strlen(bad[i]), buf, sizeof buf);
        CHECK(is_uuid4(buf));
    }
    char too_long[SOOM_REQUEST_ID_MAX + 2];
    memset(too_long, 'x', SOOM_REQUEST_ID_MAX + 1);
    too_long[SOOM_REQUEST_ID_MAX + 1] = '\0';
    CHECK(is_uuid4(id_for(too_long, SOOM_REQUEST_ID_MAX + 1, buf, sizeof buf)));
    /* many generated ids are all different */
    enum { N = 2000 };
    char(*ids)[40] = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++)
        id_for(NULL, 0, ids[i], sizeof ids[i]);
    int same = 0;
    for (int i = 0; i < N; i++) {
        for (int k = i + 1; k < N; k++)
            same += strcmp(ids[i], ids[k]) == 0;
    }
    CHECK_INT(same, 0);
    free(ids);
}

static void test_accessors(void)
{
    struct soom_request *r = soom_request_new(NULL, NULL);
    r->method = SOOM_PATCH;
    r->method_name = "PATCH";
    r->path = "/samples/42/tags";
    r->path_len = 11; /* the decoded path, by its length */
    CHECK_STR(soom_request_method(r), "PATCH");
    CHECK_INT(soom_request_method_bit(r), SOOM_PATCH);
    size_t len;
    const char *p = soom_request_path(r, &len);
    CHECK_INT(len, 11);
    CHECK(strncmp(p, "/samples/42", len) == 0);

    struct soom_kv headers[] = {kv("Accept", "text/html"), kv("X-Token", "t1"),
                                kv("x-token", "t2")};
    set_headers(r, headers, 3);
    const char *v = soom_request_header(r, "accept", 6, &len);
    CHECK(v != NULL && len == 9 && strncmp(v, "text/html", 9) == 0);
    v = soom_request_header(r, "X-TOKEN", 7, &len);
    CHECK(v != NULL && strncmp(v, "t1", len) == 0); /* the first of repeated headers */
    CHECK(soom_request_header(r, "Accep", 5, &len) == NULL);
    CHECK(soom_request_header(r, "Accept-Language", 15, &len) == NULL);

    struct soom_kv query[] = {kv("page", "1"), kv("Page", "9"), kv("page", "2"), kv("q", "")};
    r->query = query;
    r->nquery = 4;
    v = soom_request_query(r, "page", 4, &len);
    CHECK(v != NULL && len == 1 && v[0] == '2'); /* the last value, case-sensitive */
    v = soom_request_query(r, "q", 1, &len);
    CHECK(v != NULL && len == 0);
    CHECK(soom_request_query(r, "pag", 3, &len) == NULL);

    char err[256];
    struct soom_router *router = soom_router_new();
    CHECK_INT(soom_router_add(router, "/samples/{id:int}/{tag}", SOOM_GET, 0, "t", err, sizeof err),
              SOOM_OK);
    CHECK_INT(soom_router_match(router, "/samples/42/red", 15, SOOM_GET, &r->match), SOOM_OK);
    v = soom_request_param(r, "id", 2, &len);
    CHECK(v != NULL && len == 2 && strncmp(v, "42", 2) == 0);
    v = soom_request_param(r, "tag", 3, &len);
    CHECK(v != NULL && len == 3 && strncmp(v, "red", 3) == 0);
    CHECK(soom_request_param(r, "i", 1, &len) == NULL);
    CHECK(soom_request_param(r, "ids", 3, &len) == NULL);

    CHECK(soom_request_body(r, &len) == NULL && len == 0);
    r->body = "{\"a\":1}";
    r->body_len = 7;
    CHECK(soom_request_body(r, &len) == r->body && len == 7);
    CHECK(soom_request_json(r) == NULL);
    soom_router_free(router);
    soom_request_free(r);
}

static void test_current_request(void)
{
    CHECK(soom_request_current() == NULL);
    struct soom_request *r = soom_request_new(NULL, NULL);
    soom_request_set_current(r);
    CHECK(soom_request_current() == r);
    soom_request_set_current(NULL);
    CHECK(soom_request_current() == NULL);
    soom_request_free(r);
}

static void test_free_takes_the_body(void)
{
    /* a body handed over (not in the arena) is freed with the request */
    struct soom_request *r = soom_request_new(NULL, NULL);
    r->out_body = malloc(100000);
    r->out_len = 100000;
    r->out_in_arena = false;
    soom_request_free(r);
    /* one in the arena is not freed twice */
    r = soom_request_new(NULL, NULL);
    r->out_body = soom_arena_alloc(r->arena, 10);
    r->out_in_arena = true;
    soom_request_free(r);
}

int main(void)
{
    RUN(test_new_and_free);
    RUN(test_index_headers);
    RUN(test_request_id_honoured);
    RUN(test_request_id_generated);
    RUN(test_accessors);
    RUN(test_current_request);
    RUN(test_free_takes_the_body);
    return test_summary();
}
