/*
 * The schema compiler's internal interface: validate_compile.c walks the
 * schema document (resources, anchors, references) and hands each schema
 * object to validate_keywords.c, which compiles its keywords and calls back
 * for subschemas and references. The two recurse into each other by
 * design (recursive descent over the document); only they include this.
 */
#ifndef SOOM_VALIDATE_COMPILE_H
#define SOOM_VALIDATE_COMPILE_H

#include "validate_impl.h"

/* validate_compile.c, for the keyword compilers */
struct vcompiler;
/* The node of the subschema `json` found at `where` (for messages). */
struct vnode *vc_subschema(struct vcompiler *c, const cJSON *json, const char *where);
int vc_fail(struct vcompiler *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct soom_arena *vc_arena(struct vcompiler *c);
const struct soom_validate_options *vc_options(struct vcompiler *c);
/* Compiles the "$ref" (or "$dynamicRef") `json` of schema `owner` into n. */
int vc_ref(struct vcompiler *c, struct vnode *n, const cJSON *owner, const cJSON *json,
           const char *where, bool dynamic);

/* validate_keywords.c */
int vk_compile(struct vcompiler *c, struct vnode *n, const cJSON *json, const char *where);
bool vk_is_subschema_keyword(const char *kw, int *shape);
enum { SHAPE_ONE, SHAPE_ARRAY, SHAPE_MAP };

#endif
