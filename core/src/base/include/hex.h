/*
 * Hexadecimal digits, for the places that read or write them (bytea text,
 * percent-escapes, \u escapes, digests), and the UUID text form they make
 * up.
 */
#ifndef SOOM_HEX_H
#define SOOM_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The value of a hex digit, or -1. */
static inline int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The digit of `v` (0..15): lower case, or upper case (percent-escapes,
 * as RFC 3986 recommends). */
static inline char hex_digit(unsigned v, bool upper)
{
    return (upper ? "0123456789ABCDEF" : "0123456789abcdef")[v & 15];
}

/* Two lower-case hex digits for each byte value (hex.c): ids and trace
 * context are written a byte at a time, half the lookups and shifts of a
 * digit at a time. */
extern const char soom_hex_pairs[513];

/* Writes the two lower-case digits of the byte `b` at `out` (no NUL). */
static inline void hex_put_byte(char *out, unsigned b)
{
    memcpy(out, soom_hex_pairs + 2 * (b & 0xff), 2);
}

/* True for the 8-4-4-4-12 hex digits of a UUID, in either case. */
static inline bool hex_is_uuid(const char *p, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : hex_value((unsigned char)p[i]) < 0)
            return false;
    }
    return true;
}

#endif
