/*
 * JSON equality as JSON Schema defines it, for enum, const and uniqueItems:
 * numbers are equal when mathematically equal (1 == 1.0), strings compare
 * byte-exact, objects ignore member order. The hash agrees with the equality
 * so uniqueItems can sort a large array by hash instead of comparing every
 * pair.
 *
 * Both recurse over the instance; documents from the parser are at most
 * SOOM_JSON_MAX_DEPTH deep, and a tree built by hand deeper than EQ_MAX_DEPTH
 * compares unequal rather than risk the stack.
 */
#include <math.h>
#include <string.h>

#include "soom/json.h"
#include "validate_impl.h"

#define EQ_MAX_DEPTH 512

static int kind(const cJSON *a)
{
    int t = a->type & 0xFF;
    return t == cJSON_True ? cJSON_False : t; /* one kind for booleans */
}

static bool equal_at(const cJSON *a, const cJSON *b, int depth);

static bool object_equal(const cJSON *a, const cJSON *b, int depth)
{
    int na = 0, nb = 0;
    for (const cJSON *x = a->child; x != NULL; x = x->next)
        na++;
    for (const cJSON *x = b->child; x != NULL; x = x->next)
        nb++;
    if (na != nb)
        return false;
    for (const cJSON *x = a->child; x != NULL; x = x->next) {
        const cJSON *y = b->child;
        while (y != NULL && strcmp(x->string, y->string) != 0)
            y = y->next;
        if (y == NULL || !equal_at(x, y, depth + 1))
            return false;
    }
    return true;
}

static bool equal_at(const cJSON *a, const cJSON *b, int depth)
{
    if (depth > EQ_MAX_DEPTH || kind(a) != kind(b))
        return false;
    switch (a->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return (a->type & 0xFF) == (b->type & 0xFF);
    case cJSON_NULL: return true;
    case cJSON_Number: return a->valuedouble == b->valuedouble;
    case cJSON_String: return strcmp(a->valuestring, b->valuestring) == 0;
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;
        for (; x != NULL && y != NULL; x = x->next, y = y->next)
            if (!equal_at(x, y, depth + 1))
                return false;
        return x == NULL && y == NULL;
    }
    case cJSON_Object: return object_equal(a, b, depth);
    default: return false;
    }
}

bool vjson_equal(const cJSON *a, const cJSON *b)
{
    return equal_at(a, b, 0);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

static uint64_t hash_at(const cJSON *a, int depth)
{
    if (depth > EQ_MAX_DEPTH)
        return 0;
    switch (a->type & 0xFF) {
    case cJSON_False: return 0x1001;
    case cJSON_True: return 0x1002;
    case cJSON_NULL: return 0x1003;
    case cJSON_Number: {
        double d = a->valuedouble == 0 ? 0.0 : a->valuedouble; /* -0 == 0 */
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return mix(bits ^ 0x2000);
    }
    case cJSON_String: return mix(hash_bytes(a->valuestring) ^ 0x3000);
    case cJSON_Array: {
        uint64_t h = 0x4000;
        for (const cJSON *x = a->child; x != NULL; x = x->next)
            h = mix(h * 31 + hash_at(x, depth + 1));
        return h;
    }
    case cJSON_Object: {
        /* Order-independent: a commutative sum of per-member hashes. */
        uint64_t h = 0x5000;
        for (const cJSON *x = a->child; x != NULL; x = x->next)
            h += mix(hash_bytes(x->string) ^ hash_at(x, depth + 1));
        return mix(h);
    }
    default: return 0;
    }
}

uint64_t vjson_hash(const cJSON *a)
{
    return hash_at(a, 0);
}
