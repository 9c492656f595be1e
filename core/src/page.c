/*
 * Signed cursors and keyset SQL (see soom/page.h). OpenSSL's libcrypto
 * provides HMAC-SHA256 and the constant-time comparison.
 */
#include "soom/page.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "soom/error.h"

#define CURSOR_VERSION 1
#define MAC_BYTES 16
#define HEADER_BYTES 6 /* version, direction, fingerprint */

/* ---- base64url ---------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void soom_base64url_encode(const unsigned char *p, size_t n, struct soom_buf *out)
{
    soom_buf_reserve(out, (n + 2) / 3 * 4);
    char *w = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *w++ = B64[v >> 18];
        *w++ = B64[(v >> 12) & 63];
        *w++ = B64[(v >> 6) & 63];
        *w++ = B64[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *w++ = B64[v >> 18];
        *w++ = B64[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *w++ = B64[v >> 18];
        *w++ = B64[(v >> 12) & 63];
        *w++ = B64[(v >> 6) & 63];
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool soom_base64url_decode(const char *p, size_t n, unsigned char *out, size_t *outlen)
{
    if (n % 4 == 1)
        return false;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(p[i]);
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
    if (acc != 0)
        return false; /* non-canonical trailing bits */
    *outlen = o;
    return true;
}

/* ---- keys and fingerprints ----------------------------------------------- */

bool soom_page_key(const char *secret, unsigned char *key)
{
    if (secret != NULL && *secret != '\0') {
        unsigned int len = SOOM_CURSOR_KEY_BYTES;
        EVP_Digest(secret, strlen(secret), key, &len, EVP_sha256(), NULL);
        return false;
    }
    if (getrandom(key, SOOM_CURSOR_KEY_BYTES, 0) != SOOM_CURSOR_KEY_BYTES) {
        /* getrandom cannot fail for 32 bytes once the pool is ready;
         * should it, a fixed key only weakens cursors, not data */
        memset(key, 0x5a, SOOM_CURSOR_KEY_BYTES);
    }
    return true;
}

uint32_t soom_page_fingerprint(const char *const *terms, size_t n)
{
    /* FNV-1a over the terms, separated: enough to tell orderings apart; the
     * HMAC, not this, is what stops forgery. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        for (const char *c = terms[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        h = (h ^ 0x1f) * 16777619u;
    }
    return h;
}

/* ---- cursors ------------------------------------------------------------- */

static void put_varint(struct soom_buf *b, size_t v)
{
    do {
        unsigned char byte = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            byte |= 0x80;
        soom_buf_putc(b, (char)byte);
    } while (v != 0);
}

static void mac(const unsigned char *key, size_t keylen, const unsigned char *p, size_t n,
                unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len);
}

void soom_cursor_encode(const struct soom_cursor *c, uint32_t fingerprint, const unsigned char *key,
                        size_t keylen, struct soom_buf *out)
{
    struct soom_buf raw;
    soom_buf_init(&raw);
    unsigned char head[HEADER_BYTES] = {CURSOR_VERSION,
                                        (unsigned char)c->direction,
                                        (unsigned char)(fingerprint >> 24),
                                        (unsigned char)(fingerprint >> 16),
                                        (unsigned char)(fingerprint >> 8),
                                        (unsigned char)fingerprint};
    soom_buf_append(&raw, head, sizeof head);
    for (size_t i = 0; i < c->nvalues; i++) {
        put_varint(&raw, c->lens[i]);
        soom_buf_append(&raw, c->values[i], c->lens[i]);
    }
    unsigned char digest[32];
    mac(key, keylen, (const unsigned char *)raw.data, raw.len, digest);
    soom_buf_append(&raw, digest, MAC_BYTES);
    soom_base64url_encode((const unsigned char *)raw.data, raw.len, out);
    soom_buf_cleanup(&raw);
}

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return SOOM_EBADREQ;
}

/* Reads the values after the header; returns false when they do not fill
 * the payload exactly. */
static bool read_values(const unsigned char *p, size_t n, size_t nkeys, struct soom_arena *a,
                        struct soom_cursor *out)
{
    size_t at = 0;
    for (size_t k = 0; k < nkeys; k++) {
        size_t len = 0;
        int shift = 0;
        for (;;) {
            if (at >= n || shift > 28)
                return false;
            unsigned char byte = p[at++];
            len |= (size_t)(byte & 0x7f) << shift;
            shift += 7;
            if (!(byte & 0x80))
                break;
        }
        if (len > n - at)
            return false;
        out->values[k] = soom_arena_strndup(a, (const char *)p + at, len);
        out->lens[k] = len;
        at += len;
    }
    out->nvalues = nkeys;
    return at == n;
}

int soom_cursor_decode(const char *text, size_t len, uint32_t fingerprint, size_t nkeys,
                       const unsigned char *key, size_t keylen, struct soom_arena *a,
                       struct soom_cursor *out, const char **why)
{
    if (len == 0 || len > 4096)
        return bad(why, "the cursor is empty or too long");
    unsigned char *raw = soom_arena_alloc(a, len * 3 / 4 + 1);
    size_t n;
    if (!soom_base64url_decode(text, len, raw, &n))
        return bad(why, "the cursor is not valid base64url");
    if (n < HEADER_BYTES + MAC_BYTES)
        return bad(why, "the cursor is truncated");
    unsigned char digest[32];
    mac(key, keylen, raw, n - MAC_BYTES, digest);
    if (CRYPTO_memcmp(digest, raw + n - MAC_BYTES, MAC_BYTES) != 0)
        return bad(why, "the cursor was altered or was not made by this service");
    if (raw[0] != CURSOR_VERSION)
        return bad(why, "the cursor has an unknown version");
    if (raw[1] != SOOM_CURSOR_NEXT && raw[1] != SOOM_CURSOR_PREV)
        return bad(why, "the cursor has an unknown direction");
    uint32_t fp = (uint32_t)raw[2] << 24 | (uint32_t)raw[3] << 16 | (uint32_t)raw[4] << 8 | raw[5];
    if (fp != fingerprint)
        return bad(why, "the cursor belongs to another listing or ordering");
    if (nkeys > SOOM_PAGE_MAX_KEYS ||
        !read_values(raw + HEADER_BYTES, n - HEADER_BYTES - MAC_BYTES, nkeys, a, out))
        return bad(why, "the cursor does not hold a position of this listing");
    out->direction = (enum soom_cursor_direction)raw[1];
    return SOOM_OK;
}

/* ---- keyset SQL ----------------------------------------------------------- */

static bool all_same(const bool *desc, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (desc[i] != desc[0])
            return false;
    }
    return true;
}

/* "a > $1" where the row must come after the position in column i */
static void after_term(struct soom_buf *sql, const char *col, bool desc, bool backward, int param)
{
    bool greater = desc == backward; /* ascending forward, or descending backward */
    soom_buf_printf(sql, "%s %c $%d", col, greater ? '>' : '<', param);
}

void soom_page_keyset_sql(struct soom_buf *sql, const char *const *columns, const bool *desc,
                          size_t n, bool backward, int first_param)
{
    if (all_same(desc, n)) {
        /* (a, b, id) > ($1, $2, $3): one comparison an index serves */
        soom_buf_putc(sql, '(');
        for (size_t i = 0; i < n; i++)
            soom_buf_printf(sql, "%s%s", i ? ", " : "", columns[i]);
        soom_buf_printf(sql, ") %c (", desc[0] == backward ? '>' : '<');
        for (size_t i = 0; i < n; i++)
            soom_buf_printf(sql, "%s$%d", i ? ", " : "", first_param + (int)i);
        soom_buf_putc(sql, ')');
        return;
    }
    /* a < $1 OR (a = $1 AND b > $2) OR (a = $1 AND b = $2 AND id > $3) */
    soom_buf_putc(sql, '(');
    for (size_t i = 0; i < n; i++) {
        soom_buf_puts(sql, i ? " OR (" : "(");
        for (size_t j = 0; j < i; j++)
            soom_buf_printf(sql, "%s = $%d AND ", columns[j], first_param + (int)j);
        after_term(sql, columns[i], desc[i], backward, first_param + (int)i);
        soom_buf_putc(sql, ')');
    }
    soom_buf_putc(sql, ')');
}

void soom_page_order_sql(struct soom_buf *sql, const char *const *columns, const bool *desc,
                         size_t n, bool backward)
{
    soom_buf_puts(sql, "ORDER BY ");
    for (size_t i = 0; i < n; i++)
        soom_buf_printf(sql, "%s%s %s", i ? ", " : "", columns[i],
                        desc[i] != backward ? "DESC" : "ASC");
}
