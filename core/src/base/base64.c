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

static int value_of(char c, bool strict_url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || (c == '+' && !strict_url))
        return 62;
    if (c == '_' || (c == '/' && !strict_url))
        return 63;
    return -1;
}

bool soom_base64_decode(const char *p, size_t n, bool strict_url, unsigned char *out,
                        size_t *outlen)
{
    if (!strict_url) {
        while (n > 0 && p[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1)
        return false;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value_of(p[i], strict_url);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (strict_url && acc != 0)
        return false; /* stray trailing bits: not the canonical text */
    *outlen = o;
    return true;
}
