/*
 * The JSON entries of the host table: read-only accessors over a parsed
 * document (a module's settings, a request body), so modules walk JSON
 * without seeing its layout. The documents are cJSON trees, which is why
 * this file includes cJSON.h; nothing here allocates or frees.
 */
#include <cJSON.h>
#include <string.h>

#include "module_impl.h"

static const cJSON *node(const struct soom_json *v)
{
    return (const cJSON *)(const void *)v;
}

static const struct soom_json *handle(const cJSON *j)
{
    return (const struct soom_json *)(const void *)j;
}

int module_json_type(const struct soom_json *v)
{
    const cJSON *j = node(v);
    if (j == NULL)
        return SOOM_MODULE_JSON_NONE;
    switch (j->type & 0xff) {
    case cJSON_NULL: return SOOM_MODULE_JSON_NULL;
    case cJSON_False:
    case cJSON_True: return SOOM_MODULE_JSON_BOOL;
    case cJSON_Number: return SOOM_MODULE_JSON_NUMBER;
    case cJSON_String: return SOOM_MODULE_JSON_STRING;
    case cJSON_Array: return SOOM_MODULE_JSON_ARRAY;
    case cJSON_Object: return SOOM_MODULE_JSON_OBJECT;
    default: return SOOM_MODULE_JSON_NONE;
    }
}

const struct soom_json *module_json_get(const struct soom_json *object, const char *key)
{
    const cJSON *j = node(object);
    if (j == NULL || !cJSON_IsObject(j) || key == NULL)
        return NULL;
    /* exact, case-sensitive: JSON keys are */
    for (const cJSON *c = j->child; c != NULL; c = c->next)
        if (c->string != NULL && strcmp(c->string, key) == 0)
            return handle(c);
    return NULL;
}

size_t module_json_count(const struct soom_json *v)
{
    const cJSON *j = node(v);
    if (j == NULL || !(cJSON_IsArray(j) || cJSON_IsObject(j)))
        return 0;
    size_t n = 0;
    for (const cJSON *c = j->child; c != NULL; c = c->next)
        n++;
    return n;
}

const struct soom_json *module_json_at(const struct soom_json *v, size_t i)
{
    const cJSON *j = node(v);
    if (j == NULL || !(cJSON_IsArray(j) || cJSON_IsObject(j)))
        return NULL;
    const cJSON *c = j->child;
    while (c != NULL && i-- > 0)
        c = c->next;
    return handle(c);
}

const char *module_json_key(const struct soom_json *member)
{
    const cJSON *j = node(member);
    return j != NULL ? j->string : NULL;
}

const char *module_json_string(const struct soom_json *v, size_t *len)
{
    const cJSON *j = node(v);
    if (j == NULL || !cJSON_IsString(j) || j->valuestring == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = strlen(j->valuestring);
    return j->valuestring;
}

double module_json_number(const struct soom_json *v)
{
    const cJSON *j = node(v);
    return j != NULL && cJSON_IsNumber(j) ? j->valuedouble : 0;
}

bool module_json_bool(const struct soom_json *v)
{
    const cJSON *j = node(v);
    return j != NULL && cJSON_IsTrue(j);
}
