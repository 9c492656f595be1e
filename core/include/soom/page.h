/*
 * Pagination primitives: opaque signed cursors and keyset SQL.
 *
 * A cursor is a position in an ordering: the text forms of the ordering
 * columns' values in one row (the primary key last, so positions are
 * unique), and a direction. On the wire it is base64url of
 *
 *   version (1) | direction (1) | fingerprint (4) | values | HMAC (16)
 *
 * where each value is a varint length and its bytes, the fingerprint
 * identifies the ordering it was made under (a cursor of another resource
 * or ordering is refused), and the HMAC-SHA256, truncated to 16 bytes and
 * keyed by settings.secret_key, covers everything before it: a client can
 * neither forge nor alter a position. Decoding refuses any malformed,
 * truncated, tampered or foreign cursor with SOOM_EBADREQ and a reason.
 *
 * The keyset condition selects the rows strictly after (or before) a
 * position: a row comparison `(a, b) > ($1, $2)` when every column sorts
 * the same way, which an index on (a, b) serves directly, or the equivalent
 * OR form for mixed directions: `a < $1 OR (a = $1 AND b > $2)`.
 */
#ifndef SOOM_PAGE_H
#define SOOM_PAGE_H

#include <stdbool.h>

#include "soom/arena.h"
#include "soom/buf.h"
#include "soom/soom.h"

#define SOOM_PAGE_MAX_KEYS 8

enum soom_page_direction {
    SOOM_PAGE_NEXT = 0, /* the page after the position */
    SOOM_PAGE_PREV = 1, /* the page before it */
};

struct soom_page_cursor {
    enum soom_page_direction direction;
    size_t nvalues;
    const char *values[SOOM_PAGE_MAX_KEYS]; /* text forms; never NULL */
    size_t lens[SOOM_PAGE_MAX_KEYS];
};

/* The fingerprint of an ordering, given as its terms ("-score", "id"). */
SOOM_API uint32_t soom_page_fingerprint(const char *const *terms, size_t n);

/* The key cursors are signed with, ready to sign: made once (a plan makes
 * one at start-up), then shared by every thread. From `secret`
 * (settings.secret_key) or, when it is empty, random bytes (cursors then
 * live as long as the process tree: set secret_key in production; *random
 * says which). Freed with soom_page_key_free(), which accepts NULL. */
struct soom_page_key;
SOOM_API struct soom_page_key *soom_page_key_new(const char *secret, bool *random);
SOOM_API void soom_page_key_free(struct soom_page_key *key);

/* Appends the cursor as base64url text. */
SOOM_API void soom_page_cursor_encode(const struct soom_page_cursor *c, uint32_t fingerprint,
                                      const struct soom_page_key *key, struct soom_buf *out);

/* Decodes cursor text made under `fingerprint` with `nkeys` values.
 * Returns SOOM_OK with `out` filled (values allocated in `a`), or
 * SOOM_EBADREQ with a static reason in *why. */
SOOM_API int soom_page_cursor_decode(const char *text, size_t len, uint32_t fingerprint,
                                     size_t nkeys, const struct soom_page_key *key,
                                     struct soom_arena *a, struct soom_page_cursor *out,
                                     const char **why);

/* Appends the condition selecting rows after the position (`backward`
 * false) or before it (true), over `n` quoted column names sorted
 * descending where desc[i]; the position's values are parameters
 * $first_param.. $first_param + n - 1. */
SOOM_API void soom_page_keyset_sql(struct soom_buf *sql, const char *const *columns,
                                   const bool *desc, size_t n, bool backward, int first_param);

/* Appends "ORDER BY ..." for the columns, every direction flipped when
 * `backward` (the page before a position is read in reverse, then turned
 * around). */
SOOM_API void soom_page_order_sql(struct soom_buf *sql, const char *const *columns,
                                  const bool *desc, size_t n, bool backward);

#endif
