/*
 * A per-request memory arena with a defer list.
 *
 * Every request owns one arena, created when its headers arrive and freed
 * whole when the server reports the request complete. Everything the request
 * needs for its lifetime (parsed parameters, header copies, SQL text, JSON
 * output, error detail) is carved from it with a pointer bump, so the
 * request path does not call malloc per object and cannot leak.
 *
 * Resources that are not memory (a parsed document, a pooled database
 * connection, a coroutine reference) are registered with soom_arena_defer():
 * the callbacks run in reverse order of registration when the arena is reset
 * or freed, so an early error return cannot leak them.
 *
 * An arena belongs to one thread at a time; it is not locked.
 */
#ifndef SOOM_ARENA_H
#define SOOM_ARENA_H

#include "soom/soom.h"

struct soom_arena;

typedef void (*soom_defer_fn)(void *data);

/* A new arena whose first block holds at least `size` bytes (0: a default).
 * Owned by the caller; freed with soom_arena_free(). */
SOOM_API struct soom_arena *soom_arena_new(size_t size);

/* Runs the deferred callbacks, newest first, then frees every block.
 * Accepts NULL. */
SOOM_API void soom_arena_free(struct soom_arena *a);

/* Runs the deferred callbacks and forgets every allocation, keeping the first
 * block for reuse. */
SOOM_API void soom_arena_reset(struct soom_arena *a);

/* `n` bytes aligned for any type, valid until the arena is reset or freed.
 * Never NULL. */
SOOM_API void *soom_arena_alloc(struct soom_arena *a, size_t n);

/* Like soom_arena_alloc(), zeroed. */
SOOM_API void *soom_arena_calloc(struct soom_arena *a, size_t n);

/* A NUL-terminated copy of (s, n) in the arena. */
SOOM_API char *soom_arena_strndup(struct soom_arena *a, const char *s, size_t n);

/* A printf-formatted string in the arena. */
SOOM_API char *soom_arena_printf(struct soom_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Calls fn(data) when the arena is reset or freed, after every callback
 * registered later than this one. */
SOOM_API void soom_arena_defer(struct soom_arena *a, soom_defer_fn fn, void *data);

/* Total bytes handed out since the last reset (for tests and metrics). */
SOOM_API size_t soom_arena_used(const struct soom_arena *a);

#endif
