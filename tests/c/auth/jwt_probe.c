/* The JWT verifier and signer of core/src/auth driven from outside: reads
 * one JSON request on standard input, answers one JSON document on standard
 * output. tests/http/test_auth_django.py feeds it tokens that simplejwt and
 * PyJWT make at test time, and hands the tokens it issues back to them.
 *
 *   {"config": {"algorithms", "sign_algorithm", "sign_kid", "issuer",
 *               "audience", "leeway", "user_id_claim",
 *               "secrets": [{"kid", "secret"}], "pems": [{"kid", "pem"}],
 *               "jwks": ["<document>"]},
 *    "verify": [{"token", "type", "now"}],
 *    "issue": [{"token_type", "user_id", "is_int", "now", "lifetime"}]}
 *
 * answers {"config_error": null | "<why>", "verify": [{"ok", "reason",
 * "user_id", "user_id_is_int", "token_type", "jti", "alg"}], "issue":
 * [{"rc", "token"}]}. A "now" of 0 is the current time. Not a ctest entry
 * of its own. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auth_jwt.h"
#include "soom/error.h"
#include "soom/json.h"

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void field(struct soom_buf *b, const char *k, const char *v, size_t n)
{
    soom_buf_printf(b, "\"%s\":", k);
    if (v == NULL)
        soom_buf_puts(b, "null");
    else
        soom_json_write_string(b, v, n);
}

/* Adds the keys of the configuration; SOOM_OK or the first error. */
static int add_keys(struct soom_auth_jwt *j, const cJSON *c, char *err, size_t errlen)
{
    const cJSON *e;
    int rc = SOOM_OK;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "secrets"))
    {
        const char *s = str(e, "secret");
        if (rc == SOOM_OK)
            rc = soom_auth_jwt_add_secret(j, str(e, "kid"), s, s ? strlen(s) : 0, err, errlen);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "pems"))
    {
        const char *p = str(e, "pem");
        if (rc == SOOM_OK)
            rc = soom_auth_jwt_add_pem(j, str(e, "kid"), p, p ? strlen(p) : 0, err, errlen);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "jwks"))
    {
        if (rc == SOOM_OK && cJSON_IsString(e))
            rc = soom_auth_jwt_add_jwks(j, e->valuestring, strlen(e->valuestring), err, errlen);
    }
    return rc;
}

static struct soom_auth_jwt *configure(const cJSON *c, char *err, size_t errlen)
{
    struct soom_auth_jwt_options o;
    soom_auth_jwt_options_init(&o);
    o.algorithms = str(c, "algorithms");
    o.sign_algorithm = str(c, "sign_algorithm");
    o.sign_kid = str(c, "sign_kid");
    o.issuer = str(c, "issuer");
    o.audience = str(c, "audience");
    o.leeway = (int64_t)num(c, "leeway");
    if (str(c, "user_id_claim") != NULL)
        o.user_id_claim = str(c, "user_id_claim");
    struct soom_auth_jwt *j = NULL;
    if (soom_auth_jwt_new(&o, &j, err, errlen) != SOOM_OK)
        return NULL;
    if (add_keys(j, c, err, errlen) != SOOM_OK) {
        soom_auth_jwt_free(j);
        return NULL;
    }
    return j;
}

static int64_t when(const cJSON *o)
{
    double now = num(o, "now");
    return now != 0 ? (int64_t)now : (int64_t)time(NULL);
}

static void verify_one(const struct soom_auth_jwt *j, const cJSON *v, struct soom_buf *out)
{
    const char *token = str(v, "token");
    struct soom_auth_jwt_claims c;
    soom_auth_jwt_claims_init(&c);
    int rc = soom_auth_jwt_verify(j, token ? token : "", token ? strlen(token) : 0, str(v, "type"),
                                  when(v), &c);
    soom_buf_printf(out, "{\"ok\":%s,", rc == SOOM_OK ? "true" : "false");
    const char *reason = soom_auth_jwt_reason_code(c.reason);
    field(out, "reason", reason, strlen(reason));
    soom_buf_putc(out, ',');
    field(out, "user_id", c.user_id, c.user_id_len);
    soom_buf_printf(out, ",\"user_id_is_int\":%s,", c.user_id_is_int ? "true" : "false");
    field(out, "token_type", c.token_type, c.token_type ? strlen(c.token_type) : 0);
    soom_buf_putc(out, ',');
    field(out, "jti", c.jti, c.jti ? strlen(c.jti) : 0);
    soom_buf_putc(out, ',');
    const char *alg = rc == SOOM_OK ? soom_auth_jwt_alg_name(c.alg) : NULL;
    field(out, "alg", alg, alg ? strlen(alg) : 0);
    soom_buf_putc(out, '}');
    soom_auth_jwt_claims_cleanup(&c);
}

static void issue_one(const struct soom_auth_jwt *j, const cJSON *v, struct soom_buf *out)
{
    const char *uid = str(v, "user_id");
    struct soom_auth_jwt_issue t = {
        .token_type = str(v, "token_type"),
        .user_id = uid,
        .user_id_len = uid ? strlen(uid) : 0,
        .user_id_is_int = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "is_int")),
        .now = when(v),
        .lifetime = (int64_t)num(v, "lifetime"),
    };
    struct soom_buf tok;
    soom_buf_init(&tok);
    int rc = soom_auth_jwt_issue(j, &t, &tok, NULL);
    soom_buf_printf(out, "{\"rc\":%d,", rc);
    field(out, "token", rc == SOOM_OK ? tok.data : NULL, tok.len);
    soom_buf_putc(out, '}');
    soom_buf_cleanup(&tok);
}

static void run(const cJSON *req, struct soom_buf *out)
{
    char err[512] = "";
    struct soom_auth_jwt *j =
        configure(cJSON_GetObjectItemCaseSensitive(req, "config"), err, sizeof err);
    soom_buf_putc(out, '{');
    field(out, "config_error", j ? NULL : err, strlen(err));
    const char *lists[] = {"verify", "issue"};
    for (int l = 0; l < 2; l++) {
        soom_buf_printf(out, ",\"%s\":[", lists[l]);
        const cJSON *v;
        bool first = true;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(req, lists[l]))
        {
            if (j == NULL)
                break;
            if (!first)
                soom_buf_putc(out, ',');
            first = false;
            if (l == 0)
                verify_one(j, v, out);
            else
                issue_one(j, v, out);
        }
        soom_buf_putc(out, ']');
    }
    soom_buf_puts(out, "}\n");
    soom_auth_jwt_free(j);
}

int main(void)
{
    struct soom_buf in, out;
    soom_buf_init(&in);
    soom_buf_init(&out);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        soom_buf_append(&in, chunk, n);
    struct soom_json *doc;
    if (in.len == 0 || soom_json_parse(in.data, in.len, 64, &doc, NULL) != SOOM_OK) {
        fprintf(stderr, "jwt_probe: the request is not JSON\n");
        soom_buf_cleanup(&in);
        return 2;
    }
    run((const cJSON *)doc, &out);
    fwrite(out.data, 1, out.len, stdout);
    soom_json_free(doc);
    soom_buf_cleanup(&in);
    soom_buf_cleanup(&out);
    return 0;
}
