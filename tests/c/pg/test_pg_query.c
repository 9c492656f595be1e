/* Unit tests of core/src/pg/pg_query.c against a real PostgreSQL: parameters
 * (NULL, sized, binary), results, transactions, the prepared-statement
 * cache and the mapping of errors to 409 / 422 / 503 / 500. */
#include "pg_test.h"

static const char *url;
static char buf[512];

static struct soom_pg_result *query(struct soom_pg_conn *c, const char *sql, int n,
                                    const char *const *values, int *rc)
{
    struct soom_pg_result *res = NULL;
    *rc = soom_pg_exec(c, sql, n, values, NULL, NULL, &res);
    return res;
}

static void test_params(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    const char *values[] = {"41", "héllo \"world\"", NULL};
    int rc;
    struct soom_pg_result *res =
        query(c, "SELECT $1::int + 1 AS n, $2::text AS s, $3::text IS NULL AS isnull, $3 AS v", 3,
              values, &rc);
    CHECK_INT(rc, SOOM_OK);
    CHECK_INT(soom_pg_result_rows(res), 1);
    CHECK_INT(soom_pg_result_columns(res), 4);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "42");
    CHECK_STR(soom_pg_result_value(res, 0, 1, NULL), "héllo \"world\"");
    CHECK_STR(soom_pg_result_value(res, 0, 2, NULL), "t");
    CHECK(soom_pg_result_isnull(res, 0, 3));
    CHECK(!soom_pg_result_isnull(res, 0, 0));
    CHECK_STR(soom_pg_result_name(res, 1), "s");
    CHECK_INT(soom_pg_result_type(res, 0), 23);
    CHECK_INT(soom_pg_result_type(res, 1), 25);
    CHECK_INT(soom_pg_result_column(res, "isnull"), 2);
    CHECK_INT(soom_pg_result_column(res, "nope"), -1);
    CHECK(soom_pg_result_has_rows(res));
    soom_pg_result_free(res);

    /* sized values need no terminator: only the first 2 bytes count */
    const char *sized[] = {"12345", "abcdef"};
    size_t lengths[] = {2, 3};
    CHECK_INT(soom_pg_exec(c, "SELECT $1::int * 2, $2::text", 2, sized, lengths, NULL, &res),
              SOOM_OK);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "24");
    CHECK_STR(soom_pg_result_value(res, 0, 1, NULL), "abc");
    soom_pg_result_free(res);
    soom_pg_conn_close(c);
}

static void test_nul_and_binary(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    const char *values[] = {"a\0b"};
    size_t lengths[] = {3};
    struct soom_pg_result *res;
    /* a NUL cannot be in PostgreSQL text: refused, not cut short */
    CHECK_INT(soom_pg_exec(c, "SELECT $1::text", 1, values, lengths, NULL, &res), SOOM_EINVALID);
    CHECK(res == NULL);
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    CHECK(e != NULL && strcmp(e->sqlstate, "22021") == 0);
    /* in binary format the bytes reach a bytea exactly */
    bool binary[] = {true};
    CHECK_INT(soom_pg_exec(c, "SELECT encode($1::bytea, 'hex'), length($1::bytea)", 1, values,
                           lengths, binary, &res),
              SOOM_OK);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "610062");
    CHECK_STR(soom_pg_result_value(res, 0, 1, NULL), "3");
    CHECK(soom_pg_conn_error(c) == NULL);
    soom_pg_result_free(res);
    soom_pg_conn_close(c);
}

static void test_affected_and_script(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(soom_pg_exec_script(c, "CREATE TABLE q_items (id serial PRIMARY KEY, n int); "
                                     "INSERT INTO q_items (n) VALUES (1), (2), (3)"),
              SOOM_OK);
    struct soom_pg_result *res;
    const char *v[] = {"2"};
    CHECK_INT(
        soom_pg_exec(c, "UPDATE q_items SET n = n + 10 WHERE n >= $1", 1, v, NULL, NULL, &res),
        SOOM_OK);
    CHECK_INT(soom_pg_result_affected(res), 2);
    CHECK(!soom_pg_result_has_rows(res));
    CHECK_INT(soom_pg_result_rows(res), 0);
    soom_pg_result_free(res);
    CHECK_INT(soom_pg_exec(c, "DELETE FROM q_items WHERE n > 100", 0, NULL, NULL, NULL, &res),
              SOOM_OK);
    CHECK_INT(soom_pg_result_affected(res), 0);
    soom_pg_result_free(res);
    CHECK_INT(soom_pg_exec(c, "INSERT INTO q_items (n) VALUES (7) RETURNING id, n", 0, NULL, NULL,
                           NULL, &res),
              SOOM_OK);
    CHECK(soom_pg_result_has_rows(res));
    CHECK_INT(soom_pg_result_affected(res), 1);
    CHECK_STR(soom_pg_result_value(res, 0, 1, NULL), "7");
    soom_pg_result_free(res);
    CHECK_INT(soom_pg_exec(c, "CREATE TABLE q_other (x int)", 0, NULL, NULL, NULL, &res), SOOM_OK);
    CHECK_INT(soom_pg_result_affected(res), -1);
    soom_pg_result_free(res);
    /* a script stops at its first error */
    CHECK_INT(soom_pg_exec_script(c, "INSERT INTO q_other VALUES (1); SELECT nope; "
                                     "INSERT INTO q_other VALUES (2)"),
              SOOM_EINTERNAL);
    CHECK_STR(pg_test_value(c, "SELECT count(*) FROM q_other", buf, sizeof buf), "0");
    soom_pg_conn_close(c);
}

static void test_transactions(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(pg_test_exec(c, "CREATE TABLE q_tx (n int)"), SOOM_OK);
    CHECK(!soom_pg_conn_in_transaction(c));
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK(soom_pg_conn_in_transaction(c));
    CHECK_INT(pg_test_exec(c, "INSERT INTO q_tx VALUES (1)"), SOOM_OK);
    CHECK_INT(soom_pg_rollback(c), SOOM_OK);
    CHECK(!soom_pg_conn_in_transaction(c));
    CHECK_STR(pg_test_value(c, "SELECT count(*) FROM q_tx", buf, sizeof buf), "0");

    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK_INT(pg_test_exec(c, "INSERT INTO q_tx VALUES (2)"), SOOM_OK);
    CHECK_INT(soom_pg_commit(c), SOOM_OK);
    CHECK_STR(pg_test_value(c, "SELECT sum(n) FROM q_tx", buf, sizeof buf), "2");

    /* a failed statement aborts the transaction: commit reports it */
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK_INT(pg_test_exec(c, "INSERT INTO q_tx VALUES (3)"), SOOM_OK);
    CHECK_INT(soom_pg_exec_script(c, "SELECT 1/0"), SOOM_EINVALID);
    CHECK_STR(pg_test_value(c, "SELECT 1", buf, sizeof buf), "ERROR 25P02");
    CHECK_INT(soom_pg_commit(c), SOOM_EINTERNAL);
    CHECK(!soom_pg_conn_in_transaction(c));
    CHECK_STR(pg_test_value(c, "SELECT sum(n) FROM q_tx", buf, sizeof buf), "2");
    soom_pg_conn_close(c);
}

static int exec_code(struct soom_pg_conn *c, const char *sql)
{
    return soom_pg_exec(c, sql, 0, NULL, NULL, NULL, NULL);
}

static void test_conflicts(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(pg_test_exec(c, "CREATE TABLE q_parent (id int PRIMARY KEY, name text UNIQUE); "
                              "CREATE TABLE q_child (id int, parent int REFERENCES q_parent); "
                              "INSERT INTO q_parent VALUES (1, 'a'); "
                              "INSERT INTO q_child VALUES (1, 1)"),
              SOOM_OK);
    struct soom_pg_problem p;
    CHECK_INT(exec_code(c, "INSERT INTO q_parent VALUES (2, 'a')"), SOOM_ECONFLICT);
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    CHECK_STR(e->sqlstate, "23505");
    CHECK_STR(e->constraint, "q_parent_name_key");
    CHECK_STR(e->table, "q_parent");
    soom_pg_error_problem(e, SOOM_ECONFLICT, &p);
    CHECK_INT(p.status, 409);
    CHECK_STR(p.pointer, "/name");
    CHECK_STR(p.code, "unique");
    CHECK_STR(p.detail, "a row with the same name already exists");

    CHECK_INT(exec_code(c, "INSERT INTO q_child VALUES (2, 99)"), SOOM_ECONFLICT);
    e = soom_pg_conn_error(c);
    CHECK_STR(e->sqlstate, "23503");
    soom_pg_error_problem(e, SOOM_ECONFLICT, &p);
    CHECK_INT(p.status, 422); /* the value names no row: bad input, not a conflict */
    CHECK_STR(p.pointer, "/parent");
    CHECK_STR(p.code, "foreign_key");
    CHECK_STR(p.detail, "the referenced row does not exist");

    CHECK_INT(exec_code(c, "DELETE FROM q_parent WHERE id = 1"), SOOM_ECONFLICT);
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_ECONFLICT, &p);
    CHECK_STR(p.detail, "the row is still referenced by other rows");
    CHECK_STR(p.pointer, "");
    soom_pg_conn_close(c);
}

static void expect_invalid(struct soom_pg_conn *c, const char *sql, const char *state)
{
    int rc = exec_code(c, sql);
    CHECK_INT(rc, SOOM_EINVALID);
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    CHECK(e != NULL);
    if (e != NULL) {
        CHECK_STR(e->sqlstate, state);
        struct soom_pg_problem p;
        soom_pg_error_problem(e, rc, &p);
        CHECK_INT(p.status, 422);
        CHECK(p.detail != NULL && p.detail[0] != '\0');
    }
}

static void test_invalid(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(pg_test_exec(c, "CREATE TABLE q_valid (id int NOT NULL, score int CHECK "
                              "(score >= 0), code varchar(3), small smallint, day date)"),
              SOOM_OK);
    expect_invalid(c, "INSERT INTO q_valid (id) VALUES (NULL)", "23502");
    struct soom_pg_problem p;
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EINVALID, &p);
    CHECK_STR(p.pointer, "/id");
    CHECK_STR(p.code, "required");
    expect_invalid(c, "INSERT INTO q_valid (id, score) VALUES (1, -5)", "23514");
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EINVALID, &p);
    CHECK_STR(p.code, "check");
    CHECK_STR(p.pointer, ""); /* the catalog's columns not set yet */
    /* with the constraints' columns set, as a server's start-up does */
    static const char *const one[] = {"score"}, *const two[] = {"id", "small"};
    struct soom_pg_check checks[] = {
        {"q_valid", "q_valid_score_check", one, 1},
        {"q_valid", "q_valid_pair", two, 2},
    };
    soom_pg_checks_set(checks, 2);
    expect_invalid(c, "INSERT INTO q_valid (id, score) VALUES (1, -5)", "23514");
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EINVALID, &p);
    CHECK_STR(p.pointer, "/score");
    CHECK_INT(p.nalso, 0);
    CHECK_INT(pg_test_exec(c, "ALTER TABLE q_valid ADD CONSTRAINT q_valid_pair "
                              "CHECK (small IS NULL OR id < small)"),
              SOOM_OK);
    expect_invalid(c, "INSERT INTO q_valid (id, small) VALUES (5, 1)", "23514");
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EINVALID, &p);
    CHECK_STR(p.pointer, "/id");
    CHECK_INT(p.nalso, 1);
    CHECK_STR(p.also[0], "/small");
    soom_pg_checks_set(NULL, 0);
    expect_invalid(c, "INSERT INTO q_valid (id) VALUES ('abc')", "22P02");
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EINVALID, &p);
    CHECK(strstr(p.detail, "invalid input syntax for type integer") != NULL);
    expect_invalid(c, "INSERT INTO q_valid (id, small) VALUES (1, 99999)", "22003");
    expect_invalid(c, "INSERT INTO q_valid (id, code) VALUES (1, 'abcd')", "22001");
    expect_invalid(c, "INSERT INTO q_valid (id, day) VALUES (1, 'not a date')", "22007");
    expect_invalid(c, "INSERT INTO q_valid (id, day) VALUES (1, '2026-13-45')", "22008");
    soom_pg_conn_close(c);
}

static void test_internal(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(exec_code(c, "SELEKT 1"), SOOM_EINTERNAL);
    const struct soom_pg_error *e = soom_pg_conn_error(c);
    CHECK_STR(e->sqlstate, "42601");
    CHECK(strstr(e->message, "syntax error") != NULL);
    struct soom_pg_problem p;
    soom_pg_error_problem(e, SOOM_EINTERNAL, &p);
    CHECK_INT(p.status, 500);
    /* nothing of the SQL error reaches a client */
    CHECK(strstr(p.detail, "syntax") == NULL);
    CHECK(p.code == NULL);
    CHECK_INT(exec_code(c, "SELECT * FROM q_no_such_table"), SOOM_EINTERNAL);
    CHECK_STR(soom_pg_conn_error(c)->sqlstate, "42P01");
    soom_pg_conn_close(c);
}

static void terminate(int pid)
{
    struct soom_pg_conn *admin = pg_test_connect(url);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    CHECK_STR(pg_test_value(admin, sql, buf, sizeof buf), "t");
    /* wait until the backend is gone */
    for (int i = 0; i < 100; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pid);
        if (strcmp(pg_test_value(admin, sql, buf, sizeof buf), "0") == 0)
            break;
        pg_test_sleep_ms(20);
    }
    soom_pg_conn_close(admin);
}

static void test_unavailable(void)
{
    struct soom_pg_conn *c = pg_test_connect(url);
    CHECK_INT(pg_test_exec(c, "CREATE TABLE q_lost (n int)"), SOOM_OK);
    /* the session dies inside a transaction: 503, and no silent retry */
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    CHECK_INT(pg_test_exec(c, "INSERT INTO q_lost VALUES (1)"), SOOM_OK);
    int pid = soom_pg_conn_backend_pid(c);
    terminate(pid);
    CHECK_INT(exec_code(c, "INSERT INTO q_lost VALUES (2)"), SOOM_EUNAVAIL);
    struct soom_pg_problem p;
    soom_pg_error_problem(soom_pg_conn_error(c), SOOM_EUNAVAIL, &p);
    CHECK_INT(p.status, 503);
    /* still failing until the holder rolls back */
    CHECK_INT(exec_code(c, "INSERT INTO q_lost VALUES (3)"), SOOM_EUNAVAIL);
    CHECK(soom_pg_conn_in_transaction(c));
    CHECK_INT(soom_pg_rollback(c), SOOM_OK);
    /* then a new session, outside of any transaction */
    CHECK_STR(pg_test_value(c, "SELECT count(*) FROM q_lost", buf, sizeof buf), "0");
    CHECK(soom_pg_conn_backend_pid(c) != pid);

    /* outside a transaction a terminated session is replaced transparently */
    pid = soom_pg_conn_backend_pid(c);
    terminate(pid);
    CHECK_STR(pg_test_value(c, "SELECT 40 + 2", buf, sizeof buf), "42");
    CHECK(soom_pg_conn_backend_pid(c) != pid);
    soom_pg_conn_close(c);

    /* a statement timeout is a 503 too */
    struct soom_config *cfg = pg_test_config(url);
    cfg->pool_statement_timeout_ms = 100;
    char err[256];
    CHECK_INT(soom_pg_conn_open(url, cfg, &c, err, sizeof err), SOOM_OK);
    CHECK_INT(exec_code(c, "SELECT pg_sleep(2)"), SOOM_EUNAVAIL);
    CHECK_STR(soom_pg_conn_error(c)->sqlstate, "57014");
    soom_pg_conn_close(c);
    soom_config_free(cfg);

    /* nobody listening */
    CHECK_INT(
        soom_pg_conn_open("postgresql://soom:soom@127.0.0.1:1/soom", NULL, &c, err, sizeof err),
        SOOM_EUNAVAIL);
    CHECK(c == NULL);
    CHECK(strlen(err) > 0);
}

static void test_error_codes(void)
{
    CHECK_INT(soom_pg_error_code("23505"), SOOM_ECONFLICT);
    CHECK_INT(soom_pg_error_code("23503"), SOOM_ECONFLICT);
    CHECK_INT(soom_pg_error_code("23P01"), SOOM_ECONFLICT);
    CHECK_INT(soom_pg_error_code("23502"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("23514"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("22P02"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("22003"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("22001"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("22007"), SOOM_EINVALID);
    CHECK_INT(soom_pg_error_code("08006"), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code("08P01"), SOOM_EINTERNAL);
    CHECK_INT(soom_pg_error_code("57P01"), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code("57P03"), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code("53300"), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code(""), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code(NULL), SOOM_EUNAVAIL);
    CHECK_INT(soom_pg_error_code("42601"), SOOM_EINTERNAL);
    CHECK_INT(soom_pg_error_code("42P01"), SOOM_EINTERNAL);
    CHECK_INT(soom_pg_error_code("XX000"), SOOM_EINTERNAL);
}

static int prepared_count(struct soom_pg_conn *c, const char *like)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_prepared_statements WHERE statement = '%s'",
             like);
    return atoi(pg_test_value(c, sql, buf, sizeof buf));
}

static void test_prepared_cache(void)
{
    static const char SQL[] = "SELECT $1::int * 3";
    const char *v[] = {"5"};
    struct soom_pg_result *res;
    struct soom_config *cfg = pg_test_config(url);
    char err[256];
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_conn_open(url, cfg, &c, err, sizeof err), SOOM_OK);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(soom_pg_exec(c, SQL, 1, v, NULL, NULL, &res), SOOM_OK);
        CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "15");
        soom_pg_result_free(res);
    }
    CHECK_INT(prepared_count(c, SQL), 1);
    /* someone drops every statement: the cache notices and prepares again */
    CHECK_INT(pg_test_exec(c, "DEALLOCATE ALL"), SOOM_OK);
    CHECK_INT(soom_pg_exec(c, SQL, 1, v, NULL, NULL, &res), SOOM_OK);
    soom_pg_result_free(res);
    CHECK_INT(prepared_count(c, SQL), 1);
    /* a table whose columns change under a cached SELECT * */
    CHECK_INT(pg_test_exec(c, "CREATE TABLE q_shape (a int); INSERT INTO q_shape VALUES (1)"),
              SOOM_OK);
    CHECK_INT(soom_pg_exec(c, "SELECT * FROM q_shape", 0, NULL, NULL, NULL, &res), SOOM_OK);
    soom_pg_result_free(res);
    CHECK_INT(pg_test_exec(c, "ALTER TABLE q_shape ADD COLUMN b int DEFAULT 7"), SOOM_OK);
    CHECK_INT(soom_pg_exec(c, "SELECT * FROM q_shape", 0, NULL, NULL, NULL, &res), SOOM_OK);
    CHECK_INT(soom_pg_result_columns(res), 2);
    soom_pg_result_free(res);
    soom_pg_conn_close(c);

    /* pool.prepared = false (PgBouncer in transaction mode): unnamed only */
    cfg->pool_prepared = false;
    CHECK_INT(soom_pg_conn_open(url, cfg, &c, err, sizeof err), SOOM_OK);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(soom_pg_exec(c, SQL, 1, v, NULL, NULL, &res), SOOM_OK);
        CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "15");
        soom_pg_result_free(res);
    }
    CHECK_INT(prepared_count(c, SQL), 0);
    soom_pg_conn_close(c);
    soom_config_free(cfg);
}

/* database.pooler: the session is left as the server made it; each
 * statement outside a transaction and each transaction carry the settings
 * (one pipeline, one implicit transaction), named statements are off, and
 * an error in the pipeline is the statement's own. */
static void test_pooler(void)
{
    struct soom_config *cfg = soom_config_new();
    char err[256];
    CHECK_INT(
        soom_config_set_string(cfg, "database.pooler", "pgbouncer-transaction", err, sizeof err),
        SOOM_OK);
    cfg->pool_statement_timeout_ms = 1234;
    CHECK_INT(soom_config_finish(cfg, err, sizeof err), SOOM_OK);
    CHECK(cfg->pooler_transaction);
    struct soom_pg_conn *c;
    CHECK_INT(soom_pg_conn_open(url, cfg, &c, err, sizeof err), SOOM_OK);
    int rc;
    struct soom_pg_result *res =
        query(c, "SELECT current_setting('statement_timeout'), current_setting('IntervalStyle')", 0,
              NULL, &rc);
    CHECK_INT(rc, SOOM_OK);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "1234ms");
    CHECK_STR(soom_pg_result_value(res, 0, 1, NULL), "iso_8601");
    soom_pg_result_free(res);
    /* nothing stayed on the session: SHOW goes without the settings */
    res = query(c, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, &rc);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "0");
    soom_pg_result_free(res);
    CHECK_INT(pg_test_exec(c, "CREATE TEMP TABLE pooler_seen AS SELECT "
                              "current_setting('statement_timeout') AS t"),
              SOOM_OK);
    res = query(c, "SELECT t FROM pooler_seen", 0, NULL, &rc);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "0");
    soom_pg_result_free(res);
    /* a transaction sets them once, after BEGIN */
    CHECK_INT(soom_pg_begin(c), SOOM_OK);
    res = query(c, "SELECT current_setting('statement_timeout')", 0, NULL, &rc);
    CHECK_STR(soom_pg_result_value(res, 0, 0, NULL), "1234ms");
    soom_pg_result_free(res);
    CHECK_INT(soom_pg_commit(c), SOOM_OK);
    /* the statement's own error, and the session fine after it */
    const char *v[] = {"0"};
    CHECK_INT(soom_pg_exec(c, "SELECT 1 / $1::int", 1, v, NULL, NULL, &res), SOOM_EINVALID);
    CHECK_STR(soom_pg_conn_error(c)->sqlstate, "22012");
    CHECK(!soom_pg_conn_in_transaction(c));
    res = query(c, "SELECT pg_sleep(2)", 0, NULL, &rc);
    CHECK_INT(rc, SOOM_EUNAVAIL);
    CHECK_STR(soom_pg_conn_error(c)->sqlstate, "57014");
    res = query(c, "SELECT 2", 0, NULL, &rc);
    CHECK_INT(rc, SOOM_OK);
    soom_pg_result_free(res);
    soom_pg_conn_close(c);
    soom_config_free(cfg);
}

int main(void)
{
    url = pg_test_setup("t_query");
    RUN(test_params);
    RUN(test_nul_and_binary);
    RUN(test_affected_and_script);
    RUN(test_transactions);
    RUN(test_conflicts);
    RUN(test_invalid);
    RUN(test_internal);
    RUN(test_unavailable);
    RUN(test_error_codes);
    RUN(test_prepared_cache);
    RUN(test_pooler);
    pg_test_teardown();
    return test_summary();
}
