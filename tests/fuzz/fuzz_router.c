/*
 * Route matching (core/src/http/router.c). The first byte picks a method
 * and a mode: match the rest as a decoded path against a router holding
 * static, typed and nested routes, or add the rest's NUL-separated
 * patterns to a fresh router and then match each pattern's own text.
 * A match names a route that exists, with parameters inside the path.
 */
#include "fuzz.h"
#include "soom/error.h"
#include "soom/router.h"

static const char *const PATTERNS[] = {
    "/",
    "/hello",
    "/items",
    "/items/{id:int}",
    "/items/{id:int}/notes",
    "/items/{id:int}/notes/{note}",
    "/users/{uid:uuid}",
    "/tags/{slug:slug}",
    "/files/{name}",
    "/a/b/c/d/e/f",
    "/a/{x}/c/{y}/e",
    "/items/new",
    "/v1/{kind}/{id:int}/{rest:slug}",
};
#define NPATTERNS (sizeof PATTERNS / sizeof PATTERNS[0])

static struct soom_router *router;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    router = soom_router_new();
    for (size_t i = 0; i < NPATTERNS; i++) {
        char err[256];
        unsigned methods = i % 2 ? SOOM_GET | SOOM_POST : SOOM_GET | SOOM_PUT | SOOM_DELETE;
        if (soom_router_add(router, PATTERNS[i], methods, (int)i, "fuzz", err, sizeof err) !=
            SOOM_OK) {
            fprintf(stderr, "%s: %s\n", PATTERNS[i], err);
            abort();
        }
    }
    return 0;
}

static void check_match(const struct soom_router *r, const char *path, size_t len,
                        unsigned method)
{
    struct soom_route_match m;
    int rc = soom_router_match(r, path, len, method, &m);
    FUZZ_ASSERT(rc == SOOM_OK || rc == SOOM_ENOTFOUND || rc == SOOM_EMETHOD);
    if (rc == SOOM_ENOTFOUND)
        return;
    FUZZ_ASSERT(m.route_id >= 0 && (size_t)m.route_id < soom_router_count(r));
    FUZZ_ASSERT(m.nparams <= SOOM_ROUTER_MAX_PARAMS);
    for (size_t i = 0; i < m.nparams; i++)
        FUZZ_ASSERT(m.params[i].value >= path && m.params[i].value + m.params[i].len <= path + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned method = 1u << (data[0] % 7);
    if (!(data[0] & 0x80)) {
        /* a copy of exactly the path, so reading past it is caught */
        char *path = malloc(size - 1 ? size - 1 : 1);
        memcpy(path, data + 1, size - 1);
        check_match(router, path, size - 1, method);
        free(path);
        return 0;
    }
    struct soom_router *r = soom_router_new();
    const uint8_t *p = data + 1, *end = data + size;
    for (int id = 0; p < end && id < 32; id++) {
        size_t head, tail;
        const uint8_t *next = fuzz_split(p, (size_t)(end - p), 0, &head, &tail);
        char pattern[256];
        snprintf(pattern, sizeof pattern, "%.*s", (int)(head < 255 ? head : 255), p);
        char err[256];
        if (soom_router_add(r, pattern, method | SOOM_GET, (int)soom_router_count(r), "fuzz", err,
                            sizeof err) == SOOM_OK)
            check_match(r, pattern, strlen(pattern), method);
        p = next;
    }
    soom_router_free(r);
    return 0;
}
