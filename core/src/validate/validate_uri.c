/*
 * URI references (RFC 3986 section 5) and JSON Pointers (RFC 6901) for the
 * schema compiler: resolving "$id" and "$ref" against their base URI, and
 * walking a pointer fragment from a resource's root. Compile-time only, so
 * clarity wins over speed; every string comes from the compiler's arena.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "validate_impl.h"

struct uri_parts {
    const char *scheme, *authority, *path, *query, *fragment;
    size_t scheme_len, authority_len, path_len, query_len, fragment_len;
    bool has_scheme, has_authority, has_query, has_fragment;
};

static bool is_scheme_char(char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static void uri_split(const char *s, struct uri_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *p = s;
    const char *q = s;
    while (*q != '\0' && is_scheme_char(*q, q == s))
        q++;
    if (q > s && *q == ':') {
        u->has_scheme = true;
        u->scheme = s;
        u->scheme_len = (size_t)(q - s);
        p = q + 1;
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        u->has_authority = true;
        u->authority = p;
        while (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
            p++;
        u->authority_len = (size_t)(p - u->authority);
    }
    u->path = p;
    while (*p != '\0' && *p != '?' && *p != '#')
        p++;
    u->path_len = (size_t)(p - u->path);
    if (*p == '?') {
        u->has_query = true;
        u->query = ++p;
        while (*p != '\0' && *p != '#')
            p++;
        u->query_len = (size_t)(p - u->query);
    }
    if (*p == '#') {
        u->has_fragment = true;
        u->fragment = p + 1;
        u->fragment_len = strlen(p + 1);
    }
}

/* RFC 3986 5.2.4, in place on a NUL-terminated path. */
static void remove_dot_segments(char *path)
{
    char *in = path, *out = path;
    while (*in != '\0') {
        if (strncmp(in, "../", 3) == 0) {
            in += 3;
        } else if (strncmp(in, "./", 2) == 0 || strncmp(in, "/./", 3) == 0) {
            in += 2; /* "./" -> "", "/./" -> "/" */
        } else if (strcmp(in, "/.") == 0) {
            in[1] = '\0';
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            in += 3;
            if (*in == '\0')
                *--in = '/';
            else
                *in = '/';
            while (out > path && *--out != '/')
                ;
            *out = '\0';
            continue;
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
            break;
        } else {
            do
                *out++ = *in++;
            while (*in != '\0' && *in != '/');
        }
    }
    *out = '\0';
}

static void put(char **w, const char *s, size_t n)
{
    memcpy(*w, s, n);
    *w += n;
}

char *vuri_resolve(struct soom_arena *a, const char *base, const char *ref)
{
    struct uri_parts b, r;
    uri_split(base, &b);
    uri_split(ref, &r);
    size_t cap = strlen(base) + strlen(ref) + 8;
    char *out = soom_arena_alloc(a, cap), *w = out;
    char *path = soom_arena_alloc(a, cap), *pw = path;
    const struct uri_parts *auth = &r, *query = &r;
    if (r.has_scheme) {
        put(&pw, r.path, r.path_len);
    } else if (r.has_authority) {
        put(&pw, r.path, r.path_len);
    } else {
        auth = &b;
        if (r.path_len == 0) {
            put(&pw, b.path, b.path_len);
            if (!r.has_query)
                query = &b;
        } else if (r.path[0] == '/') {
            put(&pw, r.path, r.path_len);
        } else {
            if (b.has_authority && b.path_len == 0) {
                *pw++ = '/';
            } else {
                const char *slash = NULL;
                for (size_t i = 0; i < b.path_len; i++)
                    if (b.path[i] == '/')
                        slash = b.path + i;
                if (slash != NULL)
                    put(&pw, b.path, (size_t)(slash - b.path) + 1);
            }
            put(&pw, r.path, r.path_len);
        }
    }
    *pw = '\0';
    if (auth == &r || r.path_len > 0)
        remove_dot_segments(path);
    const struct uri_parts *scheme = r.has_scheme ? &r : &b;
    if (scheme->has_scheme) {
        put(&w, scheme->scheme, scheme->scheme_len);
        *w++ = ':';
    }
    if (auth->has_authority) {
        put(&w, "//", 2);
        put(&w, auth->authority, auth->authority_len);
    }
    put(&w, path, strlen(path));
    if (query->has_query) {
        *w++ = '?';
        put(&w, query->query, query->query_len);
    }
    if (r.has_fragment && r.fragment_len > 0) {
        *w++ = '#';
        put(&w, r.fragment, r.fragment_len);
    }
    *w = '\0';
    return out;
}

char *vuri_strip_fragment(struct soom_arena *a, const char *uri, const char **fragment)
{
    const char *hash = strchr(uri, '#');
    if (hash == NULL) {
        *fragment = "";
        return soom_arena_strndup(a, uri, strlen(uri));
    }
    *fragment = hash + 1;
    return soom_arena_strndup(a, uri, (size_t)(hash - uri));
}

/* Decodes one pointer token (percent escapes, then ~1 and ~0) into `out`. */
static size_t pointer_token(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        }
        out[k++] = c;
    }
    /* ~ escapes apply after percent-decoding (RFC 6901 section 6). */
    size_t w = 0;
    for (size_t i = 0; i < k; i++) {
        if (out[i] == '~' && i + 1 < k && (out[i + 1] == '0' || out[i + 1] == '1')) {
            out[w++] = out[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            out[w++] = out[i];
        }
    }
    out[w] = '\0';
    return w;
}

const cJSON *vjson_pointer(const cJSON *root, const char *fragment)
{
    const cJSON *cur = root;
    const char *p = fragment;
    if (*p == '\0')
        return root;
    if (*p != '/')
        return NULL;
    char *tok = malloc(strlen(fragment) + 1);
    while (cur != NULL && *p == '/') {
        const char *start = ++p;
        while (*p != '\0' && *p != '/')
            p++;
        pointer_token(start, (size_t)(p - start), tok);
        if (cJSON_IsArray(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = (*tok == '\0' || *end != '\0' || i < 0) ? NULL : cJSON_GetArrayItem(cur, (int)i);
        } else if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        } else {
            cur = NULL;
        }
    }
    free(tok);
    return cur;
}

char *vpointer_append(struct soom_arena *a, const char *base, const char *token)
{
    size_t bl = strlen(base), tl = strlen(token), extra = 0;
    for (size_t i = 0; i < tl; i++)
        extra += token[i] == '~' || token[i] == '/';
    char *out = soom_arena_alloc(a, bl + tl + extra + 2), *w = out;
    put(&w, base, bl);
    *w++ = '/';
    for (size_t i = 0; i < tl; i++) {
        if (token[i] == '~' || token[i] == '/') {
            *w++ = '~';
            *w++ = token[i] == '~' ? '0' : '1';
        } else {
            *w++ = token[i];
        }
    }
    *w = '\0';
    return out;
}

char *vpointer_append_index(struct soom_arena *a, const char *base, size_t i)
{
    return soom_arena_printf(a, "%s/%zu", base, i);
}
