/*
 * Base64 encoding and decoding (see soom/base64.h).
 */
#include "soom/base64.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t soom_base64_len(size_t n, bool url)
{
    return url ? n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) : (n + 2) / 3 * 4;
}

char *soom_base64_write(char *w, const unsigned char *p, size_t n, bool url)
{
    const char *a = url ? URL : STD;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *w++ = a[v >> 18];
        *w++ = a[(v >> 12) & 63];
        *w++ = a[(v >> 6) & 63];
        *w++ = a[v & 63];
    }
    if (i == n)
        return w;
    unsigned v = (unsigned)p[i] << 16 | (n - i == 2 ? (unsigned)p[i + 1] << 8 : 0);
    *w++ = a[v >> 18];
    *w++ = a[(v >> 12) & 63];
    if (n - i == 2)
        *w++ = a[(v >> 6) & 63];
    else if (!url)
        *w++ = '=';
    if (!url)
        *w++ = '=';
    return w;
}

void soom_base64_encode(const unsigned char *p, size_t n, bool url, struct soom_buf *out)
{
    soom_buf_reserve(out, soom_base64_len(n, url));
    char *w = soom_base64_write(out->data + out->len, p, n, url);
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

/* The value of each character in the URL-safe alphabet; 255 for any other
 * byte. DEC_ANY reads the standard alphabet's + and / as well. */
/* clang-format off */
static const unsigned char DEC_URL[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

static const unsigned char DEC_ANY[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255,  62, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
/* clang-format on */

/* Four characters at a time through a table: tokens and cursors are
 * decoded on the request path. */
bool soom_base64_decode(const char *p, size_t n, bool strict_url, unsigned char *out,
                        size_t *outlen)
{
    const unsigned char *t = strict_url ? DEC_URL : DEC_ANY;
    const unsigned char *s = (const unsigned char *)p;
    if (!strict_url) {
        while (n > 0 && s[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return false;
    size_t i = 0, o = 0;
    for (; i + 4 <= n; i += 4) {
        unsigned a = t[s[i]], b = t[s[i + 1]], c = t[s[i + 2]], d = t[s[i + 3]];
        if ((a | b | c | d) & 0x80)
            return false;
        unsigned v = a << 18 | b << 12 | c << 6 | d;
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    unsigned stray = 0;
    if (n - i >= 2) {
        unsigned a = t[s[i]], b = t[s[i + 1]], c = n - i == 3 ? t[s[i + 2]] : 0;
        if ((a | b | c) & 0x80)
            return false;
        if (n - i == 2) {
            out[o++] = (unsigned char)((a << 2) | (b >> 4));
            stray = b & 15;
        } else {
            unsigned v = a << 12 | b << 6 | c;
            out[o++] = (unsigned char)(v >> 10);
            out[o++] = (unsigned char)(v >> 2);
            stray = c & 3;
        }
    }
    if (strict_url && stray != 0)
        return false; /* stray trailing bits: not the canonical text */
    *outlen = o;
    return true;
}
