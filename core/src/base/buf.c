/*
 * The growable byte buffer of soom/buf.h. Capacity doubles, so appending n
 * bytes one at a time costs O(n) copies overall.
 */
#include "soom/buf.h"

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"

void soom_buf_init(struct soom_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void soom_buf_cleanup(struct soom_buf *b)
{
    free(b->data);
    soom_buf_init(b);
}

void soom_buf_grow(struct soom_buf *b, size_t n)
{
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0';
}

void soom_buf_printf(struct soom_buf *b, const char *fmt, ...)
{
    va_list ap;
    soom_buf_reserve(b, 64);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        soom_buf_grow(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

char *soom_buf_detach(struct soom_buf *b, size_t *len)
{
    if (b->data == NULL)
        soom_buf_reserve(b, 0);
    char *p = b->data;
    if (len != NULL)
        *len = b->len;
    soom_buf_init(b);
    return p;
}
