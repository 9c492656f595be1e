/*
 * HTTP Basic authentication against Django's password hashes (see
 * access_impl.h), as Django REST framework's BasicAuthentication and
 * Django's ModelBackend do it: the user by username, the password checked
 * in constant time, inactive users refused; a user that does not exist
 * costs a hash all the same, and every failure gets the same answer.
 *
 * A check writes nothing unless the class asks (`rehash`): a table shared
 * with a Django deployment is left to Django, which rehashes at its own
 * users' next login. must_update reaches the app as req.auth.
 *
 * This is deliberately slow (a pbkdf2 check is a quarter of a second of
 * CPU at Django's default cost) and is never cached: tokens are the way to
 * authenticate many requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_password.h"
#include "soom/base64.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "work.h"

int access_basic_init(struct access_class *c, const struct access_class_spec *s, char *err,
                      size_t errlen)
{
    if (c->user.username == NULL || c->user.password == NULL) {
        snprintf(err, errlen, "%s: Basic authentication needs the username and password columns",
                 c->name);
        return SOOM_ECONFIG;
    }
    c->rehash = s->rehash;
    c->pbkdf2_iterations =
        s->pbkdf2_iterations > 0 ? s->pbkdf2_iterations : SOOM_AUTH_PBKDF2_ITERATIONS;
    struct soom_buf b;
    soom_buf_init(&b);
    soom_buf_printf(&b, "SELECT %s, u.%s FROM %s u WHERE u.%s = $1", c->user.select,
                    c->user.password, c->user.table, c->user.username);
    c->sql = soom_buf_detach(&b, NULL);
    soom_buf_printf(&b, "UPDATE %s SET %s = $1 WHERE %s = $2", c->user.table, c->user.password,
                    c->user.id);
    c->sql_rehash = soom_buf_detach(&b, NULL);
    return SOOM_OK;
}

struct password_call {
    const struct soom_auth_password_params *p;
    const char *pw, *hash;
    size_t n, hash_len;
    bool *must_update;
    struct soom_buf *out;
    int rc;
};

static void password_work(void *arg)
{
    struct password_call *c = arg;
    c->rc = c->out != NULL
                ? soom_auth_password_make(c->p, c->pw, c->n, c->out)
                : soom_auth_password_check(c->p, c->pw, c->n, c->hash, c->hash_len, c->must_update);
}

int soom_access_password_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                               const char *hash, size_t hash_len, bool *must_update)
{
    struct password_call c = {p, pw, hash, n, hash_len, must_update, NULL, 0};
    soom_work_run(password_work, &c);
    return c.rc;
}

int soom_access_password_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                              struct soom_buf *out)
{
    struct password_call c = {p, pw, NULL, n, 0, NULL, out, 0};
    soom_work_run(password_work, &c);
    return c.rc;
}

static void policy(const struct access_class *c, struct soom_auth_password_params *p)
{
    soom_auth_password_params_init(p);
    p->pbkdf2_iterations = (uint32_t)c->pbkdf2_iterations;
}

/* Writes a new hash of the password for the user; a failure is logged, the
 * request goes on (the password was right). */
static void rehash(struct soom_request *r, const struct access_class *c,
                   const struct soom_request_user *u, const char *pw, size_t n)
{
    struct soom_auth_password_params p;
    policy(c, &p);
    struct soom_buf h;
    soom_buf_init(&h);
    if (soom_access_password_make(&p, pw, n, &h) == SOOM_OK) {
        const char *values[] = {h.data, u->id};
        struct soom_pg_result *res;
        /* a failure is logged; the password was right all the same */
        access_query(r, c->sql_rehash, 2, values, &res, ACCESS_Q_QUIET);
    }
    soom_buf_cleanup(&h);
}

/* "user:password" out of the header's credentials; false when they are
 * not base64 (DRF's "not correctly base64 encoded"). */
static bool decode(struct soom_request *r, const char *cred, size_t n, char **user, size_t *ulen,
                   const char **pw, size_t *plen)
{
    unsigned char *raw = soom_arena_alloc(r->arena, n * 3 / 4 + 2);
    size_t len;
    if (!soom_base64_decode(cred, n, false, raw, &len))
        return false;
    raw[len] = '\0';
    char *colon = memchr(raw, ':', len);
    *user = (char *)raw;
    *ulen = colon ? (size_t)(colon - (char *)raw) : len;
    (*user)[*ulen] = '\0';
    *pw = colon ? colon + 1 : "";
    *plen = colon ? len - *ulen - 1 : 0;
    return memchr(raw, '\0', *ulen) == NULL;
}

int access_basic_run(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, struct access_result *res)
{
    (void)a;
    const char *cred;
    size_t n;
    int hr = access_authorization(r, "Basic", false, &cred, &n);
    if (hr == 0) {
        res->outcome = ACCESS_NONE;
        return SOOM_OK;
    }
    if (hr < 0)
        return access_header_failure(res, hr, "basic");
    char *user;
    const char *pw;
    size_t ulen, plen;
    if (!decode(r, cred, n, &user, &ulen, &pw, &plen)) {
        res->outcome = ACCESS_FAIL;
        res->failure = SOOM_AF_BAD_HEADER;
        res->detail = "Invalid basic header. Credentials not correctly base64 encoded.";
        return SOOM_OK;
    }
    struct access_login login;
    int rc = access_login_lookup(r, c->sql, user, &login);
    if (rc != SOOM_OK)
        return rc;
    struct soom_auth_password_params p;
    policy(c, &p);
    bool must_update = false;
    /* a missing user is checked against no hash: the same time as a wrong
     * password (Django's ModelBackend does the same) */
    int ok = soom_access_password_check(&p, pw, plen, login.hash, login.hash_len, &must_update);
    bool found = login.user != NULL, active = login.active;
    const struct soom_request_user *u = login.user;
    res->detail = "Invalid username/password.";
    res->outcome = ACCESS_FAIL;
    if (!found)
        res->failure = SOOM_AF_UNKNOWN_USER;
    else if (ok != SOOM_OK)
        res->failure = SOOM_AF_BAD_PASSWORD;
    else if (!active)
        res->failure = SOOM_AF_INACTIVE_USER;
    else {
        struct soom_request_user *withauth = soom_arena_alloc(r->arena, sizeof *withauth);
        *withauth = *u;
        withauth->auth =
            must_update ? "{\"password_must_update\":true}" : "{\"password_must_update\":false}";
        withauth->auth_len = strlen(withauth->auth);
        if (must_update && c->rehash)
            rehash(r, c, u, pw, plen);
        res->outcome = ACCESS_OK;
        res->user = withauth;
        res->detail = NULL;
    }
    return SOOM_OK;
}
