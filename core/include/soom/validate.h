/*
 * JSON Schema 2020-12 validation, compiled once and run many times.
 *
 * soom_validate_compile() turns a schema's JSON text into an immutable
 * program: every $ref, $anchor, $id and $dynamicAnchor is resolved, every
 * pattern is compiled with PCRE2 (JIT when available), every keyword value is
 * checked. A schema the validator cannot honour is refused there, with the
 * JSON Pointer of the offending keyword in the message, never at run time.
 * The validator is owned by the caller and freed with soom_validate_free();
 * nothing in it changes after compilation, so one validator may run from any
 * number of threads at once.
 *
 * soom_validate_run() walks a parsed document (soom/json.h) and returns
 * SOOM_OK or SOOM_EINVALID with every error found, up to max_errors. Errors
 * and their strings live in the caller's arena (the request's), so they
 * vanish with it. A valid document costs no malloc and no string building
 * (the arena serves the rare scratch needs: hashes for uniqueItems over a
 * large array, evaluated-member bitmaps past 256 members); the error list
 * is only built, by a second pass, when the document is invalid.
 *
 * soom_validate_query() builds an object from query-string pairs,
 * using the types the schema declares for each property, then validates it.
 * soom_validate_errors_json() writes errors as the `errors` member of the
 * 422 problem document. See docs/VALIDATION.md for the rules.
 */
#ifndef SOOM_VALIDATE_H
#define SOOM_VALIDATE_H

#include <stdbool.h>

#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/json.h"
#include "soom/soom.h"

struct soom_validator;

struct soom_validate_options {
    /* Make "format" an assertion for date-time, date, time, duration, email,
     * uuid, ipv4, ipv6 and uri (other formats stay annotations). Default
     * false: the 2020-12 default, where "format" is only an annotation. */
    bool format_assertion;
    /* Stop collecting after this many errors (at least 1). Default 100. */
    size_t max_errors;
    /* PCRE2 match limit per pattern match: bounds the backtracking a hostile
     * pattern or input can cause. A match that hits it fails validation.
     * Default (and when 0) 100000. */
    uint32_t regex_match_limit;
    /* Bound on nested schema evaluations (instance depth plus $ref, allOf...
     * hops) so a recursive schema over a deep tree cannot exhaust the stack.
     * Exceeding it fails validation with code "depth". Default 1024, at
     * most 4096. */
    unsigned max_depth;
};

/* One validation error. The strings are in the arena given to the run (or
 * static): valid until that arena is reset or freed. */
struct soom_validate_error {
    const char *pointer; /* RFC 6901 pointer to the instance location ("" = root) */
    const char *detail;  /* English message, e.g. "must be at most 100 characters" */
    const char *code;    /* the failing keyword, e.g. "maxLength" */
};

/* A decoded query-string pair (percent-decoding already done). */
struct soom_validate_param {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};

/* Fills `opts` with the defaults documented above. */
SOOM_API void soom_validate_options_init(struct soom_validate_options *opts);

/* Compiles the schema text (p, n); `opts` may be NULL for the defaults.
 * Returns SOOM_OK with *out owned by the caller (soom_validate_free), or
 * SOOM_EINVAL with a message in `err` (when not NULL) that starts with the
 * JSON Pointer of the bad keyword inside the schema, for instance
 * "/properties/name/minLength: must be a non-negative integer". References
 * that leave the document (other than to the 2020-12 meta-schemas, which are
 * built in) are refused as "cannot resolve remote reference <uri>". */
SOOM_API int soom_validate_compile(const char *p, size_t n,
                                   const struct soom_validate_options *opts,
                                   struct soom_validator **out, char *err, size_t errlen);

/* Frees a validator. Accepts NULL. */
SOOM_API void soom_validate_free(struct soom_validator *v);

/* The compiled schema's JSON text, NUL-terminated; borrowed, valid until the
 * validator is freed. */
SOOM_API const char *soom_validate_schema(const struct soom_validator *v);

/* Validates `doc`. Returns SOOM_OK, or SOOM_EINVALID with *errors (an array
 * in `arena`, valid until the arena is reset or freed) and *nerrors set; on
 * SOOM_OK *errors is NULL and *nerrors 0. `errors` and `nerrors` may be NULL
 * when only the verdict is wanted, the fastest call; `arena` may be NULL
 * only then (a scratch arena is made for the call). SOOM_EINVAL for a NULL
 * validator or document. */
SOOM_API int soom_validate_run(const struct soom_validator *v, const struct soom_json *doc,
                               struct soom_arena *arena, struct soom_validate_error **errors,
                               size_t *nerrors);

/* Builds an object from `n` query parameters, coercing each value to the type
 * the schema declares for its key (docs/VALIDATION.md, "Query parameters"),
 * then validates it. Returns SOOM_OK, or SOOM_EINVALID with the errors in
 * `arena`: values that cannot be coerced ("type") and the schema's own
 * errors. With either, *out is the object, owned by the caller
 * (soom_json_free; register it on the request arena). SOOM_EINVAL (and
 * *out NULL) for a NULL validator. */
SOOM_API int soom_validate_query(const struct soom_validator *v,
                                 const struct soom_validate_param *params, size_t n,
                                 struct soom_arena *arena, struct soom_json **out,
                                 struct soom_validate_error **errors, size_t *nerrors);

/* A "format" checker: true when (s, n) is valid. Called from any thread. */
typedef bool (*soom_validate_format_fn)(const char *s, size_t n, void *ud);

/* Adds the format `name` (a native module's): unlike the built-in ones it
 * is always asserted, whatever format_assertion says, since adding it is
 * asking for it. For start-up only, before any schema is compiled that
 * names it; never removed. Returns SOOM_OK, SOOM_ECONFLICT when the name is
 * taken (a built-in or an added format) or SOOM_EINVAL (empty name, or
 * more than 200 added formats). */
SOOM_API int soom_validate_add_format(const char *name, soom_validate_format_fn fn, void *ud);

/* Appends the JSON array [{"pointer","detail","code","source"}, ...] for the
 * errors; `source` is "body" or "query". */
SOOM_API void soom_validate_errors_json(const struct soom_validate_error *e, size_t n,
                                        const char *source, struct soom_buf *out);

#endif
