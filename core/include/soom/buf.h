/*
 * A growable byte buffer.
 *
 * A small value object: the caller owns the struct (on the stack, in another
 * struct) and calls soom_buf_init() / soom_buf_cleanup(). The bytes are
 * malloc'ed so they can be handed on with soom_buf_detach(), for instance to
 * the HTTP layer as a response body without a copy. The data is always
 * NUL-terminated past `len` once anything was written, so it can be used as
 * a C string when it holds no NUL itself.
 */
#ifndef SOOM_BUF_H
#define SOOM_BUF_H

#include <string.h>

#include "soom/soom.h"

struct soom_buf {
    char *data;
    size_t len;
    size_t cap;
};

SOOM_API void soom_buf_init(struct soom_buf *b);

/* Frees the bytes (unless detached). Accepts a zeroed or cleaned-up buffer. */
SOOM_API void soom_buf_cleanup(struct soom_buf *b);

/* Makes room for `n` more bytes (plus the terminating NUL). */
SOOM_API void soom_buf_grow(struct soom_buf *b, size_t n);

/* Appends printf-formatted text. */
SOOM_API void soom_buf_printf(struct soom_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands the bytes to the caller (free() them); the buffer is empty after. */
SOOM_API char *soom_buf_detach(struct soom_buf *b, size_t *len);

static inline void soom_buf_reserve(struct soom_buf *b, size_t n)
{
    if (b->cap - b->len <= n)
        soom_buf_grow(b, n);
}

static inline void soom_buf_append(struct soom_buf *b, const void *p, size_t n)
{
    soom_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void soom_buf_putc(struct soom_buf *b, char c)
{
    soom_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

static inline void soom_buf_puts(struct soom_buf *b, const char *s)
{
    soom_buf_append(b, s, strlen(s));
}

/* Drops the contents, keeping the allocation. */
static inline void soom_buf_clear(struct soom_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

#endif
