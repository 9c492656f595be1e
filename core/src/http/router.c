/*
 * The segment trie behind soom/router.h.
 *
 * Each node stands for one path segment: a static string or a typed
 * parameter. A node that ends a pattern carries the route. The trie is only
 * written by soom_router_add() at start-up; matching reads it and writes
 * nothing, so every worker thread shares one router.
 */
#include "soom/router.h"
#include "hex.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "soom/error.h"

struct node {
    /* how this node is reached from its parent */
    char *segment; /* static text, or the parameter name */
    size_t seglen;
    bool is_param;
    enum soom_param_type type;
    char *param_pattern; /* the pattern that introduced this parameter */
    char *param_owner;

    struct node **children; /* statics first, in insertion order, then params */
    size_t nchildren;

    /* the route ending here, if any */
    bool has_route;
    int route_id;
    unsigned methods;
    char *pattern;
    char *owner;
};

struct soom_router {
    struct node root;
    size_t count;
};

static const char *TYPE_NAMES[] = {"any", "int", "uuid", "slug"};

struct soom_router *soom_router_new(void)
{
    return xcalloc(1, sizeof(struct soom_router));
}

static void node_free_children(struct node *n)
{
    for (size_t i = 0; i < n->nchildren; i++) {
        struct node *c = n->children[i];
        node_free_children(c);
        free(c->segment);
        free(c->param_pattern);
        free(c->param_owner);
        free(c->pattern);
        free(c->owner);
        free(c);
    }
    free(n->children);
}

void soom_router_free(struct soom_router *r)
{
    if (r == NULL)
        return;
    node_free_children(&r->root);
    free(r->root.pattern);
    free(r->root.owner);
    free(r);
}

size_t soom_router_count(const struct soom_router *r)
{
    return r->count;
}

/* ---- pattern parsing ---------------------------------------------------- */

struct seg {
    const char *p;
    size_t len;
    bool is_param;
    enum soom_param_type type;
};

static bool ident_ok(const char *p, size_t n)
{
    if (n == 0 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static int parse_segment(const char *p, size_t n, struct seg *s, char *err, size_t errlen)
{
    s->is_param = false;
    s->type = SOOM_PARAM_ANY;
    s->p = p;
    s->len = n;
    if (n == 0) {
        snprintf(err, errlen, "empty path segment (a '//' or a trailing '/')");
        return SOOM_EINVAL;
    }
    if (p[0] != '{') {
        if (memchr(p, '{', n) || memchr(p, '}', n)) {
            snprintf(err, errlen, "a parameter must be a whole segment: \"%.*s\"", (int)n, p);
            return SOOM_EINVAL;
        }
        return SOOM_OK;
    }
    if (p[n - 1] != '}' || n < 3) {
        snprintf(err, errlen, "unterminated parameter \"%.*s\"", (int)n, p);
        return SOOM_EINVAL;
    }
    const char *name = p + 1;
    size_t inner = n - 2;
    const char *colon = memchr(name, ':', inner);
    size_t namelen = colon ? (size_t)(colon - name) : inner;
    if (!ident_ok(name, namelen)) {
        snprintf(err, errlen, "bad parameter name in \"%.*s\"", (int)n, p);
        return SOOM_EINVAL;
    }
    s->is_param = true;
    s->p = name;
    s->len = namelen;
    if (colon != NULL) {
        const char *type = colon + 1;
        size_t typelen = inner - namelen - 1;
        bool found = false;
        for (int t = SOOM_PARAM_INT; t <= SOOM_PARAM_SLUG; t++) {
            if (strlen(TYPE_NAMES[t]) == typelen && memcmp(TYPE_NAMES[t], type, typelen) == 0) {
                s->type = (enum soom_param_type)t;
                found = true;
            }
        }
        if (!found) {
            snprintf(err, errlen, "unknown parameter type \"%.*s\" (int, uuid or slug)",
                     (int)typelen, type);
            return SOOM_EINVAL;
        }
    }
    return SOOM_OK;
}

/* Splits a pattern into segments. "/" has none. */
static int parse_pattern(const char *pattern, struct seg *segs, size_t max, size_t *nsegs,
                         char *err, size_t errlen)
{
    if (pattern[0] != '/') {
        snprintf(err, errlen, "route \"%s\" must start with '/'", pattern);
        return SOOM_EINVAL;
    }
    size_t n = 0, nparams = 0;
    const char *p = pattern + 1;
    if (*p == '\0') {
        *nsegs = 0;
        return SOOM_OK;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (n == max) {
            snprintf(err, errlen, "route \"%s\" has too many segments", pattern);
            return SOOM_EINVAL;
        }
        int rc = parse_segment(p, len, &segs[n], err, errlen);
        if (rc != SOOM_OK)
            return rc;
        if (segs[n].is_param) {
            for (size_t i = 0; i < n; i++) {
                if (segs[i].is_param && segs[i].len == segs[n].len &&
                    memcmp(segs[i].p, segs[n].p, segs[n].len) == 0) {
                    snprintf(err, errlen, "route \"%s\" repeats parameter \"%.*s\"", pattern,
                             (int)segs[n].len, segs[n].p);
                    return SOOM_EINVAL;
                }
            }
            if (++nparams > SOOM_ROUTER_MAX_PARAMS) {
                snprintf(err, errlen, "route \"%s\" has too many parameters", pattern);
                return SOOM_EINVAL;
            }
        }
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    *nsegs = n;
    return SOOM_OK;
}

/* ---- insertion ---------------------------------------------------------- */

/* int and uuid never match the same text; every other pair of types does. */
static bool types_disjoint(enum soom_param_type a, enum soom_param_type b)
{
    return (a == SOOM_PARAM_INT && b == SOOM_PARAM_UUID) ||
           (a == SOOM_PARAM_UUID && b == SOOM_PARAM_INT);
}

static struct node *add_child(struct node *parent, const struct seg *s, const char *pattern,
                              const char *owner)
{
    struct node *c = xcalloc(1, sizeof *c);
    c->segment = xstrndup(s->p, s->len);
    c->seglen = s->len;
    c->is_param = s->is_param;
    c->type = s->type;
    if (s->is_param) {
        c->param_pattern = xstrdup(pattern);
        c->param_owner = xstrdup(owner);
    }
    parent->children =
        xrealloc(parent->children, (parent->nchildren + 1) * sizeof(parent->children[0]));
    /* Keep statics before parameters: matching tries them in order. */
    size_t at = parent->nchildren;
    if (!s->is_param) {
        at = 0;
        while (at < parent->nchildren && !parent->children[at]->is_param)
            at++;
        memmove(parent->children + at + 1, parent->children + at,
                (parent->nchildren - at) * sizeof(parent->children[0]));
    }
    parent->children[at] = c;
    parent->nchildren++;
    return c;
}

static int descend(struct node *parent, const struct seg *s, const char *pattern, const char *owner,
                   struct node **out, char *err, size_t errlen)
{
    for (size_t i = 0; i < parent->nchildren; i++) {
        struct node *c = parent->children[i];
        if (c->is_param != s->is_param)
            continue;
        bool same_name = c->seglen == s->len && memcmp(c->segment, s->p, s->len) == 0;
        if (!s->is_param) {
            if (same_name) {
                *out = c;
                return SOOM_OK;
            }
            continue;
        }
        if (same_name && c->type == s->type) {
            *out = c;
            return SOOM_OK;
        }
        if (!types_disjoint(c->type, s->type)) {
            snprintf(err, errlen,
                     "route \"%s\" (%s) conflicts with route \"%s\" (%s): parameters {%.*s:%s} "
                     "and {%s:%s} would match the same segment",
                     pattern, owner, c->param_pattern, c->param_owner, (int)s->len, s->p,
                     TYPE_NAMES[s->type], c->segment, TYPE_NAMES[c->type]);
            return SOOM_ECONFLICTROUTE;
        }
    }
    *out = add_child(parent, s, pattern, owner);
    return SOOM_OK;
}

int soom_router_add(struct soom_router *r, const char *pattern, unsigned methods, int route_id,
                    const char *owner, char *err, size_t errlen)
{
    struct seg segs[64];
    size_t nsegs;
    int rc = parse_pattern(pattern, segs, 64, &nsegs, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    struct node *n = &r->root;
    for (size_t i = 0; i < nsegs; i++) {
        rc = descend(n, &segs[i], pattern, owner, &n, err, errlen);
        if (rc != SOOM_OK)
            return rc;
    }
    if (n->has_route) {
        snprintf(err, errlen, "route \"%s\" (%s) duplicates route \"%s\" (%s)", pattern, owner,
                 n->pattern, n->owner);
        return SOOM_ECONFLICTROUTE;
    }
    n->has_route = true;
    n->route_id = route_id;
    n->methods = methods;
    n->pattern = xstrdup(pattern);
    n->owner = xstrdup(owner);
    r->count++;
    return SOOM_OK;
}

/* ---- matching ----------------------------------------------------------- */

static bool type_matches(enum soom_param_type t, const char *p, size_t n)
{
    switch (t) {
    case SOOM_PARAM_ANY: return n > 0;
    case SOOM_PARAM_INT: {
        if (n == 0 || n > 16)
            return false;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] < '0' || p[i] > '9')
                return false;
            v = v * 10 + (uint64_t)(p[i] - '0');
        }
        return v <= 9007199254740991ULL; /* 2^53 - 1: exact as a Lua number */
    }
    case SOOM_PARAM_UUID: return hex_is_uuid(p, n);
    case SOOM_PARAM_SLUG:
        if (n == 0)
            return false;
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return false;
        }
        return true;
    }
    return false;
}

static const struct node *match_node(const struct node *n, const char *p, const char *end,
                                     struct soom_route_match *m)
{
    if (p == end)
        return n->has_route ? n : NULL;
    /* p points just past a '/'. */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *segend = slash ? slash : end;
    size_t len = (size_t)(segend - p);
    const char *next = slash ? slash + 1 : end;
    if (slash != NULL && next == end) {
        /* a trailing slash: an empty last segment, which no route has */
        return NULL;
    }
    for (size_t i = 0; i < n->nchildren; i++) {
        const struct node *c = n->children[i];
        if (!c->is_param) {
            if (c->seglen != len || memcmp(c->segment, p, len) != 0)
                continue;
            const struct node *hit = match_node(c, next, end, m);
            if (hit != NULL)
                return hit;
            continue;
        }
        if (!type_matches(c->type, p, len) || m->nparams == SOOM_ROUTER_MAX_PARAMS)
            continue;
        struct soom_route_param *param = &m->params[m->nparams++];
        param->name = c->segment;
        param->value = p;
        param->len = len;
        param->type = c->type;
        const struct node *hit = match_node(c, next, end, m);
        if (hit != NULL)
            return hit;
        m->nparams--;
    }
    return NULL;
}

int soom_router_match(const struct soom_router *r, const char *path, size_t len, unsigned method,
                      struct soom_route_match *m)
{
    m->nparams = 0;
    if (len == 0 || path[0] != '/')
        return SOOM_ENOTFOUND;
    const struct node *n = match_node(&r->root, path + 1, path + len, m);
    if (n == NULL)
        return SOOM_ENOTFOUND;
    m->route_id = n->route_id;
    m->pattern = n->pattern;
    m->allowed = n->methods;
    if (m->allowed & SOOM_GET)
        m->allowed |= SOOM_HEAD;
    return (m->allowed & method) ? SOOM_OK : SOOM_EMETHOD;
}

/* ---- methods ------------------------------------------------------------ */

static const char *METHOD_NAMES[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
#define NMETHODS (sizeof METHOD_NAMES / sizeof METHOD_NAMES[0])

unsigned soom_router_method_parse(const char *name, size_t len)
{
    for (size_t i = 0; i < NMETHODS; i++) {
        if (strlen(METHOD_NAMES[i]) == len && memcmp(METHOD_NAMES[i], name, len) == 0)
            return 1u << i;
    }
    return 0;
}

const char *soom_router_method_name(unsigned method)
{
    for (size_t i = 0; i < NMETHODS; i++) {
        if (method == 1u << i)
            return METHOD_NAMES[i];
    }
    return NULL;
}

size_t soom_router_methods_format(unsigned mask, char *buf, size_t buflen)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NMETHODS; i++) {
        if (!(mask & (1u << i)))
            continue;
        int w = snprintf(buf + n, buflen - n, "%s%s", n ? ", " : "", METHOD_NAMES[i]);
        if (w < 0 || (size_t)w >= buflen - n)
            break;
        n += (size_t)w;
    }
    return n;
}
