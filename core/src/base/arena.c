/*
 * The per-request arena: a chain of blocks carved by pointer bumps, plus a
 * defer list kept in the arena itself.
 *
 * The first block is allocated together with the arena header and survives
 * soom_arena_reset(); later blocks grow geometrically so a large request
 * costs O(log n) mallocs. Allocations larger than half a block get a block
 * of their own so they do not waste the tail of the current one.
 */
#include "soom/arena.h"

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"

#define ARENA_DEFAULT 4096
#define ARENA_ALIGN 16

struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct defer {
    struct defer *next;
    soom_defer_fn fn;
    void *data;
};

struct soom_arena {
    struct block *head;  /* current block, newest first */
    struct block *first; /* the block allocated with the arena */
    struct defer *defers;
    size_t total;
    size_t next_size;
};

static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

struct soom_arena *soom_arena_new(size_t size)
{
    if (size == 0)
        size = ARENA_DEFAULT;
    size = align_up(size);
    struct soom_arena *a = xmalloc(sizeof *a);
    struct block *b = xmalloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    a->head = a->first = b;
    a->defers = NULL;
    a->total = 0;
    a->next_size = size * 2;
    return a;
}

static void run_defers(struct soom_arena *a)
{
    /* A callback may itself defer more work: keep draining. */
    while (a->defers != NULL) {
        struct defer *d = a->defers;
        a->defers = d->next;
        d->fn(d->data);
    }
}

static void free_blocks_after_first(struct soom_arena *a)
{
    struct block *b = a->head;
    while (b != a->first) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    a->head = a->first;
    a->first->used = 0;
}

void soom_arena_reset(struct soom_arena *a)
{
    run_defers(a);
    free_blocks_after_first(a);
    a->total = 0;
    /* growth restarts: a reused arena must not inherit the doubling of a
     * large request before it */
    a->next_size = a->first->size * 2;
}

void soom_arena_free(struct soom_arena *a)
{
    if (a == NULL)
        return;
    soom_arena_reset(a);
    free(a->first);
    free(a);
}

static struct block *arena_grow(struct soom_arena *a, size_t need)
{
    size_t size = a->next_size;
    if (need > size / 2) {
        /* A big allocation gets its own block, placed behind the current
         * one so the current block's free tail stays in use. */
        struct block *b = xmalloc(sizeof *b + need);
        b->size = need;
        b->used = 0;
        if (a->head == a->first) {
            /* Never put a block behind the first: reset relies on it. */
            b->next = a->head;
            a->head = b;
        } else {
            b->next = a->head->next;
            a->head->next = b;
        }
        return b;
    }
    struct block *b = xmalloc(sizeof *b + size);
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->next_size = size * 2;
    return b;
}

void *soom_arena_alloc(struct soom_arena *a, size_t n)
{
    n = align_up(n ? n : 1);
    struct block *b = a->head;
    if (b->size - b->used < n)
        b = arena_grow(a, n);
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *soom_arena_calloc(struct soom_arena *a, size_t n)
{
    void *p = soom_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *soom_arena_strndup(struct soom_arena *a, const char *s, size_t n)
{
    char *p = soom_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *soom_arena_printf(struct soom_arena *a, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return soom_arena_strndup(a, "", 0);
    if ((size_t)n < sizeof small)
        return soom_arena_strndup(a, small, (size_t)n);
    char *p = soom_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void soom_arena_defer(struct soom_arena *a, soom_defer_fn fn, void *data)
{
    struct defer *d = soom_arena_alloc(a, sizeof *d);
    d->fn = fn;
    d->data = data;
    d->next = a->defers;
    a->defers = d;
}

size_t soom_arena_used(const struct soom_arena *a)
{
    return a->total;
}
