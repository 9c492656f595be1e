/*
 * A fast 64-bit hash of bytes, not a cryptographic one: FNV-1a's step over
 * 8-byte words (then the tail a byte at a time), each step a bijection of
 * the state, so one changed word always changes the result. For cache
 * buckets (seeded per process) and entity tags of static bytes.
 */
#ifndef SOOM_HASH_H
#define SOOM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t soom_hash_bytes(const char *p, size_t n, uint64_t seed)
{
    uint64_t h = 14695981039346656037ULL ^ seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 1099511628211ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
}

#endif
