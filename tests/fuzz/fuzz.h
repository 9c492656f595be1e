/*
 * What every libFuzzer harness of tests/fuzz/ shares. A harness is one file,
 * fuzz_<target>.c, defining LLVMFuzzerTestOneInput (and, when it builds
 * something once, LLVMFuzzerInitialize); tests/fuzz/CMakeLists.txt lists the
 * targets, and tests/fuzz/<target>/ holds its seed corpus. A finding is an
 * abort: a sanitizer report, or FUZZ_ASSERT on a property the harness checks.
 */
#ifndef SOOM_FUZZ_H
#define SOOM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Splits the input at its first byte `sep`: the head is [data, *head_len),
 * the tail what follows the separator (empty when there is none). */
static inline const uint8_t *fuzz_split(const uint8_t *data, size_t size, uint8_t sep,
                                        size_t *head_len, size_t *tail_len)
{
    const uint8_t *at = memchr(data, sep, size);
    if (at == NULL) {
        *head_len = size;
        *tail_len = 0;
        return data + size;
    }
    *head_len = (size_t)(at - data);
    *tail_len = size - *head_len - 1;
    return at + 1;
}

#endif
