/*
 * Pagination primitives: opaque sealed cursors and keyset SQL.
 *
 * A cursor is a position in an ordering: the text forms of the ordering
 * columns' values in one row (the primary key last, so positions are
 * unique), and a direction. On the wire it is base64url of
 *
 *   version (1) | nonce (12) | sealed direction and values | tag (16)
 *
 * sealed with ChaCha20-Poly1305 (an AEAD: encrypted and authenticated)
 * under a key derived from settings.secret_key, with a random nonce per
 * cursor. The associated data is the version and the listing's
 * fingerprint (the resource's route, table and ordering), so a cursor
 * opens only on the listing that made it, and a client can neither read
 * the position (values of fields the resource may not expose) nor forge
 * or alter one. Keys rotate as Django's SECRET_KEY_FALLBACKS: cursors are
 * sealed with the current key and opened with it or any fallback.
 * Decoding refuses any malformed, truncated, tampered or foreign cursor
 * with SOOM_EBADREQ and a reason.
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

/* The fingerprint of a listing, given as its terms (the route, the table,
 * then the ordering: "-score", "id"). */
SOOM_API uint32_t soom_page_fingerprint(const char *const *terms, size_t n);

/* The keys cursors are sealed and opened with: made once (a plan makes
 * its own at start-up), then shared by every thread. From `secret`
 * (settings.secret_key) or, when it is empty, random bytes (cursors then
 * live as long as the process tree: set secret_key in production; *random
 * says which). Freed with soom_page_key_free(), which accepts NULL. */
struct soom_page_key;
SOOM_API struct soom_page_key *soom_page_key_new(const char *secret, bool *random);

/* Adds the secrets of `list` (settings.secret_key_fallbacks: separated by
 * whitespace; NULL or "" adds none) as keys that open cursors but never
 * seal them. Returns SOOM_OK, or SOOM_EINVAL past 7 fallbacks. */
SOOM_API int soom_page_key_fallbacks(struct soom_page_key *key, const char *list);
SOOM_API void soom_page_key_free(struct soom_page_key *key);

/* Appends the cursor, sealed for the listing `fingerprint`, as base64url text. */
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
