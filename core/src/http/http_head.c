/*
 * The request head's checks, the path's decoding and the query's parsing
 * (see http_head.h). Everything here is a pass over borrowed bytes; only
 * the query's parameters are allocated, from the request's arena. The
 * checks run on every request, so the fields cost one pass (a known name
 * compared a word at a time, any other a table lookup per byte), which
 * also notes the fields the core reads, and the target one loop over its
 * bytes, four a step.
 */
#include "http_head.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "soom/json.h"

/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. 1 for the bytes
 * that are NOT token characters, so a name's bytes are or-ed in one loop. */
static const unsigned char NOT_TOKEN[256] = {
    [0x00 ... 0x20] = 1, ['"'] = 1,         ['('] = 1,           [')'] = 1,  [','] = 1,
    ['/'] = 1,           [':' ... '@'] = 1, ['['] = 1,           ['\\'] = 1, [']'] = 1,
    ['{'] = 1,           ['}'] = 1,         [0x7f ... 0xff] = 1,
};

/* What the one scan over a request target looks for. */
enum { T_PLAIN, T_BAD, T_QUERY, T_ESCAPE };
static const unsigned char TARGET[256] = {
    [0x00 ... 0x20] = T_BAD,    [0x7f] = T_BAD, ['?'] = T_QUERY, ['%'] = T_ESCAPE,
    [0x80 ... 0xff] = T_ESCAPE, /* a path to check for UTF-8 */
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims optional whitespace from both ends. */
static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_ows(**p))
        (*p)++, (*n)--;
    while (*n > 0 && is_ows((*p)[*n - 1]))
        (*n)--;
}

static int refuse(struct soom_http_verdict *v, int status, bool close, const char *detail)
{
    v->status = status;
    v->close = close;
    v->detail = detail;
    return status;
}

/* Exact case-insensitive comparison of a field's name with a known name
 * (`lower`: lower-case letters and '-'), eight or four bytes a step, the
 * last step overlapping the one before it. Setting bit 0x20 lower-cases a
 * letter; it also turns CR into '-', so a position that is not a letter in
 * `lower` must have bit 0x20 set already. Exact whatever the bytes, so a
 * name that matches is a token without a check of its own. */
static bool word_is(uint64_t x, uint64_t w)
{
    uint64_t fixed = (~w & 0x4040404040404040u) >> 1; /* 0x20 where w is not a letter */
    return (x | 0x2020202020202020u) == w && (x & fixed) == fixed;
}

static bool half_is(uint32_t x, uint32_t w)
{
    uint32_t fixed = (~w & 0x40404040u) >> 1;
    return (x | 0x20202020u) == w && (x & fixed) == fixed;
}

static inline bool named(const struct soom_kv *f, const char *lower, size_t n)
{
    const char *p = f->key;
    uint64_t x, w;
    uint32_t x4, w4;
    if (n < 8) { /* 4 to 7 */
        memcpy(&x4, p, 4), memcpy(&w4, lower, 4);
        if (!half_is(x4, w4))
            return false;
        memcpy(&x4, p + n - 4, 4), memcpy(&w4, lower + n - 4, 4);
        return half_is(x4, w4);
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, p + i, 8), memcpy(&w, lower + i, 8);
        if (!word_is(x, w))
            return false;
    }
    memcpy(&x, p + n - 8, 8), memcpy(&w, lower + n - 8, 8);
    return word_is(x, w);
}

/* ---- Content-Length ------------------------------------------------------ */

#define LENGTH_MAX ((size_t)1 << 62)

static int check_length(const struct soom_kv *f, struct soom_http_verdict *v)
{
    const char *p = f->value;
    size_t n = f->value_len;
    trim(&p, &n);
    if (n == 0)
        return refuse(v, 400, true, "invalid Content-Length: not a number");
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return refuse(v, 400, true, "invalid Content-Length: not a number");
        if (len > LENGTH_MAX / 10)
            return refuse(v, 413, true, "Content-Length is too large");
        len = len * 10 + (size_t)(p[i] - '0');
    }
    if (v->has_length && v->content_length != len)
        return refuse(v, 400, true, "several Content-Length values that differ");
    v->has_length = true;
    v->content_length = len;
    return 0;
}

/* ---- Transfer-Encoding ----------------------------------------------------- */

struct codings {
    size_t fields;  /* Transfer-Encoding fields */
    size_t count;   /* codings in all of them */
    size_t chunked; /* how many of them are chunked */
    bool last_chunked;
    bool exact; /* one field, its value exactly "chunked" */
    bool bad;   /* a coding that is not a token */
};

/* One element of a transfer-coding list: a token, then optional
 * parameters (";" name "=" value), which only the codings we refuse
 * anyway could carry. */
static void coding(struct codings *c, const char *p, size_t n)
{
    trim(&p, &n);
    if (n == 0)
        return; /* an empty list element, to be ignored (RFC 9110 5.6.1) */
    size_t name = 0;
    while (name < n && !NOT_TOKEN[(unsigned char)p[name]])
        name++;
    size_t rest = name;
    while (rest < n && is_ows(p[rest]))
        rest++;
    if (name == 0 || (rest < n && p[rest] != ';')) {
        c->bad = true;
        return;
    }
    bool chunked = name == 7 && strncasecmp(p, "chunked", 7) == 0;
    if (chunked && rest < n)
        c->bad = true; /* chunked takes no parameters */
    c->count++;
    c->chunked += chunked;
    c->last_chunked = chunked;
}

static void codings_add(struct codings *c, const struct soom_kv *f)
{
    c->fields++;
    c->exact = c->fields == 1 && f->value_len == 7 && strncasecmp(f->value, "chunked", 7) == 0;
    const char *p = f->value, *end = p + f->value_len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL)
            comma = end;
        coding(c, p, (size_t)(comma - p));
        p = comma + 1;
    }
}

/* RFC 9112 6.1 and 6.3: chunked must be the final coding (400, the body's
 * end cannot be known), other codings are not implemented (501). The
 * library frames a body as chunked only when its first Transfer-Encoding
 * is exactly "chunked": anything else that means chunked is refused too,
 * or the two would disagree. */
static int check_codings(const struct codings *c, struct soom_http_verdict *v)
{
    if (c->bad || c->count == 0)
        return refuse(v, 400, true, "invalid Transfer-Encoding");
    if (c->chunked > 0 && !c->last_chunked)
        return refuse(v, 400, true, "chunked must be the last transfer coding");
    if (c->chunked > 1)
        return refuse(v, 400, true, "chunked is applied more than once");
    if (c->count > c->chunked)
        return refuse(v, 501, true, "no transfer coding but chunked is supported");
    if (!c->exact)
        return refuse(v, 400, true, "Transfer-Encoding must be one field saying chunked");
    v->chunked = true;
    return 0;
}

/* ---- the target ------------------------------------------------------------ */

static bool scheme_prefix(const char *p, size_t n, size_t *skip)
{
    if (n >= 7 && strncasecmp(p, "http://", 7) == 0)
        *skip = 7;
    else if (n >= 8 && strncasecmp(p, "https://", 8) == 0)
        *skip = 8;
    else
        return false;
    return true;
}

/* RFC 9112 3.2: origin-form ("/path?query"), absolute-form ("http://host
 * /path?query", which a server must accept; the path is routed), and
 * asterisk-form ("*", OPTIONS only). */
static int check_target(const struct soom_http_head *h, struct soom_http_verdict *v)
{
    if (h->target == NULL || h->target_len == 0)
        return refuse(v, 400, false, "the request has no target");
    const char *t = h->target, *end = t + h->target_len, *q = NULL;
    bool escaped = false; /* a '%' or a byte above 0x7f before the query */
    const unsigned char *u = (const unsigned char *)t, *u_end = (const unsigned char *)end;
    for (const unsigned char *p = u; p < u_end; p++) {
        /* four plain bytes a step: most targets hold nothing else */
        while (u_end - p >= 4 && (TARGET[p[0]] | TARGET[p[1]] | TARGET[p[2]] | TARGET[p[3]]) == 0)
            p += 4;
        if (p == u_end)
            break;
        unsigned k = TARGET[*p];
        if (k == T_PLAIN)
            continue;
        if (k == T_BAD)
            return refuse(v, 400, false, "the request target holds a space or a control byte");
        if (k == T_QUERY && q == NULL)
            q = (const char *)p;
        else if (q == NULL)
            escaped = true;
    }
    size_t skip;
    const char *path = t, *path_end = q ? q : end;
    if (t[0] == '/') {
        /* origin-form, the common case */
    } else if (t[0] == '*' && end - t == 1) {
        if (h->method_len != 7 || memcmp(h->method, "OPTIONS", 7) != 0)
            return refuse(v, 400, false, "the target * is for OPTIONS only");
    } else if (scheme_prefix(t, (size_t)(end - t), &skip)) {
        path = t + skip;
        while (path < path_end && *path != '/')
            path++;
        if (path == t + skip)
            return refuse(v, 400, false, "the request target has no host");
    } else {
        return refuse(v, 400, false, "the request target must be a path or an absolute URI");
    }
    v->path = path;
    v->path_len = (size_t)(path_end - path);
    v->path_plain = !escaped;
    if (v->path_len == 0) {
        v->path = "/"; /* "http://host" and "http://host?a": the path is "/" */
        v->path_len = 1;
    }
    v->query = q ? q + 1 : NULL;
    v->query_len = q ? (size_t)(end - q - 1) : 0;
    return 0;
}

/* ---- the head -------------------------------------------------------------- */

/* True when a byte of p[0..n) is not a token character; four at a time,
 * as this runs over every field name of every request. */
static bool not_token(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned bad = n == 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        bad |= NOT_TOKEN[u[i]] | NOT_TOKEN[u[i + 1]] | NOT_TOKEN[u[i + 2]] | NOT_TOKEN[u[i + 3]];
    for (; i < n; i++)
        bad |= NOT_TOKEN[u[i]];
    return bad != 0;
}

/* One pass over the fields: a known name is matched exactly (and is then a
 * token), any other is checked byte by byte; the fields the core reads
 * are noted (the last of a name wins). */
static int check_fields(const struct soom_http_head *h, struct soom_http_verdict *v,
                        struct codings *te, size_t *hosts)
{
    struct soom_http_fields *x = &v->fields;
    for (size_t i = 0; i < h->nfields; i++) {
        const struct soom_kv *f = &h->fields[i];
        switch (f->key_len) {
        case 4:
            if (named(f, "host", 4)) {
                ++*hosts;
                continue;
            }
            break;
        case 6:
            if (named(f, "accept", 6) || named(f, "origin", 6) || named(f, "cookie", 6))
                continue;
            break;
        case 7:
            if (named(f, "referer", 7))
                continue;
            break;
        case 10:
            if (named(f, "user-agent", 10) || named(f, "connection", 10))
                continue;
            if (named(f, "tracestate", 10)) {
                x->tracestate = f;
                continue;
            }
            break;
        case 11:
            if (named(f, "traceparent", 11)) {
                x->traceparent = f;
                continue;
            }
            break;
        case 12:
            if (named(f, "content-type", 12)) {
                x->content_type = f;
                continue;
            }
            if (named(f, "x-request-id", 12)) {
                x->request_id = f;
                continue;
            }
            break;
        case 13:
            if (named(f, "authorization", 13) || named(f, "if-none-match", 13) ||
                named(f, "cache-control", 13))
                continue;
            break;
        case 14:
            if (named(f, "content-length", 14)) {
                x->content_length = f;
                if (check_length(f, v) != 0)
                    return v->status;
                continue;
            }
            break;
        case 15:
            if (named(f, "accept-encoding", 15) || named(f, "accept-language", 15) ||
                named(f, "idempotency-key", 15))
                continue;
            break;
        case 17:
            if (named(f, "transfer-encoding", 17)) {
                x->transfer_encoding = f;
                codings_add(te, f);
                continue;
            }
            break;
        default: break;
        }
        if (not_token(f->key, f->key_len))
            return refuse(v, 400, true,
                          "a header field name is not a token (whitespace before the colon?)");
    }
    return 0;
}

int soom_http_head_check(const struct soom_http_head *h, struct soom_http_verdict *v)
{
    memset(v, 0, sizeof *v);
    struct codings te = {0};
    size_t hosts = 0;
    if (check_fields(h, v, &te, &hosts) != 0)
        return v->status;
    if (te.fields > 0) {
        if (v->has_length)
            return refuse(v, 400, true, "both Transfer-Encoding and Content-Length");
        if (!h->http11)
            return refuse(v, 400, true, "Transfer-Encoding in an HTTP/1.0 request");
        if (check_codings(&te, v) != 0)
            return v->status;
    }
    if (hosts > 1)
        return refuse(v, 400, false, "more than one Host");
    if (hosts == 0 && h->http11)
        return refuse(v, 400, false, "an HTTP/1.1 request must have a Host");
    return check_target(h, v);
}

/* ---- decoding ---------------------------------------------------------------- */

/* Decodes %XX (and '+' when `plus`) from p[0..n) into out; returns the
 * length written, and sets *nul when a %00 was decoded. */
static size_t decode(const char *p, size_t n, char *out, bool plus, bool *nul)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%' && i + 2 < n) {
            int hi = hex_value((unsigned char)p[i + 1]), lo = hex_value((unsigned char)p[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi << 4 | lo);
                *nul |= c == '\0';
                i += 2;
            }
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[w++] = c;
    }
    return w;
}

const char *soom_http_path_decode(const char *p, size_t n, char *out, size_t *out_len)
{
    bool nul = false;
    *out_len = memchr(p, '%', n) == NULL ? (memcpy(out, p, n), n) : decode(p, n, out, false, &nul);
    if (nul)
        return "the path holds an encoded NUL (%00)";
    if (!soom_json_utf8_valid(out, *out_len))
        return "the path is not UTF-8 once decoded";
    return NULL;
}

void soom_http_query_parse(struct soom_arena *a, const char *q, size_t n, struct soom_kv **out,
                           size_t *count)
{
    size_t cap = 1;
    for (const char *p = q, *end = q + n; (p = memchr(p, '&', (size_t)(end - p))) != NULL; p++)
        cap++;
    struct soom_kv *kv = soom_arena_alloc(a, cap * sizeof *kv);
    /* every decoded name and value, each NUL-terminated, fits in n + 2 per
     * parameter */
    char *text = soom_arena_alloc(a, n + 2 * cap);
    size_t k = 0;
    bool nul = false;
    const char *p = q, *end = q + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if (amp > p) {
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            const char *name_end = eq ? eq : amp;
            struct soom_kv *e = &kv[k++];
            e->key = text;
            e->key_len = decode(p, (size_t)(name_end - p), text, true, &nul);
            text += e->key_len;
            *text++ = '\0';
            e->value = text;
            e->value_len = eq ? decode(eq + 1, (size_t)(amp - eq - 1), text, true, &nul) : 0;
            text += e->value_len;
            *text++ = '\0';
        }
        p = amp + 1;
    }
    *out = kv;
    *count = k;
}
