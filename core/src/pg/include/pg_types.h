/*
 * PostgreSQL values in their text form, private to the core: which type
 * OIDs the core knows, and the conversions that the JSON writer
 * (pg_json.c) and the Lua rows (lua_pg.c) share: ISO 8601 timestamps,
 * bytea, and a walker over array literals. Nothing here allocates except
 * the scratch buffer the array walker is handed, and nothing includes
 * libpq.
 */
#ifndef SOOM_PG_TYPES_H
#define SOOM_PG_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "soom/buf.h"

/* The built-in type OIDs (fixed by PostgreSQL: src/include/catalog/pg_type.dat). */
#define PG_OID_BOOL 16
#define PG_OID_BYTEA 17
#define PG_OID_CHAR 18
#define PG_OID_NAME 19
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_OID 26
#define PG_OID_JSON 114
#define PG_OID_FLOAT4 700
#define PG_OID_FLOAT8 701
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043
#define PG_OID_DATE 1082
#define PG_OID_TIME 1083
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_NUMERIC 1700
#define PG_OID_UUID 2950
#define PG_OID_JSONB 3802

/* How a value is written out. */
enum pg_kind {
    PG_KIND_STRING, /* text, varchar, uuid, date, and any type not listed */
    PG_KIND_INT,    /* int2, int4, oid: always exact in a double */
    PG_KIND_INT8,
    PG_KIND_FLOAT,
    PG_KIND_NUMERIC,
    PG_KIND_BOOL,
    PG_KIND_JSON, /* json, jsonb */
    PG_KIND_BYTEA,
    PG_KIND_TIMESTAMPTZ,
    PG_KIND_TIMESTAMP,
    PG_KIND_ARRAY,
};

/* The kind of a type; for an array type, PG_KIND_ARRAY and the element
 * type in *elem (when elem is not NULL). */
enum pg_kind pg_type_kind(unsigned oid, unsigned *elem);

/* Longest ISO text pg_iso_timestamp() makes from n bytes. */
#define PG_ISO_EXTRA 4

/* Rewrites PostgreSQL's ISO timestamp text ("2026-11-29 02:13:31.5+00")
 * as ISO 8601 ("2026-11-29T02:13:31.5+00:00") into `out` (n +
 * PG_ISO_EXTRA bytes). `tz`: the value has an offset to complete. Text it
 * does not recognise (infinity, a BC date) is copied unchanged. Returns
 * the length written. */
size_t pg_iso_timestamp(const char *p, size_t n, bool tz, char *out);

/* Decodes bytea text output (hex "\x..." or the old escape format) into
 * `out` (at least n bytes). Returns the number of bytes. */
size_t pg_bytea_decode(const char *p, size_t n, char *out);

/* Appends bytea text output as a JSON string of standard base64. */
void pg_bytea_write_base64(struct soom_buf *out, const char *p, size_t n);

/* Called by pg_array_walk for each level and element, in order. An
 * element's text is unquoted and unescaped, valid only during the call. */
struct pg_array_visitor {
    void (*begin)(void *ud);
    void (*end)(void *ud);
    void (*element)(void *ud, const char *p, size_t n, bool isnull);
};

/* Walks an array literal ("{1,2}", "{{a,\"b c\"},{NULL,d}}", optionally
 * prefixed with dimensions "[0:1]="), using `scratch` for elements that
 * need unescaping. Returns 0, or -1 when the text is malformed (visits up
 * to there). */
int pg_array_walk(const char *p, size_t n, const struct pg_array_visitor *v, void *ud,
                  struct soom_buf *scratch);

#endif
