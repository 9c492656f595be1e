/*
 * A tiny assertion header for the C unit tests (in the spirit of libuv's
 * task.h). Each test is a void function; CHECK records a failure and keeps
 * going so one run shows every broken expectation. A test program ends with
 * `return test_summary();`, which prints "N passed, N failed" and returns
 * non-zero when anything failed, as ctest expects.
 */
#ifndef SOOM_TEST_H
#define SOOM_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static int test_passed;
static int test_failed;
static const char *test_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, test_current, #cond);  \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  FAIL %s:%d in %s: %s == %lld, expected %lld\n", __FILE__, __LINE__, \
                    test_current, #a, a_, b_);                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                     \
            test_failed_checks++;                                                                  \
            fprintf(stderr, "  FAIL %s:%d in %s: %s == \"%s\", expected \"%s\"\n", __FILE__,       \
                    __LINE__, test_current, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = test_failed_checks;                                                          \
        test_current = #fn;                                                                        \
        fn();                                                                                      \
        if (test_failed_checks == before_) {                                                       \
            test_passed++;                                                                         \
            printf("ok   %s\n", #fn);                                                              \
        } else {                                                                                   \
            test_failed++;                                                                         \
            printf("FAIL %s\n", #fn);                                                              \
        }                                                                                          \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed == 0 ? 0 : 1;
}

#endif
