/*
 * Running a compiled schema over a cJSON tree (see validate_run.h for the
 * two-pass design).
 *
 * The walk recurses once per schema evaluation; x->depth counts those frames
 * and stops at max_depth, so neither a deep tree built by hand nor a
 * recursive schema can exhaust the stack. unevaluatedProperties and
 * unevaluatedItems are served by a bitmap of the members or items already
 * evaluated ("struct vtrack"): a node that owns one hands it to its in-place
 * applicators, which mark what they evaluated; branches that may fail
 * (anyOf, oneOf, if) mark a copy that is merged only when the branch holds.
 * Nodes without unevaluated* never pay for it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "soom/error.h"
#include "validate_run.h"

/* The keyword groups stay out of line so that evaluating a leaf schema,
 * the most common node, runs in a small stack frame. */
#define NOINLINE __attribute__((noinline))

/* Arguments are evaluated only when errors are being collected. */
#define REPORT(x, ...) ((x)->collect ? vreport((x), __VA_ARGS__) : false)
/* After a failure: give up now (quiet pass, or enough errors)? */
#define STOP(x) (!(x)->collect || (x)->full)
#define PUSH_KEY(x, k)                                                                             \
    do {                                                                                           \
        if ((x)->collect)                                                                          \
            path_push((x), (k), 0);                                                                \
    } while (0)
#define PUSH_INDEX(x, i)                                                                           \
    do {                                                                                           \
        if ((x)->collect)                                                                          \
            path_push((x), NULL, (i));                                                             \
    } while (0)
#define POP(x)                                                                                     \
    do {                                                                                           \
        if ((x)->collect)                                                                          \
            (x)->npath--;                                                                          \
    } while (0)

static bool run(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk,
                const char *code);

/* Both stacks start small and double: their bound is max_depth, but most
 * documents are shallow. */
static void *stack_grow(struct vctx *x, void *old, unsigned *cap, size_t size)
{
    unsigned ncap = *cap ? *cap * 2 : 16;
    void *p = soom_arena_alloc(x->arena, ncap * size);
    if (*cap > 0)
        memcpy(p, old, *cap * size);
    *cap = ncap;
    return p;
}

static void path_push(struct vctx *x, const char *key, size_t index)
{
    if (x->npath == x->path_cap)
        x->path = stack_grow(x, x->path, &x->path_cap, sizeof *x->path);
    x->path[x->npath++] = (struct vseg){key, index};
}

/* --- evaluated-member bitmaps ----------------------------------------- */

static void track_init(struct vctx *x, struct vtrack *t, size_t n, uint64_t buf[4])
{
    size_t words = (n + 63) / 64;
    t->n = n;
    t->bits = words <= 4 ? buf : soom_arena_alloc(x->arena, words * sizeof *t->bits);
    memset(t->bits, 0, (words ? words : 1) * sizeof *t->bits);
}

static inline void track_mark(struct vtrack *t, size_t i)
{
    t->bits[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline bool track_has(const struct vtrack *t, size_t i)
{
    return (t->bits[i >> 6] >> (i & 63)) & 1;
}

static void track_merge(struct vtrack *dst, const struct vtrack *src)
{
    for (size_t i = 0; i < (src->n + 63) / 64; i++)
        dst->bits[i] |= src->bits[i];
}

static void track_fill(struct vtrack *t)
{
    for (size_t i = 0; i < t->n; i++)
        track_mark(t, i);
}

static size_t count_children(const cJSON *inst)
{
    size_t n = 0;
    for (const cJSON *c = inst->child; c != NULL; c = c->next)
        n++;
    return n;
}

/* --- types, enum, const ------------------------------------------------- */

static inline bool type_ok(unsigned mask, const cJSON *inst)
{
    switch (inst->type & 0xFF) {
    case cJSON_NULL: return mask & VT_NULL;
    case cJSON_False:
    case cJSON_True: return mask & VT_BOOLEAN;
    case cJSON_String: return mask & VT_STRING;
    case cJSON_Array: return mask & VT_ARRAY;
    case cJSON_Object: return mask & VT_OBJECT;
    case cJSON_Number:
        if (mask & VT_NUMBER)
            return true;
        return (mask & VT_INTEGER) && vjson_is_integer(inst);
    default: return false;
    }
}

static unsigned value_types(const cJSON *v)
{
    switch (v->type & 0xFF) {
    case cJSON_NULL: return VT_NULL;
    case cJSON_False:
    case cJSON_True: return VT_BOOLEAN;
    case cJSON_String: return VT_STRING;
    case cJSON_Array: return VT_ARRAY;
    case cJSON_Object: return VT_OBJECT;
    case cJSON_Number: return vjson_is_integer(v) ? VT_INTEGER | VT_NUMBER : VT_NUMBER;
    default: return 0;
    }
}

/* The types a schema can accept, as far as cheaply known (for choosing
 * which anyOf/oneOf branch to report on). */
static unsigned accepted_types(const struct vnode *n)
{
    for (int hops = 0; hops < 8 && n != NULL; hops++) {
        if (n->has & H_FALSE)
            return 0;
        if (n->has & H_TYPE)
            return n->types;
        if (n->has & H_CONST)
            return value_types(n->constant);
        if (n->has & H_ENUM) {
            unsigned m = 0;
            for (size_t i = 0; i < n->nenums; i++)
                m |= value_types(n->enums[i]);
            return m;
        }
        n = n->ref;
    }
    return VT_NULL | VT_BOOLEAN | VT_OBJECT | VT_ARRAY | VT_NUMBER | VT_STRING | VT_INTEGER;
}

NOINLINE static bool check_enum_const(struct vctx *x, const struct vnode *n, const cJSON *inst)
{
    bool ok = true;
    if (n->has & H_ENUM) {
        size_t i = 0;
        while (i < n->nenums && !vjson_equal(n->enums[i], inst))
            i++;
        if (i == n->nenums) {
            ok = false;
            if (x->collect)
                vreport(x, NULL, "enum", "must be one of %s", vvalues_text(x, n->enums, n->nenums));
            if (STOP(x))
                return false;
        }
    }
    if ((n->has & H_CONST) && !vjson_equal(n->constant, inst))
        ok = REPORT(x, NULL, "const", "must be equal to %s", vvalue_text(x, n->constant));
    return ok;
}

/* --- numbers and strings ------------------------------------------------ */

static bool is_multiple(double d, double m)
{
    double q = d / m;
    if (!isfinite(q))
        return false;
    double r = nearbyint(q);
    /* Decimal steps such as 0.01 are not exact in binary: 0.0075 / 0.0001
     * gives 75.00000000000001. Accept a quotient within a few ulps of an
     * integer; a genuine fraction is many orders of magnitude larger. */
    return fabs(q - r) <= fabs(q) * 1e-12;
}

NOINLINE static bool check_number(struct vctx *x, const struct vnode *n, const cJSON *inst)
{
    double d = inst->valuedouble;
    bool ok = true;
    if (!isnan(n->minimum) && d < n->minimum) {
        ok = REPORT(x, NULL, "minimum", "must be at least %s", vnum_text(x, n->minimum));
        if (STOP(x))
            return false;
    }
    if (!isnan(n->maximum) && d > n->maximum) {
        ok = REPORT(x, NULL, "maximum", "must be at most %s", vnum_text(x, n->maximum));
        if (STOP(x))
            return false;
    }
    if (!isnan(n->xminimum) && d <= n->xminimum) {
        ok = REPORT(x, NULL, "exclusiveMinimum", "must be greater than %s",
                    vnum_text(x, n->xminimum));
        if (STOP(x))
            return false;
    }
    if (!isnan(n->xmaximum) && d >= n->xmaximum) {
        ok = REPORT(x, NULL, "exclusiveMaximum", "must be less than %s", vnum_text(x, n->xmaximum));
        if (STOP(x))
            return false;
    }
    if (!isnan(n->multiple_of) && !is_multiple(d, n->multiple_of))
        ok =
            REPORT(x, NULL, "multipleOf", "must be a multiple of %s", vnum_text(x, n->multiple_of));
    return ok;
}

/* Code points in (s, n). A malformed sequence counts one per byte, the way
 * a decoder substituting U+FFFD would, so the count is defined for any
 * bytes and never reads past n. */
static size_t code_points(const unsigned char *s, size_t n)
{
    size_t count = 0, i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
        if (k == 0 || i + k > n) {
            k = 1;
        } else {
            for (size_t j = 1; j < k; j++)
                if ((s[i + j] & 0xC0) != 0x80)
                    k = 1;
        }
        i += k;
        count++;
    }
    return count;
}

static bool check_length(struct vctx *x, const struct vnode *n, const char *s, size_t bytes)
{
    /* Each code point takes 1 to 4 bytes: most strings are decided by their
     * byte length alone, without decoding. */
    size_t chars = 0;
    bool counted = false;
    if (n->min_length > 0 && bytes >= n->min_length && bytes / 4 < n->min_length) {
        chars = code_points((const unsigned char *)s, bytes);
        counted = true;
    }
    if (n->min_length > 0 && (bytes < n->min_length || (counted && chars < n->min_length)))
        return REPORT(x, NULL, "minLength", "must be at least %zu character%s", n->min_length,
                      n->min_length == 1 ? "" : "s");
    if (n->max_length != VNONE && bytes > n->max_length) {
        if (!counted)
            chars = code_points((const unsigned char *)s, bytes);
        if (chars > n->max_length)
            return REPORT(x, NULL, "maxLength", "must be at most %zu character%s", n->max_length,
                          n->max_length == 1 ? "" : "s");
    }
    return true;
}

NOINLINE static bool check_string(struct vctx *x, const struct vnode *n, const cJSON *inst)
{
    const char *s = inst->valuestring;
    size_t bytes = strlen(s);
    bool ok = true;
    if ((n->min_length > 0 || n->max_length != VNONE) && !check_length(x, n, s, bytes)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    if (n->pattern != NULL) {
        int rc = vregex_match(n->pattern, s, bytes);
        if (rc == 0)
            ok = REPORT(x, NULL, "pattern", "must match the pattern %s", n->pattern_src);
        else if (rc < 0)
            ok = REPORT(x, NULL, "pattern", "%s",
                        soom_utf8_valid(s, bytes)
                            ? "could not be matched against the pattern within the match limit"
                            : "must be valid UTF-8 text");
        if (!ok && STOP(x))
            return false;
    }
    if (n->format != VF_NONE && !vformat_check((enum vformat)n->format, s, bytes))
        ok = REPORT(x, NULL, "format", "must be a valid %s", vformat_name(n->format));
    return ok;
}

/* A leaf schema (type and scalar bounds only, the bulk of a typical
 * schema) evaluated without the frame, depth and scope bookkeeping of
 * run(): a leaf cannot recurse and has no reference to resolve. */
static inline bool is_leaf(const struct vnode *n)
{
    return n->has != 0 && !(n->has & ~(uint32_t)(H_TYPE | H_NUM | H_STR));
}

static inline bool run_leaf(struct vctx *x, const struct vnode *n, const cJSON *inst)
{
    if ((n->has & H_TYPE) && !type_ok(n->types, inst))
        return REPORT(x, NULL, "type", "must be %s", vtypes_text(x, n->types));
    int t = inst->type & 0xFF;
    if (t == cJSON_String)
        return !(n->has & H_STR) || check_string(x, n, inst);
    if (t == cJSON_Number)
        return !(n->has & H_NUM) || check_number(x, n, inst);
    return true;
}

/* --- arrays ------------------------------------------------------------- */

struct hashed {
    uint64_t h;
    const cJSON *item;
    size_t index;
};

static int cmp_hashed(const void *a, const void *b)
{
    const struct hashed *p = a, *q = b;
    if (p->h != q->h)
        return p->h < q->h ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

/* Sets *i < *j to two equal items and returns true, if there are any. */
static bool find_duplicate(struct vctx *x, const cJSON *inst, size_t count, size_t *i, size_t *j)
{
    if (count <= 16) {
        size_t a = 0;
        for (const cJSON *p = inst->child; p != NULL; p = p->next, a++) {
            size_t b = a + 1;
            for (const cJSON *q = p->next; q != NULL; q = q->next, b++)
                if (vjson_equal(p, q))
                    return *i = a, *j = b, true;
        }
        return false;
    }
    struct hashed *h = soom_arena_alloc(x->arena, count * sizeof *h);
    size_t k = 0;
    for (const cJSON *p = inst->child; p != NULL; p = p->next, k++)
        h[k] = (struct hashed){vjson_hash(p), p, k};
    qsort(h, count, sizeof *h, cmp_hashed);
    for (size_t a = 0; a < count; a++)
        for (size_t b = a + 1; b < count && h[b].h == h[a].h; b++)
            if (vjson_equal(h[a].item, h[b].item))
                return *i = h[a].index, *j = h[b].index, true;
    return false;
}

static bool check_contains(struct vctx *x, const struct vnode *n, const cJSON *inst,
                           struct vtrack *trk)
{
    size_t matches = 0, i = 0;
    bool saved = x->collect;
    x->collect = false;
    for (const cJSON *it = inst->child; it != NULL; it = it->next, i++) {
        if (!run(x, n->contains, it, NULL, "contains"))
            continue;
        matches++;
        if (trk != NULL)
            track_mark(trk, i);
        else if (matches >= n->min_contains &&
                 (n->max_contains == VNONE || matches > n->max_contains))
            break; /* the verdict cannot change any more */
    }
    x->collect = saved;
    if (matches < n->min_contains)
        return n->min_contains == 1
                   ? REPORT(x, NULL, "contains",
                            "must contain an item matching the contains schema")
                   : REPORT(x, NULL, "minContains",
                            "must contain at least %zu items matching the contains schema",
                            n->min_contains);
    if (n->max_contains != VNONE && matches > n->max_contains)
        return REPORT(x, NULL, "maxContains",
                      "must contain at most %zu item%s matching the contains schema",
                      n->max_contains, n->max_contains == 1 ? "" : "s");
    return true;
}

static bool check_items(struct vctx *x, const struct vnode *n, const cJSON *inst,
                        struct vtrack *trk, size_t *count)
{
    bool ok = true;
    size_t i = 0;
    for (const cJSON *it = inst->child; it != NULL; it = it->next, i++) {
        const struct vnode *s = i < n->nprefix ? n->prefix[i] : n->items;
        if (s == NULL)
            continue;
        PUSH_INDEX(x, i);
        bool r = is_leaf(s) ? run_leaf(x, s, it)
                            : run(x, s, it, NULL, i < n->nprefix ? "prefixItems" : "items");
        POP(x);
        if (trk != NULL)
            track_mark(trk, i);
        if (!r) {
            ok = false;
            if (STOP(x))
                return false;
        }
    }
    *count = i;
    return ok;
}

NOINLINE static bool check_array(struct vctx *x, const struct vnode *n, const cJSON *inst,
                                 struct vtrack *trk)
{
    bool ok = true;
    size_t count = 0;
    if (n->nprefix > 0 || n->items != NULL) {
        if (!check_items(x, n, inst, trk, &count)) {
            ok = false;
            if (STOP(x))
                return false;
        }
    } else {
        count = trk != NULL ? trk->n : count_children(inst);
    }
    if (count < n->min_items)
        ok = REPORT(x, NULL, "minItems", "must have at least %zu item%s", n->min_items,
                    n->min_items == 1 ? "" : "s");
    else if (count > n->max_items)
        ok = REPORT(x, NULL, "maxItems", "must have at most %zu item%s", n->max_items,
                    n->max_items == 1 ? "" : "s");
    if (!ok && STOP(x))
        return false;
    size_t a, b;
    if (n->unique_items && count > 1 && find_duplicate(x, inst, count, &a, &b)) {
        ok = REPORT(x, NULL, "uniqueItems",
                    "must not contain duplicates (items %zu and %zu are equal)", a, b);
        if (STOP(x))
            return false;
    }
    if (n->contains != NULL && !check_contains(x, n, inst, trk)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    if (n->uneval_items != NULL) {
        size_t i = 0;
        for (const cJSON *it = inst->child; it != NULL; it = it->next, i++) {
            if (track_has(trk, i))
                continue;
            PUSH_INDEX(x, i);
            bool r = run(x, n->uneval_items, it, NULL, "unevaluatedItems");
            POP(x);
            track_mark(trk, i);
            if (!r) {
                ok = false;
                if (STOP(x))
                    return false;
            }
        }
    }
    return ok;
}

/* --- objects ------------------------------------------------------------ */

/* True when the NUL-terminated key is the name (len bytes, no NUL): a short
 * loop beats a call to strncmp for the usual short member names, and stops
 * at the key's terminator, which never equals a byte of the name. */
static inline bool key_is(const char *key, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (key[i] != name[i])
            return false;
    return key[len] == '\0';
}

/* The slot of a member name, searching from just after the previous hit:
 * members usually come in the order the schema lists them. strncmp and the
 * terminator test compare without measuring the key first. */
static size_t find_slot(const struct vnode *n, const char *key, size_t *cursor)
{
    size_t ns = n->nslots;
    for (size_t k = 0, i = *cursor; k < ns; k++, i++) {
        if (i >= ns)
            i = 0;
        const char *name = n->slot_names[i];
        size_t len = n->slot_lens[i];
        if (name[0] == key[0] && key_is(key, name, len)) {
            *cursor = i + 1;
            return i;
        }
    }
    return VNONE;
}

static bool check_name(struct vctx *x, const struct vnode *n, const char *key)
{
    cJSON name;
    memset(&name, 0, sizeof name);
    name.type = cJSON_String;
    name.valuestring = (char *)key;
    bool saved = x->collect;
    x->collect = false;
    bool r = run(x, n->property_names, &name, NULL, "propertyNames");
    x->collect = saved;
    if (r || !x->collect)
        return r;
    /* Report again, collecting, and word the errors as about the name. */
    size_t before = x->nerrs;
    PUSH_KEY(x, key);
    run(x, n->property_names, &name, NULL, "propertyNames");
    POP(x);
    for (size_t i = before; i < x->nerrs; i++) {
        x->errs[i].detail = soom_arena_printf(x->arena, "property name %s", x->errs[i].detail);
        x->errs[i].code = "propertyNames";
    }
    return false;
}

/* Runs "properties", "patternProperties" and "additionalProperties" on one
 * member; returns whether one of them evaluated it in *evaluated. */
static bool check_member(struct vctx *x, const struct vnode *n, const cJSON *m, uint64_t *seen,
                         size_t *cursor, bool *evaluated)
{
    bool ok = true;
    const char *key = m->string;
    if (n->nslots > 0) {
        size_t slot = find_slot(n, key, cursor);
        if (slot != VNONE) {
            seen[slot >> 6] |= (uint64_t)1 << (slot & 63);
            if (slot < n->nprops) {
                *evaluated = true;
                const struct vnode *s = n->props[slot].schema;
                PUSH_KEY(x, key);
                ok = is_leaf(s) ? run_leaf(x, s, m) : run(x, s, m, NULL, "properties");
                POP(x);
                if (!ok && STOP(x))
                    return false;
            }
        }
    }
    size_t klen = n->npatterns > 0 ? strlen(key) : 0;
    for (size_t i = 0; i < n->npatterns; i++) {
        int rc = vregex_match(n->patterns[i].re, key, klen);
        if (rc < 0) {
            ok = REPORT(x, key, "patternProperties",
                        "could not be matched against a property-name pattern");
        } else if (rc > 0) {
            *evaluated = true;
            PUSH_KEY(x, key);
            bool r = run(x, n->patterns[i].schema, m, NULL, "patternProperties");
            POP(x);
            ok = ok && r;
        }
        if (!ok && STOP(x))
            return false;
    }
    if (!*evaluated && n->additional != NULL) {
        *evaluated = true;
        PUSH_KEY(x, key);
        ok = run(x, n->additional, m, NULL, "additionalProperties") && ok;
        POP(x);
    }
    return ok;
}

static bool check_dependencies(struct vctx *x, const struct vnode *n, const cJSON *inst,
                               const uint64_t *seen, struct vtrack *trk)
{
    bool ok = true;
#define SEEN(s) ((seen[(s) >> 6] >> ((s)&63)) & 1)
    for (size_t i = 0; i < n->nrequired; i++) {
        if (!SEEN(n->required[i])) {
            ok = REPORT(x, n->slot_names[n->required[i]], "required", "is required");
            if (STOP(x))
                return false;
        }
    }
    for (size_t i = 0; i < n->ndeps; i++) {
        const struct vdep *d = &n->deps[i];
        if (!SEEN(d->slot))
            continue;
        for (size_t k = 0; k < d->nneeds; k++) {
            if (!SEEN(d->needs[k])) {
                ok = REPORT(x, n->slot_names[d->needs[k]], "dependentRequired",
                            "is required when \"%s\" is present", n->slot_names[d->slot]);
                if (STOP(x))
                    return false;
            }
        }
        if (d->schema != NULL && !run(x, d->schema, inst, trk, "dependentSchemas")) {
            ok = false;
            if (STOP(x))
                return false;
        }
    }
#undef SEEN
    return ok;
}

NOINLINE static bool check_object(struct vctx *x, const struct vnode *n, const cJSON *inst,
                                  struct vtrack *trk)
{
    bool ok = true;
    uint64_t seen_buf[4] = {0, 0, 0, 0}, *seen = seen_buf;
    if (n->nslots > 256)
        seen = soom_arena_calloc(x->arena, (n->nslots + 63) / 64 * sizeof *seen);
    size_t count = 0, cursor = 0;
    bool walk = n->nslots || n->npatterns || n->additional || n->property_names;
    for (const cJSON *m = walk ? inst->child : NULL; m != NULL; m = m->next, count++) {
        bool evaluated = false;
        if (!check_member(x, n, m, seen, &cursor, &evaluated)) {
            ok = false;
            if (STOP(x))
                return false;
        }
        if (evaluated && trk != NULL)
            track_mark(trk, count);
        if (n->property_names != NULL && !check_name(x, n, m->string)) {
            ok = false;
            if (STOP(x))
                return false;
        }
    }
    if (!walk)
        count = trk != NULL ? trk->n : count_children(inst);
    if (count < n->min_props)
        ok = REPORT(x, NULL, "minProperties", "must have at least %zu propert%s", n->min_props,
                    n->min_props == 1 ? "y" : "ies");
    else if (count > n->max_props)
        ok = REPORT(x, NULL, "maxProperties", "must have at most %zu propert%s", n->max_props,
                    n->max_props == 1 ? "y" : "ies");
    if (!ok && STOP(x))
        return false;
    if ((n->nrequired || n->ndeps) && !check_dependencies(x, n, inst, seen, trk)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    if (n->uneval_props != NULL) {
        size_t i = 0;
        for (const cJSON *m = inst->child; m != NULL; m = m->next, i++) {
            if (track_has(trk, i))
                continue;
            PUSH_KEY(x, m->string);
            bool r = run(x, n->uneval_props, m, NULL, "unevaluatedProperties");
            POP(x);
            track_mark(trk, i);
            if (!r) {
                ok = false;
                if (STOP(x))
                    return false;
            }
        }
    }
    return ok;
}

/* --- in-place applicators ----------------------------------------------- */

/* Reports a failed anyOf/oneOf: the errors of the one branch that accepts
 * the instance's type when there is exactly one (anyOf [null, {string with
 * maxLength}] reports the maxLength), else a single summary. */
static bool report_branches(struct vctx *x, struct vnode *const *list, size_t count,
                            const cJSON *inst, const char *code)
{
    if (!x->collect)
        return false;
    size_t relevant = 0, which = 0;
    unsigned all = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned m = accepted_types(list[i]);
        all |= m;
        if (type_ok(m, inst)) {
            relevant++;
            which = i;
        }
    }
    if (relevant == 0 && all != 0)
        return vreport(x, NULL, "type", "must be %s", vtypes_text(x, all));
    if (relevant == 1) {
        size_t before = x->nerrs;
        if (!run(x, list[which], inst, NULL, code) && x->nerrs > before)
            return false;
    }
    return vreport(x, NULL, code, "must match %s of the schemas in %s",
                   code[0] == 'a' ? "at least one" : "exactly one", code);
}

static bool run_any_of(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk)
{
    bool saved = x->collect, any = false;
    x->collect = false;
    for (size_t i = 0; i < n->nany_of; i++) {
        if (trk == NULL) {
            if (run(x, n->any_of[i], inst, NULL, "anyOf")) {
                any = true;
                break;
            }
            continue;
        }
        /* annotations of every passing branch count, so no short cut */
        uint64_t buf[4];
        struct vtrack t;
        track_init(x, &t, trk->n, buf);
        if (run(x, n->any_of[i], inst, &t, "anyOf")) {
            any = true;
            track_merge(trk, &t);
        }
    }
    x->collect = saved;
    return any || report_branches(x, n->any_of, n->nany_of, inst, "anyOf");
}

static bool run_one_of(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk)
{
    bool saved = x->collect;
    x->collect = false;
    size_t passed = 0, first = 0, second = 0;
    uint64_t buf[2][4];
    struct vtrack t[2];
    for (size_t i = 0; i < n->none_of && passed < 2; i++) {
        struct vtrack *tt = NULL;
        if (trk != NULL) {
            tt = &t[passed];
            track_init(x, tt, trk->n, buf[passed]);
        }
        if (run(x, n->one_of[i], inst, tt, "oneOf")) {
            if (passed++ == 0)
                first = i;
            else
                second = i;
        }
    }
    x->collect = saved;
    if (passed == 1) {
        if (trk != NULL)
            track_merge(trk, &t[0]);
        return true;
    }
    if (passed == 0)
        return report_branches(x, n->one_of, n->none_of, inst, "oneOf");
    return REPORT(x, NULL, "oneOf",
                  "must match exactly one of the schemas in oneOf, but matches #%zu and #%zu",
                  first, second);
}

static bool run_if(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk)
{
    uint64_t buf[4];
    struct vtrack t;
    if (trk != NULL)
        track_init(x, &t, trk->n, buf);
    bool saved = x->collect;
    x->collect = false;
    bool cond = run(x, n->if_, inst, trk ? &t : NULL, "if");
    x->collect = saved;
    if (cond) {
        if (trk != NULL)
            track_merge(trk, &t);
        return n->then_ == NULL || run(x, n->then_, inst, trk, "then");
    }
    return n->else_ == NULL || run(x, n->else_, inst, trk, "else");
}

/* The target of a $dynamicRef: the outermost resource in the dynamic scope
 * that declares the anchor, else the static target. */
static const struct vnode *dynamic_target(const struct vctx *x, const struct vdynref *d)
{
    for (unsigned i = 0; i < x->nscope; i++) {
        const struct vres *r = x->scope[i];
        for (size_t k = 0; k < r->ndanchors; k++)
            if (strcmp(r->danchors[k].name, d->anchor) == 0)
                return r->danchors[k].node;
    }
    return d->initial;
}

NOINLINE static bool run_inplace(struct vctx *x, const struct vnode *n, const cJSON *inst,
                                 struct vtrack *trk)
{
    bool ok = true;
#define STEP(expr)                                                                                 \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            ok = false;                                                                            \
            if (STOP(x))                                                                           \
                return false;                                                                      \
        }                                                                                          \
    } while (0)
    if (n->ref != NULL)
        STEP(run(x, n->ref, inst, trk, "$ref"));
    if (n->dynref_static != NULL)
        STEP(run(x, n->dynref_static, inst, trk, "$dynamicRef"));
    if (n->dynref != NULL)
        STEP(run(x, dynamic_target(x, n->dynref), inst, trk, "$dynamicRef"));
    for (size_t i = 0; i < n->nall_of; i++)
        STEP(run(x, n->all_of[i], inst, trk, "allOf"));
    if (n->nany_of > 0)
        STEP(run_any_of(x, n, inst, trk));
    if (n->none_of > 0)
        STEP(run_one_of(x, n, inst, trk));
    if (n->not_ != NULL) {
        bool saved = x->collect;
        x->collect = false;
        bool r = run(x, n->not_, inst, NULL, "not");
        x->collect = saved;
        if (r)
            STEP(REPORT(x, NULL, "not", "must not match the schema in not"));
    }
    if (n->if_ != NULL)
        STEP(run_if(x, n, inst, trk));
#undef STEP
    return ok;
}

/* --- the walk ----------------------------------------------------------- */

static bool run_keywords(struct vctx *x, const struct vnode *n, const cJSON *inst,
                         struct vtrack *trk)
{
    uint32_t has = n->has;
    int t = inst->type & 0xFF;
    if ((has & H_TYPE) && !type_ok(n->types, inst))
        return REPORT(x, NULL, "type", "must be %s", vtypes_text(x, n->types));
    bool ok = true;
    if ((has & (H_ENUM | H_CONST)) && !check_enum_const(x, n, inst)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    uint64_t buf[4];
    struct vtrack local, *lt = trk;
    if (((has & H_UNEVAL_P) && t == cJSON_Object) || ((has & H_UNEVAL_I) && t == cJSON_Array)) {
        track_init(x, &local, count_children(inst), buf);
        lt = &local;
    }
    if ((has & H_INPLACE) && !run_inplace(x, n, inst, lt)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    bool r = true;
    switch (t) {
    case cJSON_Number: r = !(has & H_NUM) || check_number(x, n, inst); break;
    case cJSON_String: r = !(has & H_STR) || check_string(x, n, inst); break;
    case cJSON_Array: r = !(has & (H_ARR | H_UNEVAL_I)) || check_array(x, n, inst, lt); break;
    case cJSON_Object: r = !(has & (H_OBJ | H_UNEVAL_P)) || check_object(x, n, inst, lt); break;
    default: break;
    }
    ok = ok && r;
    if (ok && lt == &local && trk != NULL)
        track_fill(trk); /* unevaluated* evaluated all the rest */
    return ok;
}

static bool run(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk,
                const char *code)
{
    if (n->has == 0)
        return true;
    if (n->has & H_FALSE)
        return REPORT(x, NULL, code, "is not allowed");
    if (x->depth >= x->max_depth)
        return REPORT(x, NULL, "depth", "is nested too deeply to validate (limit %u)",
                      x->max_depth);
    x->depth++;
    bool pushed = false;
    if (x->v->dynamic && (x->nscope == 0 || x->scope[x->nscope - 1] != n->resource)) {
        if (x->nscope == x->scope_cap)
            x->scope = stack_grow(x, x->scope, &x->scope_cap, sizeof *x->scope);
        x->scope[x->nscope++] = n->resource;
        pushed = true;
    }
    bool ok = run_keywords(x, n, inst, trk);
    if (pushed)
        x->nscope--;
    x->depth--;
    return ok;
}

int vrun(const struct soom_validator *v, const cJSON *doc, struct soom_arena *arena,
         struct soom_validation_error **errs, size_t *nerrs)
{
    struct vctx x;
    memset(&x, 0, sizeof x);
    x.v = v;
    x.arena = arena;
    x.max_depth = v->opts.max_depth;
    if (run(&x, v->root, doc, NULL, "false"))
        return SOOM_OK;
    if (errs == NULL)
        return SOOM_EINVALID;
    x.collect = true;
    x.depth = x.nscope = 0;
    run(&x, v->root, doc, NULL, "false");
    if (x.nerrs == 0)
        vreport(&x, NULL, "false", "is not valid");
    soom_buf_cleanup(&x.scratch);
    *errs = x.errs;
    *nerrs = x.nerrs;
    return SOOM_EINVALID;
}

int soom_validator_run(const struct soom_validator *v, const struct soom_json *doc,
                       struct soom_arena *arena, struct soom_validation_error **errors,
                       size_t *nerrors)
{
    if (errors != NULL)
        *errors = NULL;
    if (nerrors != NULL)
        *nerrors = 0;
    struct soom_arena *own = arena == NULL ? soom_arena_new(0) : NULL;
    size_t dummy;
    int rc = vrun(v, (const cJSON *)doc, arena ? arena : own, own ? NULL : errors,
                  nerrors ? nerrors : &dummy);
    soom_arena_free(own);
    return rc;
}
