/* Unit tests of core/src/http/response.c: status and headers (copied into
 * the request's arena), bodies built in the thread's scratch buffer (small
 * ones copied into the arena, large ones handed over whole), borrowed
 * bodies, replaced and cleared bodies, problem documents and the reason
 * phrases. Leaks and double frees show under ASan. */
#include <stdlib.h>

#include "request_impl.h"
#include "soom/response.h"
#include "test.h"

static struct soom_request *request(const char *path)
{
    struct soom_request *r = soom_request_new(NULL, NULL);
    if (path != NULL) {
        r->path = path;
        r->path_len = strlen(path);
    }
    return r;
}

/* The body as a NUL-terminated copy (static buffer). */
static const char *body(const struct soom_request *r)
{
    static char copy[1 << 16];
    snprintf(copy, sizeof copy, "%.*s", (int)r->out_len, r->out_body ? r->out_body : "");
    return copy;
}

static bool in_arena(const struct soom_request *r)
{
    return r->out_in_arena;
}

static void test_status_and_headers(void)
{
    struct soom_request *r = request("/x");
    CHECK_INT(r->status, 200);
    soom_response_status(r, 418);
    CHECK_INT(r->status, 418);
    char name[] = "X-Name", value[] = "one";
    soom_response_header(r, name, value);
    soom_response_header(r, "Location", "/samples/7");
    /* copied: the caller's strings may change or go */
    name[0] = 'Y';
    value[0] = 'O';
    const struct soom_header_out *h = r->out_headers;
    CHECK(h != NULL);
    CHECK_STR(h->name, "Location");
    CHECK_STR(h->value, "/samples/7");
    h = h->next;
    CHECK(h != NULL);
    CHECK_STR(h->name, "X-Name");
    CHECK_STR(h->value, "one");
    CHECK(h->next == NULL);
    CHECK(!r->responded); /* headers and status alone are no response */
    soom_request_free(r);
}

static void test_borrowed_header(void)
{
    struct soom_request *r = request("/x");
    static const char name[] = "ETag", value[] = "\"abc\"";
    soom_response_header(r, "X-Copied", "yes");
    soom_response_header_borrow(r, name, value);
    /* the strings themselves, not copies; in order with the copied ones */
    const struct soom_header_out *h = r->out_headers;
    CHECK(h->name == name && h->value == value);
    CHECK_STR(h->next->name, "X-Copied");
    CHECK(h->next->next == NULL);
    soom_request_free(r);
}

static void test_small_body_in_arena(void)
{
    struct soom_request *r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    CHECK_INT(b->len, 0);
    soom_buf_puts(b, "{\"a\":1}");
    soom_response_take(r, b, "application/json");
    CHECK_STR(body(r), "{\"a\":1}");
    CHECK_INT(r->out_len, 7);
    CHECK(in_arena(r));
    CHECK_STR(r->content_type, "application/json");
    CHECK(r->responded);
    CHECK_INT(b->len, 0); /* the scratch buffer is empty again */
    /* and the next response gets the same scratch buffer, empty */
    struct soom_buf *again = soom_response_buffer();
    CHECK(again == b);
    soom_buf_puts(again, "left over");
    CHECK(soom_response_buffer() == b && b->len == 0);
    soom_request_free(r);
}

static void test_large_body_taken(void)
{
    struct soom_request *r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    for (int i = 0; i < 20000; i++)
        soom_buf_putc(b, (char)('a' + i % 26));
    char *data = b->data;
    soom_response_take(r, b, "text/plain");
    CHECK_INT(r->out_len, 20000);
    CHECK(!in_arena(r));
    CHECK(r->out_body == data); /* handed over without a copy */
    CHECK(r->out_body[19999] == (char)('a' + 19999 % 26));
    CHECK(b->data == NULL && b->len == 0); /* the buffer gave its bytes away */
    struct soom_buf *next = soom_response_buffer();
    soom_buf_puts(next, "still usable");
    CHECK_INT(next->len, 12);
    soom_request_free(r); /* frees the taken body */
}

static void test_boundary(void)
{
    /* up to 16 KiB in the arena, above it taken */
    struct soom_request *r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    for (int i = 0; i < 16384; i++)
        soom_buf_putc(b, 'x');
    soom_response_take(r, b, "text/plain");
    CHECK(in_arena(r));
    CHECK_INT(r->out_len, 16384);
    b = soom_response_buffer();
    for (int i = 0; i < 16385; i++)
        soom_buf_putc(b, 'y');
    soom_response_take(r, b, "text/plain"); /* replaces the first */
    CHECK(!in_arena(r));
    CHECK_INT(r->out_len, 16385);
    CHECK(r->out_body[0] == 'y');
    soom_request_free(r);
}

static void test_own_buffer(void)
{
    /* a buffer of the caller's own is consumed, small or large */
    struct soom_request *r = request("/x");
    struct soom_buf mine;
    soom_buf_init(&mine);
    soom_buf_puts(&mine, "mine");
    soom_response_take(r, &mine, "text/plain");
    CHECK_STR(body(r), "mine");
    CHECK(mine.data == NULL && mine.len == 0);
    soom_buf_init(&mine);
    for (int i = 0; i < 30000; i++)
        soom_buf_putc(&mine, 'z');
    soom_response_take(r, &mine, "text/plain");
    CHECK_INT(r->out_len, 30000);
    CHECK(mine.data == NULL);
    soom_request_free(r);
}

static void test_replace_copy_and_clear(void)
{
    struct soom_request *r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    for (int i = 0; i < 40000; i++)
        soom_buf_putc(b, 'L');
    soom_response_take(r, b, "text/plain");
    CHECK(!in_arena(r));
    /* a copy replaces the large body, which is freed (ASan sees a leak) */
    soom_response_copy(r, "a\0b", 3, "application/octet-stream");
    CHECK_INT(r->out_len, 3);
    CHECK(memcmp(r->out_body, "a\0b", 3) == 0);
    CHECK(in_arena(r));
    CHECK_STR(r->content_type, "application/octet-stream");
    soom_response_clear_body(r);
    CHECK(r->out_body == NULL && r->out_len == 0 && !in_arena(r));
    b = soom_response_buffer();
    for (int i = 0; i < 40000; i++)
        soom_buf_putc(b, 'M');
    soom_response_take(r, b, "text/plain");
    soom_response_clear_body(r); /* a taken body is freed by clear */
    CHECK(r->out_body == NULL);
    soom_response_copy(r, "", 0, "text/plain");
    CHECK_INT(r->out_len, 0);
    CHECK(r->out_body != NULL && r->responded);
    soom_request_free(r);
}

static void test_borrowed_body(void)
{
    /* bytes that outlive every request (a static document) are sent as
     * they are: neither copied nor ever freed */
    static const char DOC[] = "{\"openapi\":\"3.1.0\"}";
    struct soom_request *r = request("/openapi.json");
    soom_response_borrow(r, DOC, sizeof DOC - 1, "application/json");
    CHECK(r->out_body == DOC);
    CHECK_INT(r->out_len, sizeof DOC - 1);
    CHECK(r->responded);
    CHECK_STR(r->content_type, "application/json");
    /* replacing it frees nothing of it (ASan would see a bad free) */
    soom_response_copy(r, "x", 1, "text/plain");
    CHECK_STR(body(r), "x");
    CHECK_STR(DOC, "{\"openapi\":\"3.1.0\"}");
    soom_response_borrow(r, DOC, sizeof DOC - 1, "application/json");
    soom_request_free(r); /* nor does freeing the request */
    /* a borrowed body replaces a taken one, which is freed */
    r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    for (int i = 0; i < 30000; i++)
        soom_buf_putc(b, 'T');
    soom_response_take(r, b, "text/plain");
    soom_response_borrow(r, DOC, sizeof DOC - 1, "application/json");
    CHECK(r->out_body == DOC);
    soom_request_free(r);
}

static void test_problem(void)
{
    struct soom_request *r = request("/samples/7");
    soom_response_problem(r, 404, "no such sample", NULL);
    CHECK_INT(r->status, 404);
    CHECK(r->responded);
    CHECK_STR(r->content_type, "application/problem+json");
    CHECK_STR(body(r), "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"
                       "\"detail\":\"no such sample\",\"instance\":\"/samples/7\"}");
    /* without a detail there is no detail member; errors go in as given */
    soom_response_problem(r, 422, NULL, "[{\"pointer\":\"/name\"}]");
    CHECK_INT(r->status, 422);
    CHECK_STR(body(r),
              "{\"type\":\"about:blank\",\"title\":\"Unprocessable Content\",\"status\":422,"
              "\"instance\":\"/samples/7\",\"errors\":[{\"pointer\":\"/name\"}]}");
    soom_request_free(r);

    /* detail and path are escaped; a request without a path has "" */
    r = request("/a\"b\\c\n");
    soom_response_problem(r, 400, "bad \"thing\"\t\x01", NULL);
    CHECK_STR(body(r),
              "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
              "\"detail\":\"bad \\\"thing\\\"\\t\\u0001\",\"instance\":\"/a\\\"b\\\\c\\n\"}");
    soom_request_free(r);
    r = request(NULL);
    soom_response_problem(r, 599, NULL, NULL);
    CHECK_STR(body(r),
              "{\"type\":\"about:blank\",\"title\":\"Unknown\",\"status\":599,\"instance\":\"\"}");
    soom_request_free(r);
}

static void test_problem_replaces_a_body(void)
{
    /* a failure after a body was built answers the problem only */
    struct soom_request *r = request("/x");
    struct soom_buf *b = soom_response_buffer();
    for (int i = 0; i < 50000; i++)
        soom_buf_putc(b, 'r');
    soom_response_take(r, b, "application/json");
    soom_response_header(r, "Retry-After", "1");
    soom_response_problem(r, 503, "later", NULL);
    CHECK_INT(r->status, 503);
    CHECK(in_arena(r));
    CHECK(strncmp(body(r), "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\"", 51) == 0);
    CHECK_STR(r->out_headers->name, "Retry-After"); /* headers stay */
    /* a long detail makes a large problem, taken whole */
    char *detail = malloc(20001);
    memset(detail, 'd', 20000);
    detail[20000] = '\0';
    soom_response_problem(r, 500, detail, NULL);
    CHECK(!in_arena(r));
    CHECK(r->out_len > 20000);
    CHECK(strstr(body(r), "\"instance\":\"/x\"}") != NULL);
    free(detail);
    soom_request_free(r);
}

static void test_reasons(void)
{
    static const struct {
        int status;
        const char *reason;
    } known[] = {
        {200, "OK"},
        {201, "Created"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        CHECK_STR(soom_response_reason(known[i].status), known[i].reason);
    CHECK_STR(soom_response_reason(299), "Unknown");
    CHECK_STR(soom_response_reason(0), "Unknown");
    CHECK_STR(soom_response_reason(-1), "Unknown");
}

int main(void)
{
    RUN(test_status_and_headers);
    RUN(test_borrowed_header);
    RUN(test_small_body_in_arena);
    RUN(test_large_body_taken);
    RUN(test_boundary);
    RUN(test_own_buffer);
    RUN(test_replace_copy_and_clear);
    RUN(test_borrowed_body);
    RUN(test_problem);
    RUN(test_problem_replaces_a_body);
    RUN(test_reasons);
    return test_summary();
}
