/*
 * Request-body parsing with cJSON, guarded by a linear pre-scan, and the JSON
 * text writers shared by every producer in the core.
 *
 * cJSON is lenient, recurses once per nesting level and does not validate
 * UTF-8, so the scan (json_scan.c) runs first and holds the text to RFC 8259.
 * cJSON then builds the tree, and one walk over it does what only a tree
 * shows: a member name used twice in an object (refused, as I-JSON asks:
 * consumers that keep the first and the last would read two documents), and
 * the numbers the scan noted, whose text is kept beside the double so that
 * big integers and long decimals reach PostgreSQL digit for digit.
 */
#include "soom/json.h"
#include "alloc.h"
#include "hex.h"
#include "json_impl.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soom/error.h"

bool soom_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = json_utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

int soom_json_check(const char *s, size_t n, int max_depth, struct soom_json_error *err)
{
    return json_scan(s, n, max_depth, NULL, err);
}

/* ---- after cJSON: what a tree alone shows -------------------------------- */

/* Where the walk is: the chain of member names and indexes to the root,
 * on the stack, turned into a pointer only when a value is refused. */
struct step {
    const struct step *up;
    const char *name; /* NULL in an array */
    size_t index;
};

static void put_pointer(char *out, size_t cap, size_t *o, const struct step *at)
{
    if (at == NULL)
        return;
    put_pointer(out, cap, o, at->up);
    char index[24];
    const char *seg = at->name;
    if (seg == NULL) {
        snprintf(index, sizeof index, "%zu", at->index);
        seg = index;
    }
    if (*o + 1 < cap)
        out[(*o)++] = '/';
    for (; *seg != '\0' && *o + 2 < cap; seg++) {
        if (*seg == '~' || *seg == '/') {
            out[(*o)++] = '~';
            out[(*o)++] = *seg == '~' ? '0' : '1';
        } else {
            out[(*o)++] = *seg;
        }
    }
}

static int refuse_at(struct soom_json_error *err, int rc, const struct step *at, const char *why,
                     const char *code)
{
    if (err != NULL) {
        size_t o = 0;
        put_pointer(err->pointer, sizeof err->pointer, &o, at);
        err->pointer[o] = '\0';
        err->offset = 0;
        err->reason = why;
        err->code = code;
    }
    return rc;
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The second of two members with one name, or NULL. Small objects compare
 * every pair; larger ones sort their names, so no choice of names costs
 * more than n log n. */
static const char *duplicate_name(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *c = obj->child; c != NULL; c = c->next)
        n++;
    if (n < 2)
        return NULL;
    if (n <= 8) {
        for (const cJSON *a = obj->child; a != NULL; a = a->next)
            for (const cJSON *b = a->next; b != NULL; b = b->next)
                if (a->string[0] == b->string[0] && strcmp(a->string, b->string) == 0)
                    return b->string;
        return NULL;
    }
    const char **names = xmalloc(n * sizeof *names), *dup = NULL;
    size_t i = 0;
    for (const cJSON *c = obj->child; c != NULL; c = c->next)
        names[i++] = c->string;
    qsort(names, n, sizeof *names, name_order);
    for (i = 1; i < n && dup == NULL; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    free(names);
    return dup;
}

struct walk {
    const char *text;
    const struct json_notes *notes;
    size_t next;    /* the next note */
    size_t numbers; /* number nodes so far, in the text's order */
    struct soom_json_error *err;
};

/* A number a double may not hold: its text is kept in cJSON's valuestring
 * (which cJSON_Delete frees), and one beyond a double's range refused. */
static int walk_number(struct walk *w, cJSON *v, const struct step *at)
{
    const struct json_note *note = w->next < w->notes->n ? &w->notes->v[w->next] : NULL;
    if (note == NULL || note->number != w->numbers++)
        return SOOM_OK;
    w->next++;
    if (!isfinite(v->valuedouble))
        return refuse_at(w->err, SOOM_EVALUE, at, "the number is beyond the range of a double",
                         "range");
    v->valuestring = cJSON_malloc(note->len + 1);
    memcpy(v->valuestring, w->text + note->offset, note->len);
    v->valuestring[note->len] = '\0';
    return SOOM_OK;
}

/* cJSON_IsNumber() and the others, without a call per node. */
static int node_type(const cJSON *v)
{
    return v->type & 0xFF;
}

/* The container `v`: its duplicate names when an object, then its members
 * or elements. A scalar is visited only while noted numbers remain. */
static int walk_tree(struct walk *w, cJSON *v, const struct step *at)
{
    if (node_type(v) == cJSON_Object) {
        const char *dup = duplicate_name(v);
        if (dup != NULL) {
            struct step here = {at, dup, 0};
            return refuse_at(w->err, SOOM_EBADJSON, &here, "a member name used twice in an object",
                             NULL);
        }
    }
    size_t i = 0;
    for (cJSON *c = v->child; c != NULL; c = c->next, i++) {
        int t = node_type(c);
        bool container = t == cJSON_Object || t == cJSON_Array;
        if (!container && (t != cJSON_Number || w->next == w->notes->n))
            continue;
        struct step here = {at, c->string, i};
        int rc = container ? walk_tree(w, c, &here) : walk_number(w, c, &here);
        if (rc != SOOM_OK)
            return rc;
    }
    return SOOM_OK;
}

/* The parsed text's root: a container is walked, a number checked. */
static int walk_root(struct walk *w, cJSON *v)
{
    int t = node_type(v);
    if (t == cJSON_Object || t == cJSON_Array)
        return walk_tree(w, v, NULL);
    return t == cJSON_Number && w->next < w->notes->n ? walk_number(w, v, NULL) : SOOM_OK;
}

int soom_json_parse(const char *s, size_t n, int max_depth, struct soom_json **out,
                    struct soom_json_error *err)
{
    struct json_notes notes = {0};
    *out = NULL;
    int rc = json_scan(s, n, max_depth, &notes, err);
    cJSON *doc = NULL;
    if (rc == SOOM_OK) {
        /* the scan held the text to the grammar: cJSON reads it whole. A
         * byte order mark is skipped here: cJSON skips one only when more
         * than a byte follows it, and "\xEF\xBB\xBF" "6" would fail. */
        size_t bom = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        doc = cJSON_ParseWithLengthOpts(s + bom, n - bom, NULL, false);
        if (doc == NULL)
            rc = refuse_at(err, SOOM_EBADJSON, NULL, "syntax error", NULL);
    }
    if (rc == SOOM_OK) {
        struct walk w = {s, &notes, 0, 0, err};
        rc = walk_root(&w, doc);
    }
    json_notes_free(&notes);
    if (rc != SOOM_OK) {
        cJSON_Delete(doc);
        return rc;
    }
    *out = (struct soom_json *)doc;
    return SOOM_OK;
}

/* An integer written as one (no fraction, no exponent) beyond 2^53, the
 * last that every double holds exactly. */
static bool beyond_exact(const char *t)
{
    if (*t == '-')
        t++;
    if (strpbrk(t, ".eE") != NULL)
        return false;
    size_t len = strlen(t);
    return len > 16 || (len == 16 && strcmp(t, "9007199254740992") > 0);
}

static int find_inexact(const cJSON *v, const struct step *at, struct soom_json_error *err)
{
    if (cJSON_IsNumber(v) && v->valuestring != NULL && beyond_exact(v->valuestring))
        return refuse_at(err, SOOM_EVALUE, at,
                         "an integer beyond 2^53 in magnitude cannot be exact here", "range");
    size_t i = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next, i++) {
        struct step here = {at, c->string, i};
        int rc = find_inexact(c, &here, err);
        if (rc != SOOM_OK)
            return rc;
    }
    return SOOM_OK;
}

int soom_json_check_exact(const struct soom_json *doc, struct soom_json_error *err)
{
    return doc == NULL ? SOOM_OK : find_inexact((const cJSON *)doc, NULL, err);
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
        size_t k = json_utf8_seq(p, (size_t)(end - p));
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
        if (v->valuestring != NULL) /* the text of a number a double may not hold */
            soom_buf_puts(b, v->valuestring);
        else if (soom_json_write_number(b, v->valuedouble) != SOOM_OK)
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
