/* The JSON Schema Test Suite (draft 2020-12, vendored under
 * tests/data/json-schema-test-suite) against the compiled validator.
 *
 * Every case of every file runs with the default options (format is an
 * annotation). A group whose schema cannot compile because it names a
 * resource on the suite's remote server (http://localhost:1234/..., which
 * the vendored copy does not include) is counted as skipped; any other
 * compile failure fails all its cases. Invalid cases also run the
 * collecting pass and must produce at least one error. Prints one line per
 * file and ends with "N passed, N failed, N skipped"; exits non-zero on any
 * failure. SOOM_SUITE_DIR (environment) overrides the directory; a case
 * filter can be given as argv[1] (a file name such as "ref.json"). */
#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

#ifndef SOOM_SUITE_DIR
#define SOOM_SUITE_DIR "tests/data/json-schema-test-suite/draft2020-12"
#endif

struct totals {
    int passed, failed, skipped;
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_case(const struct soom_validator *v, const cJSON *test, const char *file,
                     const char *group, struct totals *t)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(test, "data");
    bool expect = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(test, "valid"));
    const char *desc = cJSON_GetObjectItemCaseSensitive(test, "description")->valuestring;
    struct soom_arena *arena = soom_arena_new(0);
    struct soom_validate_error *errs;
    size_t n;
    int rc = soom_validate_run(v, (const struct soom_json *)data, arena, &errs, &n);
    bool ok = (rc == SOOM_OK) == expect && (rc == SOOM_OK || n > 0);
    if (ok) {
        t->passed++;
    } else {
        t->failed++;
        printf("  FAIL %s | %s | %s: expected %s, got %s\n", file, group, desc,
               expect ? "valid" : "invalid", rc == SOOM_OK ? "valid" : soom_error_message(rc));
        for (size_t i = 0; i < n && i < 5; i++)
            printf("       %s: %s (%s)\n", errs[i].pointer, errs[i].detail, errs[i].code);
    }
    soom_arena_free(arena);
}

static void run_group(const cJSON *group, const char *file, struct totals *t)
{
    const char *desc = cJSON_GetObjectItemCaseSensitive(group, "description")->valuestring;
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(group, "tests");
    struct soom_buf text;
    soom_buf_init(&text);
    soom_json_print((const struct soom_json *)cJSON_GetObjectItemCaseSensitive(group, "schema"),
                    &text);
    struct soom_validator *v = NULL;
    char err[512];
    int rc = soom_validate_compile(text.data, text.len, NULL, &v, err, sizeof err);
    soom_buf_cleanup(&text);
    int count = cJSON_GetArraySize(tests);
    if (rc != SOOM_OK) {
        if (strstr(err, "http://localhost:1234/") != NULL) {
            t->skipped += count;
            printf("  skip %s | %s: %s\n", file, desc, err);
        } else {
            t->failed += count;
            printf("  FAIL %s | %s: schema refused: %s\n", file, desc, err);
        }
        return;
    }
    for (const cJSON *test = tests->child; test != NULL; test = test->next)
        run_case(v, test, file, desc, t);
    soom_validate_free(v);
}

static void run_file(const char *dir, const char *name, struct totals *all)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = read_file(path);
    cJSON *groups = text ? cJSON_Parse(text) : NULL;
    struct totals t = {0, 0, 0};
    if (groups == NULL) {
        printf("  FAIL %s: cannot read or parse\n", path);
        t.failed++;
    }
    for (const cJSON *g = groups ? groups->child : NULL; g != NULL; g = g->next)
        run_group(g, name, &t);
    printf("%-34s %4d passed %3d failed %3d skipped\n", name, t.passed, t.failed, t.skipped);
    all->passed += t.passed;
    all->failed += t.failed;
    all->skipped += t.skipped;
    cJSON_Delete(groups);
    free(text);
}

/* The vendored suite's draft 2020-12 cases that pass today: a runner that
 * silently stops reading files, or a validator that starts skipping cases,
 * falls below it and fails. (Raise it when the suite or the validator
 * grows; a single file named on the command line is exempt.) */
#define MIN_PASSED 1250

int main(int argc, char **argv)
{
    const char *dir = getenv("SOOM_SUITE_DIR") ? getenv("SOOM_SUITE_DIR") : SOOM_SUITE_DIR;
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 &&
            (argc < 2 || strcmp(argv[1], e->d_name) == 0))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    struct totals all = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        run_file(dir, names[i], &all);
        free(names[i]);
    }
    printf("%d passed, %d failed, %d skipped\n", all.passed, all.failed, all.skipped);
    int floor = argc < 2 ? MIN_PASSED : 1;
    if (all.passed < floor)
        fprintf(stderr, "only %d cases passed; at least %d are expected\n", all.passed, floor);
    return all.failed == 0 && all.passed >= floor ? 0 : 1;
}
