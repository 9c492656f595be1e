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
    struct soom_validation_error *errs;
    size_t nerrs, cap;
    struct soom_buf scratch; /* message building, collecting pass only */
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

#endif
