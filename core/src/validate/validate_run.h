/*
 * The runner's state, shared by validate_run.c (the walk) and
 * validate_error.c (turning a failure into a reported error).
 *
 * A run is two passes at most. The first answers only valid/invalid: it
 * stops at the first failure, keeps no path and builds no string, so a valid
 * document costs a walk and nothing else. Only when that pass fails does a
 * second, collecting pass walk again with `collect` set, tracking the
 * instance path and recording every error into the caller's arena. Inside
 * the collecting pass, applicators whose branches may legitimately fail
 * (anyOf, oneOf, not, if, contains) evaluate their branches in the quiet
 * mode and report once, so one bad value does not produce a flood.
 */
#ifndef SOOM_VALIDATE_RUN_H
#define SOOM_VALIDATE_RUN_H

#include "validate_impl.h"

/* One step of the instance path: a member name, or an index when key is
 * NULL. */
struct vseg {
    const char *key;
    size_t index;
};

/* The evaluated members or items of one instance, for unevaluated*. */
struct vtrack {
    uint64_t *bits;
    size_t n;
};

struct vctx {
    const struct soom_validator *v;
    struct soom_arena *arena;
    bool collect;
    bool full; /* max_errors reached */
    bool formats;
    unsigned depth, max_depth;
    const struct vres **scope; /* the dynamic scope, when v->dynamic */
    unsigned nscope, scope_cap;
    struct vseg *path;
    unsigned npath, path_cap;
    struct soom_validate_error *errs;
    size_t nerrs, cap;
    struct soom_buf scratch; /* message building, collecting pass only */
    void *md;                /* this thread's PCRE2 match block, once fetched */
};

/* Records an error at the current path, plus `key` when not NULL (a
 * missing or extra member). Returns false, for `return report(...)`. */
bool vreport(struct vctx *x, const char *key, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A number as the messages print it: 100, 0.5, 1e+300. */
const char *vnum_text(struct vctx *x, double d);

/* "string", "integer or null"... */
const char *vtypes_text(struct vctx *x, unsigned mask);

/* A short JSON rendering of a value for messages (truncated). */
const char *vvalue_text(struct vctx *x, const cJSON *v);

/* The same for a list of values, written as a JSON array. */
const char *vvalues_text(struct vctx *x, const cJSON *const *v, size_t n);

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
            vpath_push((x), (k), 0);                                                               \
    } while (0)
#define PUSH_INDEX(x, i)                                                                           \
    do {                                                                                           \
        if ((x)->collect)                                                                          \
            vpath_push((x), NULL, (i));                                                            \
    } while (0)
#define POP(x)                                                                                     \
    do {                                                                                           \
        if ((x)->collect)                                                                          \
            (x)->npath--;                                                                          \
    } while (0)

/* validate_run.c: evaluates schema `n` on `inst`; `code` names the keyword
 * that led here, reported if `n` is the schema false. */
bool vrun_node(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk,
               const char *code);
void vpath_grow(struct vctx *x);

static inline void vpath_push(struct vctx *x, const char *key, size_t index)
{
    if (x->npath == x->path_cap)
        vpath_grow(x);
    x->path[x->npath++] = (struct vseg){key, index};
}
void vtrack_init(struct vctx *x, struct vtrack *t, size_t n, uint64_t buf[4]);
void vtrack_merge(struct vtrack *dst, const struct vtrack *src);
void vtrack_fill(struct vtrack *t);
bool vcheck_number(struct vctx *x, const struct vnode *n, const cJSON *inst);
bool vcheck_string(struct vctx *x, const struct vnode *n, const cJSON *inst);

/* validate_containers.c */
bool vcheck_array(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk);
bool vcheck_object(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk);

/* validate_apply.c: $ref, $dynamicRef, allOf, anyOf, oneOf, not, if. */
bool vrun_inplace(struct vctx *x, const struct vnode *n, const cJSON *inst, struct vtrack *trk);

static inline void track_mark(struct vtrack *t, size_t i)
{
    t->bits[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline bool track_has(const struct vtrack *t, size_t i)
{
    return (t->bits[i >> 6] >> (i & 63)) & 1;
}

static inline size_t count_children(const cJSON *inst)
{
    size_t n = 0;
    for (const cJSON *c = inst->child; c != NULL; c = c->next)
        n++;
    return n;
}

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

/* A leaf schema (type and scalar bounds only, the bulk of a typical
 * schema) evaluated without the frame, depth and scope bookkeeping of
 * vrun_node(): a leaf cannot recurse and has no reference to resolve. */
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
        return !(n->has & H_STR) || vcheck_string(x, n, inst);
    if (t == cJSON_Number)
        return !(n->has & H_NUM) || vcheck_number(x, n, inst);
    return true;
}

#endif
