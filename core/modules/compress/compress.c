/*
 * compress: gzip (zlib) and zstd response bodies, as a native module.
 *
 *   modules = { compress = {
 *       min_size = 512,                 -- bytes; smaller bodies go as they are
 *       encodings = { "zstd", "gzip" }, -- what to offer, preferred first
 *       gzip_level = 6, zstd_level = 3,
 *       exclude_types = { "text/event-stream" },  -- more types never compressed
 *   } }
 *
 * At the response phase, every response whose body may be compressed
 * gets Vary: Accept-Encoding (its form depends on that header) and, when
 * the client accepts one of the encodings (q > 0; the highest q wins, then
 * the order of `encodings`), is compressed and marked Content-Encoding,
 * its ETag made weak. Never compressed: bodies under min_size, HEAD, 1xx,
 * 204, 206 and 304 answers, a response to a Range request or one with
 * Content-Range, Cache-Control: no-transform, a body already encoded, and
 * content types that are compressed already (images but SVG, audio, video,
 * fonts, archives, PDF, octet-stream) or listed in exclude_types. A body
 * that would not shrink is sent as it is.
 *
 * Each worker thread keeps its zlib streams and one zstd context, reset per
 * response, so compressing allocates only its output (in the request's
 * arena); a thread that ends frees them. A zlib stream's reset clears its
 * hash table, which for the default 32 KiB window costs more than
 * compressing a small page: bodies up to 4 KiB and 16 KiB get streams with
 * windows of that size (no back-reference is lost, the body fits), which
 * makes the 20-row page's gzip a quarter cheaper.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "soom/module.h"

#define MAX_TYPES 32

enum encoding { ENC_NONE, ENC_GZIP, ENC_ZSTD };

static const struct soom_module_host *H;
static struct soom_module_handle *M;

static struct {
    size_t min_size;
    enum encoding prefer[2];
    size_t nprefer;
    int gzip_level, zstd_level;
    char *exclude[MAX_TYPES];
    size_t nexclude;
} C = {.min_size = 512,
       .prefer = {ENC_ZSTD, ENC_GZIP},
       .nprefer = 2,
       .gzip_level = 6,
       .zstd_level = 3};

/* Media types (prefixes) that are compressed already. */
static const char *COMPRESSED[] = {
    "image/",
    "audio/",
    "video/",
    "font/woff",
    "font/woff2",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/x-rar-compressed",
    "application/pdf",
    "application/octet-stream",
};

/* ---- per-thread compressors -------------------------------------------- */

/* zlib streams by body size: window bits and memLevel (hash bits - 7) */
#define ZCLASSES 3
static const struct {
    size_t max;
    int window_bits, mem_level;
} ZCLASS[ZCLASSES] = {{4096, 12, 5}, {16384, 14, 7}, {SIZE_MAX, 15, 8}};

struct worker {
    z_stream zs[ZCLASSES];
    bool zs_ready[ZCLASSES];
    ZSTD_CCtx *zc;
};

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static _Thread_local struct worker *self;

static void worker_free(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < ZCLASSES; i++)
        if (w->zs_ready[i])
            deflateEnd(&w->zs[i]);
    ZSTD_freeCCtx(w->zc);
    free(w);
    self = NULL;
}

static void worker_key_init(void)
{
    pthread_key_create(&worker_key, worker_free);
}

static struct worker *worker(void)
{
    if (self == NULL) {
        pthread_once(&worker_once, worker_key_init);
        self = calloc(1, sizeof *self);
        if (self == NULL)
            abort();
        pthread_setspecific(worker_key, self);
    }
    return self;
}

/* Compresses (p, n) into the request's arena; 0 when it did not shrink. */
static size_t gzip(struct soom_request *req, const char *p, size_t n, char **out)
{
    struct worker *w = worker();
    int k = 0;
    while (n > ZCLASS[k].max)
        k++;
    z_stream *zs = &w->zs[k];
    if (!w->zs_ready[k]) {
        /* window bits + 16: a gzip wrapper */
        if (deflateInit2(zs, C.gzip_level, Z_DEFLATED, ZCLASS[k].window_bits + 16,
                         ZCLASS[k].mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
            return 0;
        w->zs_ready[k] = true;
    } else {
        deflateReset(zs);
    }
    size_t cap = deflateBound(zs, (uLong)n);
    *out = H->alloc(req, cap);
    zs->next_in = (Bytef *)p;
    zs->avail_in = (uInt)n;
    zs->next_out = (Bytef *)*out;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        return 0;
    return zs->total_out < n ? (size_t)zs->total_out : 0;
}

static size_t zstd(struct soom_request *req, const char *p, size_t n, char **out)
{
    struct worker *w = worker();
    if (w->zc == NULL && (w->zc = ZSTD_createCCtx()) == NULL)
        return 0;
    size_t cap = ZSTD_compressBound(n);
    *out = H->alloc(req, cap);
    size_t got = ZSTD_compressCCtx(w->zc, *out, cap, p, n, C.zstd_level);
    return !ZSTD_isError(got) && got < n ? got : 0;
}

/* ---- choosing --------------------------------------------------------- */

/* (type, n) is `pattern`, or within it when the pattern ends with '/'. */
static bool media_is(const char *type, size_t n, const char *pattern)
{
    size_t pn = strlen(pattern);
    return n >= pn && strncasecmp(type, pattern, pn) == 0 && (pattern[pn - 1] == '/' || n == pn);
}

static bool compressible_type(const char *ctype)
{
    if (ctype == NULL)
        return true;
    size_t n = strcspn(ctype, "; \t");
    if (media_is(ctype, n, "image/svg+xml"))
        return true;
    for (size_t i = 0; i < sizeof COMPRESSED / sizeof COMPRESSED[0]; i++)
        if (media_is(ctype, n, COMPRESSED[i]))
            return false;
    for (size_t i = 0; i < C.nexclude; i++)
        if (media_is(ctype, n, C.exclude[i]))
            return false;
    return true;
}

static bool has_token(const char *v, const char *token)
{
    size_t tn = strlen(token);
    for (const char *p = v; p != NULL && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if (n == tn && strncasecmp(p, token, n) == 0)
            return true;
        p += n;
    }
    return false;
}

/* Whether the response may be compressed at all (whatever the client). */
static bool eligible(struct soom_request *req, struct soom_response *resp)
{
    int status = H->resp_status(resp);
    size_t n, len;
    if (status < 200 || status == 204 || status == 206 || status == 304)
        return false;
    if (H->resp_body(resp, &len) == NULL || len < C.min_size)
        return false;
    if (strcmp(H->req_method(req), "HEAD") == 0 || H->req_header(req, "Range", &n) != NULL)
        return false;
    if (H->resp_header(resp, "Content-Encoding") != NULL ||
        H->resp_header(resp, "Content-Range") != NULL)
        return false;
    const char *cc = H->resp_header(resp, "Cache-Control");
    if (cc != NULL && has_token(cc, "no-transform"))
        return false;
    return compressible_type(H->resp_header(resp, "Content-Type"));
}

/* The q of `name` (or of "*") in Accept-Encoding (p, n): -1 when absent. */
static double quality(const char *p, size_t n, const char *name)
{
    double star = -1;
    size_t nn = strlen(name);
    for (size_t i = 0; i < n;) {
        while (i < n && (p[i] == ' ' || p[i] == ','))
            i++;
        size_t start = i;
        while (i < n && p[i] != ',' && p[i] != ';' && p[i] != ' ')
            i++;
        size_t tlen = i - start;
        double q = 1;
        while (i < n && p[i] != ',') {
            if ((p[i] == 'q' || p[i] == 'Q') && i + 1 < n && p[i + 1] == '=')
                q = strtod(p + i + 2, NULL);
            i++;
        }
        if (tlen == nn && strncasecmp(p + start, name, nn) == 0)
            return q;
        if (tlen == 1 && p[start] == '*')
            star = q;
    }
    return star;
}

static enum encoding choose(struct soom_request *req)
{
    size_t n;
    const char *ae = H->req_header(req, "Accept-Encoding", &n);
    if (ae == NULL)
        return ENC_NONE;
    enum encoding best = ENC_NONE;
    double best_q = 0;
    for (size_t i = 0; i < C.nprefer; i++) {
        double q = quality(ae, n, C.prefer[i] == ENC_GZIP ? "gzip" : "zstd");
        if (q > best_q) {
            best = C.prefer[i];
            best_q = q;
        }
    }
    return best;
}

static void vary(struct soom_request *req, struct soom_response *resp)
{
    const char *v = H->resp_header(resp, "Vary");
    if (v == NULL) {
        H->resp_add_header(resp, "Vary", "Accept-Encoding");
    } else if (!has_token(v, "Accept-Encoding") && !has_token(v, "*")) {
        size_t len = strlen(v) + 18;
        char *joined = H->alloc(req, len);
        snprintf(joined, len, "%s, Accept-Encoding", v);
        H->resp_set_header(resp, "Vary", joined);
    }
}

static void weaken_etag(struct soom_request *req, struct soom_response *resp)
{
    const char *etag = H->resp_header(resp, "ETag");
    if (etag == NULL || strncmp(etag, "W/", 2) == 0)
        return;
    size_t len = strlen(etag) + 3;
    char *weak = H->alloc(req, len);
    snprintf(weak, len, "W/%s", etag);
    H->resp_set_header(resp, "ETag", weak);
}

static int response(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    if (!eligible(req, resp))
        return SOOM_MODULE_CONTINUE;
    vary(req, resp);
    enum encoding e = choose(req);
    if (e == ENC_NONE)
        return SOOM_MODULE_CONTINUE;
    size_t len;
    const char *body = H->resp_body(resp, &len);
    char *out = NULL;
    size_t got = e == ENC_GZIP ? gzip(req, body, len, &out) : zstd(req, body, len, &out);
    if (got == 0)
        return SOOM_MODULE_CONTINUE;
    H->resp_set_body_ref(resp, out, got, NULL);
    H->resp_set_header(resp, "Content-Encoding", e == ENC_GZIP ? "gzip" : "zstd");
    weaken_etag(req, resp);
    return SOOM_MODULE_CONTINUE;
}

/* ---- settings ------------------------------------------------------------ */

static int fail(const char *fmt, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    H->set_error(M, msg);
    return SOOM_MODULE_ERROR;
}

static int read_int(const struct soom_json *settings, const char *key, int lo, int hi, int *out)
{
    const struct soom_json *v = H->json_get(settings, key);
    if (v == NULL)
        return SOOM_MODULE_OK;
    double d = H->json_number(v);
    if (H->json_type(v) != SOOM_MODULE_JSON_NUMBER || d != (double)(long)d || d < lo || d > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "compress: %s must be a whole number from %d to %d", key, lo, hi);
        H->set_error(M, msg);
        return SOOM_MODULE_ERROR;
    }
    *out = (int)d;
    return SOOM_MODULE_OK;
}

static int read_encodings(const struct soom_json *settings)
{
    const struct soom_json *v = H->json_get(settings, "encodings");
    if (v == NULL)
        return SOOM_MODULE_OK;
    size_t n = H->json_count(v);
    if (H->json_type(v) != SOOM_MODULE_JSON_ARRAY || n == 0 || n > 2)
        return fail("compress: %s must list \"zstd\" and/or \"gzip\"", "encodings");
    C.nprefer = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = H->json_string(H->json_at(v, i), NULL);
        if (e != NULL && strcmp(e, "gzip") == 0)
            C.prefer[C.nprefer++] = ENC_GZIP;
        else if (e != NULL && strcmp(e, "zstd") == 0)
            C.prefer[C.nprefer++] = ENC_ZSTD;
        else
            return fail("compress: encodings: \"%s\" is not zstd or gzip", e ? e : "?");
    }
    return SOOM_MODULE_OK;
}

static int read_excludes(const struct soom_json *settings)
{
    const struct soom_json *v = H->json_get(settings, "exclude_types");
    size_t n = H->json_count(v);
    if (v != NULL && (H->json_type(v) != SOOM_MODULE_JSON_ARRAY || n > MAX_TYPES))
        return fail("compress: %s must be a list of media types", "exclude_types");
    for (size_t i = 0; i < n; i++) {
        const char *t = H->json_string(H->json_at(v, i), NULL);
        if (t == NULL || *t == '\0')
            return fail("compress: %s must be a list of media types", "exclude_types");
        C.exclude[C.nexclude++] = strdup(t);
    }
    return SOOM_MODULE_OK;
}

static int check_keys(const struct soom_json *settings)
{
    static const char *KNOWN[] = {"min_size", "encodings", "gzip_level", "zstd_level",
                                  "exclude_types"};
    for (size_t i = 0; i < H->json_count(settings); i++) {
        const char *key = H->json_key(H->json_at(settings, i));
        bool known = false;
        for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++)
            known = known || strcmp(key, KNOWN[k]) == 0;
        if (!known)
            return fail("compress: unknown setting \"%s\"", key);
    }
    return SOOM_MODULE_OK;
}

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    H = host, M = mod;
    int min_size = (int)C.min_size;
    int rc = check_keys(settings);
    if (rc == SOOM_MODULE_OK)
        rc = read_int(settings, "min_size", 0, 1 << 30, &min_size);
    if (rc == SOOM_MODULE_OK)
        rc = read_int(settings, "gzip_level", 1, 9, &C.gzip_level);
    if (rc == SOOM_MODULE_OK)
        rc = read_int(settings, "zstd_level", 1, ZSTD_maxCLevel(), &C.zstd_level);
    if (rc == SOOM_MODULE_OK)
        rc = read_encodings(settings);
    if (rc == SOOM_MODULE_OK)
        rc = read_excludes(settings);
    if (rc != SOOM_MODULE_OK)
        return rc;
    C.min_size = (size_t)min_size;
    return H->add_middleware(mod, SOOM_PHASE_RESPONSE, response, NULL);
}

static void stop(struct soom_module_handle *mod)
{
    (void)mod;
    for (size_t i = 0; i < C.nexclude; i++)
        free(C.exclude[i]);
    C.nexclude = 0;
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = 0,
    .name = "compress",
    .version = "1.0.0",
    .init = init,
    .shutdown = stop,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
