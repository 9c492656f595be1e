/*
 * Signed cursors and keyset SQL (see soom/page.h). OpenSSL's libcrypto
 * provides HMAC-SHA256 and the constant-time comparison.
 */
#include "soom/page.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "soom/base64.h"
#include "soom/error.h"

#define CURSOR_VERSION 1
#define MAC_BYTES 16
#define HEADER_BYTES 6 /* version, direction, fingerprint */

/* ---- keys and fingerprints ----------------------------------------------- */

/* HMAC-SHA256 with the key's inner and outer hash states computed once:
 * signing then costs two short SHA-256 runs, where OpenSSL's one-shot
 * HMAC() sets up (and looks up) everything per call, several times the
 * cost of the rest of a cursor. */
struct soom_page_key {
    EVP_MD *md;
    EVP_MD_CTX *inner, *outer; /* states after the padded key; only copied */
};

#define KEY_BYTES 32
#define BLOCK 64

struct soom_page_key *soom_page_key_new(const char *secret, bool *random)
{
    unsigned char key[KEY_BYTES];
    bool rnd = secret == NULL || *secret == '\0';
    if (!rnd) {
        unsigned int len = KEY_BYTES;
        EVP_Digest(secret, strlen(secret), key, &len, EVP_sha256(), NULL);
    } else if (getrandom(key, KEY_BYTES, 0) != KEY_BYTES) {
        /* cannot fail for 32 bytes once the pool is ready; should it, a
         * fixed key only weakens cursors, not data */
        memset(key, 0x5a, KEY_BYTES);
    }
    if (random != NULL)
        *random = rnd;
    struct soom_page_key *k = xcalloc(1, sizeof *k);
    k->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    if (k->md == NULL || k->inner == NULL || k->outer == NULL)
        soom_oom(sizeof *k);
    unsigned char ipad[BLOCK], opad[BLOCK];
    for (int i = 0; i < BLOCK; i++) {
        unsigned char b = i < KEY_BYTES ? key[i] : 0;
        ipad[i] = b ^ 0x36;
        opad[i] = b ^ 0x5c;
    }
    EVP_DigestInit_ex(k->inner, k->md, NULL);
    EVP_DigestUpdate(k->inner, ipad, BLOCK);
    EVP_DigestInit_ex(k->outer, k->md, NULL);
    EVP_DigestUpdate(k->outer, opad, BLOCK);
    return k;
}

void soom_page_key_free(struct soom_page_key *k)
{
    if (k == NULL)
        return;
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    EVP_MD_free(k->md);
    free(k);
}

static void mac(const struct soom_page_key *k, const unsigned char *p, size_t n,
                unsigned char out[32])
{
    unsigned char inner[32];
    unsigned int len;
    EVP_MD_CTX *t = EVP_MD_CTX_new();
    if (t == NULL)
        soom_oom(0);
    EVP_MD_CTX_copy_ex(t, k->inner);
    EVP_DigestUpdate(t, p, n);
    EVP_DigestFinal_ex(t, inner, &len);
    EVP_MD_CTX_copy_ex(t, k->outer);
    EVP_DigestUpdate(t, inner, sizeof inner);
    EVP_DigestFinal_ex(t, out, &len);
    EVP_MD_CTX_free(t);
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

void soom_page_cursor_encode(const struct soom_page_cursor *c, uint32_t fingerprint,
                             const struct soom_page_key *key, struct soom_buf *out)
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
    mac(key, (const unsigned char *)raw.data, raw.len, digest);
    soom_buf_append(&raw, digest, MAC_BYTES);
    soom_base64_encode((const unsigned char *)raw.data, raw.len, true, out);
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
                        struct soom_page_cursor *out)
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

int soom_page_cursor_decode(const char *text, size_t len, uint32_t fingerprint, size_t nkeys,
                            const struct soom_page_key *key, struct soom_arena *a,
                            struct soom_page_cursor *out, const char **why)
{
    if (len == 0 || len > 4096)
        return bad(why, "the cursor is empty or too long");
    unsigned char *raw = soom_arena_alloc(a, len * 3 / 4 + 1);
    size_t n;
    if (!soom_base64_decode(text, len, true, raw, &n))
        return bad(why, "the cursor is not valid base64url");
    if (n < HEADER_BYTES + MAC_BYTES)
        return bad(why, "the cursor is truncated");
    unsigned char digest[32];
    mac(key, raw, n - MAC_BYTES, digest);
    if (CRYPTO_memcmp(digest, raw + n - MAC_BYTES, MAC_BYTES) != 0)
        return bad(why, "the cursor was altered or was not made by this service");
    if (raw[0] != CURSOR_VERSION)
        return bad(why, "the cursor has an unknown version");
    if (raw[1] != SOOM_PAGE_NEXT && raw[1] != SOOM_PAGE_PREV)
        return bad(why, "the cursor has an unknown direction");
    uint32_t fp = (uint32_t)raw[2] << 24 | (uint32_t)raw[3] << 16 | (uint32_t)raw[4] << 8 | raw[5];
    if (fp != fingerprint)
        return bad(why, "the cursor belongs to another listing or ordering");
    if (nkeys > SOOM_PAGE_MAX_KEYS ||
        !read_values(raw + HEADER_BYTES, n - HEADER_BYTES - MAC_BYTES, nkeys, a, out))
        return bad(why, "the cursor does not hold a position of this listing");
    out->direction = (enum soom_page_direction)raw[1];
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
