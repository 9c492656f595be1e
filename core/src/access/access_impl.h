/*
 * Private to core/src/access: the compiled classes, permission trees and
 * throttles, the registry that owns them, and the steps each file provides
 * to the chain in access.c. Everything here is built at start-up and read
 * without locks afterwards, except the two tables that carry their own
 * locks (access_cache.c, access_throttle.c).
 *
 * Lookups take the request's pooled connection (soom_request_pg) and run
 * one statement each; a database failure answers the request (503, or 500
 * when no database is configured) and the step returns that code.
 */
#ifndef SOOM_ACCESS_IMPL_H
#define SOOM_ACCESS_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "ops_metrics.h"
#include "request_impl.h"
#include "soom/buf.h"

struct soom_auth_jwt;
struct soom_pg_result;

/* ---- the credential cache (access_cache.c) ------------------------------------ */

/* A bounded table of the users found by a credential: keys are SHA-256
 * digests (of the class number and the presented key), so the table never
 * holds a key itself; values are the user's serialized form. Entries
 * expire after the TTL; a full bucket drops its oldest entry. */
struct access_cache;

#define ACCESS_DIGEST 32

struct access_cache *access_cache_new(size_t entries, double ttl_seconds);
void access_cache_free(struct access_cache *c);

/* The digest of (tag, p, n): what the cache is keyed by. */
void access_cache_key(const char *tag, size_t tlen, const char *p, size_t n,
                      unsigned char out[ACCESS_DIGEST]);

/* Copies the value cached under `key` into `out` (appended) and returns
 * true, or false when absent or expired (or the cache is off). */
bool access_cache_get(struct access_cache *c, const unsigned char key[ACCESS_DIGEST],
                      struct soom_buf *out);
void access_cache_put(struct access_cache *c, const unsigned char key[ACCESS_DIGEST],
                      const char *value, size_t n);

/* The same for entries keyed by a text that proves itself (a verified
 * JWT, tag included), kept whole and matched whole in constant time;
 * `expires` (monotonic ns, 0: none) ends an entry before the TTL does. */
bool access_cache_get_text(struct access_cache *c, const char *text, size_t n,
                           struct soom_buf *out);
void access_cache_put_text(struct access_cache *c, const char *text, size_t n, const char *value,
                           size_t vn, uint64_t expires);

/* ---- users (access_user.c) ------------------------------------------------------ */

/* The SELECT list every user lookup returns, in this order: id (text),
 * is_active, is_staff, is_superuser, the row as JSON without its password;
 * then whatever the step adds (the token row as JSON, the hash). */
#define ACCESS_USER_COLUMNS 5

struct access_user {
    char *table, *id, *username, *password; /* quoted identifiers */
    char *is_active, *is_staff, *is_superuser;
    char *password_literal; /* the password column's name as a SQL string */
    char *select;           /* the SELECT list over alias u */
};

int access_user_init(struct access_user *u, const struct access_user_spec *s, const char *owner,
                     char *err, size_t errlen);
void access_user_cleanup(struct access_user *u);

/* The user of row 0 of `res` (columns as above), `auth_col` the JSON of
 * req.auth (-1: none), in the request's arena; *active says whether the
 * user may log in. */
const struct soom_request_user *access_user_from_row(struct soom_request *r,
                                                     const struct soom_pg_result *res, int auth_col,
                                                     bool *active);

/* A user to and from the cache's bytes. */
void access_user_serialize(const struct soom_request_user *u, struct soom_buf *out);
const struct soom_request_user *access_user_deserialize(struct soom_request *r, const char *p,
                                                        size_t n);

/* A user made of its id alone (a JWT read without a lookup). */
const struct soom_request_user *access_user_of_id(struct soom_request *r, const char *id, size_t n,
                                                  bool is_int);

/* A user found by username with its stored hash (Basic, the obtain view):
 * `sql` is the class's login statement (the user columns, then the hash).
 * user NULL when there is none; hash NULL when it has none. */
struct access_login {
    const struct soom_request_user *user;
    bool active;
    const char *hash; /* the result's, the request's until it ends */
    size_t hash_len;
};

/* Returns SOOM_OK with *out filled, or a database failure's code
 * (answered). */
int access_login_lookup(struct soom_request *r, const char *sql, const char *username,
                        struct access_login *out);

/* Runs `sql` with parameters on the request's connection; the result
 * belongs to the request. A failure is logged, answers the request (503,
 * 500) unless ACCESS_Q_QUIET, and returns the code; with
 * ACCESS_Q_BAD_VALUE_MISSES a class-22 error (a value the column's type
 * refuses: an id that is not a number) returns SOOM_ENOTFOUND, unanswered:
 * no such row. */
#define ACCESS_Q_BAD_VALUE_MISSES 1u
#define ACCESS_Q_QUIET 2u
int access_query(struct soom_request *r, const char *sql, int n, const char *const *values,
                 struct soom_pg_result **out, unsigned flags);

/* ---- classes -------------------------------------------------------------------- */

struct access_class {
    enum access_class_kind kind;
    int index;
    char tag[24]; /* what the cache keys of this class start with */
    size_t tag_len;
    char *name;
    char *header;
    struct access_user user;
    bool hashed, uncached;
    /* token */
    char *keyword;
    char *sql; /* the class's lookup */
    /* jwt */
    struct soom_auth_jwt *jwt;
    bool claims_user, rotate_refresh, blacklist_after_rotation, blacklist;
    double access_lifetime, refresh_lifetime;
    int64_t leeway;
    char *sql_outstanding, *sql_blacklisted, *sql_blacklist; /* the blacklist's statements */
    char *sql_login;      /* the obtain view's user by username, with the hash */
    char *username_field; /* the obtain view's body member for it */
    /* basic */
    bool rehash;
    long pbkdf2_iterations;
    char *sql_rehash;
    /* api key */
    char *key_header, *key_query;
    unsigned char (*keys)[ACCESS_DIGEST]; /* settings' keys, as digests */
    char **key_names;
    size_t nkeys;
    /* lua */
    int lua;
};

/* The outcome of one class on a request. */
struct access_result {
    enum access_outcome outcome;
    const struct soom_request_user *user;
    enum soom_auth_failure failure;
    const char *detail; /* of a failure; NULL: the class's default */
};

struct soom_access {
    const struct soom_config *cfg;
    struct access_class **classes;
    size_t nclasses;
    struct access_cache *cache;
    struct access_throttles *throttles;
};

/* Each class's compile step and request step. The request step returns
 * SOOM_OK with *res filled, or the code of a database failure after
 * answering the request. */
int access_token_init(struct access_class *c, const struct access_class_spec *s, char *err,
                      size_t errlen);
int access_token_run(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, struct access_result *res);
int access_jwt_init(struct access_class *c, const struct access_class_spec *s,
                    const struct soom_config *cfg, char *err, size_t errlen);
int access_jwt_run(struct soom_request *r, const struct soom_access *a,
                   const struct access_class *c, struct access_result *res);
int access_basic_init(struct access_class *c, const struct access_class_spec *s, char *err,
                      size_t errlen);
int access_basic_run(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, struct access_result *res);
int access_apikey_init(struct access_class *c, const struct access_class_spec *s, char *err,
                       size_t errlen);
int access_apikey_run(struct soom_request *r, const struct soom_access *a,
                      const struct access_class *c, struct access_result *res);

/* The user a JWT names, looked up (and cached) or made from its claims,
 * which it takes (into the request's arena, as req.auth); NULL with
 * *failure set when there is none or it is inactive. Returns
 * SOOM_OK or a database failure's code (answered). */
struct soom_auth_jwt_claims;
int access_jwt_user(struct soom_request *r, const struct soom_access *a,
                    const struct access_class *c, struct soom_auth_jwt_claims *claims,
                    const struct soom_request_user **out, enum soom_auth_failure *failure);

/* The credentials after "<scheme> " in Authorization: the header's value
 * split as DRF splits it. Returns 0 when the header is absent or has
 * another scheme (compared in any case, or `exact`ly as simplejwt does), 1
 * with (*cred, *n) when it is the scheme followed by one word, -1 when the
 * scheme has no word after it, -2 when it has more than one. */
int access_authorization(const struct soom_request *r, const char *scheme, bool exact,
                         const char **cred, size_t *n);

/* Fills `res` with the failure of a malformed Authorization header
 * (access_authorization's -1 or -2, or -3 for invalid characters) in DRF's
 * words for `what`, "token" or "basic". Returns SOOM_OK. */
int access_header_failure(struct access_result *res, int rc, const char *what);

/* ---- permissions (access_perm.c) ----------------------------------------------- */

struct access_perm {
    enum access_perm_kind kind;
    int *children;
    size_t nchildren;
    int lua;
    char *message;
    bool authenticated_only;
    char *app_label, *model;
    char *sql; /* ACCESS_DJANGO_MODEL: the permission's lookup */
};

/* Evaluates node `i` of the tree. Returns SOOM_OK with *allowed and, when
 * denied, *message (NULL: DRF's); or SOOM_ELUA / a database code after
 * answering the request. */
int access_perm_check(struct soom_request *r, const struct soom_access *a,
                      const struct access_perm *nodes, int i, const struct soom_access_hooks *h,
                      bool *allowed, const char **message);
int access_perm_init(struct access_perm *p, const struct access_perm_spec *s, char *err,
                     size_t errlen);
void access_perm_cleanup(struct access_perm *p);

/* ---- throttles (access_throttle.c, access_throttle_pg.c) ------------------------- */

struct access_throttles;

struct access_throttle {
    enum access_throttle_kind kind;
    char *scope;
    long limit;
    long period; /* seconds */
    bool in_db;
};

struct access_throttles *access_throttles_new(size_t entries);
void access_throttles_free(struct access_throttles *t);

/* Parses "N/s", "N/m", "N/h", "N/d", "N/<k><unit>" (DRF reads the unit's
 * first letter: "100/hour"). Returns false when it does not parse. */
bool access_rate_parse(const char *rate, long *limit, long *period);

/* The client's address as throttles key it: the peer's, or with
 * trust_proxy the proxy_count-th address from the right of
 * X-Forwarded-For. In the request's arena. */
const char *access_client_address(struct soom_request *r);

/* One hit on `key` within `t`'s window: *hits after it and *reset, the
 * seconds until the window ends. In memory: exact under concurrency
 * within the process. */
void access_throttle_hit(struct access_throttles *store, const struct access_throttle *t,
                         const char *key, size_t n, long *hits, long *reset);

/* The same in PostgreSQL's unlogged table, exact across processes. Returns
 * SOOM_OK or a database failure's code (answered). */
int access_throttle_hit_pg(struct soom_request *r, const struct access_throttle *t, const char *key,
                           size_t n, long *hits, long *reset);

/* ---- answers (access_problem.c) -------------------------------------------------- */

/* The stable problem types, one per case. */
#define ACCESS_TYPE_NOT_AUTHENTICATED "urn:soom:problem:not-authenticated"
#define ACCESS_TYPE_FAILED "urn:soom:problem:authentication-failed"
#define ACCESS_TYPE_DENIED "urn:soom:problem:permission-denied"
#define ACCESS_TYPE_THROTTLED "urn:soom:problem:throttled"

/* 401 with the first class's WWW-Authenticate, or 403 when it has none
 * (DRF's rule), for a request that is not authenticated (`failed`: its
 * credentials were wrong) with `detail` (NULL: DRF's). */
void access_answer_unauthenticated(struct soom_request *r, const struct soom_access *a,
                                   const struct soom_access_route *route, bool failed,
                                   const char *detail);
void access_answer_denied(struct soom_request *r, const char *detail);
void access_answer_throttled(struct soom_request *r, long wait);

/* Counts a refusal (soom_auth_failures_total) and logs it at debug level. */
void access_note_failure(struct soom_request *r, enum soom_auth_failure f);

/* ---- the route chain -------------------------------------------------------------- */

struct soom_access_route {
    const struct soom_access *access;
    int *classes;
    size_t nclasses;
    struct access_perm *perms;
    size_t nperms;
    struct access_throttle *throttles;
    size_t nthrottles;
    bool owner;
    enum access_view_kind view;
    int view_class;
};

/* The JWT views (access_jwt_views.c). */
void access_jwt_view(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, enum access_view_kind view);

/* Quotes an identifier for SQL ("a" -> "\"a\""), malloc'ed; NULL when it
 * is not [a-z_][a-z0-9_]* of at most 63 bytes (`name` NULL: NULL too). */
char *access_ident(const char *name);

/* The same for a table, "table" or "schema.table". */
char *access_table(const char *name);

void access_class_free(struct access_class *c);

#endif
