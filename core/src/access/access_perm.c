/*
 * Permissions (see access_impl.h): Django REST framework's built-in
 * classes, Django's model permissions read from auth_permission through
 * the user's own and group permissions, classes written in Lua, and their
 * composition (all of, any of, not), as one tree per route evaluated from
 * its root with DRF's short-circuits.
 *
 * Model permissions need the database; what a user was granted is kept in
 * the credential cache for its TTL (granted or not), keyed by the user, the
 * app label and the codename.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "soom/error.h"
#include "soom/pg.h"
#include "soom/router.h"

static const char MODEL_SQL[] =
    "SELECT 1 FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
    "WHERE ct.app_label = $2 AND p.codename = $3 AND (EXISTS (SELECT 1 FROM "
    "auth_user_user_permissions up WHERE up.user_id = $1 AND up.permission_id = p.id) OR EXISTS "
    "(SELECT 1 FROM auth_user_groups ug JOIN auth_group_permissions gp ON gp.group_id = "
    "ug.group_id WHERE ug.user_id = $1 AND gp.permission_id = p.id)) LIMIT 1";

int access_perm_init(struct access_perm *p, const struct access_perm_spec *s, char *err,
                     size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->kind = s->kind;
    p->lua = s->lua;
    p->authenticated_only = s->authenticated_only;
    p->message = s->message ? xstrdup(s->message) : NULL;
    if (s->nchildren > 0) {
        p->children = xcalloc(s->nchildren, sizeof *p->children);
        memcpy(p->children, s->children, s->nchildren * sizeof *p->children);
        p->nchildren = s->nchildren;
    }
    if (s->kind == ACCESS_DJANGO_MODEL) {
        if (s->app_label == NULL || s->model == NULL || !*s->app_label || !*s->model) {
            snprintf(err, errlen, "Django model permissions need an app label and a model name");
            return SOOM_ECONFIG;
        }
        p->app_label = xstrdup(s->app_label);
        p->model = xstrdup(s->model);
    }
    return SOOM_OK;
}

void access_perm_cleanup(struct access_perm *p)
{
    free(p->children);
    free(p->message);
    free(p->app_label);
    free(p->model);
    memset(p, 0, sizeof *p);
}

static bool safe_method(const struct soom_request *r)
{
    return r->method == SOOM_GET || r->method == SOOM_HEAD || r->method == SOOM_OPTIONS;
}

/* One permission granted to the user or not, from the database. */
static int model_lookup(struct soom_request *r, const char *app_label, const char *codename,
                        bool *granted)
{
    const char *values[] = {soom_arena_strndup(r->arena, r->user->id, r->user->id_len), app_label,
                            codename};
    struct soom_pg_result *res;
    int rc = access_query(r, MODEL_SQL, 3, values, &res, ACCESS_Q_BAD_VALUE_MISSES);
    if (rc == SOOM_ENOTFOUND) {
        *granted = false;
        return SOOM_OK;
    }
    if (rc == SOOM_OK)
        *granted = soom_pg_result_rows(res) > 0;
    return rc;
}

int soom_access_model_permission(struct soom_request *r, const char *app_label,
                                 const char *codename, bool *granted)
{
    *granted = false;
    if (r->user == NULL)
        return SOOM_OK;
    if (r->user->is_superuser) {
        *granted = true;
        return SOOM_OK;
    }
    struct access_cache *cache = r->access ? r->access->access->cache : NULL;
    unsigned char ck[ACCESS_DIGEST];
    char tag[160];
    int tl = snprintf(tag, sizeof tag, "perm:%s.%s", app_label, codename);
    access_cache_key(tag, (size_t)tl, r->user->id, r->user->id_len, ck);
    struct soom_buf b;
    soom_buf_init(&b);
    bool hit = access_cache_get(cache, ck, &b);
    if (hit)
        *granted = b.len == 1 && b.data[0] == '1';
    soom_buf_cleanup(&b);
    if (hit)
        return SOOM_OK;
    int rc = model_lookup(r, app_label, codename, granted);
    if (rc == SOOM_OK)
        access_cache_put(cache, ck, *granted ? "1" : "0", 1);
    return rc;
}

/* DjangoModelPermissions: the permission each method needs (none for the
 * safe ones), granted to the user. */
static int django_model(struct soom_request *r, const struct access_perm *p, bool *allowed)
{
    const char *action = r->method == SOOM_POST                             ? "add"
                         : r->method == SOOM_PUT || r->method == SOOM_PATCH ? "change"
                         : r->method == SOOM_DELETE                         ? "delete"
                                                                            : NULL;
    if (r->user == NULL) {
        /* an anonymous user holds no permission: it passes where none is
         * needed, unless the class is for authenticated users only */
        *allowed = action == NULL && !p->authenticated_only;
        return SOOM_OK;
    }
    if (action == NULL) {
        *allowed = true;
        return SOOM_OK;
    }
    char codename[160];
    snprintf(codename, sizeof codename, "%s_%s", action, p->model);
    return soom_access_model_permission(r, p->app_label, codename, allowed);
}

int access_perm_check(struct soom_request *r, const struct soom_access *a,
                      const struct access_perm *nodes, int i, const struct soom_access_hooks *h,
                      bool *allowed, const char **message)
{
    const struct access_perm *p = &nodes[i];
    int rc = SOOM_OK;
    *message = NULL;
    switch (p->kind) {
    case ACCESS_ALLOW_ANY: *allowed = true; break;
    case ACCESS_IS_AUTHENTICATED: *allowed = r->user != NULL; break;
    case ACCESS_IS_ADMIN: *allowed = r->user != NULL && r->user->is_staff; break;
    case ACCESS_IS_AUTHENTICATED_OR_READ_ONLY: *allowed = safe_method(r) || r->user != NULL; break;
    case ACCESS_DJANGO_MODEL: rc = django_model(r, p, allowed); break;
    case ACCESS_PERM_LUA: {
        enum access_outcome o = h->permission(h->ud, r, p->lua);
        if (o == ACCESS_ANSWERED)
            return SOOM_ELUA;
        *allowed = o == ACCESS_OK;
        break;
    }
    case ACCESS_ALL_OF:
        *allowed = true;
        for (size_t k = 0; k < p->nchildren && *allowed && rc == SOOM_OK; k++)
            rc = access_perm_check(r, a, nodes, p->children[k], h, allowed, message);
        break;
    case ACCESS_ANY_OF:
        *allowed = false;
        for (size_t k = 0; k < p->nchildren && !*allowed && rc == SOOM_OK; k++)
            rc = access_perm_check(r, a, nodes, p->children[k], h, allowed, message);
        *message = NULL;
        break;
    case ACCESS_NOT:
        rc = access_perm_check(r, a, nodes, p->children[0], h, allowed, message);
        *allowed = !*allowed;
        *message = NULL;
        break;
    }
    if (rc == SOOM_OK && !*allowed && p->message != NULL)
        *message = p->message;
    return rc;
}
