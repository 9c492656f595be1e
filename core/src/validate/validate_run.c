/*
 * Running a compiled schema over a cJSON tree (see validate_run.h for the
 * two-pass design): the walk, scalars, enum and const, and the entry
 * points. Objects and arrays are in validate_containers.c, the in-place
 * applicators in validate_apply.c.
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

void vpath_grow(struct vctx *x)
{
    x->path = stack_grow(x, x->path, &x->path_cap, sizeof *x->path);
}

/* --- evaluated-member bitmaps ------------------------------------------ */

void vtrack_init(struct vctx *x, struct vtrack *t, size_t n, uint64_t buf[4])
{
    size_t words = (n + 63) / 64;
    t->n = n;
    t->bits = words <= 4 ? buf : soom_arena_alloc(x->arena, words * sizeof *t->bits);
    memset(t->bits, 0, (words ? words : 1) * sizeof *t->bits);
}

void vtrack_merge(struct vtrack *dst, const struct vtrack *src)
{
    for (size_t i = 0; i < (src->n + 63) / 64; i++)
        dst->bits[i] |= src->bits[i];
}

void vtrack_fill(struct vtrack *t)
{
    for (size_t i = 0; i < t->n; i++)
        track_mark(t, i);
}

/* --- enum, const, numbers, strings -------------------------------------- */

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

NOINLINE bool vcheck_number(struct vctx *x, const struct vnode *n, const cJSON *inst)
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

/* The byte length of s and whether it is all ASCII, in one pass: API
 * strings are short, and an inline loop beats a call to strlen followed by
 * a UTF-8 check before every pattern match. */
static inline size_t measure(const char *s, bool *ascii)
{
    unsigned char acc = 0;
    size_t n = 0;
    for (unsigned char c; n < 64 && (c = (unsigned char)s[n]) != 0; n++)
        acc |= c;
    if (n == 64) {
        size_t rest = strlen(s + 64);
        for (size_t i = 0; i < rest; i++)
            acc |= (unsigned char)s[64 + i];
        n += rest;
    }
    *ascii = (acc & 0x80) == 0;
    return n;
}

NOINLINE bool vcheck_string(struct vctx *x, const struct vnode *n, const cJSON *inst)
{
    const char *s = inst->valuestring;
    bool ascii;
    size_t bytes = measure(s, &ascii);
    bool ok = true;
    if ((n->min_length > 0 || n->max_length != VNONE) && !check_length(x, n, s, bytes)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    if (n->pattern != NULL) {
        int rc = ascii ? vregex_match_utf8(n->pattern, s, bytes, &x->md)
                       : vregex_match(n->pattern, s, bytes, &x->md);
        if (rc == 0)
            ok = REPORT(x, NULL, "pattern", "must match the pattern %s", n->pattern_src);
        else if (rc < 0)
            ok = REPORT(x, NULL, "pattern", "%s",
                        soom_json_utf8_valid(s, bytes)
                            ? "could not be matched against the pattern within the match limit"
                            : "must be valid UTF-8 text");
        if (!ok && STOP(x))
            return false;
    }
    if (n->format != VF_NONE && !vformat_check((enum vformat)n->format, s, bytes))
        ok = REPORT(x, NULL, "format", "must be a valid %s", vformat_name(n->format));
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
        vtrack_init(x, &local, count_children(inst), buf);
        lt = &local;
    }
    if ((has & H_INPLACE) && !vrun_inplace(x, n, inst, lt)) {
        ok = false;
        if (STOP(x))
            return false;
    }
    bool r = true;
    switch (t) {
    case cJSON_Number: r = !(has & H_NUM) || vcheck_number(x, n, inst); break;
    case cJSON_String: r = !(has & H_STR) || vcheck_string(x, n, inst); break;
    case cJSON_Array: r = !(has & (H_ARR | H_UNEVAL_I)) || vcheck_array(x, n, inst, lt); break;
    case cJSON_Object: r = !(has & (H_OBJ | H_UNEVAL_P)) || vcheck_object(x, n, inst, lt); break;
    default: break;
    }
    ok = ok && r;
    if (ok && lt == &local && trk != NULL)
        vtrack_fill(trk); /* unevaluated* evaluated all the rest */
    return ok;
}

bool vrun_node(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk,
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
         struct soom_validate_error **errs, size_t *nerrs)
{
    struct vctx x;
    memset(&x, 0, sizeof x);
    x.v = v;
    x.arena = arena;
    x.max_depth = v->opts.max_depth;
    if (vrun_node(&x, v->root, doc, NULL, "false"))
        return SOOM_OK;
    if (errs == NULL)
        return SOOM_EINVALID;
    x.collect = true;
    x.depth = x.nscope = 0;
    vrun_node(&x, v->root, doc, NULL, "false");
    if (x.nerrs == 0)
        vreport(&x, NULL, "false", "is not valid");
    soom_buf_cleanup(&x.scratch);
    *errs = x.errs;
    *nerrs = x.nerrs;
    return SOOM_EINVALID;
}

int soom_validate_run(const struct soom_validator *v, const struct soom_json *doc,
                      struct soom_arena *arena, struct soom_validate_error **errors,
                      size_t *nerrors)
{
    if (errors != NULL)
        *errors = NULL;
    if (nerrors != NULL)
        *nerrors = 0;
    if (v == NULL || doc == NULL)
        return SOOM_EINVAL;
    struct soom_arena *own = arena == NULL ? soom_arena_new(0) : NULL;
    size_t dummy;
    int rc = vrun(v, (const cJSON *)doc, arena ? arena : own, own ? NULL : errors,
                  nerrors ? nerrors : &dummy);
    soom_arena_free(own);
    return rc;
}
