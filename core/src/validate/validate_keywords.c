/*
 * One compiler per keyword family: each checks its keywords' values (the
 * message names the keyword's JSON Pointer) and fills the node. Unknown
 * keywords are annotations and are ignored, as 2020-12 requires.
 *
 * Objects get "slots": every property name that "properties", "required",
 * "dependentRequired" or "dependentSchemas" mentions gets one index, so the
 * runner learns which of them are present in a single pass over the
 * instance's members and then checks "required" and the dependencies against
 * a bitmap instead of searching the object once per name.
 */
#include <math.h>
#include <string.h>

#include "soom/error.h"
#include "validate_compile.h"

static const struct {
    const char *kw;
    int shape;
} SUBSCHEMA_KEYWORDS[] = {
    {"items", SHAPE_ONE},
    {"contains", SHAPE_ONE},
    {"additionalProperties", SHAPE_ONE},
    {"propertyNames", SHAPE_ONE},
    {"if", SHAPE_ONE},
    {"then", SHAPE_ONE},
    {"else", SHAPE_ONE},
    {"not", SHAPE_ONE},
    {"unevaluatedItems", SHAPE_ONE},
    {"unevaluatedProperties", SHAPE_ONE},
    {"contentSchema", SHAPE_ONE},
    {"prefixItems", SHAPE_ARRAY},
    {"allOf", SHAPE_ARRAY},
    {"anyOf", SHAPE_ARRAY},
    {"oneOf", SHAPE_ARRAY},
    {"$defs", SHAPE_MAP},
    {"properties", SHAPE_MAP},
    {"patternProperties", SHAPE_MAP},
    {"dependentSchemas", SHAPE_MAP},
};

bool vk_is_subschema_keyword(const char *kw, int *shape)
{
    for (size_t i = 0; i < sizeof SUBSCHEMA_KEYWORDS / sizeof SUBSCHEMA_KEYWORDS[0]; i++) {
        if (strcmp(SUBSCHEMA_KEYWORDS[i].kw, kw) == 0) {
            *shape = SUBSCHEMA_KEYWORDS[i].shape;
            return true;
        }
    }
    return false;
}

/* The state of one schema object's compilation. */
struct kw {
    struct vcompiler *c;
    struct vnode *n;
    const cJSON *json;
    const char *where;
};

static const cJSON *get(const struct kw *k, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(k->json, name);
}

static const char *at(const struct kw *k, const char *name)
{
    return vpointer_append(vc_arena(k->c), k->where, name);
}

static int size_value(const struct kw *k, const char *name, size_t *out)
{
    const cJSON *v = get(k, name);
    if (v == NULL)
        return SOOM_OK;
    /* 2020-12: an integer is any number with a zero fraction, so 1.0 counts */
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || !vjson_is_integer(v))
        return vc_fail(k->c, at(k, name), "must be a non-negative integer");
    *out = v->valuedouble >= 1e18 ? VNONE - 1 : (size_t)v->valuedouble;
    return SOOM_OK;
}

static int number_value(const struct kw *k, const char *name, double *out)
{
    const cJSON *v = get(k, name);
    if (v == NULL)
        return SOOM_OK;
    if (!cJSON_IsNumber(v))
        return vc_fail(k->c, at(k, name), "must be a number");
    *out = v->valuedouble;
    return SOOM_OK;
}

static struct vnode *sub(const struct kw *k, const char *name)
{
    const cJSON *v = get(k, name);
    return v == NULL ? NULL : vc_subschema(k->c, v, at(k, name));
}

/* A non-empty array of schemas. */
static int schema_list(const struct kw *k, const char *name, struct vnode ***out, size_t *n)
{
    const cJSON *v = get(k, name);
    if (v == NULL)
        return SOOM_OK;
    const char *w = at(k, name);
    if (!cJSON_IsArray(v) || v->child == NULL)
        return vc_fail(k->c, w, "must be a non-empty array of schemas");
    size_t count = (size_t)cJSON_GetArraySize(v), i = 0;
    *out = soom_arena_alloc(vc_arena(k->c), count * sizeof **out);
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        (*out)[i] = vc_subschema(k->c, e, vpointer_append_index(vc_arena(k->c), w, i));
        if ((*out)[i] == NULL)
            return SOOM_EINVAL;
    }
    *n = count;
    return SOOM_OK;
}

static int compile_type(const struct kw *k)
{
    static const struct {
        const char *name;
        uint16_t mask;
    } TYPES[] = {
        {"null", VT_NULL},
        {"boolean", VT_BOOLEAN},
        {"object", VT_OBJECT},
        {"array", VT_ARRAY},
        {"number", VT_NUMBER | VT_INTEGER},
        {"string", VT_STRING},
        {"integer", VT_INTEGER},
    };
    const cJSON *t = get(k, "type");
    if (t == NULL)
        return SOOM_OK;
    const cJSON *one = t, *list = NULL;
    if (cJSON_IsArray(t)) {
        list = t;
        one = t->child;
    }
    for (; one != NULL; one = list ? one->next : NULL) {
        size_t i = 0;
        while (i < sizeof TYPES / sizeof TYPES[0] &&
               !(cJSON_IsString(one) && strcmp(one->valuestring, TYPES[i].name) == 0))
            i++;
        if (i == sizeof TYPES / sizeof TYPES[0])
            return vc_fail(k->c, at(k, "type"),
                           "must be one of null, boolean, object, array, number, string, "
                           "integer, or an array of them");
        k->n->types |= TYPES[i].mask;
    }
    if (list != NULL && list->child == NULL)
        return vc_fail(k->c, at(k, "type"), "must not be an empty array");
    k->n->has |= H_TYPE;
    return SOOM_OK;
}

static int compile_generic(const struct kw *k)
{
    struct vnode *n = k->n;
    if (compile_type(k) != SOOM_OK)
        return SOOM_EINVAL;
    const cJSON *e = get(k, "enum");
    if (e != NULL) {
        if (!cJSON_IsArray(e))
            return vc_fail(k->c, at(k, "enum"), "must be an array");
        n->nenums = (size_t)cJSON_GetArraySize(e);
        n->enums = soom_arena_alloc(vc_arena(k->c), (n->nenums + 1) * sizeof *n->enums);
        size_t i = 0;
        for (const cJSON *x = e->child; x != NULL; x = x->next)
            n->enums[i++] = x;
        n->has |= H_ENUM;
    }
    const cJSON *cst = get(k, "const");
    if (cst != NULL) {
        n->constant = cst;
        n->has |= H_CONST;
    }
    return SOOM_OK;
}

static int compile_number(const struct kw *k)
{
    struct vnode *n = k->n;
    if (number_value(k, "minimum", &n->minimum) || number_value(k, "maximum", &n->maximum) ||
        number_value(k, "exclusiveMinimum", &n->xminimum) ||
        number_value(k, "exclusiveMaximum", &n->xmaximum) ||
        number_value(k, "multipleOf", &n->multiple_of))
        return SOOM_EINVAL;
    if (!isnan(n->multiple_of) && !(n->multiple_of > 0))
        return vc_fail(k->c, at(k, "multipleOf"), "must be a number greater than 0");
    if (!isnan(n->minimum) || !isnan(n->maximum) || !isnan(n->xminimum) || !isnan(n->xmaximum) ||
        !isnan(n->multiple_of))
        n->has |= H_NUM;
    return SOOM_OK;
}

static int compile_string(const struct kw *k)
{
    struct vnode *n = k->n;
    if (size_value(k, "minLength", &n->min_length) || size_value(k, "maxLength", &n->max_length))
        return SOOM_EINVAL;
    const cJSON *p = get(k, "pattern");
    if (p != NULL) {
        if (!cJSON_IsString(p))
            return vc_fail(k->c, at(k, "pattern"), "must be a string");
        char msg[200];
        if (vregex_compile(vc_arena(k->c), p->valuestring, &n->pattern, msg, sizeof msg) != 0)
            return vc_fail(k->c, at(k, "pattern"), "%s", msg);
        vregex_set_limit(n->pattern, vc_options(k->c)->regex_match_limit);
        n->pattern_src = p->valuestring;
    }
    /* "x-format-assert": true asserts this schema's format whatever the
     * validator's format_assertion says: soom.schema's s.date_time() and
     * friends write it, since whoever names a format that way means it. */
    const cJSON *f = get(k, "format"), *fa = get(k, "x-format-assert");
    if (fa != NULL && !cJSON_IsBool(fa))
        return vc_fail(k->c, at(k, "x-format-assert"), "must be a boolean");
    bool assert_here = fa != NULL && cJSON_IsTrue(fa);
    if (f != NULL) {
        if (!cJSON_IsString(f))
            return vc_fail(k->c, at(k, "format"), "must be a string");
        enum vformat vf = vformat_lookup(f->valuestring);
        if (assert_here && vf == VF_NONE)
            return vc_fail(k->c, at(k, "format"), "is not a format the validator can assert: %s",
                           f->valuestring);
        if (vc_options(k->c)->format_assertion || vformat_always(vf) || assert_here)
            n->format = (uint8_t)vf;
    }
    if (n->min_length > 0 || n->max_length != VNONE || n->pattern != NULL || n->format != VF_NONE)
        n->has |= H_STR;
    return SOOM_OK;
}

static int compile_array(const struct kw *k)
{
    struct vnode *n = k->n;
    if (size_value(k, "minItems", &n->min_items) || size_value(k, "maxItems", &n->max_items) ||
        size_value(k, "minContains", &n->min_contains) ||
        size_value(k, "maxContains", &n->max_contains) ||
        schema_list(k, "prefixItems", &n->prefix, &n->nprefix))
        return SOOM_EINVAL;
    const cJSON *u = get(k, "uniqueItems");
    if (u != NULL && !cJSON_IsBool(u))
        return vc_fail(k->c, at(k, "uniqueItems"), "must be a boolean");
    n->unique_items = u != NULL && cJSON_IsTrue(u);
    n->items = sub(k, "items");
    n->contains = sub(k, "contains");
    n->uneval_items = sub(k, "unevaluatedItems");
    if (n->uneval_items != NULL)
        n->has |= H_UNEVAL_I;
    if (n->min_items > 0 || n->max_items != VNONE || n->unique_items || n->nprefix > 0 ||
        n->items != NULL || n->contains != NULL)
        n->has |= H_ARR;
    return SOOM_OK;
}

static size_t slot_of(struct vnode *n, const char *name, size_t cap)
{
    for (size_t i = 0; i < n->nslots; i++)
        if (strcmp(n->slot_names[i], name) == 0)
            return i;
    if (n->nslots == cap)
        return VNONE;
    n->slot_names[n->nslots] = name;
    n->slot_lens[n->nslots] = strlen(name);
    return n->nslots++;
}

/* Counts the names every object keyword may add to the slot table. */
static size_t slot_capacity(const struct kw *k)
{
    static const char *const KWS[] = {"properties", "required", "dependentRequired",
                                      "dependentSchemas"};
    size_t cap = 0;
    for (size_t i = 0; i < 4; i++) {
        const cJSON *v = get(k, KWS[i]);
        if (v == NULL)
            continue;
        for (const cJSON *e = v->child; e != NULL; e = e->next)
            cap += 1 + (cJSON_IsArray(e) ? (size_t)cJSON_GetArraySize(e) : 0);
    }
    return cap;
}

static int string_array(const struct kw *k, const cJSON *v, const char *w, size_t cap, size_t **out,
                        size_t *n)
{
    if (!cJSON_IsArray(v))
        return vc_fail(k->c, w, "must be an array of unique strings");
    *out = soom_arena_alloc(vc_arena(k->c), ((size_t)cJSON_GetArraySize(v) + 1) * sizeof **out);
    *n = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next) {
        if (!cJSON_IsString(e))
            return vc_fail(k->c, w, "must be an array of unique strings");
        for (const cJSON *d = v->child; d != e; d = d->next)
            if (strcmp(d->valuestring, e->valuestring) == 0)
                return vc_fail(k->c, w, "must be an array of unique strings (\"%s\" repeats)",
                               e->valuestring);
        (*out)[(*n)++] = slot_of(k->n, e->valuestring, cap);
    }
    return SOOM_OK;
}

static int compile_properties(const struct kw *k, size_t cap)
{
    struct vnode *n = k->n;
    const cJSON *p = get(k, "properties");
    if (p == NULL)
        return SOOM_OK;
    const char *w = at(k, "properties");
    if (!cJSON_IsObject(p))
        return vc_fail(k->c, w, "must be an object of schemas");
    n->props =
        soom_arena_alloc(vc_arena(k->c), ((size_t)cJSON_GetArraySize(p) + 1) * sizeof *n->props);
    for (const cJSON *e = p->child; e != NULL; e = e->next) {
        struct vnode *s = vc_subschema(k->c, e, vpointer_append(vc_arena(k->c), w, e->string));
        if (s == NULL)
            return SOOM_EINVAL;
        if (slot_of(n, e->string, cap) != n->nprops)
            continue; /* a duplicate key: cJSON keeps both, JSON Schema the first */
        n->props[n->nprops++] = (struct vprop){e->string, strlen(e->string), s};
    }
    return SOOM_OK;
}

static int compile_dependencies(const struct kw *k, size_t cap)
{
    struct vnode *n = k->n;
    const cJSON *dr = get(k, "dependentRequired"), *ds = get(k, "dependentSchemas");
    if ((dr != NULL && !cJSON_IsObject(dr)) || (ds != NULL && !cJSON_IsObject(ds)))
        return vc_fail(
            k->c,
            at(k, dr != NULL && !cJSON_IsObject(dr) ? "dependentRequired" : "dependentSchemas"),
            "must be an object");
    size_t total =
        (dr ? (size_t)cJSON_GetArraySize(dr) : 0) + (ds ? (size_t)cJSON_GetArraySize(ds) : 0);
    n->deps = soom_arena_calloc(vc_arena(k->c), (total + 1) * sizeof *n->deps);
    for (const cJSON *e = dr ? dr->child : NULL; e != NULL; e = e->next) {
        struct vdep *d = &n->deps[n->ndeps++];
        d->slot = slot_of(n, e->string, cap);
        size_t *needs;
        if (string_array(k, e,
                         vpointer_append(vc_arena(k->c), at(k, "dependentRequired"), e->string),
                         cap, &needs, &d->nneeds) != SOOM_OK)
            return SOOM_EINVAL;
        d->needs = needs;
    }
    for (const cJSON *e = ds ? ds->child : NULL; e != NULL; e = e->next) {
        struct vdep *d = &n->deps[n->ndeps++];
        d->slot = slot_of(n, e->string, cap);
        d->schema = vc_subschema(
            k->c, e, vpointer_append(vc_arena(k->c), at(k, "dependentSchemas"), e->string));
        if (d->schema == NULL)
            return SOOM_EINVAL;
    }
    return SOOM_OK;
}

static int compile_patterns(const struct kw *k)
{
    struct vnode *n = k->n;
    const cJSON *pp = get(k, "patternProperties");
    if (pp == NULL)
        return SOOM_OK;
    const char *w = at(k, "patternProperties");
    if (!cJSON_IsObject(pp))
        return vc_fail(k->c, w, "must be an object of schemas");
    n->patterns = soom_arena_alloc(vc_arena(k->c),
                                   ((size_t)cJSON_GetArraySize(pp) + 1) * sizeof *n->patterns);
    for (const cJSON *e = pp->child; e != NULL; e = e->next) {
        const char *we = vpointer_append(vc_arena(k->c), w, e->string);
        struct vpattern *p = &n->patterns[n->npatterns++];
        char msg[200];
        if (vregex_compile(vc_arena(k->c), e->string, &p->re, msg, sizeof msg) != 0)
            return vc_fail(k->c, we, "%s", msg);
        vregex_set_limit(p->re, vc_options(k->c)->regex_match_limit);
        if ((p->schema = vc_subschema(k->c, e, we)) == NULL)
            return SOOM_EINVAL;
    }
    return SOOM_OK;
}

static int compile_object(const struct kw *k)
{
    struct vnode *n = k->n;
    size_t cap = slot_capacity(k);
    n->slot_names = soom_arena_alloc(vc_arena(k->c), (cap + 1) * sizeof *n->slot_names);
    n->slot_lens = soom_arena_alloc(vc_arena(k->c), (cap + 1) * sizeof *n->slot_lens);
    if (compile_properties(k, cap) != SOOM_OK || compile_patterns(k) != SOOM_OK)
        return SOOM_EINVAL;
    const cJSON *r = get(k, "required");
    if (r != NULL && string_array(k, r, at(k, "required"), cap, &n->required, &n->nrequired))
        return SOOM_EINVAL;
    n->slot_required = soom_arena_calloc(vc_arena(k->c), cap + 1);
    for (size_t i = 0; i < n->nrequired; i++)
        n->slot_required[n->required[i]] = 1;
    if (compile_dependencies(k, cap) != SOOM_OK || size_value(k, "minProperties", &n->min_props) ||
        size_value(k, "maxProperties", &n->max_props))
        return SOOM_EINVAL;
    n->additional = sub(k, "additionalProperties");
    n->property_names = sub(k, "propertyNames");
    n->uneval_props = sub(k, "unevaluatedProperties");
    if (n->uneval_props != NULL)
        n->has |= H_UNEVAL_P;
    if (n->nslots > 0 || n->npatterns > 0 || n->additional || n->property_names ||
        n->min_props > 0 || n->max_props != VNONE)
        n->has |= H_OBJ;
    return SOOM_OK;
}

static int compile_applicators(const struct kw *k)
{
    struct vnode *n = k->n;
    const cJSON *ref = get(k, "$ref"), *dref = get(k, "$dynamicRef");
    if (ref != NULL && vc_ref(k->c, n, k->json, ref, at(k, "$ref"), false) != SOOM_OK)
        return SOOM_EINVAL;
    if (dref != NULL && vc_ref(k->c, n, k->json, dref, at(k, "$dynamicRef"), true) != SOOM_OK)
        return SOOM_EINVAL;
    if (schema_list(k, "allOf", &n->all_of, &n->nall_of) ||
        schema_list(k, "anyOf", &n->any_of, &n->nany_of) ||
        schema_list(k, "oneOf", &n->one_of, &n->none_of))
        return SOOM_EINVAL;
    n->not_ = sub(k, "not");
    n->if_ = sub(k, "if");
    if (n->if_ != NULL) {
        n->then_ = sub(k, "then");
        n->else_ = sub(k, "else");
    }
    if (n->ref || n->dynref || n->dynref_static || n->nall_of || n->nany_of || n->none_of ||
        n->not_ || n->if_)
        n->has |= H_INPLACE;
    return SOOM_OK;
}

static int check_core(const struct kw *k)
{
    const cJSON *defs = get(k, "$defs"), *c = get(k, "$comment"), *voc = get(k, "$vocabulary");
    if (defs != NULL) {
        if (!cJSON_IsObject(defs))
            return vc_fail(k->c, at(k, "$defs"), "must be an object of schemas");
        for (const cJSON *e = defs->child; e != NULL; e = e->next)
            if (!cJSON_IsObject(e) && !cJSON_IsBool(e))
                return vc_fail(k->c, vpointer_append(vc_arena(k->c), at(k, "$defs"), e->string),
                               "must be a schema (an object or a boolean)");
    }
    if (c != NULL && !cJSON_IsString(c))
        return vc_fail(k->c, at(k, "$comment"), "must be a string");
    if (voc != NULL && !cJSON_IsObject(voc))
        return vc_fail(k->c, at(k, "$vocabulary"), "must be an object");
    return SOOM_OK;
}

int vk_compile(struct vcompiler *c, struct vnode *n, const cJSON *json, const char *where)
{
    struct kw k = {c, n, json, where};
    if (check_core(&k) || compile_generic(&k) || compile_number(&k) || compile_string(&k) ||
        compile_array(&k) || compile_object(&k) || compile_applicators(&k))
        return SOOM_EINVAL;
    return SOOM_OK;
}
