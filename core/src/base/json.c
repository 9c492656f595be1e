/*
 * Request-body parsing with cJSON, guarded by a linear pre-scan, and the JSON
 * text writers shared by every producer in the core.
 *
 * cJSON recurses once per nesting level and does not validate UTF-8, so the
 * pre-scan (soom_json_check) runs first: one pass over the bytes that tracks
 * string state, validates UTF-8, counts nesting and refuses \u0000 (cJSON's
 * strings are NUL-terminated, so an embedded NUL would silently truncate a
 * value; refusing it keeps strings byte-exact).
 */
#include "soom/json.h"
#include "hex.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soom/error.h"

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) {
        if (n < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* UTF-16 surrogate */
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c == 0xF4 && p[1] >= 0x90)
            return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

bool soom_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static int check_fail(struct soom_json_error *err, int code, size_t at, const char *why)
{
    if (err != NULL) {
        err->offset = at;
        err->reason = why;
    }
    return code;
}

int soom_json_check(const char *s, size_t n, int max_depth, struct soom_json_error *err)
{
    const unsigned char *p = (const unsigned char *)s;
    bool in_string = false;
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, n - i);
            if (k == 0)
                return check_fail(err, SOOM_EUTF8, i, "invalid UTF-8");
            i += k - 1;
            continue;
        }
        if (in_string) {
            if (c == '"') {
                in_string = false;
            } else if (c == '\\' && i + 1 < n) {
                i++;
                if (p[i] == 'u' && i + 4 < n && p[i + 1] == '0' && p[i + 2] == '0' &&
                    p[i + 3] == '0' && p[i + 4] == '0')
                    return check_fail(err, SOOM_EBADJSON, i - 1,
                                      "NUL characters are not allowed in strings");
            }
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return check_fail(err, SOOM_EDEPTH, i, "nesting too deep");
            break;
        case ']':
        case '}': depth--; break;
        default: break;
        }
    }
    return SOOM_OK;
}

int soom_json_parse(const char *s, size_t n, int max_depth, struct soom_json **out,
                    struct soom_json_error *err)
{
    *out = NULL;
    int rc = soom_json_check(s, n, max_depth, err);
    if (rc != SOOM_OK)
        return rc;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(s, n, &end, false);
    if (doc == NULL)
        return check_fail(err, SOOM_EBADJSON, end ? (size_t)(end - s) : 0, "syntax error");
    /* cJSON stops after the first value: anything but whitespace after it
     * is an error. */
    size_t at = (size_t)(end - s);
    while (at < n && (s[at] == ' ' || s[at] == '\t' || s[at] == '\n' || s[at] == '\r'))
        at++;
    if (at < n) {
        cJSON_Delete(doc);
        return check_fail(err, SOOM_EBADJSON, at, "unexpected data after the JSON value");
    }
    *out = (struct soom_json *)doc;
    return SOOM_OK;
}

void soom_json_free(struct soom_json *doc)
{
    if (doc != NULL)
        cJSON_Delete((cJSON *)doc);
}

/* 1 for the bytes a JSON string must escape: controls, '"' and '\\'; 2 for
 * those that start a multi-byte sequence, which must be UTF-8. */
static const unsigned char NEEDS_ESCAPE[256] = {
    [0x00 ... 0x1F] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xFF] = 2,
};

static char *write_escape(char *w, unsigned char c)
{
    *w++ = '\\';
    switch (c) {
    case '"': *w++ = '"'; break;
    case '\\': *w++ = '\\'; break;
    case '\n': *w++ = 'n'; break;
    case '\r': *w++ = 'r'; break;
    case '\t': *w++ = 't'; break;
    case '\b': *w++ = 'b'; break;
    case '\f': *w++ = 'f'; break;
    default:
        *w++ = 'u';
        *w++ = '0';
        *w++ = '0';
        *w++ = hex_digit(c >> 4, false);
        *w++ = hex_digit(c, false);
    }
    return w;
}

void soom_json_write_string(struct soom_buf *out, const char *s, size_t n)
{
    /* Worst case every byte becomes \u00XX. Runs of bytes that need no
     * escape, the common case, are copied whole. */
    soom_buf_reserve(out, n * 6 + 2);
    char *w = out->data + out->len;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    *w++ = '"';
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !NEEDS_ESCAPE[*p])
            p++;
        memcpy(w, run, (size_t)(p - run));
        w += p - run;
        if (p == end)
            break;
        if (NEEDS_ESCAPE[*p] == 1) {
            w = write_escape(w, *p++);
            continue;
        }
        size_t k = utf8_seq(p, (size_t)(end - p));
        if (k > 0) {
            memcpy(w, p, k);
            w += k;
            p += k;
            continue;
        }
        /* a byte that is not UTF-8 (a request's path, query or header, a
         * string a handler made) stays visible, as the text \xHH (nginx
         * writes its logs so), and the document stays valid UTF-8 */
        *w++ = '\\';
        *w++ = '\\';
        *w++ = 'x';
        *w++ = hex_digit(*p >> 4, false);
        *w++ = hex_digit(*p++, false);
    }
    *w++ = '"';
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

void soom_json_write_int(struct soom_buf *out, int64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp;
    char *p = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    soom_buf_append(out, p, (size_t)(e - p));
}

#define MAX_SAFE_INTEGER 9007199254740992.0 /* 2^53 */

int soom_json_write_number(struct soom_buf *out, double d)
{
    if (!isfinite(d))
        return SOOM_EINVAL;
    if (d == floor(d) && fabs(d) <= MAX_SAFE_INTEGER) {
        soom_json_write_int(out, (int64_t)d);
        return SOOM_OK;
    }
    /* The shortest of 15, 16 or 17 significant digits that reads back
     * exactly: 0.1 prints as 0.1, not 0.10000000000000001. */
    char tmp[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d)
            break;
    }
    soom_buf_puts(out, tmp);
    return SOOM_OK;
}

/* cJSON's own printer compares a shortened number with the value only up
 * to a relative epsilon, so 1.0000000000000002 comes out as 1: a copy of a
 * document (a jsonb column, a value quoted in an error) must be exact, so
 * numbers and strings go through the writers above. */
static void print_item(struct soom_buf *b, const cJSON *v, int depth)
{
    if (depth > 512) { /* parsed documents are far shallower */
        soom_buf_puts(b, "null");
        return;
    }
    switch (v->type & 0xFF) {
    case cJSON_False: soom_buf_puts(b, "false"); break;
    case cJSON_True: soom_buf_puts(b, "true"); break;
    case cJSON_Number:
        if (soom_json_write_number(b, v->valuedouble) != SOOM_OK)
            soom_buf_puts(b, "null");
        break;
    case cJSON_String: soom_json_write_string(b, v->valuestring, strlen(v->valuestring)); break;
    case cJSON_Array:
    case cJSON_Object: {
        bool obj = (v->type & 0xFF) == cJSON_Object;
        soom_buf_putc(b, obj ? '{' : '[');
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            if (c != v->child)
                soom_buf_putc(b, ',');
            if (obj) {
                soom_json_write_string(b, c->string, strlen(c->string));
                soom_buf_putc(b, ':');
            }
            print_item(b, c, depth + 1);
        }
        soom_buf_putc(b, obj ? '}' : ']');
        break;
    }
    default: soom_buf_puts(b, "null"); break;
    }
}

void soom_json_print(const struct soom_json *doc, struct soom_buf *out)
{
    print_item(out, (const cJSON *)doc, 0);
}

static void free_deferred(void *doc)
{
    soom_json_free(doc);
}

void soom_json_defer(struct soom_arena *a, struct soom_json *doc)
{
    soom_arena_defer(a, free_deferred, doc);
}

void soom_json_write_field_error(struct soom_buf *out, const char *pointer, const char *detail,
                                 const char *code, const char *source)
{
    soom_buf_puts(out, "{\"pointer\":");
    soom_json_write_string(out, pointer, strlen(pointer));
    soom_buf_puts(out, ",\"detail\":");
    soom_json_write_string(out, detail, strlen(detail));
    soom_buf_puts(out, ",\"code\":");
    soom_json_write_string(out, code, strlen(code));
    if (source != NULL) {
        soom_buf_puts(out, ",\"source\":");
        soom_json_write_string(out, source, strlen(source));
    }
    soom_buf_putc(out, '}');
}
