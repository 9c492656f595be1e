/*
 * Django REST framework's token authentication (see access_impl.h):
 * `Authorization: Token <key>` (the keyword a setting), the key looked up
 * in authtoken_token joined to auth_user (both shapes' names
 * configurable), inactive users refused, hits kept in the credential
 * cache. A table may keep only the SHA-256 of each key (`hashed`): the
 * presented key is hashed before the lookup.
 *
 * Every well-formed key costs the same work whatever it is (its digest,
 * the cache, the lookup): nothing tells a key of the right length from any
 * other wrong key, and a missing token and an inactive user get the same
 * answer. Also the Authorization parsing that the token, JWT and Basic
 * classes share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_key.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"
#include "soom/request.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int access_authorization(const struct soom_request *r, const char *scheme, bool exact,
                         const char **cred, size_t *n)
{
    size_t len;
    const char *v = soom_request_header(r, "Authorization", 13, &len);
    if (v == NULL)
        return 0;
    /* DRF splits the value on runs of whitespace: the scheme, then one word
     * (a credential is a few hundred bytes: memchr, not a loop per byte) */
    while (len > 0 && is_space(*v))
        v++, len--;
    size_t slen = strlen(scheme);
    if (len < slen || (exact ? strncmp(v, scheme, slen) : strncasecmp(v, scheme, slen)) != 0 ||
        (len > slen && !is_space(v[slen])))
        return 0;
    const char *c = v + slen;
    size_t clen = len - slen;
    while (clen > 0 && is_space(*c))
        c++, clen--;
    while (clen > 0 && is_space(c[clen - 1]))
        clen--;
    if (clen == 0)
        return -1; /* "Token" alone */
    if (memchr(c, ' ', clen) != NULL || memchr(c, '\t', clen) != NULL)
        return -2; /* more than one word */
    *cred = c;
    *n = clen;
    return 1;
}

int access_token_init(struct access_class *c, const struct access_class_spec *s, char *err,
                      size_t errlen)
{
    char *table = access_table(s->token_table), *key = access_ident(s->token_key),
         *user = access_ident(s->token_user);
    int rc = SOOM_OK;
    if (table == NULL || key == NULL || user == NULL || s->keyword == NULL || !*s->keyword ||
        strpbrk(s->keyword, " \t\r\n") != NULL) {
        snprintf(err, errlen,
                 "%s: the token table, its key and user columns must be table and column "
                 "names, and the keyword one word",
                 c->name);
        rc = SOOM_ECONFIG;
        goto out;
    }
    c->keyword = xstrdup(s->keyword);
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(
        &b, "SELECT %s, to_jsonb(t)::text FROM %s t JOIN %s u ON u.%s = t.%s WHERE t.%s = $1",
        c->user.select, table, c->user.table, c->user.id, user, key);
    c->sql = soom_buf_detach(&b, NULL);
out:
    free(table);
    free(key);
    free(user);
    return rc;
}

/* A key fit to send as a statement parameter: UTF-8 without control
 * characters (DRF refuses what does not decode). */
static bool key_chars_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return soom_json_utf8_valid(p, n);
}

int access_header_failure(struct access_result *res, int rc, const char *what)
{
    res->outcome = ACCESS_FAIL;
    res->failure = SOOM_AF_BAD_HEADER;
    res->detail = rc == -1 ? (what[0] == 'b' ? "Invalid basic header. No credentials provided."
                                             : "Invalid token header. No credentials provided.")
                  : rc == -2
                      ? (what[0] == 'b' ? "Invalid basic header. Credentials string should not "
                                          "contain spaces."
                                        : "Invalid token header. Token string should not contain "
                                          "spaces.")
                      : "Invalid token header. Token string should not contain invalid "
                        "characters.";
    return SOOM_OK;
}

/* The token's user from the database (nothing found: res->user NULL). */
static int token_lookup(struct soom_request *r, const struct access_class *c, const char *key,
                        size_t n, const struct soom_request_user **user, bool *active)
{
    char digest[SOOM_AUTH_KEY_SHA256 + 1];
    const char *param;
    if (c->hashed) {
        soom_auth_key_sha256(key, n, digest);
        param = digest;
    } else {
        param = soom_arena_strndup(r->arena, key, n);
    }
    struct soom_pg_result *res;
    int rc = access_query(r, c->sql, 1, &param, &res, ACCESS_Q_BAD_VALUE_MISSES);
    if (rc == SOOM_ENOTFOUND || (rc == SOOM_OK && soom_pg_result_rows(res) == 0)) {
        *user = NULL;
        return SOOM_OK;
    }
    if (rc != SOOM_OK)
        return rc;
    *user = access_user_from_row(r, res, ACCESS_USER_COLUMNS, active);
    return SOOM_OK;
}

int access_token_run(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, struct access_result *res)
{
    const char *key;
    size_t n;
    int hr = access_authorization(r, c->keyword, false, &key, &n);
    if (hr == 0) {
        res->outcome = ACCESS_NONE;
        return SOOM_OK;
    }
    if (hr < 0)
        return access_header_failure(res, hr, "token");
    if (!key_chars_ok(key, n))
        return access_header_failure(res, -3, "token");
    unsigned char ck[ACCESS_DIGEST];
    access_cache_key(c->tag, c->tag_len, key, n, ck);
    struct soom_buf cached;
    soom_buf_init(&cached);
    if (!c->uncached && access_cache_get(a->cache, ck, &cached)) {
        res->user = access_user_deserialize(r, cached.data, cached.len);
        soom_buf_cleanup(&cached);
        if (res->user != NULL) {
            res->outcome = ACCESS_OK;
            return SOOM_OK;
        }
    }
    soom_buf_cleanup(&cached);
    bool active = false;
    const struct soom_request_user *user;
    int rc = token_lookup(r, c, key, n, &user, &active);
    if (rc != SOOM_OK)
        return rc;
    if (user == NULL || !active) {
        /* one answer for both: nothing says which keys exist */
        res->outcome = ACCESS_FAIL;
        res->failure = user == NULL ? SOOM_AF_UNKNOWN_TOKEN : SOOM_AF_INACTIVE_USER;
        res->detail = "Invalid token.";
        return SOOM_OK;
    }
    if (!c->uncached) {
        struct soom_buf b;
        soom_buf_init(&b);
        access_user_serialize(user, &b);
        access_cache_put(a->cache, ck, b.data, b.len);
        soom_buf_cleanup(&b);
    }
    res->outcome = ACCESS_OK;
    res->user = user;
    return SOOM_OK;
}
