/* Unit tests of core/src/pg/pg_json.c against a real PostgreSQL: every type
 * the serializer knows, NULLs, arrays (nested, with NULLs and quoting),
 * field selection, order and renames, numeric as string or number. Each
 * output is also checked to parse as JSON. */
#include "pg_test.h"
#include "soom/json.h"

static struct soom_pg_conn *conn;

static struct soom_pg_result *select_sql(const char *sql)
{
    struct soom_pg_result *res = NULL;
    int rc = soom_pg_exec(conn, sql, 0, NULL, NULL, NULL, &res);
    CHECK_INT(rc, SOOM_OK);
    if (rc != SOOM_OK) {
        const struct soom_pg_error *e = soom_pg_conn_error(conn);
        fprintf(stderr, "  %s: %s\n", e ? e->sqlstate : "?", e ? e->message : "?");
    }
    return res;
}

static bool valid_json(const struct soom_buf *b)
{
    struct soom_json *doc;
    if (soom_json_parse(b->data, b->len, 64, &doc, NULL) != SOOM_OK)
        return false;
    soom_json_free(doc);
    return true;
}

/* The JSON of the single value selected by `expr` (as column v). */
static void check_value(const char *expr, unsigned flags, const char *want)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s AS v", expr);
    struct soom_pg_result *res = select_sql(sql);
    if (res == NULL)
        return;
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_pg_json_row(res, 0, NULL, flags, &b), SOOM_OK);
    char expect[1024];
    snprintf(expect, sizeof expect, "{\"v\":%s}", want);
    if (strcmp(b.data, expect) != 0)
        fprintf(stderr, "  for %s\n", expr);
    CHECK_STR(b.data, expect);
    CHECK(valid_json(&b));
    soom_buf_cleanup(&b);
    soom_pg_result_free(res);
}

static void test_integers(void)
{
    check_value("7::int2", 0, "7");
    check_value("(-32768)::int2", 0, "-32768");
    check_value("2147483647::int4", 0, "2147483647");
    check_value("9007199254740991::int8", 0, "9007199254740991");
    /* beyond 2^53: every digit, still a number */
    check_value("9223372036854775807::int8", 0, "9223372036854775807");
    check_value("(-9007199254740993)::int8", 0, "-9007199254740993");
    check_value("'pg_class'::regclass::oid", 0, "1259");
    check_value("NULL::int4", 0, "null");
}

static void test_floats_and_numeric(void)
{
    check_value("1.5::float4", 0, "1.5");
    check_value("0.1::float8", 0, "0.1");
    check_value("1e100::float8", 0, "1e+100");
    check_value("(-2.5e-7)::float8", 0, "-2.5e-07");
    check_value("'NaN'::float8", 0, "null");
    check_value("'Infinity'::float8", 0, "null");
    check_value("'-Infinity'::float4", 0, "null");
    check_value("12.50::numeric(10,2)", 0, "\"12.50\"");
    check_value("12.50::numeric(10,2)", SOOM_PG_JSON_NUMERIC_NUMBER, "12.50");
    check_value("(-0.000001)::numeric", SOOM_PG_JSON_NUMERIC_NUMBER, "-0.000001");
    check_value("123456789012345678901234567890::numeric", SOOM_PG_JSON_NUMERIC_NUMBER,
                "123456789012345678901234567890");
    check_value("'NaN'::numeric", 0, "\"NaN\"");
    check_value("'NaN'::numeric", SOOM_PG_JSON_NUMERIC_NUMBER, "null");
}

static void test_bool_json_text(void)
{
    check_value("true", 0, "true");
    check_value("false", 0, "false");
    check_value("'{\"a\": [1, 2], \"s\": \"x\\\"y\"}'::json", 0,
                "{\"a\": [1, 2], \"s\": \"x\\\"y\"}");
    check_value("'{\"b\":1,\"a\":[true,null]}'::jsonb", 0, "{\"a\": [true, null], \"b\": 1}");
    check_value("'[]'::jsonb", 0, "[]");
    check_value("'plain'::text", 0, "\"plain\"");
    check_value("E'quote \" back \\\\ nl \\n tab \\t'::text", 0,
                "\"quote \\\" back \\\\ nl \\n tab \\t\"");
    check_value("'héllo ✓'::varchar(20)", 0, "\"héllo ✓\"");
    check_value("'ab'::char(4)", 0, "\"ab  \"");
    check_value("'relname'::name", 0, "\"relname\"");
    check_value("'123e4567-e89b-12d3-a456-426614174000'::uuid", 0,
                "\"123e4567-e89b-12d3-a456-426614174000\"");
    check_value("E'\\\\x48656c6c6f'::bytea", 0, "\"SGVsbG8=\"");
    check_value("E'\\\\x'::bytea", 0, "\"\"");
    check_value("E'\\\\x0001fe'::bytea", 0, "\"AAH+\"");
    check_value("E'\\\\x00010203'::bytea", 0, "\"AAECAw==\"");
}

static void test_dates_and_times(void)
{
    check_value("'2026-11-29'::date", 0, "\"2026-11-29\"");
    check_value("'infinity'::date", 0, "\"infinity\"");
    check_value("'2026-11-29 02:13:31.123456+00'::timestamptz", 0,
                "\"2026-11-29T02:13:31.123456+00:00\"");
    /* the session is in UTC, whatever zone the value was written in */
    check_value("'2026-11-29 03:13:31+01'::timestamptz", 0, "\"2026-11-29T02:13:31+00:00\"");
    check_value("'2026-11-29 02:13:31.5'::timestamp", 0, "\"2026-11-29T02:13:31.5\"");
    check_value("'12:34:56'::time", 0, "\"12:34:56\"");
    check_value("'1 day 2 hours'::interval", 0, "\"P1DT2H\"");
    check_value("'-infinity'::timestamptz", 0, "\"-infinity\"");
    check_value("'0044-03-15 12:00:00+00 BC'::timestamptz", 0, "\"0044-03-15 12:00:00+00 BC\"");
    check_value("'12026-11-29 02:13:31+00'::timestamptz", 0, "\"12026-11-29T02:13:31+00:00\"");
}

static void test_arrays(void)
{
    check_value("'{1,2,3}'::int4[]", 0, "[1,2,3]");
    check_value("'{}'::int4[]", 0, "[]");
    check_value("'{{1,2},{3,4}}'::int8[]", 0, "[[1,2],[3,4]]");
    check_value("'{{{1}},{{2}}}'::int2[]", 0, "[[[1]],[[2]]]");
    check_value("ARRAY['a b', NULL, 'c\"d', 'NULL', 'e\\f', '']::text[]", 0,
                "[\"a b\",null,\"c\\\"d\",\"NULL\",\"e\\\\f\",\"\"]");
    check_value("'{t,f,NULL}'::bool[]", 0, "[true,false,null]");
    check_value("'{1.50,NaN}'::numeric[]", 0, "[\"1.50\",\"NaN\"]");
    check_value("'{1.50,NaN}'::numeric[]", SOOM_PG_JSON_NUMERIC_NUMBER, "[1.50,null]");
    check_value("'{1.5,Infinity}'::float8[]", 0, "[1.5,null]");
    check_value("ARRAY['2026-11-29 02:13:31+00'::timestamptz]", 0,
                "[\"2026-11-29T02:13:31+00:00\"]");
    check_value("ARRAY['2026-11-29'::date, NULL]", 0, "[\"2026-11-29\",null]");
    check_value("ARRAY['{\"a\":1}'::jsonb, '[2]'::jsonb]", 0, "[{\"a\": 1},[2]]");
    check_value("ARRAY['\\x6869'::bytea]", 0, "[\"aGk=\"]");
    check_value("ARRAY['123e4567-e89b-12d3-a456-426614174000'::uuid]", 0,
                "[\"123e4567-e89b-12d3-a456-426614174000\"]");
    check_value("'[0:1]={5,6}'::int4[]", 0, "[5,6]");
    check_value("ARRAY['x']::varchar[]", 0, "[\"x\"]");
}

static void test_rows_and_shapes(void)
{
    CHECK_INT(pg_test_exec(conn, "CREATE TABLE j_sample (id bigserial PRIMARY KEY, name text, "
                                 "score int, price numeric(6,2), tags text[], "
                                 "created_at timestamptz); "
                                 "INSERT INTO j_sample (name, score, price, tags, created_at) "
                                 "VALUES ('one', 10, 1.50, '{a,b}', '2026-01-02 03:04:05+00'), "
                                 "('two', NULL, NULL, NULL, NULL)"),
              SOOM_OK);
    struct soom_pg_result *res = select_sql("SELECT * FROM j_sample ORDER BY id");
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_pg_json_rows(res, NULL, 0, &b), SOOM_OK);
    CHECK_STR(b.data, "[{\"id\":1,\"name\":\"one\",\"score\":10,\"price\":\"1.50\",\"tags\":[\"a\","
                      "\"b\"],\"created_at\":\"2026-01-02T03:04:05+00:00\"},{\"id\":2,\"name\":"
                      "\"two\",\"score\":null,\"price\":null,\"tags\":null,\"created_at\":null}]");
    CHECK(valid_json(&b));

    /* fields select and order; renames give output names */
    const char *columns[] = {"name", "id", "price"};
    const char *names[] = {NULL, "pk", "cost \"eur\""};
    struct soom_pg_shape *shape = soom_pg_shape_new(columns, names, 3);
    soom_buf_clear(&b);
    CHECK_INT(soom_pg_json_row(res, 0, shape, SOOM_PG_JSON_NUMERIC_NUMBER, &b), SOOM_OK);
    CHECK_STR(b.data, "{\"name\":\"one\",\"pk\":1,\"cost \\\"eur\\\"\":1.50}");
    CHECK(valid_json(&b));
    soom_buf_clear(&b);
    CHECK_INT(soom_pg_json_rows(res, shape, 0, &b), SOOM_OK);
    CHECK_STR(b.data, "[{\"name\":\"one\",\"pk\":1,\"cost \\\"eur\\\"\":\"1.50\"},"
                      "{\"name\":\"two\",\"pk\":2,\"cost \\\"eur\\\"\":null}]");
    CHECK_INT(soom_pg_json_row(res, 2, shape, 0, &b), SOOM_ENOTFOUND);
    CHECK_INT(soom_pg_json_row(res, -1, NULL, 0, &b), SOOM_ENOTFOUND);
    soom_pg_shape_free(shape);

    /* a field the result lacks: refused, nothing written */
    const char *missing[] = {"id", "nope"};
    shape = soom_pg_shape_new(missing, NULL, 2);
    soom_buf_clear(&b);
    CHECK_INT(soom_pg_json_rows(res, shape, 0, &b), SOOM_EINVAL);
    CHECK_INT(b.len, 0);
    soom_pg_shape_free(shape);
    soom_pg_shape_free(NULL);

    soom_buf_clear(&b);
    soom_pg_json_value(res, 0, 4, 0, &b);
    CHECK_STR(b.data, "[\"a\",\"b\"]");
    soom_buf_clear(&b);
    soom_pg_json_value(res, 1, 4, 0, &b);
    CHECK_STR(b.data, "null");
    soom_pg_result_free(res);

    /* no rows */
    res = select_sql("SELECT * FROM j_sample WHERE false");
    soom_buf_clear(&b);
    CHECK_INT(soom_pg_json_rows(res, NULL, 0, &b), SOOM_OK);
    CHECK_STR(b.data, "[]");
    CHECK_INT(soom_pg_json_row(res, 0, NULL, 0, &b), SOOM_ENOTFOUND);
    soom_pg_result_free(res);
    soom_buf_cleanup(&b);
}

static void test_many_columns(void)
{
    /* more columns than the writer keeps on its stack */
    struct soom_buf sql, want;
    soom_buf_init(&sql);
    soom_buf_init(&want);
    soom_buf_puts(&sql, "SELECT ");
    soom_buf_putc(&want, '{');
    for (int i = 0; i < 100; i++) {
        soom_buf_printf(&sql, "%s%d AS c%d", i ? ", " : "", i, i);
        soom_buf_printf(&want, "%s\"c%d\":%d", i ? "," : "", i, i);
    }
    soom_buf_putc(&want, '}');
    struct soom_pg_result *res = select_sql(sql.data);
    struct soom_buf b;
    soom_buf_init(&b);
    CHECK_INT(soom_pg_json_row(res, 0, NULL, 0, &b), SOOM_OK);
    CHECK_STR(b.data, want.data);
    soom_pg_result_free(res);
    soom_buf_cleanup(&b);
    soom_buf_cleanup(&sql);
    soom_buf_cleanup(&want);
}

static void test_flags(void)
{
    struct soom_config *cfg = soom_config_new();
    CHECK_INT(soom_pg_json_flags(cfg), 0);
    char err[128];
    soom_config_set_string(cfg, "numeric_as", "number", err, sizeof err);
    CHECK_INT(soom_pg_json_flags(cfg), SOOM_PG_JSON_NUMERIC_NUMBER);
    CHECK_INT(soom_pg_json_flags(NULL), 0);
    soom_config_free(cfg);
}

int main(void)
{
    const char *url = pg_test_setup("t_json");
    conn = pg_test_connect(url);
    RUN(test_integers);
    RUN(test_floats_and_numeric);
    RUN(test_bool_json_text);
    RUN(test_dates_and_times);
    RUN(test_arrays);
    RUN(test_rows_and_shapes);
    RUN(test_many_columns);
    RUN(test_flags);
    soom_pg_conn_close(conn);
    pg_test_teardown();
    return test_summary();
}
