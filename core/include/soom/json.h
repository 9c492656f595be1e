/*
 * JSON documents: parsing request bodies and writing JSON text.
 *
 * A parsed document is an opaque `struct soom_json` tree. It is owned by
 * whoever parsed it and freed with soom_json_free(); the request pipeline
 * registers that on the request's arena. Parsing is strict about what
 * reaches the application: the text must be valid UTF-8, nest no deeper than
 * the given limit (checked before the recursive parser runs, so a hostile
 * body cannot overflow the stack) and hold no NUL character in a string,
 * since strings cross into C and Lua byte-exact.
 *
 * The writers append JSON text to a soom_buf; they are what every JSON
 * producer in the core (Lua tables, problem documents, log lines, database
 * rows) uses, so escaping and number formatting are the same everywhere.
 */
#ifndef SOOM_JSON_H
#define SOOM_JSON_H

#include <stdbool.h>

#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/soom.h"

#define SOOM_JSON_MAX_DEPTH 64

struct soom_json;

/* Where and why a parse failed. `offset` is a byte offset into the text. */
struct soom_json_error {
    size_t offset;
    const char *reason; /* static string */
};

/* Checks that (p, n) is UTF-8, nests at most `max_depth` levels and has no
 * \u0000 escape. Returns SOOM_OK, SOOM_EUTF8, SOOM_EDEPTH or SOOM_EBADJSON;
 * on error fills `err` when not NULL. Does not check the grammar. */
SOOM_API int soom_json_check(const char *p, size_t n, int max_depth, struct soom_json_error *err);

/* Parses (p, n) after soom_json_check(). On SOOM_OK, *out is a tree owned by
 * the caller (soom_json_free). Errors as soom_json_check(), plus
 * SOOM_EBADJSON for a grammar error or trailing bytes. */
SOOM_API int soom_json_parse(const char *p, size_t n, int max_depth, struct soom_json **out,
                             struct soom_json_error *err);

/* Frees a parsed document. Accepts NULL. */
SOOM_API void soom_json_free(struct soom_json *doc);

/* Appends the document as compact JSON text, every number exact. */
SOOM_API void soom_json_print(const struct soom_json *doc, struct soom_buf *out);

/* Frees `doc` when the arena is reset or freed. */
SOOM_API void soom_json_defer(struct soom_arena *a, struct soom_json *doc);

/* Appends (p, n) as a quoted JSON string, escaping quotes, backslashes and
 * control characters; other bytes are copied as they are. */
SOOM_API void soom_json_write_string(struct soom_buf *out, const char *p, size_t n);

/* Appends a number: integral values up to 2^53 as integers, others in the
 * shortest form that reads back to the same double. Returns SOOM_EINVAL for
 * NaN and infinities, which JSON cannot represent, writing nothing. */
SOOM_API int soom_json_write_number(struct soom_buf *out, double d);

/* Appends a signed integer. */
SOOM_API void soom_json_write_int(struct soom_buf *out, int64_t v);

/* Appends one member of a problem document's "errors" array,
 * {"pointer":...,"detail":...,"code":...,"source":...} (no "source" when
 * it is NULL). The one writer of field errors: the validator's, the
 * plans' and the database's go through it. */
SOOM_API void soom_json_write_field_error(struct soom_buf *out, const char *pointer,
                                          const char *detail, const char *code, const char *source);

/* True when (p, n) is valid UTF-8 (no overlongs, no surrogates). */
SOOM_API bool soom_json_utf8_valid(const char *p, size_t n);

#endif
