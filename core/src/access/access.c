/*
 * The registry and the route chains (see access.h): classes compiled once
 * and shared by the routes that name them, each route's permission tree
 * and throttles, and the chain itself in Django REST framework's order:
 * authenticate (the first class that finds credentials decides; wrong
 * credentials are refused whatever the permissions), check permissions
 * (401 or 403 as DRF decides), then count the throttles (every one of
 * them; 429 with the longest wait when any is over its limit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_jwt.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/response.h"

struct soom_access *soom_access_new(const struct soom_config *cfg)
{
    struct soom_access *a = xcalloc(1, sizeof *a);
    a->cfg = cfg;
    a->cache = access_cache_new((size_t)cfg->auth_cache_size, cfg->auth_cache_ttl);
    a->throttles = access_throttles_new((size_t)cfg->throttle_cache_size);
    return a;
}

void access_class_free(struct access_class *c)
{
    if (c == NULL)
        return;
    free(c->name);
    free(c->header);
    access_user_cleanup(&c->user);
    free(c->keyword);
    free(c->sql);
    soom_auth_jwt_free(c->jwt);
    free(c->sql_outstanding);
    free(c->sql_blacklisted);
    free(c->sql_blacklist);
    free(c->sql_login);
    free(c->username_field);
    free(c->sql_rehash);
    free(c->key_header);
    free(c->key_query);
    free(c->keys);
    for (size_t i = 0; i < c->nkeys; i++)
        free(c->key_names[i]);
    free(c->key_names);
    free(c);
}

void soom_access_free(struct soom_access *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->nclasses; i++)
        access_class_free(a->classes[i]);
    free(a->classes);
    access_cache_free(a->cache);
    access_throttles_free(a->throttles);
    free(a);
}

static int init_kind(struct access_class *c, const struct access_class_spec *s,
                     const struct soom_config *cfg, char *err, size_t errlen)
{
    switch (s->kind) {
    case ACCESS_TOKEN: return access_token_init(c, s, err, errlen);
    case ACCESS_JWT: return access_jwt_init(c, s, cfg, err, errlen);
    case ACCESS_BASIC: return access_basic_init(c, s, err, errlen);
    case ACCESS_API_KEY: return access_apikey_init(c, s, err, errlen);
    case ACCESS_LUA: c->lua = s->lua; return SOOM_OK;
    }
    return SOOM_ECONFIG;
}

int soom_access_add_class(struct soom_access *a, const struct access_class_spec *s, char *err,
                          size_t errlen)
{
    struct access_class *c = xcalloc(1, sizeof *c);
    c->kind = s->kind;
    c->index = (int)a->nclasses;
    c->name = xstrdup(s->name ? s->name : "an authentication class");
    c->header = s->header && *s->header ? xstrdup(s->header) : NULL;
    c->hashed = s->hashed;
    c->uncached = s->uncached;
    static const char *const TAGS[] = {"token", "jwtuser", "basic", "apikey", "lua"};
    c->tag_len = (size_t)snprintf(c->tag, sizeof c->tag, "%s:%d", TAGS[s->kind], c->index);
    if (c->header != NULL && strpbrk(c->header, "\r\n") != NULL) {
        snprintf(err, errlen, "%s: its header must be one line", c->name);
        access_class_free(c);
        return SOOM_ECONFIG;
    }
    int rc = SOOM_OK;
    if (s->kind != ACCESS_LUA && !(s->kind == ACCESS_API_KEY && s->keys != NULL && !s->key_user))
        rc = access_user_init(&c->user, &s->user, c->name, err, errlen);
    if (rc == SOOM_OK)
        rc = init_kind(c, s, a->cfg, err, errlen);
    if (rc != SOOM_OK) {
        access_class_free(c);
        return rc;
    }
    a->classes = xrealloc(a->classes, (a->nclasses + 1) * sizeof *a->classes);
    a->classes[a->nclasses++] = c;
    return SOOM_OK;
}

/* ---- route chains ----------------------------------------------------------------- */

void soom_access_route_free(struct soom_access_route *r)
{
    if (r == NULL)
        return;
    free(r->classes);
    for (size_t i = 0; i < r->nperms; i++)
        access_perm_cleanup(&r->perms[i]);
    free(r->perms);
    for (size_t i = 0; i < r->nthrottles; i++)
        free(r->throttles[i].scope);
    free(r->throttles);
    free(r);
}

static int route_perms(struct soom_access_route *out, const struct access_route_spec *s, char *err,
                       size_t errlen)
{
    out->perms = xcalloc(s->nperms + 1, sizeof *out->perms);
    for (size_t i = 0; i < s->nperms; i++) {
        const struct access_perm_spec *p = &s->perms[i];
        for (size_t k = 0; k < p->nchildren; k++) {
            if (p->children[k] <= (int)i || (size_t)p->children[k] >= s->nperms) {
                snprintf(err, errlen, "a permission's operand is out of place");
                return SOOM_ECONFIG;
            }
        }
        if (p->kind == ACCESS_NOT && p->nchildren != 1) {
            snprintf(err, errlen, "a negated permission has one operand");
            return SOOM_ECONFIG;
        }
        out->nperms = i + 1;
        int rc = access_perm_init(&out->perms[i], p, err, errlen);
        if (rc != SOOM_OK)
            return rc;
    }
    return SOOM_OK;
}

static int route_throttles(struct soom_access_route *out, const struct soom_access *a,
                           const struct access_route_spec *s, char *err, size_t errlen)
{
    out->throttles = xcalloc(s->nthrottles + 1, sizeof *out->throttles);
    for (size_t i = 0; i < s->nthrottles; i++) {
        const struct access_throttle_spec *t = &s->throttles[i];
        struct access_throttle *o = &out->throttles[i];
        if (t->scope == NULL || !*t->scope || !access_rate_parse(t->rate, &o->limit, &o->period)) {
            snprintf(err, errlen,
                     "the throttle rate \"%s\" of scope \"%s\" is not N/s, N/m, N/h or N/d "
                     "(or N/<k><unit>, as 5/10m)",
                     t->rate ? t->rate : "", t->scope ? t->scope : "");
            return SOOM_ECONFIG;
        }
        o->kind = t->kind;
        o->scope = xstrdup(t->scope);
        o->in_db = a->cfg->throttle_postgres;
        out->nthrottles = i + 1;
    }
    return SOOM_OK;
}

int soom_access_route_new(const struct soom_access *a, const struct access_route_spec *s,
                          struct soom_access_route **out, char *err, size_t errlen)
{
    struct soom_access_route *r = xcalloc(1, sizeof *r);
    r->access = a;
    r->owner = s->owner;
    r->view = s->view;
    r->view_class = s->view_class;
    r->classes = xcalloc(s->nclasses + 1, sizeof *r->classes);
    int rc = SOOM_OK;
    for (size_t i = 0; i < s->nclasses; i++) {
        if (s->classes[i] < 0 || (size_t)s->classes[i] >= a->nclasses) {
            snprintf(err, errlen, "authentication class %d is not in the registry", s->classes[i]);
            rc = SOOM_ECONFIG;
            goto out;
        }
        r->classes[r->nclasses++] = s->classes[i];
    }
    if (s->view != ACCESS_VIEW_NONE && (s->view_class < 0 || (size_t)s->view_class >= a->nclasses ||
                                        a->classes[s->view_class]->kind != ACCESS_JWT)) {
        snprintf(err, errlen, "a token view needs a soom.auth.jwt class");
        rc = SOOM_ECONFIG;
        goto out;
    }
    rc = route_perms(r, s, err, errlen);
    if (rc == SOOM_OK)
        rc = route_throttles(r, a, s, err, errlen);
out:
    if (rc != SOOM_OK) {
        soom_access_route_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

bool soom_access_is_view(const struct soom_access_route *route)
{
    return route != NULL && route->view != ACCESS_VIEW_NONE;
}

const struct soom_access *soom_access_of(const struct soom_access_route *route)
{
    return route->access;
}

void soom_access_view(struct soom_request *r, const struct soom_access_route *route)
{
    access_jwt_view(r, route->access, route->access->classes[route->view_class], route->view);
}

/* ---- the chain ------------------------------------------------------------------------ */

static int run_class(struct soom_request *r, const struct soom_access *a,
                     const struct access_class *c, const struct soom_access_hooks *h,
                     struct access_result *res)
{
    switch (c->kind) {
    case ACCESS_TOKEN: return access_token_run(r, a, c, res);
    case ACCESS_JWT: return access_jwt_run(r, a, c, res);
    case ACCESS_BASIC: return access_basic_run(r, a, c, res);
    case ACCESS_API_KEY: return access_apikey_run(r, a, c, res);
    case ACCESS_LUA:
        res->outcome = h->authenticate(h->ud, r, c->lua, &res->user, &res->detail);
        res->failure = SOOM_AF_LUA;
        return SOOM_OK;
    }
    return SOOM_EINTERNAL;
}

/* False when the request has been answered. */
static bool authenticate(struct soom_request *r, const struct soom_access_route *route,
                         const struct soom_access_hooks *h)
{
    const struct soom_access *a = route->access;
    for (size_t i = 0; i < route->nclasses; i++) {
        const struct access_class *c = a->classes[route->classes[i]];
        struct access_result res = {.outcome = ACCESS_NONE};
        if (run_class(r, a, c, h, &res) != SOOM_OK || res.outcome == ACCESS_ANSWERED)
            return false;
        if (res.outcome == ACCESS_NONE)
            continue;
        if (res.outcome == ACCESS_FAIL || res.user == NULL) {
            access_note_failure(r, res.failure);
            access_answer_unauthenticated(r, a, route, true, res.detail);
            return false;
        }
        r->user = res.user;
        r->auth_class = c->index;
        return true;
    }
    return true;
}

static bool permitted(struct soom_request *r, const struct soom_access_route *route,
                      const struct soom_access_hooks *h)
{
    bool allowed = true;
    const char *message = NULL;
    if (route->owner && r->user == NULL) {
        allowed = false; /* a resource filtered by its owner has none to show */
    } else if (route->nperms > 0) {
        int rc = access_perm_check(r, route->access, route->perms, 0, h, &allowed, &message);
        if (rc != SOOM_OK)
            return false;
    }
    if (allowed)
        return true;
    if (route->nclasses > 0 && r->user == NULL) {
        /* DRF: authentication was possible and did not happen */
        access_note_failure(r, SOOM_AF_NO_CREDENTIALS);
        access_answer_unauthenticated(r, route->access, route, false, NULL);
    } else {
        access_note_failure(r, SOOM_AF_PERMISSION);
        access_answer_denied(r, message);
    }
    return false;
}

/* The throttle's key: scope, period and who (the user, else the address). */
static size_t throttle_key(struct soom_request *r, const struct access_throttle *t, char *out,
                           size_t cap)
{
    int n;
    if (r->user != NULL && t->kind != ACCESS_THROTTLE_ANON)
        n = snprintf(out, cap, "%s|%ld|u:%.*s", t->scope, t->period, (int)r->user->id_len,
                     r->user->id);
    else
        n = snprintf(out, cap, "%s|%ld|a:%s", t->scope, t->period, access_client_address(r));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static bool throttled(struct soom_request *r, const struct soom_access_route *route)
{
    if (route->nthrottles == 0)
        return false;
    struct soom_buf policy, state;
    soom_buf_init(&policy);
    soom_buf_init(&state);
    long wait = 0;
    bool over = false, failed = false;
    for (size_t i = 0; i < route->nthrottles && !failed; i++) {
        const struct access_throttle *t = &route->throttles[i];
        if (t->kind == ACCESS_THROTTLE_ANON && r->user != NULL)
            continue; /* DRF's AnonRateThrottle leaves authenticated users alone */
        char key[512];
        size_t n = throttle_key(r, t, key, sizeof key);
        long hits = 0, reset = 0;
        if (t->in_db)
            failed = access_throttle_hit_pg(r, t, key, n, &hits, &reset) != SOOM_OK;
        else
            access_throttle_hit(route->access->throttles, t, key, n, &hits, &reset);
        if (failed)
            break;
        if (hits > t->limit) {
            over = true;
            wait = reset > wait ? reset : wait;
        }
        /* the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) */
        soom_buf_printf(&policy, "%s\"%s\";q=%ld;w=%ld", policy.len ? ", " : "", t->scope, t->limit,
                        t->period);
        soom_buf_printf(&state, "%s\"%s\";r=%ld;t=%ld", state.len ? ", " : "", t->scope,
                        hits >= t->limit ? 0 : t->limit - hits, reset);
    }
    if (!failed && policy.len > 0) {
        soom_response_header(r, "RateLimit-Policy", policy.data);
        soom_response_header(r, "RateLimit", state.data);
    }
    soom_buf_cleanup(&policy);
    soom_buf_cleanup(&state);
    if (over && !failed)
        access_answer_throttled(r, wait);
    return over || failed;
}

bool soom_access_run(struct soom_request *r, const struct soom_access_route *route,
                     const struct soom_access_hooks *hooks)
{
    r->access = route;
    return authenticate(r, route, hooks) && permitted(r, route, hooks) && !throttled(r, route);
}
