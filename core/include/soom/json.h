/*
 * JSON documents: parsing request bodies and writing JSON text.
 *
 * A parsed document is an opaque `struct soom_json` tree. It is owned by
 * whoever parsed it and freed with soom_json_free(); the request pipeline
 * registers that on the request's arena. Parsing is strict about what
 * reaches the application: the text must be JSON exactly as RFC 8259 writes
 * it (no leading zeros, no "2." or ".5", no raw control characters in
 * strings, no white space but space, tab, CR and LF), valid UTF-8 without
 * unpaired surrogates, nest no deeper than the given limit (checked before
 * the recursive parser runs, so a hostile body cannot overflow the stack),
 * and use each member name once per object (I-JSON, RFC 7493). Valid JSON
 * the core cannot take is refused apart (SOOM_EVALUE, a 422 naming the
 * value): a string holding \u0000, since strings cross into C, Lua and
 * PostgreSQL's text as C strings; a number beyond a double's range or
 * longer than 63 characters.
 *
 * A parsed number is a double; when the text has more than 15 digits or
 * an exponent of 100 or more, so that the double may not be exact, the
 * node also keeps the text (cJSON's `valuestring`, NULL otherwise), which
 * soom_json_print and the plans' parameters use: a bigint or numeric
 * column gets every digit.
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

/* Where and why a parse failed. `offset` is a byte offset into the text;
 * for SOOM_EVALUE and a duplicate member name, `pointer` is the JSON
 * pointer of the value ("" for the whole document; truncated when longer)
 * and `code` a short word for it ("nul", "range"), else NULL. */
struct soom_json_error {
    size_t offset;
    const char *reason; /* static string */
    const char *code;   /* static string or NULL */
    char pointer[256];
};

/* Checks that (p, n) is JSON text as RFC 8259 has it, in UTF-8, nesting at
 * most `max_depth` levels. Returns SOOM_OK, SOOM_EUTF8, SOOM_EDEPTH or
 * SOOM_EBADJSON, or SOOM_EVALUE for valid text holding \u0000 or a number
 * longer than 63 characters; on error fills `err` when not NULL. Does not
 * build a tree, so duplicate names and a number's range are not checked. */
SOOM_API int soom_json_check(const char *p, size_t n, int max_depth, struct soom_json_error *err);

/* Parses (p, n). On SOOM_OK, *out is a tree owned by the caller
 * (soom_json_free). Errors as soom_json_check(), plus SOOM_EBADJSON (with a
 * pointer) for a member name used twice in an object, SOOM_EVALUE for a
 * number beyond a double's range. */
SOOM_API int soom_json_parse(const char *p, size_t n, int max_depth, struct soom_json **out,
                             struct soom_json_error *err);

/* SOOM_OK, or SOOM_EVALUE (err's pointer naming it) when the document
 * holds an integer (written without fraction or exponent) beyond 2^53 in
 * magnitude, which a double, and so a Lua number, would round. For the
 * paths that cannot carry its text. Accepts NULL. */
SOOM_API int soom_json_check_exact(const struct soom_json *doc, struct soom_json_error *err);

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
