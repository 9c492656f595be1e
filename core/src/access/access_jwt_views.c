/*
 * The token views of djangorestframework-simplejwt, answered in C (see
 * access.h): obtain a pair with a username and password, refresh (with
 * optional rotation, blacklisting the old refresh token), verify, and
 * blacklist (log out). With the blacklist on, every refresh token issued
 * is recorded in simplejwt's outstanding-token table, and a blacklisted
 * one is refused by refresh and verify.
 *
 * Bodies are read from the request's parsed JSON (a cJSON tree: this file
 * walks it, on these views' path only). Failures are 401 with
 * WWW-Authenticate: Bearer realm="api", as simplejwt's views answer them,
 * and say nothing of which part was wrong.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_impl.h"
#include "auth_jwt.h"
#include "auth_password.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"
#include "soom/response.h"

static const char *body_string(const struct soom_request *r, const char *name)
{
    const cJSON *o = (const cJSON *)r->json;
    const cJSON *v = o && cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
    return v && cJSON_IsString(v) ? v->valuestring : NULL;
}

static void refuse(struct soom_request *r, const char *detail, enum soom_auth_failure f)
{
    access_note_failure(r, f);
    soom_response_header(r, "WWW-Authenticate", "Bearer realm=\"api\"");
    soom_response_problem_type(r, 401, ACCESS_TYPE_FAILED, detail, NULL);
}

static void missing(struct soom_request *r, const char *field)
{
    char detail[128];
    snprintf(detail, sizeof detail, "the body needs a string \"%s\"", field);
    soom_response_problem(r, 400, detail, NULL);
}

/* {"name": "value", ...} from pairs (name, value, ..., NULL). */
static void answer(struct soom_request *r, const char *const *pairs)
{
    struct soom_buf *b = soom_response_buffer();
    soom_buf_putc(b, '{');
    for (size_t i = 0; pairs[i] != NULL; i += 2) {
        if (i)
            soom_buf_putc(b, ',');
        soom_json_write_string(b, pairs[i], strlen(pairs[i]));
        soom_buf_putc(b, ':');
        soom_json_write_string(b, pairs[i + 1], strlen(pairs[i + 1]));
    }
    soom_buf_putc(b, '}');
    r->status = 200;
    soom_response_take(r, b, "application/json");
}

/* Records an issued refresh token (simplejwt's OutstandingToken). */
static int outstand(struct soom_request *r, const struct access_class *c, const char *jti,
                    const char *token, int64_t now, int64_t exp, const char *user_id)
{
    if (!c->blacklist)
        return SOOM_OK;
    char t0[24], t1[24];
    snprintf(t0, sizeof t0, "%lld", (long long)now);
    snprintf(t1, sizeof t1, "%lld", (long long)exp);
    const char *values[] = {jti, token, t0, t1, user_id};
    struct soom_pg_result *res;
    return access_query(r, c->sql_outstanding, 5, values, &res, 0);
}

static int is_blacklisted(struct soom_request *r, const struct access_class *c, const char *jti,
                          bool *out)
{
    *out = false;
    if (!c->blacklist || jti == NULL)
        return SOOM_OK;
    struct soom_pg_result *res;
    int rc = access_query(r, c->sql_blacklisted, 1, &jti, &res, 0);
    if (rc == SOOM_OK)
        *out = soom_pg_result_rows(res) > 0;
    return rc;
}

static int blacklist(struct soom_request *r, const struct access_class *c,
                     const struct soom_auth_jwt_claims *claims, const char *token)
{
    char exp[24];
    snprintf(exp, sizeof exp, "%lld", (long long)claims->exp);
    const char *uid =
        claims->user_id ? soom_arena_strndup(r->arena, claims->user_id, claims->user_id_len) : NULL;
    const char *values[] = {claims->jti ? claims->jti : "", token, exp, uid};
    struct soom_pg_result *res;
    return access_query(r, c->sql_blacklist, 4, values, &res, 0);
}

static void obtain(struct soom_request *r, const struct access_class *c)
{
    const char *field = c->username_field ? c->username_field : "username";
    const char *username = body_string(r, field), *password = body_string(r, "password");
    if (username == NULL || password == NULL)
        return missing(r, username == NULL ? field : "password");
    if (c->sql_login == NULL)
        return refuse(r, "No active account found with the given credentials",
                      SOOM_AF_UNKNOWN_USER);
    struct access_login login;
    if (access_login_lookup(r, c->sql_login, username, &login) != SOOM_OK)
        return;
    struct soom_auth_password_params p;
    soom_auth_password_params_init(&p);
    int ok = soom_access_password_check(&p, password, strlen(password), login.hash, login.hash_len,
                                        NULL);
    bool found = login.user != NULL, active = login.active;
    const struct soom_request_user *u = login.user;
    if (ok != SOOM_OK || !active)
        return refuse(r, "No active account found with the given credentials",
                      !found          ? SOOM_AF_UNKNOWN_USER
                      : ok != SOOM_OK ? SOOM_AF_BAD_PASSWORD
                                      : SOOM_AF_INACTIVE_USER);
    int64_t now = (int64_t)time(NULL);
    struct soom_auth_jwt_issue t = {"refresh",    u->id, u->id_len,
                                    u->id_is_int, now,   (int64_t)c->refresh_lifetime};
    struct soom_buf refresh, access;
    soom_buf_init(&refresh);
    soom_buf_init(&access);
    char jti[SOOM_AUTH_JWT_JTI_LEN + 1];
    int rc = soom_auth_jwt_issue(c->jwt, &t, &refresh, jti);
    t.token_type = "access";
    t.lifetime = (int64_t)c->access_lifetime;
    if (rc == SOOM_OK)
        rc = soom_auth_jwt_issue(c->jwt, &t, &access, NULL);
    if (rc != SOOM_OK) {
        soom_response_problem(r, 500, "the server cannot sign tokens (no signing key)", NULL);
    } else if (outstand(r, c, jti, refresh.data, now, now + (int64_t)c->refresh_lifetime,
                        soom_arena_strndup(r->arena, u->id, u->id_len)) == SOOM_OK) {
        answer(r, (const char *const[]){"refresh", refresh.data, "access", access.data, NULL});
    }
    soom_buf_cleanup(&refresh);
    soom_buf_cleanup(&access);
}

/* Verifies the body's `field` as a token of `type` (NULL: any) that is
 * not blacklisted; false after answering. */
static bool verified(struct soom_request *r, const struct access_class *c, const char *field,
                     const char *type, struct soom_auth_jwt_claims *claims, const char **token)
{
    *token = body_string(r, field);
    if (*token == NULL) {
        missing(r, field);
        return false;
    }
    if (soom_auth_jwt_verify(c->jwt, *token, strlen(*token), type, (int64_t)time(NULL), claims) !=
        SOOM_OK) {
        refuse(r, "Token is invalid or expired",
               (enum soom_auth_failure)(SOOM_AF_JWT_TOO_LONG + (int)claims->reason - 1));
        return false;
    }
    bool listed;
    if (is_blacklisted(r, c, claims->jti, &listed) != SOOM_OK)
        return false;
    if (listed) {
        refuse(r, "Token is blacklisted", SOOM_AF_JWT_BLACKLISTED);
        return false;
    }
    return true;
}

static void refresh_view(struct soom_request *r, const struct access_class *c)
{
    struct soom_auth_jwt_claims claims;
    soom_auth_jwt_claims_init(&claims);
    const char *token;
    struct soom_buf access, fresh;
    soom_buf_init(&access);
    soom_buf_init(&fresh);
    if (!verified(r, c, "refresh", "refresh", &claims, &token))
        goto out;
    int64_t now = (int64_t)time(NULL);
    int rc = soom_auth_jwt_reissue(c->jwt, claims.claims, "access", now,
                                   (int64_t)c->access_lifetime, false, &access, NULL);
    if (rc == SOOM_OK && c->rotate_refresh) {
        if (c->blacklist && c->blacklist_after_rotation &&
            blacklist(r, c, &claims, token) != SOOM_OK)
            goto out;
        char jti[SOOM_AUTH_JWT_JTI_LEN + 1];
        int64_t life = (int64_t)c->refresh_lifetime;
        rc = soom_auth_jwt_reissue(c->jwt, claims.claims, "refresh", now, life, true, &fresh, jti);
        const char *uid = soom_arena_strndup(r->arena, claims.user_id, claims.user_id_len);
        if (rc == SOOM_OK && outstand(r, c, jti, fresh.data, now, now + life, uid) != SOOM_OK)
            goto out;
    }
    if (rc != SOOM_OK)
        soom_response_problem(r, 500, "the server cannot sign tokens (no signing key)", NULL);
    else if (c->rotate_refresh)
        answer(r, (const char *const[]){"access", access.data, "refresh", fresh.data, NULL});
    else
        answer(r, (const char *const[]){"access", access.data, NULL});
out:
    soom_buf_cleanup(&access);
    soom_buf_cleanup(&fresh);
    soom_auth_jwt_claims_cleanup(&claims);
}

void access_jwt_view(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, enum access_view_kind view)
{
    (void)a;
    struct soom_auth_jwt_claims claims;
    const char *token;
    switch (view) {
    case ACCESS_VIEW_JWT_OBTAIN: obtain(r, c); break;
    case ACCESS_VIEW_JWT_REFRESH: refresh_view(r, c); break;
    case ACCESS_VIEW_JWT_VERIFY:
        soom_auth_jwt_claims_init(&claims);
        if (verified(r, c, "token", NULL, &claims, &token))
            answer(r, (const char *const[]){NULL});
        soom_auth_jwt_claims_cleanup(&claims);
        break;
    case ACCESS_VIEW_JWT_BLACKLIST:
        soom_auth_jwt_claims_init(&claims);
        if (!c->blacklist)
            soom_response_problem(r, 500, "the token blacklist is not enabled", NULL);
        else if (verified(r, c, "refresh", "refresh", &claims, &token) &&
                 blacklist(r, c, &claims, token) == SOOM_OK)
            answer(r, (const char *const[]){NULL});
        soom_auth_jwt_claims_cleanup(&claims);
        break;
    case ACCESS_VIEW_NONE: break;
    }
    r->responded = true;
}
