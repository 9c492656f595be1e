/*
 * Sealed cursors and keyset SQL (see soom/page.h). OpenSSL's libcrypto
 * provides ChaCha20-Poly1305, HMAC-SHA256 (deriving the keys) and the
 * random nonces.
 */
#include "soom/page.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "soom/base64.h"
#include "soom/error.h"

#define CURSOR_VERSION 2
#define NONCE_BYTES 12
#define TAG_BYTES 16
#define KEY_BYTES 32
#define MAX_KEYS 8  /* the secret and up to seven fallbacks */
#define AAD_BYTES 5 /* version, fingerprint */

/* ---- keys and fingerprints ----------------------------------------------- */

/* A cursor key is derived from the secret, not the secret itself: the same
 * secret_key also signs JWTs (simplejwt's default), and a key used by two
 * algorithms is a key neither can vouch for. */
static const char DERIVE_LABEL[] = "soom.pagination.cursor.v2";

struct soom_page_key {
    EVP_CIPHER *cipher; /* fetched once: a lookup by name per cursor costs more than sealing */
    unsigned char keys[MAX_KEYS][KEY_BYTES]; /* [0] seals; every one opens */
    size_t nkeys;
};

static void derive(const char *secret, unsigned char out[KEY_BYTES])
{
    unsigned int len = KEY_BYTES;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)DERIVE_LABEL,
         sizeof DERIVE_LABEL - 1, out, &len);
}

static void watch_forks(void);

struct soom_page_key *soom_page_key_new(const char *secret, bool *random)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, watch_forks); /* before any fork: a key is made at start-up */
    struct soom_page_key *k = xcalloc(1, sizeof *k);
    bool rnd = secret == NULL || *secret == '\0';
    if (!rnd) {
        derive(secret, k->keys[0]);
    } else if (getrandom(k->keys[0], KEY_BYTES, 0) != KEY_BYTES) {
        /* cannot fail for 32 bytes once the pool is ready; should it, a
         * fixed key only weakens cursors, not data */
        memset(k->keys[0], 0x5a, KEY_BYTES);
    }
    k->nkeys = 1;
    if (random != NULL)
        *random = rnd;
    k->cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    if (k->cipher == NULL)
        soom_oom(sizeof *k);
    return k;
}

int soom_page_key_fallbacks(struct soom_page_key *k, const char *list)
{
    for (const char *p = list != NULL ? list : ""; *p != '\0';) {
        while (*p != '\0' && isspace((unsigned char)*p))
            p++;
        size_t n = 0;
        while (p[n] != '\0' && !isspace((unsigned char)p[n]))
            n++;
        if (n == 0)
            break;
        if (k->nkeys == MAX_KEYS)
            return SOOM_EINVAL;
        char *one = xmalloc(n + 1);
        memcpy(one, p, n);
        one[n] = '\0';
        derive(one, k->keys[k->nkeys++]);
        free(one);
        p += n;
    }
    return SOOM_OK;
}

void soom_page_key_free(struct soom_page_key *k)
{
    if (k == NULL)
        return;
    EVP_CIPHER_free(k->cipher);
    OPENSSL_cleanse(k->keys, sizeof k->keys);
    free(k);
}

uint32_t soom_page_fingerprint(const char *const *terms, size_t n)
{
    /* FNV-1a over the terms, separated: enough to tell listings apart;
     * the AEAD tag, not this, is what stops forgery. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        for (const char *c = terms[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        h = (h ^ 0x1f) * 16777619u;
    }
    return h;
}

/* ---- sealing --------------------------------------------------------------- */

static void aad_of(uint32_t fingerprint, unsigned char aad[AAD_BYTES])
{
    aad[0] = CURSOR_VERSION;
    aad[1] = (unsigned char)(fingerprint >> 24);
    aad[2] = (unsigned char)(fingerprint >> 16);
    aad[3] = (unsigned char)(fingerprint >> 8);
    aad[4] = (unsigned char)fingerprint;
}

static EVP_CIPHER_CTX *ctx_new(void)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (x == NULL)
        soom_oom(0);
    return x;
}

/* Seals `n` bytes at `p` in place under key 0; the tag goes to `tag`. */
static void seal(const struct soom_page_key *k, const unsigned char *nonce,
                 const unsigned char *aad, unsigned char *p, int n, unsigned char *tag)
{
    EVP_CIPHER_CTX *x = ctx_new();
    int len;
    EVP_EncryptInit_ex2(x, k->cipher, k->keys[0], nonce, NULL);
    EVP_EncryptUpdate(x, NULL, &len, aad, AAD_BYTES);
    EVP_EncryptUpdate(x, p, &len, p, n);
    EVP_EncryptFinal_ex(x, p + len, &len);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, tag);
    EVP_CIPHER_CTX_free(x);
}

/* Opens `n` sealed bytes into `out` with the first key whose tag matches;
 * false when none does (altered, or sealed for another listing or under a
 * key this service no longer holds). */
static bool open_sealed(const struct soom_page_key *k, const unsigned char *nonce,
                        const unsigned char *aad, const unsigned char *p, int n,
                        const unsigned char *tag, unsigned char *out)
{
    EVP_CIPHER_CTX *x = ctx_new();
    bool ok = false;
    for (size_t i = 0; i < k->nkeys && !ok; i++) {
        int len;
        ok = EVP_DecryptInit_ex2(x, k->cipher, k->keys[i], nonce, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, (void *)tag) == 1 &&
             EVP_DecryptUpdate(x, NULL, &len, aad, AAD_BYTES) == 1 &&
             EVP_DecryptUpdate(x, out, &len, p, n) == 1 &&
             EVP_DecryptFinal_ex(x, out + len, &len) == 1;
    }
    EVP_CIPHER_CTX_free(x);
    return ok;
}

/* ---- cursors ------------------------------------------------------------- */

/* A nonce must never repeat under one key. Each thread draws 8 random
 * bytes and counts in the other 4: unique within the thread, and across
 * the threads, processes and replicas sharing the key as long as no two
 * draws collide (about 2^-33 with a million of them). A draw costs what
 * sealing does (libcrypto's DRBG: some 7,000 instructions), a count
 * nothing. Drawn again after a fork, whose child would repeat the
 * parent's counts, and when the count wraps. */
struct nonce_state {
    unsigned forks; /* the value of `forks` when drawn, plus one */
    uint32_t count;
    unsigned char prefix[8];
};

static atomic_uint forks;

static void count_fork(void)
{
    atomic_fetch_add(&forks, 1);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, count_fork);
}

static void next_nonce(unsigned char out[NONCE_BYTES])
{
    static _Thread_local struct nonce_state st;
    unsigned now = atomic_load_explicit(&forks, memory_order_relaxed) + 1;
    if (st.forks != now || st.count == UINT32_MAX) {
        if (RAND_bytes(st.prefix, sizeof st.prefix) != 1)
            soom_oom(sizeof st.prefix);
        st.forks = now;
        st.count = 0;
    }
    uint32_t n = st.count++;
    memcpy(out, st.prefix, 8);
    out[8] = (unsigned char)(n >> 24);
    out[9] = (unsigned char)(n >> 16);
    out[10] = (unsigned char)(n >> 8);
    out[11] = (unsigned char)n;
}

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
    unsigned char head[1 + NONCE_BYTES] = {CURSOR_VERSION};
    next_nonce(head + 1);
    soom_buf_append(&raw, head, sizeof head);
    soom_buf_putc(&raw, (char)c->direction);
    for (size_t i = 0; i < c->nvalues; i++) {
        put_varint(&raw, c->lens[i]);
        soom_buf_append(&raw, c->values[i], c->lens[i]);
    }
    unsigned char aad[AAD_BYTES], tag[TAG_BYTES];
    aad_of(fingerprint, aad);
    unsigned char *p = (unsigned char *)raw.data;
    seal(key, p + 1, aad, p + sizeof head, (int)(raw.len - sizeof head), tag);
    soom_buf_append(&raw, tag, TAG_BYTES);
    soom_base64_encode((const unsigned char *)raw.data, raw.len, true, out);
    soom_buf_cleanup(&raw);
}

#define CURSOR_MAX_TEXT (1u << 20)

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return SOOM_EBADREQ;
}

/* Reads the values after the direction; returns false when they do not
 * fill the payload exactly. */
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
    /* Any cursor the encoder makes must decode: a position holds whole
     * column values, so a page ordered by a long text hands out a long
     * cursor (a 3,100-byte value made one of 4,200 characters, which a cap
     * of 4,096 refused, found by fuzz_cursor). The request line's own limit
     * (max_header) bounds what a client can send back; this only bounds the
     * scratch a hostile text takes. */
    if (len == 0 || len > CURSOR_MAX_TEXT)
        return bad(why, "the cursor is empty or too long");
    unsigned char *raw = soom_arena_alloc(a, len * 3 / 4 + 1);
    size_t n;
    if (!soom_base64_decode(text, len, true, raw, &n))
        return bad(why, "the cursor is not valid base64url");
    if (n < 1 + NONCE_BYTES + 1 + TAG_BYTES)
        return bad(why, "the cursor is truncated");
    if (raw[0] != CURSOR_VERSION)
        return bad(why, "the cursor has an unknown version");
    unsigned char aad[AAD_BYTES];
    aad_of(fingerprint, aad);
    size_t body = n - 1 - NONCE_BYTES - TAG_BYTES;
    unsigned char *plain = soom_arena_alloc(a, body);
    if (!open_sealed(key, raw + 1, aad, raw + 1 + NONCE_BYTES, (int)body, raw + n - TAG_BYTES,
                     plain))
        return bad(why, "the cursor was altered or belongs to another listing, ordering or key");
    if (plain[0] != SOOM_PAGE_NEXT && plain[0] != SOOM_PAGE_PREV)
        return bad(why, "the cursor has an unknown direction");
    if (nkeys > SOOM_PAGE_MAX_KEYS || !read_values(plain + 1, body - 1, nkeys, a, out))
        return bad(why, "the cursor does not hold a position of this listing");
    out->direction = (enum soom_page_direction)plain[0];
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
