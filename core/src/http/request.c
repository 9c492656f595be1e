/*
 * Request lifecycle and accessors: creation with its arena, the request id,
 * and the lookups of soom/request.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "hex.h"
#include "request_impl.h"
#include "soom/router.h"

/* Each thread keeps one spare arena: a request takes it and gives it back
 * reset, so steady traffic allocates no arena memory. The key's destructor
 * frees the spare of a thread that ends (thread-per-connection). */
static pthread_key_t spare_key;
/* The spare itself is kept in a plain thread-local for speed; the key only
 * serves to free it when the thread ends. */
static _Thread_local struct soom_arena *spare;
static _Thread_local struct soom_arena *spare_keyed; /* what the key holds */
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *a)
{
    soom_arena_free(a);
    spare = NULL;
    spare_keyed = NULL;
}

static void spare_init(void)
{
    pthread_key_create(&spare_key, spare_free);
}

struct soom_request *soom_request_new(const struct soom_app *app, const struct soom_config *config)
{
    struct soom_arena *a = spare;
    if (a != NULL)
        spare = NULL;
    else
        a = soom_arena_new(8192);
    struct soom_request *r = soom_arena_calloc(a, sizeof *r);
    r->arena = a;
    r->app = app;
    r->config = config;
    r->start_ns = soom_clock_ns();
    r->status = 200;
    r->auth_class = -1;
    return r;
}

void soom_request_free(struct soom_request *r)
{
    if (r == NULL)
        return;
    if (!r->out_in_arena)
        free(r->out_body);
    struct soom_arena *a = r->arena;
    soom_arena_reset(a);
    if (spare != NULL) {
        soom_arena_free(a);
        return;
    }
    spare = a;
    /* the key is told only when the spare changes: steady traffic on a
     * thread gives back the same arena request after request */
    if (spare_keyed != a) {
        pthread_once(&spare_once, spare_init);
        pthread_setspecific(spare_key, a);
        spare_keyed = a;
    }
}

static _Thread_local struct soom_request *current_request;

struct soom_request *soom_request_current(void)
{
    return current_request;
}

void soom_request_set_current(struct soom_request *r)
{
    current_request = r;
}

/* ---- request id --------------------------------------------------------- */

static bool id_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=';
}

/* xorshift128+ per thread, seeded from the kernel: ids need to be unique,
 * not secret, and this costs a few instructions per request. */
static uint64_t next_random(void)
{
    static _Thread_local uint64_t s[2];
    if (s[0] == 0 && s[1] == 0) {
        if (getrandom(s, sizeof s, 0) != (ssize_t)sizeof s || (s[0] | s[1]) == 0) {
            s[0] = (uint64_t)soom_clock_ns() | 1;
            s[1] = (uint64_t)(uintptr_t)&s;
        }
    }
    uint64_t x = s[0];
    const uint64_t y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

static bool header_named(const struct soom_kv *h, const char *name, size_t len)
{
    return h->key_len == len && strncasecmp(h->key, name, len) == 0;
}

void soom_request_index_headers(struct soom_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct soom_kv *h = &r->headers[i];
        switch (h->key_len) {
        case 12:
            if (header_named(h, "Content-Type", 12))
                r->h_content_type = h;
            else if (header_named(h, "X-Request-Id", 12))
                r->h_request_id = h;
            break;
        case 11:
            if (header_named(h, "traceparent", 11))
                r->h_traceparent = h;
            break;
        case 10:
            if (header_named(h, "tracestate", 10))
                r->h_tracestate = h;
            break;
        case 14:
            if (header_named(h, "Content-Length", 14))
                r->h_content_length = h;
            break;
        case 17:
            if (header_named(h, "Transfer-Encoding", 17))
                r->h_transfer_encoding = h;
            break;
        default: break;
        }
    }
}

static bool given_id_ok(const struct soom_kv *h)
{
    if (h == NULL || h->value_len == 0 || h->value_len > SOOM_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < h->value_len; i++) {
        if (!id_char_ok(h->value[i]))
            return false;
    }
    return true;
}

static char *put_hex(char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        hex_put_byte(p, (unsigned)(v >> (8 * i)));
        p += 2;
    }
    return p;
}

void soom_request_assign_id(struct soom_request *r)
{
    const struct soom_kv *h = r->h_request_id;
    if (given_id_ok(h)) {
        memcpy(r->request_id, h->value, h->value_len);
        r->request_id[h->value_len] = '\0';
        r->request_id_len = h->value_len;
        return;
    }
    /* A version 4 UUID: 8-4-4-4-12 hex digits. */
    uint64_t hi = next_random(), lo = next_random();
    hi = (hi & ~0xF000ull) | 0x4000ull;
    lo = (lo & ~(3ull << 62)) | (2ull << 62);
    char *p = r->request_id;
    p = put_hex(p, hi >> 32, 4);
    *p++ = '-';
    p = put_hex(p, hi >> 16, 2);
    *p++ = '-';
    p = put_hex(p, hi, 2);
    *p++ = '-';
    p = put_hex(p, lo >> 48, 2);
    *p++ = '-';
    p = put_hex(p, lo, 6);
    *p = '\0';
    r->request_id_len = (size_t)(p - r->request_id);
}

/* ---- accessors ---------------------------------------------------------- */

struct soom_arena *soom_request_arena(struct soom_request *r)
{
    return r->arena;
}

const char *soom_request_method(const struct soom_request *r)
{
    return r->method_name;
}

unsigned soom_request_method_bit(const struct soom_request *r)
{
    return r->method;
}

const char *soom_request_path(const struct soom_request *r, size_t *len)
{
    *len = r->path_len;
    return r->path;
}

const char *soom_request_id(const struct soom_request *r, size_t *len)
{
    *len = r->request_id_len;
    return r->request_id;
}

const char *soom_request_header(const struct soom_request *r, const char *name, size_t name_len,
                                size_t *len)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct soom_kv *h = &r->headers[i];
        if (h->key_len == name_len && strncasecmp(h->key, name, name_len) == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

const char *soom_request_query(const struct soom_request *r, const char *name, size_t name_len,
                               size_t *len)
{
    for (size_t i = r->nquery; i-- > 0;) {
        const struct soom_kv *q = &r->query[i];
        if (q->key_len == name_len && memcmp(q->key, name, name_len) == 0) {
            *len = q->value_len;
            return q->value;
        }
    }
    return NULL;
}

const char *soom_request_param(const struct soom_request *r, const char *name, size_t name_len,
                               size_t *len)
{
    for (size_t i = 0; i < r->match.nparams; i++) {
        const struct soom_route_param *p = &r->match.params[i];
        if (strlen(p->name) == name_len && memcmp(p->name, name, name_len) == 0) {
            *len = p->len;
            return p->value;
        }
    }
    return NULL;
}

const char *soom_request_body(const struct soom_request *r, size_t *len)
{
    *len = r->body_len;
    return r->body;
}

const struct soom_json *soom_request_json(const struct soom_request *r)
{
    return r->json;
}
