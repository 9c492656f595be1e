/*
 * The validator's private model, shared by its files.
 *
 * A compiled schema is a graph of `struct vnode`, one per schema object of
 * the document (and of the built-in meta-schema when referenced). Nodes are
 * carved from the validator's own arena and never change after compilation;
 * $ref edges point straight at their target node, so a recursive schema is a
 * cyclic graph and running it costs no lookup. Keyword groups are flagged in
 * `has` so the runner tests one word before touching a group.
 *
 * validate_compile.c  schema text -> resources, anchors -> node graph, with
 * validate_keywords.c one compiler per keyword family; validate_compile.h
 * validate_uri.c      RFC 3986 reference resolution, JSON Pointer walking
 * validate_run.c      the runner's walk, scalars and entry points, with
 *                     validate_containers.c (arrays, objects),
 *                     validate_apply.c (in-place applicators) and
 *                     validate_error.c (error reports); validate_run.h
 * validate_equal.c    JSON equality and hashing (enum, const, uniqueItems)
 * validate_regex.c    PCRE2, the only file that includes it
 * validate_format.c   the "format" checkers
 * validate_query.c    query-string coercion
 * validate_meta.c     the built-in 2020-12 meta-schema
 */
#ifndef SOOM_VALIDATE_IMPL_H
#define SOOM_VALIDATE_IMPL_H

/* The validator walks the cJSON trees of the schema and of every document
 * it checks; on that hot path a wrapper type would only slow it down. */
#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/validate.h"

/* Instance types, as a bit mask. VT_INTEGER is a number with no fraction. */
enum {
    VT_NULL = 1,
    VT_BOOLEAN = 2,
    VT_OBJECT = 4,
    VT_ARRAY = 8,
    VT_NUMBER = 16,
    VT_STRING = 32,
    VT_INTEGER = 64,
};

/* vnode.has: which keyword groups a node carries. */
enum {
    H_FALSE = 1u << 0,     /* the schema `false` */
    H_TYPE = 1u << 1,      /* type */
    H_ENUM = 1u << 2,      /* enum */
    H_CONST = 1u << 3,     /* const */
    H_NUM = 1u << 4,       /* minimum, maximum, exclusive*, multipleOf */
    H_STR = 1u << 5,       /* minLength, maxLength, pattern, format */
    H_ARR = 1u << 6,       /* any array keyword */
    H_OBJ = 1u << 7,       /* any object keyword */
    H_INPLACE = 1u << 8,   /* $ref, $dynamicRef, allOf, anyOf, oneOf, not, if */
    H_UNEVAL_P = 1u << 9,  /* unevaluatedProperties */
    H_UNEVAL_I = 1u << 10, /* unevaluatedItems */
};

#define VNONE SIZE_MAX /* an absent size bound */

struct vregex; /* validate_regex.c */

/* Format checkers, indexed by enum vformat. */
enum vformat {
    VF_NONE = 0,
    VF_DATE_TIME,
    VF_DATE,
    VF_TIME,
    VF_DURATION,
    VF_EMAIL,
    VF_UUID,
    VF_IPV4,
    VF_IPV6,
    VF_URI,
    VF_ADDED = 16, /* VF_ADDED + i: the i-th format added by a module */
};

struct vnode;

struct vprop {
    const char *name;
    size_t len;
    struct vnode *schema;
};

struct vpattern {
    struct vregex *re;
    struct vnode *schema;
};

/* A name that "required", "dependentRequired" or "dependentSchemas" needs
 * to know the presence of: each gets a slot in the seen-bitmap of a pass
 * over an object. Slots 0..nprops-1 are the "properties" names. */
struct vdep {
    size_t slot;         /* the trigger property */
    const size_t *needs; /* dependentRequired: slots that must be present */
    size_t nneeds;
    struct vnode *schema; /* dependentSchemas, or NULL */
};

struct vdanchor {
    const char *name;
    struct vnode *node;
};

/* A schema resource (the document root, or a subschema with $id). */
struct vres {
    const char *uri;
    struct vdanchor *danchors; /* its $dynamicAnchors, for $dynamicRef */
    size_t ndanchors;
};

struct vdynref {
    const char *anchor;    /* the name looked up in the dynamic scope */
    struct vnode *initial; /* the statically resolved target */
};

struct vnode {
    uint32_t has;
    uint16_t types;
    uint8_t format; /* enum vformat; asserted only with format_assertion */
    uint32_t id;    /* index in compilation order */
    struct vres *resource;
    const char *where; /* this schema's JSON Pointer in its document */

    /* in-place applicators */
    struct vnode *ref;
    struct vnode *dynref_static; /* a $dynamicRef that behaves as a $ref */
    const struct vdynref *dynref;
    struct vnode **all_of, **any_of, **one_of;
    size_t nall_of, nany_of, none_of;
    struct vnode *not_, *if_, *then_, *else_;

    const cJSON **enums; /* borrowed from the validator's parsed schema */
    size_t nenums;
    const cJSON *constant;

    /* numbers; NAN when absent */
    double minimum, maximum, xminimum, xmaximum, multiple_of;

    /* strings */
    size_t min_length, max_length;
    struct vregex *pattern;
    const char *pattern_src;

    /* arrays */
    size_t min_items, max_items, min_contains, max_contains;
    bool unique_items;
    struct vnode **prefix;
    size_t nprefix;
    struct vnode *items, *contains, *uneval_items;

    /* objects */
    struct vprop *props;
    size_t nprops, nslots; /* nslots >= nprops: see struct vdep */
    const char **slot_names;
    size_t *slot_lens;
    uint8_t *slot_required; /* 1 for the slots "required" lists */
    size_t *required;       /* slots */
    size_t nrequired;
    struct vdep *deps;
    size_t ndeps;
    struct vpattern *patterns;
    size_t npatterns;
    struct vnode *additional, *property_names, *uneval_props;
    size_t min_props, max_props;
};

struct soom_validator {
    struct soom_arena *arena; /* nodes, strings, regexes (deferred frees) */
    cJSON *doc;               /* the parsed schema: enum/const values point in */
    cJSON *meta;              /* the meta-schema, when it was referenced */
    char *text;               /* soom_validate_schema() */
    struct vnode *root;
    struct soom_validate_options opts;
    bool dynamic; /* some $dynamicRef needs the dynamic scope at run time */
};

/* validate_uri.c */
char *vuri_resolve(struct soom_arena *a, const char *base, const char *ref);
char *vuri_strip_fragment(struct soom_arena *a, const char *uri, const char **fragment);
const cJSON *vjson_pointer(const cJSON *root, const char *fragment);
char *vpointer_append(struct soom_arena *a, const char *base, const char *token);
char *vpointer_append_index(struct soom_arena *a, const char *base, size_t i);

/* validate_equal.c */
bool vjson_equal(const cJSON *a, const cJSON *b);
uint64_t vjson_hash(const cJSON *a);

/* A number with no fraction. Every double of magnitude 2^53 or more is an
 * integer; below that a round trip through int64_t tells without calling
 * floor(). NaN and infinities are not integers. */
static inline bool vjson_is_integer(const cJSON *a)
{
    double d = a->valuedouble;
    if (!(d > -9007199254740992.0 && d < 9007199254740992.0))
        return d - d == 0; /* finite */
    return (double)(int64_t)d == d;
}

/* validate_regex.c */
int vregex_compile(struct soom_arena *a, const char *pattern, struct vregex **out, char *err,
                   size_t errlen);
/* 1 match, 0 no match, negative: could not decide (limit hit, bad UTF-8).
 * `cache` (may be NULL) keeps the thread's match block between calls. */
int vregex_match(const struct vregex *re, const char *s, size_t n, void **cache);
/* The same for a subject the caller knows to be valid UTF-8. */
int vregex_match_utf8(const struct vregex *re, const char *s, size_t n, void **cache);
void vregex_set_limit(struct vregex *re, uint32_t match_limit);

/* validate_format.c */
enum vformat vformat_lookup(const char *name);
bool vformat_check(enum vformat f, const char *s, size_t n);
/* True for a format that is asserted even without format_assertion. */
bool vformat_always(enum vformat f);
const char *vformat_name(enum vformat f);

/* validate_meta.c */
extern const char vmeta_schema_text[];
bool vmeta_is_uri(const char *uri);

/* validate_run.c: runs `v` over `doc`; the verdict and, with `errs`, the
 * errors, allocated in `arena`. */
int vrun(const struct soom_validator *v, const cJSON *doc, struct soom_arena *arena,
         struct soom_validate_error **errs, size_t *nerrs);

#endif
