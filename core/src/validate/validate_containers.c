/*
 * Arrays and objects: the container keywords of the runner (see
 * validate_run.h). An object is walked once: each member is looked up in
 * the node's slot table, which answers "properties", "required" and the
 * dependencies together, then matched against "patternProperties", then
 * given to "additionalProperties". Members and items evaluated here are
 * marked in the unevaluated* bitmap when one is being kept.
 */
#include <stdlib.h>
#include <string.h>

#include "validate_run.h"

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
        if (!vrun_node(x, n->contains, it, NULL, "contains"))
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
                            : vrun_node(x, s, it, NULL, i < n->nprefix ? "prefixItems" : "items");
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

NOINLINE bool vcheck_array(struct vctx *x, const struct vnode *n, const cJSON *inst,
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
            bool r = vrun_node(x, n->uneval_items, it, NULL, "unevaluatedItems");
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
    bool r = vrun_node(x, n->property_names, &name, NULL, "propertyNames");
    x->collect = saved;
    if (r || !x->collect)
        return r;
    /* Report again, collecting, and word the errors as about the name. */
    size_t before = x->nerrs;
    PUSH_KEY(x, key);
    vrun_node(x, n->property_names, &name, NULL, "propertyNames");
    POP(x);
    for (size_t i = before; i < x->nerrs; i++) {
        x->errs[i].detail = soom_arena_printf(x->arena, "property name %s", x->errs[i].detail);
        x->errs[i].code = "propertyNames";
    }
    return false;
}

/* Runs "properties", "patternProperties" and "additionalProperties" on one
 * member; returns whether one of them evaluated it in *evaluated. */
/* One pass over an object: which slots were seen, and how many of them
 * are required (so a valid object never walks its "required" list). */
struct pass {
    uint64_t *seen;
    size_t cursor;
    size_t required_seen;
};

static bool check_member(struct vctx *x, const struct vnode *n, const cJSON *m, struct pass *p,
                         bool *evaluated)
{
    bool ok = true;
    const char *key = m->string;
    if (n->nslots > 0) {
        size_t slot = find_slot(n, key, &p->cursor);
        if (slot != VNONE) {
            uint64_t *word = &p->seen[slot >> 6], bit = (uint64_t)1 << (slot & 63);
            if (!(*word & bit)) { /* a repeated key counts once */
                *word |= bit;
                p->required_seen += n->slot_required[slot];
            }
            if (slot < n->nprops) {
                *evaluated = true;
                const struct vnode *s = n->props[slot].schema;
                PUSH_KEY(x, key);
                ok = is_leaf(s) ? run_leaf(x, s, m) : vrun_node(x, s, m, NULL, "properties");
                POP(x);
                if (!ok && STOP(x))
                    return false;
            }
        }
    }
    size_t klen = n->npatterns > 0 ? strlen(key) : 0;
    for (size_t i = 0; i < n->npatterns; i++) {
        int rc = vregex_match(n->patterns[i].re, key, klen, &x->md);
        if (rc < 0) {
            ok = REPORT(x, key, "patternProperties",
                        "could not be matched against a property-name pattern");
        } else if (rc > 0) {
            *evaluated = true;
            PUSH_KEY(x, key);
            bool r = vrun_node(x, n->patterns[i].schema, m, NULL, "patternProperties");
            POP(x);
            ok = ok && r;
        }
        if (!ok && STOP(x))
            return false;
    }
    if (!*evaluated && n->additional != NULL) {
        *evaluated = true;
        PUSH_KEY(x, key);
        ok = vrun_node(x, n->additional, m, NULL, "additionalProperties") && ok;
        POP(x);
    }
    return ok;
}

static bool check_dependencies(struct vctx *x, const struct vnode *n, const cJSON *inst,
                               const struct pass *p, struct vtrack *trk)
{
    bool ok = true;
    const uint64_t *seen = p->seen;
#define SEEN(s) ((seen[(s) >> 6] >> ((s)&63)) & 1)
    for (size_t i = 0; p->required_seen < n->nrequired && i < n->nrequired; i++) {
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
        if (d->schema != NULL && !vrun_node(x, d->schema, inst, trk, "dependentSchemas")) {
            ok = false;
            if (STOP(x))
                return false;
        }
    }
#undef SEEN
    return ok;
}

NOINLINE bool vcheck_object(struct vctx *x, const struct vnode *n, const cJSON *inst,
                            struct vtrack *trk)
{
    bool ok = true;
    uint64_t seen_buf[4] = {0, 0, 0, 0};
    struct pass p = {seen_buf, 0, 0};
    if (n->nslots > 256)
        p.seen = soom_arena_calloc(x->arena, (n->nslots + 63) / 64 * sizeof *p.seen);
    size_t count = 0;
    bool walk = n->nslots || n->npatterns || n->additional || n->property_names;
    for (const cJSON *m = walk ? inst->child : NULL; m != NULL; m = m->next, count++) {
        bool evaluated = false;
        if (!check_member(x, n, m, &p, &evaluated)) {
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
    if ((p.required_seen < n->nrequired || n->ndeps) && !check_dependencies(x, n, inst, &p, trk)) {
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
            bool r = vrun_node(x, n->uneval_props, m, NULL, "unevaluatedProperties");
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
