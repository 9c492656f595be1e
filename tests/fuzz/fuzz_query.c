/*
 * The query string and its coercion (core/src/validate/validate_query.c):
 * the input is split as a decoded query string is (pairs at '&', key and
 * value at the first '='; libmicrohttpd has already percent-decoded, so any
 * byte may arrive), then coerced and validated by one of a few schemas
 * chosen by the first byte, with typed, repeated, closed and open keys.
 */
#include "fuzz.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

#define MAX_PARAMS 64

static const char *const SCHEMAS[] = {
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"i\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100},\"n\":{\"type\":\"number\"},"
    "\"b\":{\"type\":\"boolean\"},\"a\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
    "\"maxItems\":5},\"s\":{\"type\":\"string\",\"maxLength\":8,\"pattern\":\"^[a-z]*$\"},"
    "\"e\":{\"enum\":[\"x\",\"y\",1]},\"u\":{\"type\":[\"integer\",\"null\",\"boolean\"]},"
    "\"t\":{\"type\":\"string\",\"format\":\"date-time\"}},\"required\":[\"i\"]}",
    "{\"type\":\"object\",\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{\"type\":"
    "\"number\"}},\"q\":{\"type\":\"string\",\"minLength\":1},\"page\":{\"type\":\"integer\"}},"
    "\"additionalProperties\":{\"type\":\"string\",\"format\":\"uuid\"}}",
    ("{\"type\":\"object\",\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},"
     "\"propertyNames\":{\"maxLength\":4},\"maxProperties\":6}"),
};
#define NSCHEMAS (sizeof SCHEMAS / sizeof SCHEMAS[0])

static struct soom_validator *validators[NSCHEMAS];
static struct soom_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct soom_validate_options o;
    soom_validate_options_init(&o);
    o.format_assertion = true;
    for (size_t i = 0; i < NSCHEMAS; i++) {
        char err[256];
        if (soom_validate_compile(SCHEMAS[i], strlen(SCHEMAS[i]), &o, &validators[i], err,
                                  sizeof err) != SOOM_OK) {
            fprintf(stderr, "schema %zu: %s\n", i, err);
            abort();
        }
    }
    arena = soom_arena_new(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const struct soom_validator *v = validators[data[0] % NSCHEMAS];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    struct soom_validate_param params[MAX_PARAMS];
    size_t n = 0;
    while (p <= end && n < MAX_PARAMS) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        params[n].key = p;
        params[n].key_len = (size_t)((eq ? eq : stop) - p);
        params[n].value = eq ? eq + 1 : stop;
        params[n].value_len = eq ? (size_t)(stop - eq - 1) : 0;
        n++;
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    struct soom_json *out = NULL;
    struct soom_validate_error *errors = NULL;
    size_t nerrors = 0;
    int rc = soom_validate_query(v, params, n, arena, &out, &errors, &nerrors);
    FUZZ_ASSERT(rc == SOOM_OK || rc == SOOM_EINVALID);
    FUZZ_ASSERT(out != NULL);
    FUZZ_ASSERT((rc == SOOM_OK) == (nerrors == 0));
    struct soom_buf b;
    soom_buf_init(&b);
    soom_json_print(out, &b);
    if (rc == SOOM_EINVALID)
        soom_validate_errors_json(errors, nerrors, "query", &b);
    soom_buf_cleanup(&b);
    soom_json_free(out);
    soom_arena_reset(arena);
    return 0;
}
