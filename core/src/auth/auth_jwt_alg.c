/*
 * What the JWT files share and need from no other (see auth_jwt_impl.h):
 * the algorithm table and its names, the reasons a token is refused, and
 * the header segments PyJWT writes for a key, which the verifier
 * recognises without decoding them.
 */
#include <string.h>

#include "alloc.h"
#include "auth_jwt_impl.h"
#include "soom/base64.h"
#include "soom/json.h"

const struct jwt_alg_info JWT_ALGS[SOOM_AUTH_JWT_NALGS] = {
    [SOOM_AUTH_JWT_HS256] = {"HS256", JWT_OCT, 0, 0},
    [SOOM_AUTH_JWT_HS384] = {"HS384", JWT_OCT, 1, 0},
    [SOOM_AUTH_JWT_HS512] = {"HS512", JWT_OCT, 2, 0},
    [SOOM_AUTH_JWT_RS256] = {"RS256", JWT_RSA, 0, 0},
    [SOOM_AUTH_JWT_RS384] = {"RS384", JWT_RSA, 1, 0},
    [SOOM_AUTH_JWT_RS512] = {"RS512", JWT_RSA, 2, 0},
    [SOOM_AUTH_JWT_ES256] = {"ES256", JWT_EC, 0, 32},
    [SOOM_AUTH_JWT_ES384] = {"ES384", JWT_EC, 1, 48},
    [SOOM_AUTH_JWT_ES512] = {"ES512", JWT_EC, 2, 66},
    [SOOM_AUTH_JWT_EDDSA] = {"EdDSA", JWT_OKP, -1, 0},
};

const char *soom_auth_jwt_alg_name(enum soom_auth_jwt_alg a)
{
    return (unsigned)a < SOOM_AUTH_JWT_NALGS ? JWT_ALGS[a].name : "unknown";
}

int jwt_alg_lookup(const char *p, size_t n)
{
    for (int a = 0; a < SOOM_AUTH_JWT_NALGS; a++)
        if (strlen(JWT_ALGS[a].name) == n && memcmp(JWT_ALGS[a].name, p, n) == 0)
            return a;
    return -1;
}

const char *soom_auth_jwt_reason_code(enum soom_auth_jwt_reason r)
{
    switch (r) {
#define REASON_CODE(name, code, msg)                                                               \
    case SOOM_AUTH_JWT_##name: return code;
        SOOM_AUTH_JWT_REASONS(REASON_CODE)
#undef REASON_CODE
    }
    return "unknown";
}

const char *soom_auth_jwt_reason_message(enum soom_auth_jwt_reason r)
{
    switch (r) {
#define REASON_MSG(name, code, msg)                                                                \
    case SOOM_AUTH_JWT_##name: return msg;
        SOOM_AUTH_JWT_REASONS(REASON_MSG)
#undef REASON_MSG
    }
    return "unknown";
}

void jwt_headers_add(struct soom_auth_jwt *j, const struct jwt_key *k)
{
    for (int a = 0; a < SOOM_AUTH_JWT_NALGS; a++) {
        if ((k->algs & j->algorithms & JWT_BIT(a)) == 0)
            continue;
        struct soom_buf text, seg;
        soom_buf_init(&text);
        soom_buf_init(&seg);
        soom_buf_printf(&text, "{\"alg\":\"%s\"", JWT_ALGS[a].name);
        if (k->kid != NULL) {
            soom_buf_puts(&text, ",\"kid\":");
            soom_json_write_string(&text, k->kid, strlen(k->kid));
        }
        soom_buf_puts(&text, ",\"typ\":\"JWT\"}");
        soom_base64_encode((const unsigned char *)text.data, text.len, true, &seg);
        soom_buf_cleanup(&text);
        bool known = false;
        for (size_t i = 0; i < j->nheaders && !known; i++)
            known =
                j->headers[i].len == seg.len && memcmp(j->headers[i].seg, seg.data, seg.len) == 0;
        if (known) {
            soom_buf_cleanup(&seg);
            continue;
        }
        j->headers = xrealloc(j->headers, (j->nheaders + 1) * sizeof *j->headers);
        struct jwt_header *h = &j->headers[j->nheaders++];
        h->seg = soom_buf_detach(&seg, &h->len);
        h->alg = a;
        h->kid = k->kid;
    }
}
