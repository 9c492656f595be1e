/* Unit tests of core/src/pg/pg_replica.c: LSNs as PostgreSQL writes them,
 * and a process without replicas sending every read to the primary. The
 * replicas themselves, with a real streaming replica, are in
 * tests/http/test_scale_replica.py. */
#include "soom/error.h"
#include "soom/pg.h"
#include "test.h"

static void test_lsn_parse(void)
{
    uint64_t v = 1;
    CHECK(soom_pg_lsn_parse("0/0", &v));
    CHECK(v == 0);
    CHECK(soom_pg_lsn_parse("16/B374D848", &v));
    CHECK(v == 0x16B374D848ull);
    CHECK(soom_pg_lsn_parse("FFFFFFFF/FFFFFFFF", &v));
    CHECK(v == UINT64_MAX);
    const char *bad[] = {"", "1", "/1", "1/", "x/1", "1/2x", "-1/2", "1/-2", "100000000/0", "1 /2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 7;
        CHECK(!soom_pg_lsn_parse(bad[i], &v));
        CHECK(v == 7);
    }
}

static void test_no_replicas(void)
{
    struct soom_pg_conn *c = NULL;
    CHECK(!soom_pg_replicas_enabled());
    CHECK_INT(soom_pg_read_acquire(0, &c), SOOM_ENOTFOUND);
    CHECK(c == NULL);
    CHECK(!soom_pg_conn_is_replica(NULL));
}

int main(void)
{
    RUN(test_lsn_parse);
    RUN(test_no_replicas);
    return test_summary();
}
