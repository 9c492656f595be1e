/* Unit tests of core/src/base/arena.c: alignment, growth, big allocations,
 * reset, and the order of deferred callbacks. */
#include "soom/arena.h"
#include "test.h"

static int order[8];
static int norder;

static void record(void *p)
{
    order[norder++] = (int)(intptr_t)p;
}

static void test_alloc_and_align(void)
{
    struct soom_arena *a = soom_arena_new(64);
    for (int i = 1; i < 200; i++) {
        char *p = soom_arena_alloc(a, (size_t)i);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, 0xAB, (size_t)i);
    }
    char *big = soom_arena_alloc(a, 1 << 20);
    memset(big, 1, 1 << 20);
    CHECK(soom_arena_used(a) >= (1 << 20));
    CHECK_STR(soom_arena_strndup(a, "hello world", 5), "hello");
    CHECK_STR(soom_arena_printf(a, "%d-%s", 42, "x"), "42-x");
    char longfmt[600];
    memset(longfmt, 'y', 599);
    longfmt[599] = '\0';
    CHECK_INT(strlen(soom_arena_printf(a, "%s", longfmt)), 599);
    soom_arena_free(a);
}

static void test_defer_order_and_reset(void)
{
    struct soom_arena *a = soom_arena_new(0);
    norder = 0;
    soom_arena_defer(a, record, (void *)1);
    soom_arena_defer(a, record, (void *)2);
    soom_arena_defer(a, record, (void *)3);
    soom_arena_reset(a);
    CHECK_INT(norder, 3);
    CHECK_INT(order[0], 3);
    CHECK_INT(order[2], 1);
    CHECK_INT(soom_arena_used(a), 0);
    soom_arena_alloc(a, 100000);
    soom_arena_defer(a, record, (void *)4);
    soom_arena_free(a);
    CHECK_INT(norder, 4);
    CHECK_INT(order[3], 4);
    soom_arena_free(NULL);
}

static void test_reset_restarts_growth(void)
{
    struct soom_arena *a = soom_arena_new(256);
    /* a request that grows the arena many times over, then is reset, over
     * and over: the blocks must not keep doubling */
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 20; i++)
            soom_arena_alloc(a, 200);
        soom_arena_reset(a);
    }
    char *p = soom_arena_alloc(a, 200);
    CHECK(p != NULL);
    soom_arena_alloc(a, 100);
    CHECK(soom_arena_used(a) < 1024);
    soom_arena_free(a);
}

int main(void)
{
    RUN(test_reset_restarts_growth);
    RUN(test_alloc_and_align);
    RUN(test_defer_order_and_reset);
    return test_summary();
}
