/*
 * Tokens derived from verified ones (see auth_jwt.h): simplejwt's
 * RefreshToken.access_token and refresh rotation. The verified claims are
 * copied as a cJSON tree (walked here, on the refresh view's path only),
 * the type, exp, jti (and for a rotation iat) replaced, and the result
 * signed as any token.
 */
#include <cJSON.h>
#include <string.h>

#include "alloc.h"
#include "auth_jwt_impl.h"
#include "soom/error.h"
#include "soom/json.h"

static void replace(cJSON *o, const char *name, cJSON *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    cJSON_AddItemToObject(o, name, value);
}

int soom_auth_jwt_reissue(const struct soom_auth_jwt *j, const struct soom_json *claims,
                          const char *token_type, int64_t now, int64_t lifetime, bool new_iat,
                          struct soom_buf *out, char jti[SOOM_AUTH_JWT_JTI_LEN + 1])
{
    const cJSON *src = (const cJSON *)claims;
    if (src == NULL || !cJSON_IsObject(src))
        return SOOM_EINVAL;
    cJSON *c = cJSON_Duplicate(src, 1);
    if (c == NULL)
        soom_oom(0);
    char id[SOOM_AUTH_JWT_JTI_LEN + 1];
    jwt_new_jti(id);
    replace(c, j->token_type_claim, cJSON_CreateString(token_type));
    replace(c, "exp", cJSON_CreateNumber((double)(now + lifetime)));
    replace(c, j->jti_claim, cJSON_CreateString(id));
    if (new_iat)
        replace(c, "iat", cJSON_CreateNumber((double)now));
    struct soom_buf text;
    soom_buf_init(&text);
    soom_json_print((const struct soom_json *)c, &text);
    cJSON_Delete(c);
    int rc = soom_auth_jwt_sign(j, text.data, text.len, out);
    soom_buf_cleanup(&text);
    if (rc == SOOM_OK && jti != NULL)
        memcpy(jti, id, sizeof id);
    return rc;
}
