/* Validation throughput of the Soom validator: documents per second on a
 * realistic order schema, for a valid document (the verdict only, the
 * request path's common case) and an invalid one (every error collected
 * into an arena, as the 422 path does). Parsing is done once, outside the
 * timed loop, so only validation is measured. Built by the Makefile beside
 * it, not by the project's build; run.sh compares it with Ajv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soom/arena.h"
#include "soom/error.h"
#include "soom/json.h"
#include "soom/validate.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static struct soom_json *load(const char *path)
{
    size_t n;
    char *text = slurp(path, &n);
    struct soom_json *doc;
    struct soom_json_error err;
    if (soom_json_parse(text, n, 64, &doc, &err) != SOOM_OK) {
        fprintf(stderr, "%s: %s at %zu\n", path, err.reason, err.offset);
        exit(1);
    }
    free(text);
    return doc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs batches for `seconds`, as five rounds, and returns the best round's
 * documents per second: the machine may be shared, and the best round is
 * the one least disturbed. */
static double measure(const struct soom_validator *v, const struct soom_json *doc, bool collect,
                      double seconds, size_t *nerrors)
{
    struct soom_arena *arena = soom_arena_new(1 << 16);
    double best = 0;
    for (int round = 0; round < 5; round++) {
        size_t done = 0;
        double start = now(), elapsed;
        do {
            for (int i = 0; i < 1000; i++) {
                struct soom_validate_error *e;
                soom_validate_run(v, doc, arena, collect ? &e : NULL, nerrors);
                soom_arena_reset(arena);
            }
            done += 1000;
            elapsed = now() - start;
        } while (elapsed < seconds / 5);
        if ((double)done / elapsed > best)
            best = (double)done / elapsed;
    }
    soom_arena_free(arena);
    return best;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    char path[4096];
    size_t n;
    snprintf(path, sizeof path, "%s/schema.json", dir);
    char *schema = slurp(path, &n);
    struct soom_validator *v;
    char err[256];
    if (soom_validate_compile(schema, n, NULL, &v, err, sizeof err) != SOOM_OK) {
        fprintf(stderr, "schema: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/valid.json", dir);
    struct soom_json *valid = load(path);
    snprintf(path, sizeof path, "%s/invalid.json", dir);
    struct soom_json *invalid = load(path);
    size_t nerr = 0;
    double ok = measure(v, valid, false, seconds, &nerr);
    if (nerr != 0) {
        fprintf(stderr, "the valid document is invalid\n");
        return 1;
    }
    double bad = measure(v, invalid, true, seconds, &nerr);
    printf("soom valid   %12.0f docs/s\n", ok);
    printf("soom invalid %12.0f docs/s (%zu errors each)\n", bad, nerr);
    soom_json_free(valid);
    soom_json_free(invalid);
    soom_validate_free(v);
    free(schema);
    return 0;
}
