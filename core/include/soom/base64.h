/*
 * Base64 (RFC 4648): the standard alphabet with padding (bytea in JSON,
 * bytea from request bodies) and the URL-safe alphabet without padding
 * (pagination cursors). Stateless functions over caller-owned memory.
 */
#ifndef SOOM_BASE64_H
#define SOOM_BASE64_H

#include <stdbool.h>

#include "soom/buf.h"
#include "soom/soom.h"

/* Bytes the encoding of n bytes takes. */
SOOM_API size_t soom_base64_len(size_t n, bool url);

/* Writes the encoding of (p, n) at `w`, which has room for
 * soom_base64_len(n, url) bytes; returns the end. `url`: the URL-safe
 * alphabet, no padding; else the standard alphabet with padding. Encoding
 * in pieces is the same as encoding at once when every piece but the last
 * is a multiple of 3 bytes. */
SOOM_API char *soom_base64_write(char *w, const unsigned char *p, size_t n, bool url);

/* Appends the encoding of (p, n). */
SOOM_API void soom_base64_encode(const unsigned char *p, size_t n, bool url, struct soom_buf *out);

/* Decodes (p, n) into `out`, which has room for n * 3 / 4 + 1 bytes.
 * `strict_url`: only the URL-safe alphabet, no padding, no stray trailing
 * bits (one text per value, as a signed token needs); otherwise either
 * alphabet, padding optional. Returns false on anything else. */
SOOM_API bool soom_base64_decode(const char *p, size_t n, bool strict_url, unsigned char *out,
                                 size_t *outlen);

#endif
