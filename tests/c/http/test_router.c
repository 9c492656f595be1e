/* Unit tests of core/src/http/router.c: static and parameter segments, types,
 * the 404/405 decisions and conflict detection. */
#include "soom/error.h"
#include "soom/router.h"
#include "test.h"

static char err[512];

static struct soom_router *build(void)
{
    struct soom_router *r = soom_router_new();
    CHECK_INT(soom_router_add(r, "/", SOOM_GET, 0, "root", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_router_add(r, "/hello", SOOM_GET, 1, "hello", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_router_add(r, "/samples", SOOM_GET | SOOM_POST, 2, "s", err, sizeof err),
              SOOM_OK);
    CHECK_INT(
        soom_router_add(r, "/samples/{id:int}", SOOM_GET | SOOM_DELETE, 3, "s", err, sizeof err),
        SOOM_OK);
    CHECK_INT(soom_router_add(r, "/samples/new", SOOM_GET, 4, "n", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_router_add(r, "/samples/{key:uuid}/tags", SOOM_GET, 5, "t", err, sizeof err),
              SOOM_OK);
    CHECK_INT(
        soom_router_add(r, "/users/{name}/posts/{slug:slug}", SOOM_GET, 6, "p", err, sizeof err),
        SOOM_OK);
    CHECK_INT(soom_router_add(r, "/a/{x}/b", SOOM_GET, 7, "ab", err, sizeof err), SOOM_OK);
    CHECK_INT(soom_router_add(r, "/a/fixed/c", SOOM_GET, 8, "ac", err, sizeof err), SOOM_OK);
    return r;
}

static int match(struct soom_router *r, const char *path, unsigned method,
                 struct soom_route_match *m)
{
    return soom_router_match(r, path, strlen(path), method, m);
}

static void test_static(void)
{
    struct soom_router *r = build();
    struct soom_route_match m;
    CHECK_INT(match(r, "/hello", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 1);
    CHECK_INT(m.nparams, 0);
    CHECK_STR(m.pattern, "/hello");
    CHECK_INT(match(r, "/", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 0);
    CHECK_INT(match(r, "/samples", SOOM_POST, &m), SOOM_OK);
    CHECK_INT(m.route_id, 2);
    CHECK_INT(soom_router_count(r), 9);
    soom_router_free(r);
}

static void test_params(void)
{
    struct soom_router *r = build();
    struct soom_route_match m;
    CHECK_INT(match(r, "/users/ada/posts/first-post", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 6);
    CHECK_INT(m.nparams, 2);
    CHECK_STR(m.params[0].name, "name");
    CHECK_INT(m.params[0].len, 3);
    CHECK(strncmp(m.params[0].value, "ada", 3) == 0);
    CHECK_STR(m.params[1].name, "slug");
    CHECK(strncmp(m.params[1].value, "first-post", 10) == 0);
    CHECK_INT(m.params[1].type, SOOM_PARAM_SLUG);
    soom_router_free(r);
}

static void test_typed_params(void)
{
    struct soom_router *r = build();
    struct soom_route_match m;
    CHECK_INT(match(r, "/samples/42", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 3);
    CHECK_INT(m.params[0].type, SOOM_PARAM_INT);
    /* static beats a parameter */
    CHECK_INT(match(r, "/samples/new", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 4);
    /* not an int, not a uuid: no route */
    CHECK_INT(match(r, "/samples/abc", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/samples/-1", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/samples/1.5", SOOM_GET, &m), SOOM_ENOTFOUND);
    /* 2^53 - 1 fits, 2^53 does not */
    CHECK_INT(match(r, "/samples/9007199254740991", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(match(r, "/samples/9007199254740992", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/samples/123e4567-e89b-12d3-a456-426614174000/tags", SOOM_GET, &m),
              SOOM_OK);
    CHECK_INT(m.route_id, 5);
    CHECK_INT(m.params[0].type, SOOM_PARAM_UUID);
    CHECK_INT(match(r, "/samples/123e4567-e89b-12d3-a456-42661417400/tags", SOOM_GET, &m),
              SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/users/ada/posts/bad%20slug", SOOM_GET, &m), SOOM_ENOTFOUND);
    soom_router_free(r);
}

static void test_backtracking(void)
{
    struct soom_router *r = build();
    struct soom_route_match m;
    /* "fixed" is tried first and fails at "b": the parameter must be tried */
    CHECK_INT(match(r, "/a/fixed/b", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 7);
    CHECK_INT(m.nparams, 1);
    CHECK(strncmp(m.params[0].value, "fixed", 5) == 0);
    CHECK_INT(match(r, "/a/fixed/c", SOOM_GET, &m), SOOM_OK);
    CHECK_INT(m.route_id, 8);
    CHECK_INT(m.nparams, 0);
    soom_router_free(r);
}

static void test_not_found_and_method(void)
{
    struct soom_router *r = build();
    struct soom_route_match m;
    CHECK_INT(match(r, "/nope", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/hello/", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/hello/extra", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/samples//1", SOOM_GET, &m), SOOM_ENOTFOUND);
    CHECK_INT(match(r, "/hello", SOOM_POST, &m), SOOM_EMETHOD);
    CHECK_INT(m.allowed, SOOM_GET | SOOM_HEAD);
    /* HEAD follows GET */
    CHECK_INT(match(r, "/hello", SOOM_HEAD, &m), SOOM_OK);
    CHECK_INT(match(r, "/samples/7", SOOM_PUT, &m), SOOM_EMETHOD);
    char allow[64];
    soom_router_methods_format(m.allowed, allow, sizeof allow);
    CHECK_STR(allow, "GET, HEAD, DELETE");
    /* an unknown method is a 405, not a crash */
    CHECK_INT(match(r, "/hello", 0, &m), SOOM_EMETHOD);
    soom_router_free(r);
}

static void test_conflicts(void)
{
    struct soom_router *r = build();
    CHECK_INT(soom_router_add(r, "/hello", SOOM_POST, 20, "other.lua", err, sizeof err),
              SOOM_ECONFLICTROUTE);
    CHECK(strstr(err, "other.lua") != NULL && strstr(err, "hello") != NULL);
    /* same place, different names, overlapping types */
    CHECK_INT(soom_router_add(r, "/samples/{pk:int}/x", SOOM_GET, 21, "x.lua", err, sizeof err),
              SOOM_ECONFLICTROUTE);
    CHECK(strstr(err, "x.lua") != NULL && strstr(err, "/samples/{id:int}") != NULL);
    CHECK_INT(soom_router_add(r, "/samples/{s:slug}", SOOM_GET, 22, "y", err, sizeof err),
              SOOM_ECONFLICTROUTE);
    CHECK_INT(soom_router_add(r, "/samples/{id}", SOOM_GET, 23, "z", err, sizeof err),
              SOOM_ECONFLICTROUTE);
    CHECK_INT(soom_router_add(r, "/a/{y}/d", SOOM_GET, 24, "w", err, sizeof err),
              SOOM_ECONFLICTROUTE);
    /* the same parameter extends its node */
    CHECK_INT(soom_router_add(r, "/a/{x}/d", SOOM_GET, 25, "ok", err, sizeof err), SOOM_OK);
    /* int and uuid are disjoint */
    CHECK_INT(soom_router_add(r, "/samples/{key:uuid}", SOOM_GET, 26, "ok", err, sizeof err),
              SOOM_OK);
    soom_router_free(r);
}

static void test_bad_patterns(void)
{
    struct soom_router *r = soom_router_new();
    CHECK_INT(soom_router_add(r, "hello", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_add(r, "/x/{id:float}", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK(strstr(err, "float") != NULL);
    CHECK_INT(soom_router_add(r, "/x/{id", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_add(r, "/x/a{id}", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_add(r, "/x/{1d}", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_add(r, "/x/{a}/{a}", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_add(r, "/x/", SOOM_GET, 0, "a", err, sizeof err), SOOM_EINVAL);
    CHECK_INT(soom_router_count(r), 0);
    soom_router_free(r);
}

static void test_methods(void)
{
    CHECK_INT(soom_router_method_parse("GET", 3), SOOM_GET);
    CHECK_INT(soom_router_method_parse("PATCH", 5), SOOM_PATCH);
    CHECK_INT(soom_router_method_parse("get", 3), 0);
    CHECK_INT(soom_router_method_parse("BREW", 4), 0);
    CHECK_STR(soom_router_method_name(SOOM_DELETE), "DELETE");
}

int main(void)
{
    RUN(test_static);
    RUN(test_params);
    RUN(test_typed_params);
    RUN(test_backtracking);
    RUN(test_not_found_and_method);
    RUN(test_conflicts);
    RUN(test_bad_patterns);
    RUN(test_methods);
    return test_summary();
}
