/*
 * The JSON pre-scan and parse (core/src/base/json.c, json_scan.c). Beyond
 * "no crash": the scan alone and the parse agree, a parsed document prints
 * as text that parses again and prints the same (the printer is exact), and
 * the check for inexact integers runs on every tree.
 */
#include "fuzz.h"
#include "soom/error.h"
#include "soom/json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct soom_json_error err;
    int checked = soom_json_check(text, size, SOOM_JSON_MAX_DEPTH, &err);
    struct soom_json *doc = NULL;
    int rc = soom_json_parse(text, size, SOOM_JSON_MAX_DEPTH, &doc, &err);
    FUZZ_ASSERT((rc == SOOM_OK) == (doc != NULL));
    /* the parse refuses more than the scan (duplicate names, a number's
     * range), never less, and never for another reason */
    if (checked != SOOM_OK)
        FUZZ_ASSERT(rc == checked);
    else
        FUZZ_ASSERT(rc == SOOM_OK || rc == SOOM_EBADJSON || rc == SOOM_EVALUE);
    /* cJSON never refuses text the scan took: the parse's own 400 is only
     * ever a duplicate name, which has a pointer */
    if (checked == SOOM_OK && rc == SOOM_EBADJSON)
        FUZZ_ASSERT(err.pointer[0] == '/');
    if (rc != SOOM_OK) {
        FUZZ_ASSERT(err.reason != NULL);
        FUZZ_ASSERT(strlen(err.pointer) < sizeof err.pointer);
        return 0;
    }
    (void)soom_json_check_exact(doc, &err);
    struct soom_buf once, twice;
    soom_buf_init(&once);
    soom_buf_init(&twice);
    soom_json_print(doc, &once);
    struct soom_json *again = NULL;
    rc = soom_json_parse(once.data, once.len, SOOM_JSON_MAX_DEPTH + 1, &again, &err);
    if (rc != SOOM_OK)
        fprintf(stderr, "printed text refused (%s): %.*s\n", err.reason, (int)once.len, once.data);
    FUZZ_ASSERT(rc == SOOM_OK);
    soom_json_print(again, &twice);
    FUZZ_ASSERT(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
    soom_json_free(again);
    soom_json_free(doc);
    soom_buf_cleanup(&once);
    soom_buf_cleanup(&twice);
    return 0;
}
