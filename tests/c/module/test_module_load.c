/*
 * Unit tests of core/src/module/: loading the test modules of
 * tests/modules (refused ones and the probe), what the probe registered,
 * and the host table's JSON and versioning entries.
 */
#include <stdio.h>
#include <string.h>

#include "module_impl.h"
#include "module_load.h"
#include "module_registry.h"
#include "soom/error.h"
#include "soom/json.h"
#include "test.h"

static char path[1024];

static const char *module_path(const char *name)
{
    snprintf(path, sizeof path, "%s/%s.so", SOOM_TEST_MODULES, name);
    return path;
}

static struct soom_json *parse(const char *text)
{
    struct soom_json *doc = NULL;
    soom_json_parse(text, strlen(text), 64, &doc, NULL);
    return doc;
}

static void check_refused(const char *name, const char *why)
{
    char err[1024] = "";
    int rc = soom_module_load(name, module_path(name), parse("{}"), err, sizeof err);
    CHECK_INT(rc, SOOM_ECONFIG);
    CHECK(strstr(err, why) != NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "provides module ABI 1.1") != NULL);
    CHECK(!soom_module_loaded(name));
    if (strstr(err, why) == NULL)
        fprintf(stderr, "  got: %s\n", err);
}

static void test_refusals(void)
{
    check_refused("refuse_major", "built for module ABI 2, not 1");
    check_refused("refuse_minor", "needs module ABI 1.2");
    check_refused("refuse_no_entry", "no soom_module_v1()");
    check_refused("refuse_name", "holds the module \"someone_else\"");
    check_refused("missing", "cannot be opened");
    char err[256];
    CHECK_INT(soom_module_load("Bad", module_path("probe"), NULL, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "[a-z][a-z0-9_]*") != NULL);
    CHECK_INT(soom_module_count(), 0);
}

static void test_the_probe_registers(void)
{
    char err[1024] = "";
    int rc = soom_module_load("probe", module_path("probe"), parse("{\"greeting\":\"hej\"}"), err,
                              sizeof err);
    CHECK_INT(rc, SOOM_OK);
    if (rc != SOOM_OK) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(soom_module_loaded("probe"));
    CHECK_INT(soom_module_count(), 1);
    /* the same name twice is refused */
    CHECK_INT(soom_module_load("probe", module_path("probe"), NULL, err, sizeof err), SOOM_ECONFIG);
    CHECK(strstr(err, "loaded already") != NULL);
    CHECK_INT(soom_module_route_count(), 4);
    struct soom_module_route_info info;
    soom_module_route_describe(0, &info);
    CHECK_STR(info.pattern, "/probe/info/{name}");
    CHECK_STR(info.methods, "GET, POST");
    CHECK_STR(info.module, "probe");
    CHECK(!info.raw_body);
    soom_module_route_describe(1, &info);
    CHECK(info.raw_body);
    CHECK_INT(soom_module_lua_count(), 1);
    soom_module_lua_fn open;
    CHECK_STR(soom_module_lua_at(0, &open), "soom.ext.probe");
    CHECK(open != NULL);
    for (int phase = 0; phase < MODULE_PHASES; phase++)
        CHECK_INT(module_reg.nhooks[phase], 1);
    /* registration is closed once init returned */
    struct soom_module_handle *h = module_reg.mods[0];
    CHECK_INT(module_host_table.add_route(h, "GET", "/late", 0, NULL, NULL), SOOM_MODULE_ESTATE);
    CHECK_INT(module_host_table.add_middleware(h, SOOM_PHASE_DONE, NULL, NULL), SOOM_MODULE_ESTATE);
    /* a failing init names its reason */
    CHECK_INT(soom_module_load("refuse_init", module_path("refuse_init"), NULL, err, sizeof err),
              SOOM_ECONFIG);
    CHECK(strstr(err, "init failed: the sky is falling") != NULL);
}

static void test_json_entries(void)
{
    const struct soom_module_host *H = &module_host_table;
    struct soom_json *doc = parse("{\"s\":\"caf\\u00e9\",\"n\":2.5,\"t\":true,\"z\":null,"
                                  "\"list\":[1,\"two\",[]],\"o\":{}}");
    CHECK_INT(H->json_type(doc), SOOM_MODULE_JSON_OBJECT);
    CHECK_INT(H->json_type(NULL), SOOM_MODULE_JSON_NONE);
    CHECK_INT(H->json_count(doc), 6);
    size_t n;
    CHECK_STR(H->json_string(H->json_get(doc, "s"), &n), "caf\xc3\xa9");
    CHECK_INT(n, 5);
    CHECK(H->json_number(H->json_get(doc, "n")) == 2.5);
    CHECK(H->json_bool(H->json_get(doc, "t")));
    CHECK_INT(H->json_type(H->json_get(doc, "z")), SOOM_MODULE_JSON_NULL);
    CHECK(H->json_get(doc, "missing") == NULL);
    const struct soom_json *list = H->json_get(doc, "list");
    CHECK_INT(H->json_type(list), SOOM_MODULE_JSON_ARRAY);
    CHECK_INT(H->json_count(list), 3);
    CHECK_STR(H->json_string(H->json_at(list, 1), NULL), "two");
    CHECK(H->json_at(list, 3) == NULL);
    CHECK(H->json_key(H->json_at(list, 0)) == NULL);
    CHECK_STR(H->json_key(H->json_at(doc, 5)), "o");
    CHECK(H->json_get(list, "s") == NULL); /* not an object */
    CHECK(H->json_string(H->json_get(doc, "n"), &n) == NULL);
    CHECK_INT(n, 0);
    soom_json_free(doc);
}

static void test_versioning(void)
{
    const struct soom_module_host *H = &module_host_table;
    CHECK_INT(H->size, sizeof(struct soom_module_host));
    CHECK_INT(H->abi_major, SOOM_MODULE_ABI_MAJOR);
    CHECK(SOOM_MODULE_HAS(H, current_request));
    /* a host from before an entry existed: the macro says it is absent */
    struct soom_module_host older = *H;
    older.size = offsetof(struct soom_module_host, resume);
    CHECK(SOOM_MODULE_HAS(&older, suspend));
    CHECK(!SOOM_MODULE_HAS(&older, resume));
    CHECK(!SOOM_MODULE_HAS(&older, current_request));
}

int main(void)
{
    RUN(test_refusals);
    RUN(test_the_probe_registers);
    RUN(test_json_entries);
    RUN(test_versioning);
    soom_module_shutdown();
    return test_summary();
}
