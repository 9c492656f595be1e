/*
 * The in-place applicators of the runner (see validate_run.h): $ref,
 * $dynamicRef, allOf, anyOf, oneOf, not and if/then/else. Branches that may
 * fail are evaluated quietly; when they do, one sensible error is reported
 * instead of every branch's.
 */
#include <string.h>

#include "validate_run.h"

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
        if (!vrun_node(x, list[which], inst, NULL, code) && x->nerrs > before)
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
            if (vrun_node(x, n->any_of[i], inst, NULL, "anyOf")) {
                any = true;
                break;
            }
            continue;
        }
        /* annotations of every passing branch count, so no short cut */
        uint64_t buf[4];
        struct vtrack t;
        vtrack_init(x, &t, trk->n, buf);
        if (vrun_node(x, n->any_of[i], inst, &t, "anyOf")) {
            any = true;
            vtrack_merge(trk, &t);
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
            vtrack_init(x, tt, trk->n, buf[passed]);
        }
        if (vrun_node(x, n->one_of[i], inst, tt, "oneOf")) {
            if (passed++ == 0)
                first = i;
            else
                second = i;
        }
    }
    x->collect = saved;
    if (passed == 1) {
        if (trk != NULL)
            vtrack_merge(trk, &t[0]);
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
        vtrack_init(x, &t, trk->n, buf);
    bool saved = x->collect;
    x->collect = false;
    bool cond = vrun_node(x, n->if_, inst, trk ? &t : NULL, "if");
    x->collect = saved;
    if (cond) {
        if (trk != NULL)
            vtrack_merge(trk, &t);
        return n->then_ == NULL || vrun_node(x, n->then_, inst, trk, "then");
    }
    return n->else_ == NULL || vrun_node(x, n->else_, inst, trk, "else");
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

NOINLINE bool vrun_inplace(struct vctx *x, const struct vnode *n, const cJSON *inst,
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
        STEP(vrun_node(x, n->ref, inst, trk, "$ref"));
    if (n->dynref_static != NULL)
        STEP(vrun_node(x, n->dynref_static, inst, trk, "$dynamicRef"));
    if (n->dynref != NULL)
        STEP(vrun_node(x, dynamic_target(x, n->dynref), inst, trk, "$dynamicRef"));
    for (size_t i = 0; i < n->nall_of; i++)
        STEP(vrun_node(x, n->all_of[i], inst, trk, "allOf"));
    if (n->nany_of > 0)
        STEP(run_any_of(x, n, inst, trk));
    if (n->none_of > 0)
        STEP(run_one_of(x, n, inst, trk));
    if (n->not_ != NULL) {
        bool saved = x->collect;
        x->collect = false;
        bool r = vrun_node(x, n->not_, inst, NULL, "not");
        x->collect = saved;
        if (r)
            STEP(REPORT(x, NULL, "not", "must not match the schema in not"));
    }
    if (n->if_ != NULL)
        STEP(run_if(x, n, inst, trk));
#undef STEP
    return ok;
}
