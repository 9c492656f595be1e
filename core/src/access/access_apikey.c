/*
 * API keys (see access_impl.h): a key in a header (X-Api-Key by default)
 * or a query parameter, checked against a list kept in settings
 * (auth.api_keys, "name:key,...", so keys come from the environment) or
 * against a table (optionally joined to the user table, so the key acts
 * for a user). Settings' keys are held as SHA-256 digests and every one of
 * them is compared, in constant time, whatever the presented key; a
 * table's lookups are cached like tokens' and may use digests too.
 *
 * A key from settings authenticates a client rather than a user: req.user
 * is { id = name, name = name } (is_authenticated true).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_impl.h"
#include "alloc.h"
#include "auth_key.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/pg.h"
#include "soom/request.h"

/* "name:key,name:key" (a bare key is named by its place: key1, key2...). */
static int parse_keys(struct access_class *c, const char *list, char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    c->keys = xcalloc(cap, sizeof *c->keys);
    c->key_names = xcalloc(cap, sizeof *c->key_names);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        const char *key = colon ? colon + 1 : p;
        size_t klen = colon ? len - (size_t)(colon - p) - 1 : len;
        if (klen == 0 || (colon && colon == p)) {
            snprintf(err, errlen, "%s: API keys are \"name:key\" items separated by commas",
                     c->name);
            return SOOM_ECONFIG;
        }
        soom_auth_sha256_parts(key, klen, "", 0, c->keys[c->nkeys]);
        char name[64];
        if (colon)
            snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
        else
            snprintf(name, sizeof name, "key%zu", c->nkeys + 1);
        c->key_names[c->nkeys++] = xstrdup(name);
        p += len + (end ? 1 : 0);
    }
    if (c->nkeys == 0) {
        snprintf(err, errlen, "%s: no API keys (set auth.api_keys, or keys, or a table)", c->name);
        return SOOM_ECONFIG;
    }
    return SOOM_OK;
}

static int table_sql(struct access_class *c, const struct access_class_spec *s, char *err,
                     size_t errlen)
{
    char *table = access_table(s->key_table), *key = access_ident(s->key_column),
         *name = access_ident(s->key_name), *user = access_ident(s->key_user);
    int rc = SOOM_OK;
    if (table == NULL || key == NULL || name == NULL || (s->key_user && user == NULL)) {
        snprintf(err, errlen, "%s: the key table and its columns must be table and column names",
                 c->name);
        rc = SOOM_ECONFIG;
        goto out;
    }
    struct soom_buf b;
    soom_buf_init(&b);
    if (user != NULL)
        soom_buf_printf(&b,
                        "SELECT %s, (to_jsonb(k) - '%s')::text FROM %s k JOIN %s u ON u.%s = k.%s "
                        "WHERE k.%s = $1",
                        c->user.select, s->key_column, table, c->user.table, c->user.id, user, key);
    else
        soom_buf_printf(&b,
                        "SELECT k.%s::text, true, false, false, (to_jsonb(k) - '%s')::text, "
                        "(to_jsonb(k) - '%s')::text FROM %s k WHERE k.%s = $1",
                        name, s->key_column, s->key_column, table, key);
    c->sql = soom_buf_detach(&b, NULL);
out:
    free(table);
    free(key);
    free(name);
    free(user);
    return rc;
}

int access_apikey_init(struct access_class *c, const struct access_class_spec *s, char *err,
                       size_t errlen)
{
    if ((s->key_header == NULL) == (s->key_query == NULL)) {
        snprintf(err, errlen, "%s: an API key comes from a header or from a query parameter",
                 c->name);
        return SOOM_ECONFIG;
    }
    c->key_header = s->key_header ? xstrdup(s->key_header) : NULL;
    c->key_query = s->key_query ? xstrdup(s->key_query) : NULL;
    if (s->keys != NULL)
        return parse_keys(c, s->keys, err, errlen);
    if (s->key_table == NULL) {
        snprintf(err, errlen, "%s: API keys need a list (keys, auth.api_keys) or a table", c->name);
        return SOOM_ECONFIG;
    }
    return table_sql(c, s, err, errlen);
}

/* The name of the settings' key equal to (p, n), or NULL: every key is
 * compared, so the time says nothing about which one matched. */
static const char *match_listed(const struct access_class *c, const char *p, size_t n)
{
    unsigned char d[ACCESS_DIGEST];
    soom_auth_sha256_parts(p, n, "", 0, d);
    const char *found = NULL;
    for (size_t i = 0; i < c->nkeys; i++)
        if (soom_auth_equal(c->keys[i], ACCESS_DIGEST, d, ACCESS_DIGEST))
            found = c->key_names[i];
    return found;
}

static const struct soom_request_user *listed_user(struct soom_request *r, const char *name)
{
    struct soom_buf b;
    soom_buf_init(&b);
    size_t n = strlen(name);
    soom_buf_puts(&b, "{\"id\":");
    soom_json_write_string(&b, name, n);
    soom_buf_puts(&b, ",\"name\":");
    soom_json_write_string(&b, name, n);
    soom_buf_putc(&b, '}');
    struct soom_request_user *u = soom_arena_calloc(r->arena, sizeof *u);
    u->id = soom_arena_strndup(r->arena, name, n);
    u->id_len = n;
    u->doc = soom_arena_strndup(r->arena, b.data, b.len);
    u->doc_len = b.len;
    u->auth = u->doc;
    u->auth_len = u->doc_len;
    soom_buf_cleanup(&b);
    return u;
}

static int table_lookup(struct soom_request *r, const struct soom_access *a,
                        const struct access_class *c, const char *key, size_t n,
                        struct access_result *res)
{
    unsigned char ck[ACCESS_DIGEST];
    access_cache_key(c->tag, c->tag_len, key, n, ck);
    struct soom_buf b;
    soom_buf_init(&b);
    if (!c->uncached && access_cache_get(a->cache, ck, &b))
        res->user = access_user_deserialize(r, b.data, b.len);
    soom_buf_cleanup(&b);
    if (res->user != NULL) {
        res->outcome = ACCESS_OK;
        return SOOM_OK;
    }
    char digest[SOOM_AUTH_KEY_SHA256 + 1];
    if (c->hashed)
        soom_auth_key_sha256(key, n, digest);
    const char *param = c->hashed ? digest : soom_arena_strndup(r->arena, key, n);
    struct soom_pg_result *row;
    int rc = access_query(r, c->sql, 1, &param, &row, ACCESS_Q_BAD_VALUE_MISSES);
    if (rc != SOOM_OK && rc != SOOM_ENOTFOUND)
        return rc;
    bool active = false;
    const struct soom_request_user *u = NULL;
    if (rc == SOOM_OK && soom_pg_result_rows(row) > 0)
        u = access_user_from_row(r, row, ACCESS_USER_COLUMNS, &active);
    if (u == NULL || !active) {
        res->outcome = ACCESS_FAIL;
        res->failure = u == NULL ? SOOM_AF_UNKNOWN_KEY : SOOM_AF_INACTIVE_USER;
        res->detail = "Invalid API key.";
        return SOOM_OK;
    }
    if (!c->uncached) {
        soom_buf_init(&b);
        access_user_serialize(u, &b);
        access_cache_put(a->cache, ck, b.data, b.len);
        soom_buf_cleanup(&b);
    }
    res->outcome = ACCESS_OK;
    res->user = u;
    return SOOM_OK;
}

int access_apikey_run(struct soom_request *r, const struct soom_access *a,
                      const struct access_class *c, struct access_result *res)
{
    size_t n = 0;
    const char *key = c->key_header
                          ? soom_request_header(r, c->key_header, strlen(c->key_header), &n)
                          : soom_request_query(r, c->key_query, strlen(c->key_query), &n);
    if (key == NULL) {
        res->outcome = ACCESS_NONE;
        return SOOM_OK;
    }
    while (n > 0 && (key[0] == ' ' || key[0] == '\t'))
        key++, n--;
    while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\t'))
        n--;
    if (n == 0 || memchr(key, '\0', n) != NULL) {
        res->outcome = ACCESS_FAIL;
        res->failure = SOOM_AF_BAD_HEADER;
        res->detail = "Invalid API key.";
        return SOOM_OK;
    }
    if (c->keys == NULL)
        return table_lookup(r, a, c, key, n, res);
    const char *name = match_listed(c, key, n);
    if (name == NULL) {
        res->outcome = ACCESS_FAIL;
        res->failure = SOOM_AF_UNKNOWN_KEY;
        res->detail = "Invalid API key.";
        return SOOM_OK;
    }
    res->outcome = ACCESS_OK;
    res->user = listed_user(r, name);
    return SOOM_OK;
}
