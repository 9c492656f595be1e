/*
 * What the PostgreSQL unit tests share: the database from DATABASE_URL
 * (ctest sets it and starts tests/support/pg.sh first), a schema of their
 * own so test programs running in parallel never see each other's tables,
 * and small helpers. A missing or unreachable database is a failure with a
 * clear message, never a skip.
 */
#ifndef SOOM_PG_TEST_H
#define SOOM_PG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soom/config.h"
#include "soom/error.h"
#include "soom/pg.h"
#include "test.h"

static char pg_test_schema[64];
static char pg_test_url_buf[1024];

/* DATABASE_URL, checked reachable; exits with a message when it is not. */
static inline const char *pg_test_base_url(void)
{
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "FAIL: DATABASE_URL is not set. These tests need PostgreSQL: run them "
                        "with ctest (which starts tests/support/pg.sh), or run "
                        "`tests/support/pg.sh start` and export "
                        "DATABASE_URL=$(tests/support/pg.sh url)\n");
        exit(1);
    }
    char err[256];
    struct soom_pg_conn *c;
    if (soom_pg_conn_open(url, NULL, &c, err, sizeof err) != SOOM_OK) {
        fprintf(stderr, "FAIL: cannot reach PostgreSQL at DATABASE_URL=%s: %s\n", url, err);
        exit(1);
    }
    soom_pg_conn_close(c);
    return url;
}

/* A direct connection to `url`; exits when it fails. */
static inline struct soom_pg_conn *pg_test_connect(const char *url)
{
    char err[256];
    struct soom_pg_conn *c;
    if (soom_pg_conn_open(url, NULL, &c, err, sizeof err) != SOOM_OK) {
        fprintf(stderr, "FAIL: cannot connect to %s: %s\n", url, err);
        exit(1);
    }
    return c;
}

/* Runs sql without parameters; reports a failure with the server's words. */
static inline int pg_test_exec(struct soom_pg_conn *c, const char *sql)
{
    int rc = soom_pg_exec_script(c, sql);
    if (rc != SOOM_OK) {
        const struct soom_pg_error *e = soom_pg_conn_error(c);
        fprintf(stderr, "  SQL failed (%s): %s\n  in: %s\n", e ? e->sqlstate : "?",
                e ? e->message : "?", sql);
    }
    return rc;
}

/* Creates a fresh schema for this program and returns a URL whose sessions
 * use it first (search_path through the startup options). */
static inline const char *pg_test_setup(const char *prefix)
{
    const char *base = pg_test_base_url();
    snprintf(pg_test_schema, sizeof pg_test_schema, "%s_%ld", prefix, (long)getpid());
    struct soom_pg_conn *c = pg_test_connect(base);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", pg_test_schema,
             pg_test_schema);
    if (pg_test_exec(c, sql) != SOOM_OK)
        exit(1);
    soom_pg_conn_close(c);
    snprintf(pg_test_url_buf, sizeof pg_test_url_buf, "%s%soptions=-csearch_path%%3D%s", base,
             strchr(base, '?') ? "&" : "?", pg_test_schema);
    return pg_test_url_buf;
}

static inline void pg_test_teardown(void)
{
    struct soom_pg_conn *c = pg_test_connect(pg_test_base_url());
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", pg_test_schema);
    pg_test_exec(c, sql);
    soom_pg_conn_close(c);
}

/* The first value of the first row of `sql` into buf ("" for NULL or no
 * row, "ERROR <sqlstate>" on failure). */
static inline const char *pg_test_value(struct soom_pg_conn *c, const char *sql, char *buf,
                                        size_t n)
{
    struct soom_pg_result *res;
    if (soom_pg_exec(c, sql, 0, NULL, NULL, NULL, &res) != SOOM_OK) {
        const struct soom_pg_error *e = soom_pg_conn_error(c);
        snprintf(buf, n, "ERROR %s", e ? e->sqlstate : "?");
        return buf;
    }
    buf[0] = '\0';
    if (soom_pg_result_rows(res) > 0 && soom_pg_result_columns(res) > 0)
        snprintf(buf, n, "%s", soom_pg_result_value(res, 0, 0, NULL));
    soom_pg_result_free(res);
    return buf;
}

/* A config for a pool or direct connection to `url`. */
static inline struct soom_config *pg_test_config(const char *url)
{
    struct soom_config *cfg = soom_config_new();
    char err[256];
    soom_config_set_string(cfg, "database_url", url, err, sizeof err);
    return cfg;
}

static inline double pg_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void pg_test_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
