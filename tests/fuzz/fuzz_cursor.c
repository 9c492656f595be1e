/*
 * Cursor decoding (core/src/plan/page.c). The first byte picks the number
 * of keys the decoder expects and a mode: decode the rest as cursor text as
 * a client sends it, or encode the rest's NUL-separated values as a cursor
 * and check that it decodes back to exactly those values, and that a
 * cursor with any one byte changed is refused.
 */
#include "fuzz.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/page.h"

#define FINGERPRINT 0x5eed

static struct soom_page_key *key;
static struct soom_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    bool random;
    key = soom_page_key_new("fuzzing secret", &random);
    arena = soom_arena_new(0);
    return 0;
}

static void round_trip(const uint8_t *data, size_t size, size_t nkeys)
{
    struct soom_page_cursor c = {.direction = size % 2 ? SOOM_PAGE_PREV : SOOM_PAGE_NEXT};
    const uint8_t *p = data, *end = data + size;
    while (c.nvalues < nkeys) {
        size_t head, tail;
        const uint8_t *next = fuzz_split(p, (size_t)(end - p), 0, &head, &tail);
        c.values[c.nvalues] = (const char *)p;
        c.lens[c.nvalues++] = head;
        p = next;
        if (p > end)
            p = end;
    }
    struct soom_buf b;
    soom_buf_init(&b);
    soom_page_cursor_encode(&c, FINGERPRINT, key, &b);
    struct soom_page_cursor d;
    const char *why = NULL;
    FUZZ_ASSERT(soom_page_cursor_decode(b.data, b.len, FINGERPRINT, nkeys, key, arena, &d, &why) ==
                SOOM_OK);
    FUZZ_ASSERT(d.direction == c.direction && d.nvalues == c.nvalues);
    for (size_t i = 0; i < c.nvalues; i++)
        FUZZ_ASSERT(d.lens[i] == c.lens[i] && memcmp(d.values[i], c.values[i], c.lens[i]) == 0);
    FUZZ_ASSERT(soom_page_cursor_decode(b.data, b.len, FINGERPRINT + 1, nkeys, key, arena, &d,
                                        &why) == SOOM_EBADREQ);
    if (b.len > 0) {
        size_t at = size % b.len;
        char was = b.data[at];
        b.data[at] = was == 'A' ? 'B' : 'A';
        int rc = soom_page_cursor_decode(b.data, b.len, FINGERPRINT, nkeys, key, arena, &d, &why);
        /* the last character may carry unused bits: changing only those
         * leaves the bytes the same */
        FUZZ_ASSERT(rc == SOOM_EBADREQ || at == b.len - 1);
    }
    soom_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t nkeys = 1 + (data[0] & 7) % SOOM_PAGE_MAX_KEYS;
    if (data[0] & 0x80) {
        round_trip(data + 1, size - 1, nkeys);
    } else {
        struct soom_page_cursor d;
        const char *why = NULL;
        int rc = soom_page_cursor_decode((const char *)data + 1, size - 1, FINGERPRINT, nkeys, key,
                                         arena, &d, &why);
        FUZZ_ASSERT(rc == SOOM_OK || (rc == SOOM_EBADREQ && why != NULL));
    }
    soom_arena_reset(arena);
    return 0;
}
