/*
 * Allocation that never returns NULL.
 *
 * Out of memory is not an error a request can recover from: like Redis and
 * H2O, the core logs one line and aborts, so callers never check for NULL
 * and NULL only ever means an expected miss.
 */
#ifndef SOOM_ALLOC_H
#define SOOM_ALLOC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void soom_oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    abort();
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        soom_oom(n);
    return p;
}

static inline void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        soom_oom(count * size);
    return p;
}

static inline void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n ? n : 1);
    if (p == NULL)
        soom_oom(n);
    return p;
}

static inline char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static inline char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

#endif
