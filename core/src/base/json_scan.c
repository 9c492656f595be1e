/*
 * The scan of JSON text before cJSON parses it (see json_impl.h): one
 * linear pass, no recursion, that holds the text to RFC 8259 exactly.
 *
 * cJSON is lenient where a service must not be: it reads "012", "2." and
 * "1.e5" as numbers, skips any byte below 0x21 as white space, takes raw
 * control characters (and a raw NUL, which then cuts the string short) in
 * strings, and checks neither UTF-8 nor the depth before it recurses. The
 * scan refuses all of that, so two consumers of the same body can never
 * read it differently. It also finds the values that are valid JSON but
 * that the core cannot take, which are the client's to fix (422 with a
 * JSON pointer, not a 400): a string holding \u0000 (cJSON's strings, and
 * PostgreSQL's text, end at NUL), a number longer than cJSON reads.
 *
 * To name such a value the scan keeps, per open level, the index of the
 * current element or the offset of the current member name.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_impl.h"
#include "soom/error.h"

struct scan {
    const unsigned char *p;
    size_t n, i;
    int depth, max_depth;
    size_t numbers; /* number tokens so far */
    struct json_notes *notes;
    struct soom_json_error *err;
    int value_rc; /* SOOM_EVALUE once a value was refused: reported if the grammar holds */
    bool object[JSON_SCAN_MAX_LEVELS];
    size_t at[JSON_SCAN_MAX_LEVELS]; /* element index, or offset of the member name */
};

/* In a string: 0 for a byte that stands for itself, 1 for '"' and '\\',
 * 2 for a control character, 3 for the start of a UTF-8 sequence. */
/* clang-format off */
static const unsigned char STRING_CLASS[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};
/* clang-format on */

size_t json_utf8_seq(const unsigned char *p, size_t n)
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

static bool fail(struct scan *s, int code, size_t at, const char *why)
{
    s->err->offset = at;
    s->err->reason = why;
    s->value_rc = code;
    return false;
}

static bool is_digit(const struct scan *s, size_t i)
{
    return i < s->n && s->p[i] >= '0' && s->p[i] <= '9';
}

static int hex_value(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10) : -1;
}

/* The code unit of the \uXXXX at i, or -1. */
static long hex4(const struct scan *s, size_t i)
{
    if (i + 6 > s->n || s->p[i] != '\\' || s->p[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        int h = hex_value(s->p[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* ---- naming a value: the JSON pointer of the current position ------------ */

static void put(struct soom_json_error *e, size_t *o, char c)
{
    if (*o + 1 < sizeof e->pointer)
        e->pointer[(*o)++] = c;
}

static void put_utf8(struct soom_json_error *e, size_t *o, unsigned long cp)
{
    if (cp == 0)
        cp = 0xFFFD; /* a pointer is a C string: the NUL shows as U+FFFD */
    if (cp < 0x80) {
        put(e, o, (char)cp);
    } else if (cp < 0x800) {
        put(e, o, (char)(0xC0 | cp >> 6));
        put(e, o, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        put(e, o, (char)(0xE0 | cp >> 12));
        put(e, o, (char)(0x80 | ((cp >> 6) & 0x3F)));
        put(e, o, (char)(0x80 | (cp & 0x3F)));
    } else {
        put(e, o, (char)(0xF0 | cp >> 18));
        put(e, o, (char)(0x80 | ((cp >> 12) & 0x3F)));
        put(e, o, (char)(0x80 | ((cp >> 6) & 0x3F)));
        put(e, o, (char)(0x80 | (cp & 0x3F)));
    }
}

static char unescaped(unsigned c)
{
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return (char)c; /* '"', '\\', '/' */
    }
}

/* The member name whose opening quote is at `at`, unescaped, as a pointer
 * segment (~ as ~0, / as ~1). Bytes are copied as they are: a name the
 * scan has not finished may hold anything, but then the text is refused
 * and the pointer never shown. */
static void put_name(const struct scan *s, size_t at, size_t *o)
{
    struct soom_json_error *e = s->err;
    for (size_t i = at + 1; i < s->n && s->p[i] != '"'; i++) {
        unsigned c = s->p[i];
        if (c == '~' || c == '/') {
            put(e, o, '~');
            put(e, o, c == '~' ? '0' : '1');
        } else if (c != '\\') {
            put(e, o, (char)c);
        } else if (hex4(s, i) >= 0) {
            unsigned long cp = (unsigned long)hex4(s, i);
            long lo = hex4(s, i + 6);
            if (cp >= 0xD800 && cp < 0xDC00 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                i += 6;
            }
            put_utf8(e, o, cp == '~' || cp == '/' ? 0xFFFD : cp);
            i += 5;
        } else if (i + 1 < s->n) {
            put(e, o, unescaped(s->p[++i]));
        }
    }
}

/* Refuses the value at the current position (once: the first one is
 * reported) and goes on scanning, since malformed text is a 400 first. */
static void refuse_value(struct scan *s, size_t at, const char *why, const char *code)
{
    if (s->value_rc != SOOM_OK)
        return;
    struct soom_json_error *e = s->err;
    size_t o = 0;
    for (int d = 0; d < s->depth; d++) {
        put(e, &o, '/');
        if (s->object[d]) {
            put_name(s, s->at[d], &o);
        } else {
            char num[24];
            size_t k = sizeof num;
            size_t v = s->at[d];
            do
                num[--k] = (char)('0' + v % 10);
            while ((v /= 10) != 0);
            while (k < sizeof num)
                put(e, &o, num[k++]);
        }
    }
    e->pointer[o] = '\0';
    e->offset = at;
    e->reason = why;
    e->code = code;
    s->value_rc = SOOM_EVALUE;
}

/* ---- tokens -------------------------------------------------------------- */

static void skip_space(struct scan *s)
{
    const unsigned char *p = s->p;
    size_t i = s->i, n = s->n;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    s->i = i;
}

/* The escape at i (a backslash); advances i past it. */
static bool scan_escape(struct scan *s, size_t *i)
{
    if (*i + 1 >= s->n)
        return fail(s, SOOM_EBADJSON, *i, "unterminated string");
    switch (s->p[*i + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': *i += 2; return true;
    default: break;
    }
    long u = hex4(s, *i);
    if (u < 0)
        return fail(s, SOOM_EBADJSON, *i, "an invalid escape in a string");
    if (u >= 0xDC00 && u < 0xE000)
        return fail(s, SOOM_EBADJSON, *i, "an unpaired UTF-16 surrogate in a string");
    if (u >= 0xD800 && u < 0xDC00) {
        long lo = hex4(s, *i + 6);
        if (lo < 0xDC00 || lo >= 0xE000)
            return fail(s, SOOM_EBADJSON, *i, "an unpaired UTF-16 surrogate in a string");
        *i += 6;
    }
    if (u == 0)
        refuse_value(s, *i, "the NUL character (\\u0000) cannot be stored", "nul");
    *i += 6;
    return true;
}

/* The string whose opening quote is at s->i. */
static bool scan_string(struct scan *s)
{
    const unsigned char *p = s->p;
    size_t i = s->i + 1, n = s->n;
    for (;;) {
        /* four bytes a step while none of them ends the run */
        while (i + 4 <= n && (STRING_CLASS[p[i]] | STRING_CLASS[p[i + 1]] | STRING_CLASS[p[i + 2]] |
                              STRING_CLASS[p[i + 3]]) == 0)
            i += 4;
        while (i < n && STRING_CLASS[p[i]] == 0)
            i++;
        if (i >= n)
            return fail(s, SOOM_EBADJSON, s->i, "unterminated string");
        unsigned c = p[i];
        if (c == '"') {
            s->i = i + 1;
            return true;
        }
        if (c == '\\') {
            if (!scan_escape(s, &i))
                return false;
        } else if (c < 0x20) {
            return fail(s, SOOM_EBADJSON, i,
                        c == 0 ? "a NUL byte in a string"
                               : "a control character in a string (it must be escaped)");
        } else {
            size_t k = json_utf8_seq(p + i, n - i);
            if (k == 0)
                return fail(s, SOOM_EUTF8, i, "invalid UTF-8");
            i += k;
        }
    }
}

static size_t scan_digits(struct scan *s, size_t *i)
{
    size_t from = *i;
    while (is_digit(s, *i))
        (*i)++;
    return *i - from;
}

static void note_number(struct scan *s, size_t start, size_t len)
{
    struct json_notes *ns = s->notes;
    if (ns == NULL)
        return;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? ns->cap * 2 : 8;
        ns->v = realloc(ns->v, ns->cap * sizeof *ns->v);
        if (ns->v == NULL)
            abort();
    }
    ns->v[ns->n++] = (struct json_note){s->numbers, start, len};
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s->i. A number with
 * more than 15 digits, or an exponent of 100 or more, may not survive a
 * double: it is noted, and its text kept. */
static bool scan_number(struct scan *s)
{
    size_t i = s->i, start = i;
    if (s->p[i] == '-')
        i++;
    if (!is_digit(s, i))
        return fail(s, SOOM_EBADJSON, i, "a number must start with a digit");
    size_t digits;
    if (s->p[i] == '0') {
        i++;
        digits = 1;
        if (is_digit(s, i))
            return fail(s, SOOM_EBADJSON, i, "a number with a leading zero");
    } else {
        digits = scan_digits(s, &i);
    }
    if (i < s->n && s->p[i] == '.') {
        i++;
        size_t frac = scan_digits(s, &i);
        if (frac == 0)
            return fail(s, SOOM_EBADJSON, i, "a digit must follow the decimal point");
        digits += frac;
    }
    bool big_exponent = false;
    if (i < s->n && (s->p[i] == 'e' || s->p[i] == 'E')) {
        i++;
        if (i < s->n && (s->p[i] == '+' || s->p[i] == '-'))
            i++;
        size_t zeros = 0;
        while (i < s->n && s->p[i] == '0')
            i++, zeros++;
        size_t exp = scan_digits(s, &i);
        if (zeros + exp == 0)
            return fail(s, SOOM_EBADJSON, i, "a digit must follow the exponent");
        big_exponent = exp > 2;
    }
    size_t len = i - start;
    if (len > JSON_NUMBER_MAX_LEN)
        refuse_value(s, start, "a number longer than 63 characters cannot be read", "range");
    else if (digits > 15 || big_exponent)
        note_number(s, start, len);
    s->numbers++;
    s->i = i;
    return true;
}

static bool scan_literal(struct scan *s, const char *word, size_t len)
{
    if (s->n - s->i < len || memcmp(s->p + s->i, word, len) != 0)
        return fail(s, SOOM_EBADJSON, s->i, "an unexpected character");
    s->i += len;
    return true;
}

static bool scan_scalar(struct scan *s, unsigned c)
{
    switch (c) {
    case '"': return scan_string(s);
    case 't': return scan_literal(s, "true", 4);
    case 'f': return scan_literal(s, "false", 5);
    case 'n': return scan_literal(s, "null", 4);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return scan_number(s);
        return fail(s, SOOM_EBADJSON, s->i,
                    c < 0x20 ? "a control character outside a string (white space is space, "
                               "tab, CR and LF only)"
                             : "an unexpected character");
    }
}

/* ---- the grammar --------------------------------------------------------- */

enum want { WANT_VALUE, WANT_NAME, WANT_NEXT };

/* A '{' or '[' at s->i: one level deeper, or the empty container closed. */
static bool open_level(struct scan *s, enum want *want)
{
    unsigned c = s->p[s->i];
    if (s->depth >= s->max_depth)
        return fail(s, SOOM_EDEPTH, s->i, "nesting too deep");
    s->object[s->depth] = c == '{';
    s->at[s->depth] = 0;
    s->depth++;
    s->i++;
    skip_space(s);
    if (s->i < s->n && s->p[s->i] == (c == '{' ? '}' : ']')) {
        s->depth--;
        s->i++;
        *want = WANT_NEXT;
    } else {
        *want = c == '{' ? WANT_NAME : WANT_VALUE;
    }
    return true;
}

static bool scan_name(struct scan *s)
{
    if (s->p[s->i] != '"')
        return fail(s, SOOM_EBADJSON, s->i, "a member name (a string) was expected");
    s->at[s->depth - 1] = s->i;
    if (!scan_string(s))
        return false;
    skip_space(s);
    if (s->i >= s->n || s->p[s->i] != ':')
        return fail(s, SOOM_EBADJSON, s->i, "a colon must follow the member name");
    s->i++;
    return true;
}

/* After a value: a comma, the end of the open level, or the end. */
static bool scan_next(struct scan *s, enum want *want)
{
    bool object = s->object[s->depth - 1];
    unsigned c = s->p[s->i];
    if (c == ',') {
        if (!object)
            s->at[s->depth - 1]++;
        *want = object ? WANT_NAME : WANT_VALUE;
    } else if (c == (object ? '}' : ']')) {
        s->depth--;
        *want = WANT_NEXT;
    } else {
        return fail(s, SOOM_EBADJSON, s->i,
                    object ? "a comma or '}' was expected" : "a comma or ']' was expected");
    }
    s->i++;
    return true;
}

static bool scan_step(struct scan *s, enum want *want)
{
    unsigned c = s->p[s->i];
    switch (*want) {
    case WANT_VALUE:
        if (c == '{' || c == '[')
            return open_level(s, want);
        *want = WANT_NEXT;
        return scan_scalar(s, c);
    case WANT_NAME: *want = WANT_VALUE; return scan_name(s);
    case WANT_NEXT:
        if (s->depth == 0)
            return fail(s, SOOM_EBADJSON, s->i, "unexpected data after the JSON value");
        return scan_next(s, want);
    }
    return false;
}

int json_scan(const char *p, size_t n, int max_depth, struct json_notes *notes,
              struct soom_json_error *err)
{
    struct soom_json_error ignored;
    struct scan scan, *s = &scan; /* its level arrays are never read before written */
    s->p = (const unsigned char *)p;
    s->n = n;
    s->i = 0;
    s->depth = 0;
    s->max_depth = max_depth < JSON_SCAN_MAX_LEVELS ? max_depth : JSON_SCAN_MAX_LEVELS;
    s->numbers = 0;
    s->notes = notes;
    s->err = err != NULL ? err : &ignored;
    s->value_rc = SOOM_OK;
    s->err->pointer[0] = '\0';
    s->err->code = NULL;
    /* RFC 8259 lets a parser ignore a byte order mark; cJSON does too. */
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        s->i = 3;
    enum want want = WANT_VALUE;
    int rc;
    for (;;) {
        skip_space(s);
        if (s->i >= s->n) {
            if (want == WANT_NEXT && s->depth == 0)
                rc = s->value_rc;
            else
                rc = (fail(s, SOOM_EBADJSON, s->i, "unexpected end of the JSON text"), s->value_rc);
            break;
        }
        if (!scan_step(s, &want)) {
            rc = s->value_rc;
            s->err->pointer[0] = '\0';
            s->err->code = NULL;
            break;
        }
    }
    return rc;
}

void json_notes_free(struct json_notes *notes)
{
    if (notes->v != NULL)
        free(notes->v);
    notes->v = NULL;
    notes->n = notes->cap = 0;
}
