/*
 * Schema compile and run (core/src/validate/). The input is a schema and an
 * instance separated by a NUL byte (which JSON text cannot hold); the first
 * byte sets the options. The schema is compiled; when it compiles, the
 * instance is parsed and validated, errors collected and written as the
 * 422 document's list, and the verdict-only run must agree.
 */
#include "fuzz.h"
#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

static struct soom_arena *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    arena = soom_arena_new(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct soom_validate_options o;
    soom_validate_options_init(&o);
    o.format_assertion = data[0] & 1;
    o.max_errors = 1 + (data[0] >> 1 & 7);
    o.max_depth = data[0] & 0x10 ? 64 : 1024;
    size_t slen, ilen;
    const uint8_t *inst = fuzz_split(data + 1, size - 1, 0, &slen, &ilen);
    struct soom_validator *v = NULL;
    char err[512];
    int rc = soom_validate_compile((const char *)data + 1, slen, &o, &v, err, sizeof err);
    FUZZ_ASSERT((rc == SOOM_OK) == (v != NULL));
    if (rc != SOOM_OK) {
        FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    struct soom_json *doc = NULL;
    if (soom_json_parse((const char *)inst, ilen, SOOM_JSON_MAX_DEPTH, &doc, NULL) == SOOM_OK) {
        struct soom_validate_error *errors = NULL;
        size_t n = 0;
        int full = soom_validate_run(v, doc, arena, &errors, &n);
        int verdict = soom_validate_run(v, doc, NULL, NULL, NULL);
        FUZZ_ASSERT(full == verdict);
        FUZZ_ASSERT(full == SOOM_OK || full == SOOM_EINVALID);
        FUZZ_ASSERT((full == SOOM_OK) == (n == 0));
        struct soom_buf b;
        soom_buf_init(&b);
        soom_validate_errors_json(errors, n, "body", &b);
        soom_buf_cleanup(&b);
        soom_json_free(doc);
    }
    soom_validate_free(v);
    soom_arena_reset(arena);
    return 0;
}
