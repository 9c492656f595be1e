/*
 * JWT authentication as djangorestframework-simplejwt does it (see
 * access_impl.h): `Authorization: Bearer <token>` (the keyword matched
 * exactly, as simplejwt matches it), the token verified by the auth
 * module's verifier as an access token, then its user: looked up by id in
 * the user table (cached like a token's, inactive users refused), or, with
 * `claims_user`, made from the claims alone (simplejwt's stateless
 * TokenUser). req.auth is the token's claims.
 *
 * The class owns its verifier configuration (keys parsed once, at
 * start-up) and the statements of simplejwt's blacklist tables, which the
 * views of access_jwt_views.c use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_jwt.h"
#include "clock.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"

_Static_assert(SOOM_AF_JWT_NO_USER - SOOM_AF_JWT_TOO_LONG == SOOM_AUTH_JWT_NO_USER - 1,
               "the JWT reasons of ops_metrics.h follow auth_jwt.h's");

static int add_keys(struct access_class *c, const struct access_class_spec *s, char *err,
                    size_t errlen)
{
    char why[256];
    int rc = SOOM_OK;
    bool any = false;
    if (s->secret != NULL && *s->secret) {
        rc = soom_auth_jwt_add_secret(c->jwt, NULL, s->secret, strlen(s->secret), why, sizeof why);
        any = true;
    }
    if (rc == SOOM_OK && s->pem != NULL && *s->pem) {
        rc = soom_auth_jwt_add_pem(c->jwt, NULL, s->pem, strlen(s->pem), why, sizeof why);
        any = true;
    }
    if (rc == SOOM_OK && s->jwks != NULL && *s->jwks) {
        rc = soom_auth_jwt_add_jwks(c->jwt, s->jwks, strlen(s->jwks), why, sizeof why);
        any = true;
    }
    if (rc != SOOM_OK) {
        snprintf(err, errlen, "%s: %s", c->name, why);
        return SOOM_ECONFIG;
    }
    if (!any) {
        snprintf(err, errlen,
                 "%s: a JWT class needs a key: a secret (jwt.signing_key, else secret_key), a "
                 "PEM key or a JWKS",
                 c->name);
        return SOOM_ECONFIG;
    }
    return SOOM_OK;
}

/* simplejwt's token_blacklist tables: outstanding tokens (one per issued
 * refresh token, by jti) and the blacklisted ones (pointing at them). */
static int blacklist_sql(struct access_class *c, const struct access_class_spec *s, char *err,
                         size_t errlen)
{
    char *out = access_table(s->outstanding_table), *bl = access_table(s->blacklisted_table);
    int rc = SOOM_OK;
    if (out == NULL || bl == NULL) {
        snprintf(err, errlen, "%s: the blacklist tables must be table names", c->name);
        rc = SOOM_ECONFIG;
        goto done;
    }
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, "SELECT 1 FROM %s b JOIN %s o ON o.id = b.token_id WHERE o.jti = $1", bl,
                    out);
    c->sql_blacklisted = soom_buf_detach(&b, NULL);
    soom_buf_printf(&b,
                    "INSERT INTO %s (jti, token, created_at, expires_at, user_id) VALUES ($1, $2, "
                    "to_timestamp($3), to_timestamp($4), $5) ON CONFLICT (jti) DO NOTHING",
                    out);
    c->sql_outstanding = soom_buf_detach(&b, NULL);
    soom_buf_printf(
        &b,
        "WITH o AS (INSERT INTO %s (jti, token, expires_at, user_id) VALUES ($1, $2, "
        "to_timestamp($3), $4) ON CONFLICT (jti) DO UPDATE SET jti = EXCLUDED.jti "
        "RETURNING id) INSERT INTO %s (token_id, blacklisted_at) SELECT id, now() FROM o "
        "ON CONFLICT (token_id) DO NOTHING",
        out, bl);
    c->sql_blacklist = soom_buf_detach(&b, NULL);
done:
    free(out);
    free(bl);
    return rc;
}

int access_jwt_init(struct access_class *c, const struct access_class_spec *s,
                    const struct soom_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    struct soom_auth_jwt_options o;
    soom_auth_jwt_options_init(&o);
    o.algorithms = s->algorithm && *s->algorithm ? s->algorithm : NULL;
    o.issuer = s->issuer && *s->issuer ? s->issuer : NULL;
    o.audience = s->audience && *s->audience ? s->audience : NULL;
    o.leeway = (int64_t)s->leeway;
    if (s->user_id_claim && *s->user_id_claim)
        o.user_id_claim = s->user_id_claim;
    char why[256];
    if (soom_auth_jwt_new(&o, &c->jwt, why, sizeof why) != SOOM_OK) {
        snprintf(err, errlen, "%s: %s", c->name, why);
        return SOOM_ECONFIG;
    }
    int rc = add_keys(c, s, err, errlen);
    if (rc != SOOM_OK)
        return rc;
    c->keyword = xstrdup(s->keyword && *s->keyword ? s->keyword : "Bearer");
    c->claims_user = s->claims_user;
    c->rotate_refresh = s->rotate_refresh;
    c->blacklist_after_rotation = s->blacklist_after_rotation;
    c->blacklist = s->blacklist;
    c->access_lifetime = s->access_lifetime;
    c->leeway = (int64_t)s->leeway;
    c->refresh_lifetime = s->refresh_lifetime;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, "SELECT %s FROM %s u WHERE u.%s = $1", c->user.select, c->user.table,
                    c->user.id);
    c->sql = soom_buf_detach(&b, NULL);
    if (c->user.username != NULL && c->user.password != NULL) {
        soom_buf_printf(&b, "SELECT %s, u.%s FROM %s u WHERE u.%s = $1", c->user.select,
                        c->user.password, c->user.table, c->user.username);
        c->sql_login = soom_buf_detach(&b, NULL);
        c->username_field = xstrdup(s->user.username);
    }
    return s->blacklist ? blacklist_sql(c, s, err, errlen) : SOOM_OK;
}

/* The user with the token's claims as req.auth: the claims document
 * passes to the request's arena (written out only if Lua reads req.auth). */
static const struct soom_request_user *with_claims(struct soom_request *r,
                                                   const struct soom_request_user *u,
                                                   struct soom_auth_jwt_claims *claims)
{
    struct soom_request_user *copy = soom_arena_alloc(r->arena, sizeof *copy);
    *copy = *u;
    copy->auth = NULL;
    copy->auth_len = 0;
    copy->auth_doc = claims->claims;
    soom_json_defer(r->arena, claims->claims);
    claims->claims = NULL;
    return copy;
}

/* The user with this id from the database; NULL when there is none. */
static int user_lookup(struct soom_request *r, const struct access_class *c, const char *id,
                       size_t n, const struct soom_request_user **user, bool *active)
{
    const char *param = soom_arena_strndup(r->arena, id, n);
    struct soom_pg_result *res;
    int rc = access_query(r, c->sql, 1, &param, &res, ACCESS_Q_BAD_VALUE_MISSES);
    *user = NULL;
    if (rc == SOOM_ENOTFOUND || (rc == SOOM_OK && soom_pg_result_rows(res) == 0))
        return SOOM_OK;
    if (rc != SOOM_OK)
        return rc;
    *user = access_user_from_row(r, res, -1, active);
    return SOOM_OK;
}

int access_jwt_user(struct soom_request *r, const struct soom_access *a,
                    const struct access_class *c, struct soom_auth_jwt_claims *claims,
                    const struct soom_request_user **out, enum soom_auth_failure *failure)
{
    *out = NULL;
    if (c->claims_user) {
        const struct soom_request_user *u =
            access_user_of_id(r, claims->user_id, claims->user_id_len, claims->user_id_is_int);
        *out = with_claims(r, u, claims);
        return SOOM_OK;
    }
    unsigned char ck[ACCESS_DIGEST];
    access_cache_key(c->tag, c->tag_len, claims->user_id, claims->user_id_len, ck);
    struct soom_buf cached;
    soom_buf_init(&cached);
    const struct soom_request_user *u = NULL;
    if (access_cache_get(a->cache, ck, &cached))
        u = access_user_deserialize(r, cached.data, cached.len);
    soom_buf_cleanup(&cached);
    if (u == NULL) {
        bool active = false;
        int rc = user_lookup(r, c, claims->user_id, claims->user_id_len, &u, &active);
        if (rc != SOOM_OK)
            return rc;
        if (u == NULL || !active) {
            *failure = u == NULL ? SOOM_AF_UNKNOWN_USER : SOOM_AF_INACTIVE_USER;
            return SOOM_OK;
        }
        struct soom_buf b;
        soom_buf_init(&b);
        access_user_serialize(u, &b);
        access_cache_put(a->cache, ck, b.data, b.len);
        soom_buf_cleanup(&b);
    }
    *out = with_claims(r, u, claims);
    return SOOM_OK;
}

/* The cache's text for a token of this class: the class's tag, then the
 * token (in the arena). */
static const char *cache_text(struct soom_request *r, const struct access_class *c,
                              const char *token, size_t n, size_t *len)
{
    char *t = soom_arena_alloc(r->arena, c->tag_len + 1 + n);
    memcpy(t, c->tag, c->tag_len);
    t[c->tag_len] = '|';
    memcpy(t + c->tag_len + 1, token, n);
    *len = c->tag_len + 1 + n;
    return t;
}

/* Keeps a verified token's user and claims until the cache's TTL or the
 * token's expiry, whichever comes first: a client sends the same access
 * token for minutes, and checking it again would cost more than the rest
 * of a by-id read. */
static void remember(const struct soom_access *a, const struct soom_request_user *u,
                     const struct soom_json *claims, int64_t exp, int64_t leeway, const char *text,
                     size_t n)
{
    int64_t left = exp + leeway - (int64_t)time(NULL);
    if (a->cache == NULL || left <= 0)
        return;
    struct soom_buf doc, b;
    soom_buf_init(&doc);
    soom_buf_init(&b);
    soom_json_print(claims, &doc);
    struct soom_request_user copy = *u;
    copy.auth = doc.data;
    copy.auth_len = doc.len;
    copy.auth_doc = NULL;
    access_user_serialize(&copy, &b);
    access_cache_put_text(a->cache, text, n, b.data, b.len,
                          soom_clock_ns() + (uint64_t)left * 1000000000ull);
    soom_buf_cleanup(&doc);
    soom_buf_cleanup(&b);
}

int access_jwt_run(struct soom_request *r, const struct soom_access *a,
                   const struct access_class *c, struct access_result *res)
{
    const char *token;
    size_t n;
    int hr = access_authorization(r, c->keyword, true, &token, &n);
    if (hr == 0) {
        res->outcome = ACCESS_NONE;
        return SOOM_OK;
    }
    if (hr < 0) {
        res->outcome = ACCESS_FAIL;
        res->failure = SOOM_AF_BAD_HEADER;
        res->detail = "Authorization header must contain two space-delimited values";
        return SOOM_OK;
    }
    size_t tlen;
    const char *text = cache_text(r, c, token, n, &tlen);
    struct soom_buf hit;
    soom_buf_init(&hit);
    if (access_cache_get_text(a->cache, text, tlen, &hit))
        res->user = access_user_deserialize(r, hit.data, hit.len);
    soom_buf_cleanup(&hit);
    if (res->user != NULL) {
        res->outcome = ACCESS_OK;
        return SOOM_OK;
    }
    struct soom_auth_jwt_claims claims;
    soom_auth_jwt_claims_init(&claims);
    int rc = SOOM_OK;
    if (soom_auth_jwt_verify(c->jwt, token, n, "access", (int64_t)time(NULL), &claims) != SOOM_OK) {
        res->outcome = ACCESS_FAIL;
        res->failure = (enum soom_auth_failure)(SOOM_AF_JWT_TOO_LONG + (int)claims.reason - 1);
        res->detail = "Given token not valid for any token type";
        goto out;
    }
    const struct soom_request_user *user;
    enum soom_auth_failure failure = SOOM_AF_UNKNOWN_USER;
    rc = access_jwt_user(r, a, c, &claims, &user, &failure);
    if (rc != SOOM_OK)
        goto out;
    if (user == NULL) {
        res->outcome = ACCESS_FAIL;
        res->failure = failure;
        res->detail = "Given token not valid for any token type";
        goto out;
    }
    res->outcome = ACCESS_OK;
    res->user = user;
    remember(a, user, user->auth_doc, claims.exp, c->leeway, text, tlen);
out:
    soom_auth_jwt_claims_cleanup(&claims);
    return rc;
}
