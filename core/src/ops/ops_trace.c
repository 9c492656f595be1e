/*
 * W3C Trace Context (see ops_trace.h): parsing a traceparent strictly,
 * and drawing trace and span ids from a per-thread generator seeded by the
 * kernel (ids must be unique, not secret).
 */
#include "ops_trace.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hex.h"

static uint64_t next_random(void)
{
    static _Thread_local uint64_t s[2];
    if (s[0] == 0 && s[1] == 0) {
        if (getrandom(s, sizeof s, 0) != (ssize_t)sizeof s || (s[0] | s[1]) == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            s[0] = (uint64_t)ts.tv_nsec | 1;
            s[1] = (uint64_t)(uintptr_t)&s ^ (uint64_t)ts.tv_sec;
        }
    }
    uint64_t x = s[0];
    const uint64_t y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

/* `n` hex digits (a multiple of 16) of random, never all zero. */
static void random_hex(char *out, size_t n)
{
    uint64_t v;
    do {
        v = 0;
        for (size_t i = 0; i < n; i += 16) {
            uint64_t r = next_random();
            v |= r;
            for (int j = 7; j >= 0; j--, r >>= 8)
                hex_put_byte(out + i + 2 * j, (unsigned)(r & 0xff));
        }
    } while (v == 0);
    out[n] = '\0';
}

static bool lower_hex(const char *p, size_t n, bool *all_zero)
{
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        zero = zero && c == '0';
    }
    if (all_zero != NULL)
        *all_zero = zero;
    return true;
}

bool soom_trace_valid(const char *p, size_t len)
{
    bool zero;
    if (p == NULL || len < SOOM_TRACEPARENT_LEN || !lower_hex(p, 2, NULL))
        return false;
    if (memcmp(p, "ff", 2) == 0)
        return false;
    /* version 00 is exactly 55 characters; a later version may add fields
     * after a dash, which a 00 parser ignores */
    if (memcmp(p, "00", 2) == 0 ? len != SOOM_TRACEPARENT_LEN
                                : len > SOOM_TRACEPARENT_LEN && p[SOOM_TRACEPARENT_LEN] != '-')
        return false;
    if (p[2] != '-' || p[35] != '-' || p[52] != '-')
        return false;
    if (!lower_hex(p + 3, 32, &zero) || zero)
        return false;
    if (!lower_hex(p + 36, 16, &zero) || zero)
        return false;
    return lower_hex(p + 53, 2, NULL);
}

/* A tracestate worth passing on: printable, within the size a vendor must
 * accept. */
static bool state_ok(const char *p, size_t n)
{
    if (p == NULL || n == 0 || n > SOOM_TRACE_STATE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
            return false;
    }
    return true;
}

void soom_trace_begin(struct soom_trace *t, const char *traceparent, size_t len,
                      const char *tracestate, size_t state_len)
{
    random_hex(t->span_id, 16);
    t->state = NULL;
    t->state_len = 0;
    if (!soom_trace_valid(traceparent, len)) {
        random_hex(t->trace_id, 32);
        t->parent_id[0] = '\0';
        t->flags = 1;
        return;
    }
    memcpy(t->trace_id, traceparent + 3, 32);
    t->trace_id[32] = '\0';
    memcpy(t->parent_id, traceparent + 36, 16);
    t->parent_id[16] = '\0';
    t->flags = (uint8_t)(hex_value((unsigned char)traceparent[53]) << 4 |
                         hex_value((unsigned char)traceparent[54]));
    if (state_ok(tracestate, state_len)) {
        t->state = tracestate;
        t->state_len = state_len;
    }
}

void soom_trace_format(const struct soom_trace *t, char *out)
{
    memcpy(out, "00-", 3);
    memcpy(out + 3, t->trace_id, 32);
    out[35] = '-';
    memcpy(out + 36, t->span_id, 16);
    out[52] = '-';
    hex_put_byte(out + 53, t->flags);
    out[55] = '\0';
}
