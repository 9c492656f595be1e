/*
 * Idempotency-Key on POST and PATCH (see pipeline_idem.h).
 *
 * Keys live in soom_idempotency, made by the first keyed request of each
 * process when it is missing (IF NOT EXISTS: whichever replica came first
 * made it). A key belongs to a scope, the method, the route's pattern and
 * the authenticated user (anonymous requests share one per route), so two
 * users or two resources never see each other's keys. Its fingerprint is
 * the SHA-256 of the method, path, query and body bytes.
 *
 * Expired keys are never replayed (every lookup checks expires_at) and
 * are deleted by this process at most once per idempotency.purge_interval
 * (a minute), a thousand at a time, on the connection of a request that
 * just stored a key, after its commit.
 */
#include "pipeline_idem.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "app.h"
#include "clock.h"
#include "hex.h"
#include "request_impl.h"
#include "soom/config.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"
#include "soom/response.h"

#define KEY_MAX 255

#define TYPE_IN_USE "urn:soom:problem:idempotency-key-in-use"
#define TYPE_REUSED "urn:soom:problem:idempotency-key-reused"
#define TYPE_MISSING "urn:soom:problem:idempotency-key-missing"

static const char CREATE_SQL[] =
    "CREATE TABLE IF NOT EXISTS soom_idempotency (scope text NOT NULL, key text NOT NULL, "
    "fingerprint bytea NOT NULL, status integer NOT NULL, content_type text, headers text NOT "
    "NULL, body bytea NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (scope, key)); "
    "CREATE INDEX IF NOT EXISTS soom_idempotency_expires ON soom_idempotency (expires_at)";

/* hashtextextended: 64 bits of the scope and key, as the advisory lock's id */
static const char LOCK_SQL[] =
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))";

static const char FIND_SQL[] = "SELECT fingerprint, status, content_type, headers, body FROM "
                               "soom_idempotency WHERE scope = $1 AND key = $2 AND expires_at > "
                               "now()";

/* an expired row of the same key, not purged yet, is taken over */
static const char STORE_SQL[] =
    "INSERT INTO soom_idempotency AS i (scope, key, fingerprint, status, content_type, headers, "
    "body, expires_at) VALUES ($1, $2, $3, $4::integer, $5, $6, $7, now() + $8::float8 * "
    "interval '1 second') ON CONFLICT (scope, key) DO UPDATE SET fingerprint = "
    "excluded.fingerprint, status = excluded.status, content_type = excluded.content_type, "
    "headers = excluded.headers, body = excluded.body, expires_at = excluded.expires_at WHERE "
    "i.expires_at <= now()";

static const char PURGE_SQL[] =
    "DELETE FROM soom_idempotency WHERE ctid = ANY (ARRAY(SELECT ctid FROM soom_idempotency "
    "WHERE expires_at <= now() LIMIT 1000))";

struct pipeline_idem {
    struct soom_pg_conn *c;
    const char *scope;
    const char *key;
    unsigned char fingerprint[32];
};

static _Atomic bool table_ready;
static _Atomic uint64_t last_purge_ns;

/* ---- the key and the fingerprint ------------------------------------------ */

/* The key: a structured-field string ("..." with \" and \\ escapes), as
 * the draft has it, or the bare text many clients send; visible ASCII, 1
 * to 255 characters. NULL when it is none of these. */
static const char *parse_key(struct soom_request *r, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    char *out = soom_arena_alloc(r->arena, n + 1);
    size_t o = 0;
    bool quoted = n >= 2 && v[0] == '"';
    size_t i = quoted ? 1 : 0, end = quoted ? n - 1 : n;
    if (quoted && v[n - 1] != '"')
        return NULL;
    for (; i < end; i++) {
        char ch = v[i];
        if (quoted && ch == '\\' && i + 1 < end && (v[i + 1] == '"' || v[i + 1] == '\\'))
            ch = v[++i];
        else if (quoted && (ch == '"' || ch == '\\'))
            return NULL;
        if ((unsigned char)ch < 0x20 || (unsigned char)ch > 0x7e)
            return NULL;
        out[o++] = ch;
    }
    out[o] = '\0';
    return o >= 1 && o <= KEY_MAX ? out : NULL;
}

static void fingerprint(const struct soom_request *r, unsigned char out[32])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    if (x == NULL)
        soom_oom(0);
    EVP_DigestInit_ex(x, EVP_sha256(), NULL);
    EVP_DigestUpdate(x, r->method_name, strlen(r->method_name));
    EVP_DigestUpdate(x, "\n", 1);
    EVP_DigestUpdate(x, r->path, r->path_len);
    for (size_t i = 0; i < r->nquery; i++) {
        const struct soom_kv *kv = &r->query[i];
        EVP_DigestUpdate(x, "\n", 1);
        EVP_DigestUpdate(x, kv->key, kv->key_len);
        EVP_DigestUpdate(x, "=", 1);
        EVP_DigestUpdate(x, kv->value, kv->value_len);
    }
    EVP_DigestUpdate(x, "\n\n", 2);
    if (r->body_len > 0)
        EVP_DigestUpdate(x, r->body, r->body_len);
    unsigned int len = 32;
    EVP_DigestFinal_ex(x, out, &len);
    EVP_MD_CTX_free(x);
}

/* method, route pattern and user: "POST /orders\n42" */
static const char *scope_of(struct soom_request *r)
{
    const struct soom_request_user *u = r->user;
    return soom_arena_printf(r->arena, "%s %s\n%.*s", r->method_name, r->route->pattern,
                             u != NULL ? (int)u->id_len : 0, u != NULL ? u->id : "");
}

/* ---- database steps ---------------------------------------------------------- */

/* A failed statement answered as the plans answer theirs. */
static void answer_db(struct soom_request *r, struct soom_pg_conn *c, int rc, const char *sql)
{
    const struct soom_pg_error *e = c != NULL ? soom_pg_conn_error(c) : NULL;
    soom_pg_error_log(e, rc, sql, r->request_id);
    struct soom_pg_problem pb;
    soom_pg_error_problem(e, rc, &pb);
    r->out_headers = NULL; /* what the resource set belonged to its own answer */
    if (pb.status == 503)
        soom_response_header(r, "Retry-After", "1");
    soom_response_problem_type(
        r, pb.status, rc == SOOM_EUNKNOWN ? SOOM_PG_TYPE_COMMIT_UNKNOWN : NULL, pb.detail, NULL);
    r->responded = true;
}

/* Makes the table on this process's first key; a replica racing on the
 * catalog leaves a duplicate error that means the table is there. */
static void ensure_table(struct soom_pg_conn *c)
{
    if (atomic_load_explicit(&table_ready, memory_order_acquire))
        return;
    int rc = soom_pg_exec_script(c, CREATE_SQL);
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    if (rc == SOOM_OK ||
        (e != NULL && (strcmp(e->sqlstate, "23505") == 0 || strcmp(e->sqlstate, "42P07") == 0)))
        atomic_store_explicit(&table_ready, true, memory_order_release);
}

static char *dup(struct soom_request *r, const char *s)
{
    return soom_arena_strndup(r->arena, s, strlen(s));
}

/* The stored response, answered as it was, marked as a replay. */
static void replay(struct soom_request *r, const struct soom_pg_result *res)
{
    r->status = atoi(soom_pg_result_value(res, 0, 1, NULL));
    const char *type =
        soom_pg_result_isnull(res, 0, 2) ? NULL : dup(r, soom_pg_result_value(res, 0, 2, NULL));
    char *line = dup(r, soom_pg_result_value(res, 0, 3, NULL));
    for (char *end; (end = strchr(line, '\n')) != NULL; line = end + 1) {
        *end = '\0';
        char *colon = strchr(line, ':');
        if (colon != NULL) {
            *colon = '\0';
            soom_response_header(r, line, colon + 1);
        }
    }
    soom_response_header(r, "Idempotent-Replayed", "true");
    size_t n;
    const char *hex = soom_pg_result_value(res, 0, 4, &n);
    /* bytea's text form: \x and two hex digits a byte */
    size_t len = n > 2 ? (n - 2) / 2 : 0;
    char *body = soom_arena_alloc(r->arena, len + 1);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)(hex_value(hex[2 + 2 * i]) << 4 | hex_value(hex[3 + 2 * i]));
    if (len > 0)
        soom_response_copy(r, body, len, type != NULL ? type : "application/json");
    r->responded = true;
}

/* Takes the key inside the open transaction; false when answered. */
static bool take_key(struct soom_request *r, struct pipeline_idem *st)
{
    const char *v[] = {st->scope, st->key};
    struct soom_pg_result *res;
    int rc = soom_pg_exec(st->c, LOCK_SQL, 2, v, NULL, NULL, &res);
    if (rc != SOOM_OK) {
        answer_db(r, st->c, rc, LOCK_SQL);
        return false;
    }
    bool locked = strcmp(soom_pg_result_value(res, 0, 0, NULL), "t") == 0;
    soom_pg_result_free(res);
    if (!locked) {
        soom_response_problem_type(r, 409, TYPE_IN_USE,
                                   "a request with this Idempotency-Key is still being processed; "
                                   "retry once it is done",
                                   NULL);
        r->responded = true;
        return false;
    }
    /* a statement of its own, after the lock: its snapshot sees a key that
     * a request which held the lock a moment ago committed */
    rc = soom_pg_exec(st->c, FIND_SQL, 2, v, NULL, NULL, &res);
    if (rc != SOOM_OK) {
        answer_db(r, st->c, rc, FIND_SQL);
        return false;
    }
    soom_pg_result_defer(r->arena, res);
    if (soom_pg_result_rows(res) == 0)
        return true;
    size_t n;
    const char *fp = soom_pg_result_value(res, 0, 0, &n);
    char mine[67] = "\\x";
    for (int i = 0; i < 32; i++) {
        mine[2 + 2 * i] = hex_digit(st->fingerprint[i] >> 4, false);
        mine[3 + 2 * i] = hex_digit(st->fingerprint[i], false);
    }
    mine[66] = '\0';
    if (n == 66 && memcmp(fp, mine, 66) == 0)
        replay(r, res);
    else
        soom_response_problem_type(r, 422, TYPE_REUSED,
                                   "this Idempotency-Key was used for another request (another "
                                   "body, path or query): use a new key for a new request",
                                   NULL);
    r->responded = true;
    return false;
}

bool pipeline_idem_begin(struct soom_request *r, struct pipeline_idem **out)
{
    *out = NULL;
    const struct soom_route *route = r->route;
    /* the token views are left alone: their answers are credentials,
     * which have no business in a table of stored responses */
    if (route->idempotency == SOOM_IDEMPOTENCY_OFF ||
        (r->method != SOOM_POST && r->method != SOOM_PATCH) || route->native != NULL ||
        soom_access_is_view(route->access))
        return true;
    size_t n;
    const char *h = soom_request_header(r, "Idempotency-Key", 15, &n);
    if (h == NULL) {
        if (route->idempotency != SOOM_IDEMPOTENCY_REQUIRED)
            return true;
        soom_response_problem_type(r, 400, TYPE_MISSING,
                                   "this resource needs an Idempotency-Key header", NULL);
        r->responded = true;
        return false;
    }
    const char *key = parse_key(r, h, n);
    if (key == NULL) {
        soom_response_problem(r, 400,
                              "the Idempotency-Key must be 1 to 255 visible ASCII characters, "
                              "bare or as a quoted string",
                              NULL);
        r->responded = true;
        return false;
    }
    struct soom_pg_conn *c = NULL;
    int rc = soom_request_pg(r, &c);
    if (rc == SOOM_ECONFIG)
        return true; /* no database to keep keys in: the resource runs as without one */
    struct pipeline_idem *st = soom_arena_calloc(r->arena, sizeof *st);
    st->c = c;
    st->key = key;
    st->scope = scope_of(r);
    fingerprint(r, st->fingerprint);
    if (rc == SOOM_OK)
        ensure_table(c);
    if (rc == SOOM_OK)
        rc = soom_pg_begin(c);
    if (rc != SOOM_OK) {
        answer_db(r, c, rc, "BEGIN");
        return false;
    }
    if (!take_key(r, st)) {
        soom_pg_rollback(c);
        return false;
    }
    *out = st;
    return true;
}

/* ---- storing ------------------------------------------------------------------- */

/* "Name:value\n" per header the resource set */
static const char *headers_text(struct soom_request *r)
{
    struct soom_buf b;
    soom_buf_init(&b);
    for (const struct soom_header_out *h = r->out_headers; h != NULL; h = h->next) {
        if (strchr(h->value, '\n') != NULL || strchr(h->name, ':') != NULL)
            continue;
        soom_buf_printf(&b, "%s:%s\n", h->name, h->value);
    }
    const char *t = soom_arena_strndup(r->arena, b.data != NULL ? b.data : "", b.len);
    soom_buf_cleanup(&b);
    return t;
}

static int store(struct soom_request *r, struct pipeline_idem *st)
{
    char status[16], ttl[32];
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(ttl, sizeof ttl, "%.3f", r->config->idempotency_ttl);
    const char *v[] = {st->scope,       st->key,         (const char *)st->fingerprint,  status,
                       r->content_type, headers_text(r), r->out_body ? r->out_body : "", ttl};
    size_t lens[] = {strlen(st->scope),
                     strlen(st->key),
                     32,
                     strlen(status),
                     r->content_type ? strlen(r->content_type) : 0,
                     strlen(v[5]),
                     r->out_len,
                     strlen(ttl)};
    const bool bin[] = {false, false, true, false, false, false, true, false};
    return soom_pg_exec(st->c, STORE_SQL, 8, v, lens, bin, NULL);
}

static void purge(struct soom_request *r, struct soom_pg_conn *c)
{
    uint64_t every = (uint64_t)(r->config->idempotency_purge_interval * 1e9);
    uint64_t now = soom_clock_ns(), last = atomic_load(&last_purge_ns);
    if (last != 0 && now - last < every)
        return;
    if (!atomic_compare_exchange_strong(&last_purge_ns, &last, now))
        return; /* another thread of this process purges */
    soom_pg_exec(c, PURGE_SQL, 0, NULL, NULL, NULL, NULL);
}

void pipeline_idem_end(struct soom_request *r, struct pipeline_idem *st)
{
    if (st == NULL)
        return;
    struct soom_pg_conn *c = st->c;
    if (r->pg != c || !soom_pg_conn_in_transaction(c)) {
        soom_pg_rollback(c); /* the session was lost: nothing was kept */
        return;
    }
    if (r->status >= 500 || !r->responded) {
        soom_pg_rollback(c);
        return;
    }
    /* fails on a transaction a statement of the resource aborted: its
     * answer (a conflict, say) stands and nothing is kept; any other
     * failure took the resource's writes with it and is the answer */
    int rc = store(r, st);
    if (rc != SOOM_OK) {
        const struct soom_pg_error *e = soom_pg_conn_error(c);
        if (e == NULL || strcmp(e->sqlstate, "25P02") != 0)
            answer_db(r, c, rc, STORE_SQL);
        soom_pg_rollback(c);
        return;
    }
    rc = soom_pg_commit(c);
    if (rc != SOOM_OK) {
        answer_db(r, c, rc, "COMMIT");
        soom_pg_rollback(c);
        return;
    }
    purge(r, c);
}
