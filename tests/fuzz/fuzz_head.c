/*
 * The request-head checks (core/src/http/http_head.c): the input is a head
 * as libmicrohttpd hands it over, one line each: the method, the target,
 * "1.1" or "1.0", then header fields as name:value (the name everything
 * before the first ':', each cut at a NUL as the library's strings are).
 * Beyond "no crash": a verdict's status is one the
 * server answers, an accepted head's path ("/" for "http://host") and query
 * lie inside the target,
 * and the path decodes and the query parses without reading past them.
 */
#include "fuzz.h"
#include "http_head.h"
#include "soom/arena.h"

#define MAX_FIELDS 64

static struct soom_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = soom_arena_new(0);
    return 0;
}

static const char *line(const char **p, const char *end, size_t *len)
{
    const char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
    *len = (size_t)((nl ? nl : end) - start);
    *p = nl ? nl + 1 : end;
    return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exactly the input: a read past it is caught */
    memcpy(copy, data, size);
    const char *p = copy, *end = copy + size;
    struct soom_http_head h = {0};
    size_t vlen;
    h.method = line(&p, end, &h.method_len);
    h.target = line(&p, end, &h.target_len);
    const char *version = line(&p, end, &vlen);
    h.http11 = !(vlen == 3 && memcmp(version, "1.0", 3) == 0);
    struct soom_kv fields[MAX_FIELDS];
    while (p < end && h.nfields < MAX_FIELDS) {
        size_t n;
        const char *f = line(&p, end, &n);
        const char *colon = memchr(f, ':', n);
        struct soom_kv *kv = &fields[h.nfields++];
        kv->key = f;
        kv->key_len = colon ? (size_t)(colon - f) : n;
        kv->value = colon ? colon + 1 : f + n;
        kv->value_len = colon ? n - kv->key_len - 1 : 0;
        /* libmicrohttpd's strings end at a NUL, so neither holds one */
        kv->key_len = strnlen(kv->key, kv->key_len);
        kv->value_len = strnlen(kv->value, kv->value_len);
    }
    h.fields = fields;
    struct soom_http_verdict v;
    int status = soom_http_head_check(&h, &v);
    FUZZ_ASSERT(status == v.status);
    FUZZ_ASSERT(status == 0 || (status >= 400 && status <= 599 && v.detail != NULL));
    if (status == 0 && v.path != NULL) {
        /* "http://host" has no path of its own: it is "/" */
        FUZZ_ASSERT((v.path >= h.target && v.path + v.path_len <= h.target + h.target_len) ||
                    (v.path_len == 1 && v.path[0] == '/'));
        char *out = malloc(v.path_len ? v.path_len : 1);
        size_t out_len = 0;
        if (soom_http_path_decode(v.path, v.path_len, out, &out_len) == NULL)
            FUZZ_ASSERT(out_len <= v.path_len);
        free(out);
    }
    if (status == 0 && v.query != NULL) {
        FUZZ_ASSERT(v.query >= h.target && v.query + v.query_len <= h.target + h.target_len);
        struct soom_kv *q;
        size_t nq;
        soom_http_query_parse(arena, v.query, v.query_len, &q, &nq);
        FUZZ_ASSERT(nq <= v.query_len + 1);
        soom_arena_reset(arena);
    }
    free(copy);
    return 0;
}
