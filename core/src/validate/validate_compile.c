/*
 * Schema compilation: JSON text -> an immutable graph of vnodes.
 *
 * Two passes over the parsed schema. The scan walks every subschema position
 * once, computing each schema's base URI from the "$id"s above it and
 * registering resources, "$anchor"s and "$dynamicAnchor"s, so a reference can
 * point forwards, backwards or into a sibling resource. The compile pass then
 * builds nodes from the root, memoised per schema object: a "$ref" compiles
 * its target (or finds it already compiled) and keeps a direct pointer, so
 * recursive schemas become cycles in the graph and nothing is looked up at
 * run time. A final check refuses reference cycles that consume no input
 * ({"$ref": "#"}), which would otherwise recurse until the depth bound.
 *
 * The compile-time tables live in a scratch arena freed at the end; nodes,
 * strings and regexes live in the validator's arena, freed with it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "soom/error.h"
#include "validate_compile.h"

#define DEFAULT_BASE "https://soom.invalid/schema.json"
#define META_URI "https://json-schema.org/draft/2020-12/schema"
/* Each nested evaluation takes a few hundred bytes of stack: 4096 of them
 * stay well inside a thread's default 8 MiB. */
#define MAX_DEPTH_CAP 4096

/* What the scan learnt about one schema object. */
struct cinfo {
    const cJSON *json;
    const char *base;  /* absolute base URI, no fragment */
    const char *where; /* JSON Pointer in its document */
    struct vres *res;
    struct vnode *node;
};

/* A URI that names a schema: a resource (no fragment) or an anchor. */
struct centry {
    const char *uri;
    const cJSON *json;
};

struct cdanchor {
    struct vres *res;
    const char *name;
    const cJSON *json;
};

struct vcompiler {
    struct soom_validator *v;
    struct soom_arena *tmp;
    char *err;
    size_t errlen;
    int rc;
    struct cinfo **map; /* open addressing on the cJSON pointer */
    size_t map_cap, map_count;
    struct centry *entries;
    size_t nentries, entries_cap;
    struct cdanchor *danchors;
    size_t ndanchors, danchors_cap;
    struct vnode **nodes; /* every node, for the cycle check */
    size_t nnodes, nodes_cap;
    bool meta_loaded;
};

struct soom_arena *vc_arena(struct vcompiler *c)
{
    return c->v->arena;
}

const struct soom_validate_options *vc_options(struct vcompiler *c)
{
    return &c->v->opts;
}

int vc_fail(struct vcompiler *c, const char *where, const char *fmt, ...)
{
    if (c->rc == SOOM_OK && c->err != NULL && c->errlen > 0) {
        int k = snprintf(c->err, c->errlen, "%s: ", *where ? where : "(root)");
        if (k >= 0 && (size_t)k < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    if (c->rc == SOOM_OK)
        c->rc = SOOM_EINVAL;
    return SOOM_EINVAL;
}

static void *grow(void *p, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(p, *cap * size);
}

static size_t map_slot(const struct vcompiler *c, const cJSON *json)
{
    uintptr_t h = (uintptr_t)json;
    h = (h >> 4) * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (c->map_cap - 1);
}

static struct cinfo *info_get(const struct vcompiler *c, const cJSON *json)
{
    for (size_t i = map_slot(c, json);; i = (i + 1) & (c->map_cap - 1)) {
        if (c->map[i] == NULL)
            return NULL;
        if (c->map[i]->json == json)
            return c->map[i];
    }
}

static struct cinfo *info_add(struct vcompiler *c, const cJSON *json, const char *base,
                              const char *where, struct vres *res)
{
    if ((c->map_count + 1) * 2 > c->map_cap) {
        struct cinfo **old = c->map;
        size_t old_cap = c->map_cap;
        c->map_cap = old_cap ? old_cap * 2 : 64;
        c->map = xcalloc(c->map_cap, sizeof *c->map);
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i] == NULL)
                continue;
            size_t j = map_slot(c, old[i]->json);
            while (c->map[j] != NULL)
                j = (j + 1) & (c->map_cap - 1);
            c->map[j] = old[i];
        }
        free(old);
    }
    struct cinfo *info = soom_arena_calloc(c->tmp, sizeof *info);
    info->json = json;
    info->base = base;
    info->where = where;
    info->res = res;
    size_t j = map_slot(c, json);
    while (c->map[j] != NULL)
        j = (j + 1) & (c->map_cap - 1);
    c->map[j] = info;
    c->map_count++;
    return info;
}

static const cJSON *entry_find(const struct vcompiler *c, const char *uri)
{
    for (size_t i = 0; i < c->nentries; i++)
        if (strcmp(c->entries[i].uri, uri) == 0)
            return c->entries[i].json;
    return NULL;
}

static int entry_add(struct vcompiler *c, const char *uri, const cJSON *json, const char *where)
{
    const cJSON *old = entry_find(c, uri);
    if (old != NULL && old != json)
        return vc_fail(c, where, "\"%s\" identifies two different schemas", uri);
    c->entries = grow(c->entries, &c->entries_cap, c->nentries, sizeof *c->entries);
    c->entries[c->nentries++] = (struct centry){uri, json};
    return SOOM_OK;
}

static bool valid_anchor(const char *s)
{
    /* 2020-12: an XML NCName-like plain name */
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static int scan(struct vcompiler *c, const cJSON *json, const char *base, const char *where,
                struct vres *res);

static int scan_identity(struct vcompiler *c, const cJSON *json, const char **base,
                         const char *where, struct vres **res)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(json, "$id");
    if (id != NULL) {
        const char *w = vpointer_append(c->tmp, where, "$id");
        if (!cJSON_IsString(id))
            return vc_fail(c, w, "must be a string");
        const char *frag;
        char *abs = vuri_resolve(c->v->arena, *base, id->valuestring);
        abs = vuri_strip_fragment(c->v->arena, abs, &frag);
        if (*frag != '\0')
            return vc_fail(c, w, "must not contain a fragment");
        *base = abs;
        *res = soom_arena_calloc(c->v->arena, sizeof **res);
        (*res)->uri = abs;
        if (entry_add(c, abs, json, w) != SOOM_OK)
            return c->rc;
    }
    static const char *const ANCHORS[] = {"$anchor", "$dynamicAnchor"};
    for (int k = 0; k < 2; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(json, ANCHORS[k]);
        if (a == NULL)
            continue;
        const char *w = vpointer_append(c->tmp, where, ANCHORS[k]);
        if (!cJSON_IsString(a) || !valid_anchor(a->valuestring))
            return vc_fail(c, w, "must be a plain name (letters, digits, '-', '_', '.')");
        if (entry_add(c, soom_arena_printf(c->tmp, "%s#%s", *base, a->valuestring), json, w) !=
            SOOM_OK)
            return c->rc;
        if (k == 1) {
            c->danchors = grow(c->danchors, &c->danchors_cap, c->ndanchors, sizeof *c->danchors);
            c->danchors[c->ndanchors++] = (struct cdanchor){*res, a->valuestring, json};
        }
    }
    return SOOM_OK;
}

static int scan_children(struct vcompiler *c, const cJSON *json, const char *base,
                         const char *where, struct vres *res)
{
    for (const cJSON *m = json->child; m != NULL; m = m->next) {
        int shape;
        if (!vk_is_subschema_keyword(m->string, &shape))
            continue;
        const char *w = vpointer_append(c->tmp, where, m->string);
        if (shape == SHAPE_ONE) {
            scan(c, m, base, w, res);
            continue;
        }
        if ((shape == SHAPE_ARRAY && !cJSON_IsArray(m)) ||
            (shape == SHAPE_MAP && !cJSON_IsObject(m)))
            continue; /* the keyword compiler reports it */
        size_t i = 0;
        for (const cJSON *e = m->child; e != NULL; e = e->next, i++) {
            const char *we = shape == SHAPE_ARRAY ? vpointer_append_index(c->tmp, w, i)
                                                  : vpointer_append(c->tmp, w, e->string);
            scan(c, e, base, we, res);
        }
    }
    return c->rc;
}

static int scan(struct vcompiler *c, const cJSON *json, const char *base, const char *where,
                struct vres *res)
{
    if (c->rc != SOOM_OK)
        return c->rc;
    if (cJSON_IsBool(json)) {
        info_add(c, json, base, where, res);
        return SOOM_OK;
    }
    if (!cJSON_IsObject(json))
        return SOOM_OK; /* reported when compiled */
    if (scan_identity(c, json, &base, where, &res) != SOOM_OK)
        return c->rc;
    info_add(c, json, base, where, res);
    return scan_children(c, json, base, where, res);
}

/* Scans a whole document whose root gets `uri` when it has no "$id". */
static int scan_document(struct vcompiler *c, const cJSON *root, const char *uri, const char *where)
{
    struct vres *res = soom_arena_calloc(c->v->arena, sizeof *res);
    res->uri = soom_arena_strndup(c->v->arena, uri, strlen(uri));
    if (!cJSON_IsObject(root) || cJSON_GetObjectItemCaseSensitive(root, "$id") == NULL)
        if (entry_add(c, res->uri, root, where) != SOOM_OK)
            return c->rc;
    return scan(c, root, res->uri, where, res);
}

static int load_meta(struct vcompiler *c)
{
    if (c->meta_loaded)
        return SOOM_OK;
    c->meta_loaded = true;
    c->v->meta = cJSON_Parse(vmeta_schema_text);
    if (c->v->meta == NULL)
        return vc_fail(c, "", "internal error: the built-in meta-schema does not parse");
    return scan_document(c, c->v->meta, META_URI, "(meta-schema)");
}

static struct vnode *compile_node(struct vcompiler *c, struct cinfo *info);

/* Finds the schema a reference names, scanning it if it lies outside the
 * scanned positions (a pointer into an unknown keyword). */
static struct cinfo *resolve(struct vcompiler *c, const char *base, const char *ref,
                             const char *where, const char **fragment_out)
{
    const char *frag;
    char *abs = vuri_resolve(c->tmp, base, ref);
    char *doc = vuri_strip_fragment(c->tmp, abs, &frag);
    *fragment_out = frag;
    const cJSON *target = *frag == '\0' || *frag == '/'
                              ? entry_find(c, doc)
                              : entry_find(c, soom_arena_printf(c->tmp, "%s#%s", doc, frag));
    if (target == NULL && vmeta_is_uri(doc) && load_meta(c) == SOOM_OK)
        target = entry_find(
            c, *frag == '\0' || *frag == '/' ? doc : soom_arena_printf(c->tmp, "%s#%s", doc, frag));
    if (target == NULL) {
        if (*frag != '\0' && *frag != '/' && entry_find(c, doc) != NULL)
            vc_fail(c, where, "no anchor \"%s\" in \"%s\"", frag, doc);
        else
            vc_fail(c, where,
                    "cannot resolve remote reference \"%s\" (only references within "
                    "the schema and to the 2020-12 meta-schema are supported)",
                    abs);
        return NULL;
    }
    if (*frag == '/') {
        const cJSON *root = target;
        target = vjson_pointer(root, frag);
        if (target == NULL) {
            vc_fail(c, where, "\"%s\" points to nothing", abs);
            return NULL;
        }
        struct cinfo *info = info_get(c, target);
        if (info != NULL)
            return info;
        struct cinfo *ri = info_get(c, root);
        const char *w = soom_arena_printf(c->tmp, "%s%s", ri->where, frag);
        if (scan(c, target, ri->base, w, ri->res) != SOOM_OK)
            return NULL;
        info = info_get(c, target);
        if (info == NULL)
            vc_fail(c, where, "\"%s\" is not a schema (an object or a boolean)", abs);
        return info;
    }
    return info_get(c, target);
}

int vc_ref(struct vcompiler *c, struct vnode *n, const cJSON *owner, const cJSON *json,
           const char *where, bool dynamic)
{
    if (!cJSON_IsString(json))
        return vc_fail(c, where, "must be a string");
    struct cinfo *self = info_get(c, owner);
    const char *frag;
    struct cinfo *target = resolve(c, self->base, json->valuestring, where, &frag);
    if (target == NULL)
        return c->rc;
    if (target->node == NULL && !cJSON_IsBool(target->json) && !cJSON_IsObject(target->json))
        return vc_fail(c, where, "\"%s\" is not a schema", json->valuestring);
    struct vnode *t = compile_node(c, target);
    if (t == NULL)
        return c->rc;
    if (!dynamic) {
        n->ref = t;
        return SOOM_OK;
    }
    /* A $dynamicRef is dynamic only when its fragment is a plain name and
     * the schema it first lands on declares the same $dynamicAnchor (the
     * "bookend"); otherwise it is an ordinary $ref. */
    const cJSON *da = cJSON_IsObject(target->json)
                          ? cJSON_GetObjectItemCaseSensitive(target->json, "$dynamicAnchor")
                          : NULL;
    if (*frag == '\0' || *frag == '/' || da == NULL || strcmp(da->valuestring, frag) != 0) {
        n->dynref_static = t;
        return SOOM_OK;
    }
    struct vdynref *d = soom_arena_calloc(c->v->arena, sizeof *d);
    d->anchor = soom_arena_strndup(c->v->arena, frag, strlen(frag));
    d->initial = t;
    n->dynref = d;
    c->v->dynamic = true;
    return SOOM_OK;
}

struct vnode *vc_subschema(struct vcompiler *c, const cJSON *json, const char *where)
{
    if (c->rc != SOOM_OK)
        return NULL;
    if (!cJSON_IsObject(json) && !cJSON_IsBool(json)) {
        vc_fail(c, where, "must be a schema (an object or a boolean)");
        return NULL;
    }
    struct cinfo *info = info_get(c, json);
    if (info == NULL) {
        vc_fail(c, where, "internal error: schema position was not scanned");
        return NULL;
    }
    return compile_node(c, info);
}

static struct vnode *compile_node(struct vcompiler *c, struct cinfo *info)
{
    if (info->node != NULL || c->rc != SOOM_OK)
        return info->node;
    struct vnode *n = soom_arena_calloc(c->v->arena, sizeof *n);
    info->node = n;
    n->resource = info->res;
    n->where = soom_arena_strndup(c->v->arena, info->where, strlen(info->where));
    n->minimum = n->maximum = n->xminimum = n->xmaximum = n->multiple_of = NAN;
    n->min_length = n->min_items = n->min_props = 0;
    n->max_length = n->max_items = n->max_props = n->max_contains = VNONE;
    n->min_contains = 1;
    n->id = (uint32_t)c->nnodes;
    c->nodes = grow(c->nodes, &c->nodes_cap, c->nnodes, sizeof *c->nodes);
    c->nodes[c->nnodes++] = n;
    if (cJSON_IsBool(info->json)) {
        if (cJSON_IsFalse(info->json))
            n->has = H_FALSE;
        return n;
    }
    if (vk_compile(c, n, info->json, info->where) != SOOM_OK)
        return NULL;
    return n;
}

/* Edges that evaluate the same instance: a cycle of them never ends. */
static size_t inplace_edges(const struct vnode *n, const struct vnode **out)
{
    size_t k = 0;
    const struct vnode *singles[] = {
        n->ref,   n->dynref_static, n->dynref ? n->dynref->initial : NULL, n->not_, n->if_,
        n->then_, n->else_};
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++)
        if (singles[i] != NULL)
            out[k++] = singles[i];
    return k;
}

static int check_cycles_from(struct vcompiler *c, struct vnode *n, uint8_t *color)
{
    color[n->id] = 1;
    const struct vnode *edges[8];
    size_t k = inplace_edges(n, edges);
    struct vnode **lists[] = {n->all_of, n->any_of, n->one_of};
    size_t lens[] = {n->nall_of, n->nany_of, n->none_of};
    for (size_t i = 0; i < k + lens[0] + lens[1] + lens[2]; i++) {
        const struct vnode *t;
        if (i < k) {
            t = edges[i];
        } else {
            size_t j = i - k, l = 0;
            while (j >= lens[l])
                j -= lens[l++];
            t = lists[l][j];
        }
        if (color[t->id] == 1)
            return vc_fail(c, n->where,
                           "the schema refers to itself without consuming any "
                           "input (an infinite $ref loop)");
        if (color[t->id] == 0 && check_cycles_from(c, (struct vnode *)t, color) != SOOM_OK)
            return c->rc;
    }
    for (size_t i = 0; i < n->ndeps; i++) {
        struct vnode *t = n->deps[i].schema;
        if (t == NULL)
            continue;
        if (color[t->id] == 1)
            return vc_fail(c, n->where,
                           "the schema refers to itself without consuming any "
                           "input (an infinite $ref loop)");
        if (color[t->id] == 0 && check_cycles_from(c, t, color) != SOOM_OK)
            return c->rc;
    }
    color[n->id] = 2;
    return SOOM_OK;
}

static int check_cycles(struct vcompiler *c)
{
    uint8_t *color = soom_arena_calloc(c->tmp, c->nnodes);
    for (size_t i = 0; i < c->nnodes && c->rc == SOOM_OK; i++)
        if (color[i] == 0)
            check_cycles_from(c, c->nodes[i], color);
    return c->rc;
}

/* Gives every resource its $dynamicAnchors, compiling their schemas. */
static int link_dynamic_anchors(struct vcompiler *c)
{
    for (size_t i = 0; i < c->ndanchors && c->rc == SOOM_OK; i++)
        compile_node(c, info_get(c, c->danchors[i].json));
    for (size_t i = 0; i < c->ndanchors && c->rc == SOOM_OK; i++) {
        struct vres *r = c->danchors[i].res;
        if (r->danchors != NULL)
            continue;
        size_t k = 0;
        for (size_t j = i; j < c->ndanchors; j++)
            k += c->danchors[j].res == r;
        r->danchors = soom_arena_alloc(c->v->arena, k * sizeof *r->danchors);
        for (size_t j = i; j < c->ndanchors; j++)
            if (c->danchors[j].res == r)
                r->danchors[r->ndanchors++] =
                    (struct vdanchor){c->danchors[j].name, info_get(c, c->danchors[j].json)->node};
    }
    return c->rc;
}

static int check_dialect(struct vcompiler *c, const cJSON *root)
{
    const cJSON *s =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "$schema") : NULL;
    if (s == NULL)
        return SOOM_OK;
    if (!cJSON_IsString(s))
        return vc_fail(c, "/$schema", "must be a string");
    if (strcmp(s->valuestring, META_URI) != 0 && strcmp(s->valuestring, META_URI "#") != 0)
        return vc_fail(c, "/$schema",
                       "unsupported dialect \"%s\" (only " META_URI
                       " is built in; meta-schemas are not fetched)",
                       s->valuestring);
    return SOOM_OK;
}

static int compile_all(struct vcompiler *c)
{
    struct soom_validator *v = c->v;
    if (check_dialect(c, v->doc) != SOOM_OK)
        return c->rc;
    if (!cJSON_IsObject(v->doc) && !cJSON_IsBool(v->doc))
        return vc_fail(c, "", "must be a schema (an object or a boolean)");
    if (scan_document(c, v->doc, DEFAULT_BASE, "") != SOOM_OK)
        return c->rc;
    v->root = compile_node(c, info_get(c, v->doc));
    if (c->rc == SOOM_OK)
        link_dynamic_anchors(c);
    if (c->rc == SOOM_OK)
        check_cycles(c);
    return c->rc;
}

void soom_validate_options_init(struct soom_validate_options *o)
{
    memset(o, 0, sizeof *o);
    o->format_assertion = false;
    o->max_errors = 100;
    o->regex_match_limit = 100000;
    o->max_depth = 1024;
}

/* cJSON stops after the first value: trailing text must be white space.
 * (soom_json_parse is not used: a schema may hold "\u0000" in an enum.) */
static bool parse_schema(struct soom_validator *v, const char *p, size_t len)
{
    const char *end = NULL;
    v->doc = cJSON_ParseWithLengthOpts(p, len, &end, false);
    if (v->doc == NULL)
        return false;
    for (size_t at = (size_t)(end - p); at < len; at++)
        if (p[at] != ' ' && p[at] != '\t' && p[at] != '\n' && p[at] != '\r')
            return false;
    return true;
}

int soom_validate_compile(const char *p, size_t len, const struct soom_validate_options *opts,
                          struct soom_validator **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    struct soom_validator *v = xcalloc(1, sizeof *v);
    if (opts != NULL)
        v->opts = *opts;
    else
        soom_validate_options_init(&v->opts);
    if (v->opts.max_errors == 0)
        v->opts.max_errors = 1;
    if (v->opts.max_depth == 0)
        v->opts.max_depth = 1024;
    if (v->opts.max_depth > MAX_DEPTH_CAP)
        v->opts.max_depth = MAX_DEPTH_CAP;
    if (v->opts.regex_match_limit == 0)
        v->opts.regex_match_limit = 100000;
    v->arena = soom_arena_new(16384);
    struct vcompiler c = {.v = v, .tmp = soom_arena_new(16384), .err = err, .errlen = errlen};
    int rc;
    if (!parse_schema(v, p, len)) {
        rc = vc_fail(&c, "", "the schema is not valid JSON");
    } else {
        rc = compile_all(&c);
        v->text = xstrndup(p, len);
    }
    free(c.map);
    free(c.entries);
    free(c.danchors);
    free(c.nodes);
    soom_arena_free(c.tmp);
    if (rc != SOOM_OK) {
        soom_validate_free(v);
        return rc;
    }
    *out = v;
    return SOOM_OK;
}

void soom_validate_free(struct soom_validator *v)
{
    if (v == NULL)
        return;
    soom_arena_free(v->arena);
    cJSON_Delete(v->doc);
    cJSON_Delete(v->meta);
    free(v->text);
    free(v);
}

const char *soom_validate_schema(const struct soom_validator *v)
{
    return v->text != NULL ? v->text : "";
}
