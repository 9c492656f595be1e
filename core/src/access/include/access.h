/*
 * Access control for requests, Django REST framework's model run in C:
 * authentication classes (a DRF token, a JWT, HTTP Basic against Django's
 * password hashes, an API key, or a class written in Lua), permissions
 * (built-in ones, Django's model permissions, Lua classes, and their
 * composition) and throttles (anonymous, per user, scoped; counted in the
 * process or in PostgreSQL).
 *
 * Lifecycle: the app makes one registry (struct soom_access) at start-up,
 * adds the authentication classes its resources use (each compiled once:
 * its SQL quoted, its JWT keys parsed), then compiles one chain per route
 * that declares any (struct soom_access_route). Both are read-only after
 * that and shared by every thread, but for the two process-wide tables
 * inside the registry, each with its own locks: the credential cache and
 * the throttle counters. In a prefork server each worker inherits them
 * empty at fork. soom_access_free() frees the registry, each route chain
 * is freed with soom_access_route_free(); both accept NULL.
 *
 * Per request, soom_access_run() authenticates, checks the permissions and
 * the throttles, in DRF's order, before the body is parsed or validated,
 * so a client that may not use a resource learns nothing from validation
 * errors. Database lookups run on the request's pooled connection, each
 * in one small function per step (a token, a user, a permission, a
 * throttle counter). The user found is set on the request (r->user).
 * Steps written in Lua are reached through the hooks the caller passes,
 * so this module never includes lua.h.
 */
#ifndef SOOM_ACCESS_H
#define SOOM_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

struct soom_config;
struct soom_request;
struct soom_request_user;

struct soom_access;
struct soom_access_route;
struct soom_auth_password_params;
struct soom_buf;

/* ---- what the Lua layer declares -------------------------------------------- */

enum access_class_kind {
    ACCESS_TOKEN,   /* Authorization: Token <key>, DRF's authtoken_token */
    ACCESS_JWT,     /* Authorization: Bearer <jwt>, simplejwt's tokens */
    ACCESS_BASIC,   /* Authorization: Basic, Django's password hashes */
    ACCESS_API_KEY, /* a key in a header or a query parameter */
    ACCESS_LUA,     /* a class written in Lua (authenticate(req)) */
};

/* The user table the classes read, Django's auth_user by default. Column
 * names may be NULL where a table has no such column: no is_active means
 * every user is active, no is_staff or is_superuser means false. */
struct access_user_spec {
    const char *table;
    const char *id;
    const char *username;
    const char *password;
    const char *is_active;
    const char *is_staff;
    const char *is_superuser;
};

/* An authentication class. The Lua layer fills every field the kind uses,
 * with the settings' defaults (soom.auth); strings are copied. */
struct access_class_spec {
    enum access_class_kind kind;
    const char *name;   /* for messages: "soom.auth.token", a file... */
    const char *header; /* WWW-Authenticate of a 401; NULL: none (a 403) */
    struct access_user_spec user;
    /* token */
    const char *keyword; /* "Token" (any case) */
    const char *token_table, *token_key, *token_user;
    bool hashed;   /* the table keeps the SHA-256 of each key (token, API key) */
    bool uncached; /* never cache this class's lookups */
    /* jwt */
    const char *secret;    /* HS* */
    const char *pem;       /* a PEM key: public (verifies), private (also signs) */
    const char *jwks;      /* a JWKS document */
    const char *algorithm; /* accepted algorithms, comma-separated; NULL: the keys' */
    const char *audience, *issuer, *user_id_claim;
    double leeway, access_lifetime, refresh_lifetime;
    bool claims_user; /* req.user from the claims, no user lookup */
    bool rotate_refresh, blacklist_after_rotation;
    bool blacklist; /* simplejwt's token_blacklist tables are there */
    const char *outstanding_table, *blacklisted_table;
    /* basic */
    bool rehash;            /* write a new hash when the stored one must_update */
    long pbkdf2_iterations; /* the policy must_update compares against */
    /* api key */
    const char *key_header; /* NULL: not from a header */
    const char *key_query;  /* NULL: not from the query string */
    const char *keys;       /* "name:key,..." kept in settings; NULL: from key_table */
    const char *key_table, *key_column, *key_name;
    const char *key_user; /* the key row's user column (joined to the user table); NULL: none */
    /* lua */
    int lua; /* the Lua class's number in the worker states */
};

enum access_perm_kind {
    ACCESS_ALLOW_ANY,
    ACCESS_IS_AUTHENTICATED,
    ACCESS_IS_ADMIN, /* Django's is_staff */
    ACCESS_IS_AUTHENTICATED_OR_READ_ONLY,
    ACCESS_DJANGO_MODEL, /* auth_permission through the user's groups and own */
    ACCESS_PERM_LUA,     /* has_permission(req) in Lua */
    ACCESS_ALL_OF,
    ACCESS_ANY_OF,
    ACCESS_NOT,
};

/* A node of a route's permission tree, in an array: composite nodes name
 * their operands by index (children come after their parent). */
struct access_perm_spec {
    enum access_perm_kind kind;
    const int *children;
    size_t nchildren;
    int lua;                 /* ACCESS_PERM_LUA: the Lua class's number */
    const char *message;     /* detail of a 403 this node denies; NULL: DRF's */
    const char *app_label;   /* ACCESS_DJANGO_MODEL: Django's app label, */
    const char *model;       /* the model's name (lower case), */
    bool authenticated_only; /* and whether anonymous users always fail */
};

enum access_throttle_kind { ACCESS_THROTTLE_ANON, ACCESS_THROTTLE_USER, ACCESS_THROTTLE_SCOPED };

struct access_throttle_spec {
    enum access_throttle_kind kind;
    const char *scope; /* "anon", "user", or the resource's throttle scope */
    const char *rate;  /* "100/hour", "10/m", "5/10m" */
};

enum access_view_kind {
    ACCESS_VIEW_NONE,
    ACCESS_VIEW_JWT_OBTAIN,    /* username and password -> refresh and access */
    ACCESS_VIEW_JWT_REFRESH,   /* refresh -> access (and a new refresh) */
    ACCESS_VIEW_JWT_VERIFY,    /* token -> 200 or 401 */
    ACCESS_VIEW_JWT_BLACKLIST, /* refresh -> blacklisted */
};

/* A route's chain. `classes` are registry numbers; `perms` the permission
 * tree with its root at perms[0] (none: anyone may). */
struct access_route_spec {
    const int *classes;
    size_t nclasses;
    const struct access_perm_spec *perms;
    size_t nperms;
    const struct access_throttle_spec *throttles;
    size_t nthrottles;
    bool owner; /* the resource filters by its owner: anonymous users are refused */
    enum access_view_kind view;
    int view_class; /* the JWT class a view issues for */
};

/* ---- set-up ------------------------------------------------------------------ */

/* A registry for an app served under `cfg` (borrowed; it outlives the
 * registry). Freed with soom_access_free(), which accepts NULL. */
struct soom_access *soom_access_new(const struct soom_config *cfg);
void soom_access_free(struct soom_access *a);

/* Compiles a class and adds it under the next number (0, 1, ...). Returns
 * SOOM_OK, or SOOM_ECONFIG with a message naming the class in `err`: a bad
 * identifier, a JWT key that does not load, an API key list that does not
 * parse. */
int soom_access_add_class(struct soom_access *a, const struct access_class_spec *s, char *err,
                          size_t errlen);

/* Compiles a route's chain into *out (owned by the caller). Returns SOOM_OK,
 * or SOOM_ECONFIG with the reason in `err` (a class number out of range, a
 * rate that does not parse, a view on a class that is not a JWT). */
int soom_access_route_new(const struct soom_access *a, const struct access_route_spec *s,
                          struct soom_access_route **out, char *err, size_t errlen);
void soom_access_route_free(struct soom_access_route *r);

/* ---- per request ------------------------------------------------------------- */

/* What a Lua hook answers. */
enum access_outcome {
    ACCESS_NONE,     /* no credentials of this kind: the next class */
    ACCESS_OK,       /* authenticated (authenticate), allowed (a permission) */
    ACCESS_FAIL,     /* wrong credentials (authenticate), denied (a permission) */
    ACCESS_ANSWERED, /* the hook answered the request itself (a problem, a 500) */
};

/* Steps written in Lua, run on the request's thread. authenticate() runs
 * Lua class `lua`; on ACCESS_OK it sets *user (in the request's arena), on
 * ACCESS_FAIL it may set *detail. permission() runs the has_permission of
 * Lua class `lua`, ACCESS_OK or ACCESS_FAIL. */
struct soom_access_hooks {
    void *ud;
    enum access_outcome (*authenticate)(void *ud, struct soom_request *r, int lua,
                                        const struct soom_request_user **user, const char **detail);
    enum access_outcome (*permission)(void *ud, struct soom_request *r, int lua);
};

/* Runs the route's chain on the request: authentication (sets r->user and
 * r->auth_class), permissions, throttles. Returns true when the request
 * may go on (the throttles' RateLimit headers are on the response then),
 * false when it has been answered: 401 or 403 as DRF decides, 429, 503
 * when a lookup found the database unavailable. */
bool soom_access_run(struct soom_request *r, const struct soom_access_route *route,
                     const struct soom_access_hooks *hooks);

/* Answers a request of a route that is one of the JWT views. */
void soom_access_view(struct soom_request *r, const struct soom_access_route *route);

/* Whether the route is one of the JWT views (answered by soom_access_view). */
bool soom_access_is_view(const struct soom_access_route *route);

/* The registry a route's chain was compiled against. */
const struct soom_access *soom_access_of(const struct soom_access_route *route);

/* Whether Django's model permission `codename` ("add_order") of app
 * `app_label` is granted to the request's user (superusers have all), on
 * the request's connection, cached with the credentials. Returns SOOM_OK
 * with *granted set, or the database's error code (the request is then
 * answered). */
int soom_access_model_permission(struct soom_request *r, const char *app_label,
                                 const char *codename, bool *granted);

/* soom_auth_password_check and soom_auth_password_make (auth_password.h)
 * on a helper thread under the async server, so that a hash's quarter of a
 * second of CPU does not stall the loop's other connections (work.h); the
 * C classes, the token views and soom.auth all hash through these. */
int soom_access_password_check(const struct soom_auth_password_params *p, const char *pw, size_t n,
                               const char *hash, size_t hash_len, bool *must_update);
int soom_access_password_make(const struct soom_auth_password_params *p, const char *pw, size_t n,
                              struct soom_buf *out);

#endif
