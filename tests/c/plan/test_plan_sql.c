/* Unit tests of the plan SQL builders, core/src/plan/plan_query.c,
 * plan_write.c and plan_stmt.c: for plans compiled by soom_plan_new() and
 * requests made by soom_request_new(), the SQL text and parameters that
 * filters, ordering, ?fields, cursor, offset and keyset positions, IN lists,
 * conditions from get_queryset hooks and create/update bodies produce, and
 * the 400/422 answers to what does not fit. Then the same statements run
 * on the suite's PostgreSQL (a private schema) through soom_plan_run(), to
 * show the database takes them and what their errors become. */
#include <stdlib.h>

#include "pg_test.h"
#include "plan_internal.h"
#include "soom/json.h"
#include "soom/page.h"

/* ---- plans ---------------------------------------------------------------- */

static const struct plan_spec_column COLUMNS[] = {
    {"id", "bigserial", false, true},
    {"name", "varchar(100)", false, false},
    {"score", "integer", true, false},
    {"ratio", "numeric(5,2)", true, false},
    {"active", "boolean", false, false},
    {"tags", "text[]", false, false},
    {"meta", "jsonb", true, false},
    {"raw", "bytea", true, false},
    {"created_at", "timestamptz", false, true},
};

/* "title" is the output name of column "name"; "raw" is write-only */
static const struct plan_spec_field FIELDS[] = {
    {.name = "id", .column = "id"},
    {.name = "title", .column = "name"},
    {.name = "score", .column = "score"},
    {.name = "ratio", .column = "ratio"},
    {.name = "active", .column = "active"},
    {.name = "tags", .column = "tags"},
    {.name = "meta", .column = "meta"},
    {.name = "raw", .column = "raw", .write_only = true},
    {.name = "created_at", .column = "created_at"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const FILTERS[] = {"title", "score", "ratio", "active", "tags", "created_at"};
static const char *const ORDERABLE[] = {"id", "score", "title", "created_at"};
static const char *const CURSOR_ORDERABLE[] = {"id", "title", "created_at"};
static const char *const BY_NEWEST[] = {"-created_at"};

#define SELECT_LIST                                                                                \
    "\"id\", \"name\", \"score\", \"ratio\", \"active\", \"tags\", \"meta\", \"created_at\""

static struct plan_spec base_spec(void)
{
    struct plan_spec s = {
        .table = "sample",
        .primary_key = "id",
        .columns = COLUMNS,
        .ncolumns = COUNT(COLUMNS),
        .fields = FIELDS,
        .nfields = COUNT(FIELDS),
        .filters = FILTERS,
        .nfilters = COUNT(FILTERS),
        .ordering_fields = ORDERABLE,
        .nordering_fields = COUNT(ORDERABLE),
        .actions = PLAN_LIST | PLAN_CREATE,
        .fast = PLAN_LIST | PLAN_CREATE,
        .secret_key = "test key",
    };
    return s;
}

static struct soom_plan *compile(const struct plan_spec *s)
{
    char err[256] = "";
    struct soom_plan *p = NULL;
    int rc = soom_plan_new(s, &p, err, sizeof err);
    CHECK_INT(rc, SOOM_OK);
    if (rc != SOOM_OK)
        fprintf(stderr, "  the plan did not compile: %s\n", err);
    return p;
}

static struct soom_plan *plain, *cursor_plan, *offset_plan, *keyset_plan, *detail_plan;

static void make_plans(void)
{
    struct plan_spec s = base_spec();
    plain = compile(&s);
    s.page = PLAN_PAGE_CURSOR;
    s.page_size = 20;
    s.max_page_size = 100;
    s.ordering_fields = CURSOR_ORDERABLE;
    s.nordering_fields = COUNT(CURSOR_ORDERABLE);
    s.ordering = BY_NEWEST;
    s.nordering = 1;
    cursor_plan = compile(&s);
    s = base_spec();
    s.page = PLAN_PAGE_OFFSET;
    s.page_size = 10;
    s.max_page_size = 50;
    s.count = PLAN_COUNT_EXACT;
    offset_plan = compile(&s);
    s = base_spec();
    s.page = PLAN_PAGE_KEYSET;
    s.page_size = 20;
    s.max_page_size = 100;
    keyset_plan = compile(&s);
    s = base_spec();
    s.lookup_field = "id";
    s.lookup_param = "id";
    s.actions = s.fast = PLAN_RETRIEVE | PLAN_UPDATE | PLAN_DESTROY;
    detail_plan = compile(&s);
}

/* ---- requests ------------------------------------------------------------- */

static struct soom_config *config;

/* A request whose decoded query string is `query` ("a=1&b=2"). */
static struct soom_request *request(const char *query)
{
    struct soom_request *r = soom_request_new(NULL, config);
    r->method = SOOM_GET;
    r->method_name = "GET";
    r->path = "/samples";
    r->path_len = 8;
    size_t n = 0, len = query ? strlen(query) : 0;
    for (size_t i = 0; i < len; i++)
        n += query[i] == '&';
    r->query = soom_arena_calloc(r->arena, (n + 1) * sizeof *r->query);
    char *q = soom_arena_strndup(r->arena, query ? query : "", len);
    for (char *item = q; len > 0 && item != NULL;) {
        char *amp = strchr(item, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(item, '=');
        struct soom_kv *kv = &r->query[r->nquery++];
        kv->key = item;
        kv->key_len = eq ? (size_t)(eq - item) : strlen(item);
        kv->value = eq ? eq + 1 : "";
        kv->value_len = strlen(kv->value);
        item = amp ? amp + 1 : NULL;
    }
    return r;
}

static void set_body(struct soom_request *r, const char *json)
{
    struct soom_json *doc = NULL;
    CHECK_INT(soom_json_parse(json, strlen(json), 64, &doc, NULL), SOOM_OK);
    soom_json_defer(r->arena, doc);
    r->json = doc;
}

static const char *body_of(const struct soom_request *r)
{
    static char copy[8192];
    snprintf(copy, sizeof copy, "%.*s", (int)r->out_len, r->out_body ? r->out_body : "");
    return copy;
}

/* ---- checks --------------------------------------------------------------- */

static void stmt_is(const struct plan_stmt *s, const char *sql, size_t n, const char *const *want,
                    int line)
{
    const char *got = s->sql->data ? s->sql->data : "";
    if (strcmp(got, sql) != 0) {
        test_failed_checks++;
        fprintf(stderr, "  FAIL %s:%d in %s: the SQL\n    is        %s\n    should be %s\n",
                __FILE__, line, test_current, got, sql);
    }
    if (s->n != n) {
        test_failed_checks++;
        fprintf(stderr, "  FAIL %s:%d in %s: %zu parameters, expected %zu\n", __FILE__, line,
                test_current, s->n, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->binary[i])
            continue; /* bytes: checked by the caller with memcmp */
        bool same = want[i] == NULL ? s->values[i] == NULL
                                    : s->values[i] != NULL && s->lens[i] == strlen(want[i]) &&
                                          memcmp(s->values[i], want[i], s->lens[i]) == 0;
        if (!same) {
            test_failed_checks++;
            fprintf(stderr, "  FAIL %s:%d in %s: $%zu is %s, expected %s\n", __FILE__, line,
                    test_current, i + 1, s->values[i] ? s->values[i] : "NULL",
                    want[i] ? want[i] : "NULL");
        }
    }
}

#define STMT_IS(s, sql, ...)                                                                       \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        stmt_is((s), (sql), COUNT(want_), want_, __LINE__);                                        \
    } while (0)
#define STMT_NO_PARAMS(s, sql) stmt_is((s), (sql), 0, NULL, __LINE__)

struct listing {
    struct soom_request *r;
    struct plan_list_query q;
    bool ok;
};

/* Parses `query` for a list on plan `p` (with `extra` conditions) and, when
 * it is accepted, builds its SELECT. */
static struct plan_stmt *list(struct listing *l, const struct soom_plan *p, const char *query,
                              const struct plan_extra *extra)
{
    l->r = request(query);
    l->ok = plan_list_parse(l->r, p, extra, &l->q);
    CHECK(l->ok);
    if (!l->ok) {
        fprintf(stderr, "  ?%s was refused: %s\n", query, body_of(l->r));
        return &l->q.stmt;
    }
    plan_list_sql(p, &l->q);
    return &l->q.stmt;
}

static void done(struct listing *l)
{
    soom_request_free(l->r);
}

/* `query` must be answered 400 with `detail` (as it is in JSON). */
static void refused(const struct soom_plan *p, const char *query, const char *detail, int line)
{
    struct listing l;
    memset(&l, 0, sizeof l);
    l.r = request(query);
    l.ok = plan_list_parse(l.r, p, NULL, &l.q);
    char want[512];
    snprintf(want, sizeof want, "\"detail\":\"%s\"", detail);
    if (l.ok || l.r->status != 400 || strstr(body_of(l.r), want) == NULL) {
        test_failed_checks++;
        fprintf(stderr, "  FAIL %s:%d in %s: ?%s should be a 400 with %s, got %d %s\n", __FILE__,
                line, test_current, query, want, l.ok ? 0 : l.r->status, body_of(l.r));
    }
    done(&l);
}

#define REFUSED(p, query, detail) refused((p), (query), (detail), __LINE__)

/* ---- filters -------------------------------------------------------------- */

static void test_no_query(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, plain, "", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC");
    done(&l);
    /* unknown parameters and fields that are not filters are ignored */
    STMT_NO_PARAMS(list(&l, plain, "nope=1&id=3&name=x&raw=AA", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC");
    done(&l);
}

static void test_filter_lookups(void)
{
    static const struct {
        const char *query, *where, *param;
    } cases[] = {
        {"title=abc", "\"name\" = $1", "abc"},
        {"score=5", "\"score\" = $1", "5"},
        {"score__gt=5", "\"score\" > $1", "5"},
        {"score__gte=-5", "\"score\" >= $1", "-5"},
        {"score__lt=7", "\"score\" < $1", "7"},
        {"score__lte=0", "\"score\" <= $1", "0"},
        {"ratio=1.25", "\"ratio\" = $1", "1.25"},
        {"ratio__gt=1e2", "\"ratio\" > $1", "1e2"},
        {"active=true", "\"active\" = $1", "true"},
        {"active=1", "\"active\" = $1", "true"},
        {"active=0", "\"active\" = $1", "false"},
        {"title__contains=a%_b", "strpos(\"name\"::text, $1) > 0", "a%_b"},
        {"title__icontains=AbC", "strpos(lower(\"name\"::text), lower($1)) > 0", "AbC"},
        {"tags__contains=red", "$1 = ANY(\"tags\")", "red"},
        {"tags__icontains=red", "$1 = ANY(\"tags\")", "red"},
        {"tags={a,b}", "\"tags\" = $1", "{a,b}"},
        {"created_at__gte=2026-01-01", "\"created_at\" >= $1", "2026-01-01"},
        {"title=o'k; DROP TABLE sample", "\"name\" = $1", "o'k; DROP TABLE sample"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct listing l;
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT " SELECT_LIST " FROM \"sample\" WHERE %s ORDER BY \"id\" ASC",
                 cases[i].where);
        STMT_IS(list(&l, plain, cases[i].query, NULL), sql, cases[i].param);
        done(&l);
    }
}

static void test_isnull_and_several_filters(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, plain, "score__isnull=true", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" WHERE \"score\" IS NULL ORDER BY \"id\" ASC");
    done(&l);
    STMT_NO_PARAMS(list(&l, plain, "score__isnull=0", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" WHERE \"score\" IS NOT NULL ORDER BY \"id\" ASC");
    done(&l);
    /* in the order of the query string, numbered in that order */
    STMT_IS(list(&l, plain, "score__gt=1&title=a&score__isnull=false&score__lt=9", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"score\" > $1 AND \"name\" = $2 AND "
            "\"score\" IS NOT NULL AND \"score\" < $3 ORDER BY \"id\" ASC",
            "1", "a", "9");
    done(&l);
}

static void test_in_lists(void)
{
    struct listing l;
    STMT_IS(list(&l, plain, "score__in=1,2,-3", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"score\" = ANY($1) ORDER BY \"id\" ASC",
            "{\"1\",\"2\",\"-3\"}");
    done(&l);
    /* each element quoted, its quotes and backslashes escaped */
    STMT_IS(list(&l, plain, "title__in=a\"b,c\\d,e f,{x}", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"name\" = ANY($1) ORDER BY \"id\" ASC",
            "{\"a\\\"b\",\"c\\\\d\",\"e f\",\"{x}\"}");
    done(&l);
    STMT_IS(list(&l, plain, "active__in=1,false", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"active\" = ANY($1) ORDER BY \"id\" ASC",
            "{\"true\",\"false\"}");
    done(&l);
    STMT_IS(list(&l, plain, "title__in=solo", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"name\" = ANY($1) ORDER BY \"id\" ASC",
            "{\"solo\"}");
    done(&l);
}

static void test_filter_refusals(void)
{
    REFUSED(plain, "score=abc", "score has a value of the wrong type");
    REFUSED(plain, "score=", "score has a value of the wrong type");
    REFUSED(plain, "score=-", "score has a value of the wrong type");
    REFUSED(plain, "score=1.5", "score has a value of the wrong type");
    REFUSED(plain, "score=1234567890123456789", "score has a value of the wrong type");
    REFUSED(plain, "score__gt=x", "score__gt has a value of the wrong type");
    REFUSED(plain, "ratio=1.2.3", "ratio has a value of the wrong type");
    REFUSED(plain, "ratio=", "ratio has a value of the wrong type");
    REFUSED(plain, "active=yes", "active has a value of the wrong type");
    REFUSED(plain, "score__in=1,,2", "score__in has a value of the wrong type");
    REFUSED(plain, "score__in=1,x", "score__in has a value of the wrong type");
    REFUSED(plain, "score__in=", "score__in has a value of the wrong type");
    REFUSED(plain, "score__isnull=yes", "score__isnull must be true or false");
    REFUSED(plain, "score__like=1", "unknown filter operator in \\\"score__like\\\"");
    REFUSED(plain, "score__=1", "unknown filter operator in \\\"score__\\\"");
    REFUSED(plain, "title__gt__lt=1", "unknown filter operator in \\\"title__gt__lt\\\"");
}

/* ---- ordering and fields ---------------------------------------------------- */

static void test_ordering(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, plain, "ordering=-score,title", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"score\" DESC, \"name\" ASC, \"id\" ASC");
    done(&l);
    /* the primary key named: no tie-breaker added */
    STMT_NO_PARAMS(list(&l, plain, "ordering=-id,score", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" DESC, \"score\" ASC");
    done(&l);
    STMT_NO_PARAMS(list(&l, plain, "ordering=,created_at,,", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"created_at\" ASC, \"id\" ASC");
    done(&l);
    REFUSED(plain, "ordering=nope", "cannot order by \\\"nope\\\"");
    REFUSED(plain, "ordering=ratio", "cannot order by \\\"ratio\\\"");
    REFUSED(plain, "ordering=name", "cannot order by \\\"name\\\""); /* output names only */
    REFUSED(plain, "ordering=,", "ordering is empty");
    REFUSED(plain, "ordering=score,score,score,score,score,score,score,score",
            "too many ordering terms");

    /* a plan without orderable fields ignores ?ordering */
    struct plan_spec s = base_spec();
    s.nordering_fields = 0;
    s.ordering = BY_NEWEST;
    s.nordering = 1;
    struct soom_plan *p = compile(&s);
    STMT_NO_PARAMS(list(&l, p, "ordering=score", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"created_at\" DESC, \"id\" ASC");
    done(&l);
    soom_plan_free(p);
}

static void test_ordering_column_not_in_output(void)
{
    /* the default ordering may name a model column the output leaves out:
     * it is selected too (for cursors), after the output columns */
    static const struct plan_spec_field TWO[] = {{.name = "id", .column = "id"},
                                                 {.name = "title", .column = "name"}};
    static const char *const BY_SCORE[] = {"-score"};
    struct plan_spec s = base_spec();
    s.fields = TWO;
    s.nfields = 2;
    s.nfilters = 0;
    s.nordering_fields = 0;
    s.ordering = BY_SCORE;
    s.nordering = 1;
    struct soom_plan *p = compile(&s);
    struct listing l;
    STMT_NO_PARAMS(list(&l, p, "", NULL),
                   "SELECT \"id\", \"name\", \"score\" FROM \"sample\" ORDER BY \"score\" DESC, "
                   "\"id\" ASC");
    done(&l);
    soom_plan_free(p);
}

static void test_fields(void)
{
    struct listing l;
    /* ?fields narrows the JSON shape, not the statement */
    STMT_NO_PARAMS(list(&l, plain, "fields=title,id", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC");
    CHECK(l.q.shape != NULL && l.q.shape != plain->shape);
    done(&l);
    list(&l, plain, "", NULL);
    CHECK(l.q.shape == plain->shape);
    done(&l);
    REFUSED(plain, "fields=nope", "unknown field \\\"nope\\\" in ?fields");
    REFUSED(plain, "fields=raw", "unknown field \\\"raw\\\" in ?fields"); /* write-only */
    REFUSED(plain, "fields=name", "unknown field \\\"name\\\" in ?fields");
    REFUSED(plain, "fields=,,", "?fields names no field");
    REFUSED(plain, "fields=id,title,id", "a field is repeated in ?fields");
}

/* ---- page positions ------------------------------------------------------------ */

static void test_cursor_pages(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, cursor_plan, "", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"created_at\" DESC, \"id\" ASC LIMIT 21");
    uint32_t fingerprint = l.q.fingerprint;
    done(&l);
    STMT_NO_PARAMS(list(&l, cursor_plan, "page_size=5", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"created_at\" DESC, \"id\" ASC LIMIT 6");
    done(&l);
    STMT_NO_PARAMS(list(&l, cursor_plan, "page_size=5000", NULL),
                   "SELECT " SELECT_LIST
                   " FROM \"sample\" ORDER BY \"created_at\" DESC, \"id\" ASC LIMIT 101");
    done(&l);

    /* the page after a position: the keyset condition, its values as
     * parameters after the filters' */
    struct soom_page_cursor c = {.direction = SOOM_PAGE_NEXT, .nvalues = 2};
    c.values[0] = "2026-01-02 03:04:05+00";
    c.lens[0] = strlen(c.values[0]);
    c.values[1] = "42";
    c.lens[1] = 2;
    struct soom_buf text;
    soom_buf_init(&text);
    soom_page_cursor_encode(&c, fingerprint, cursor_plan->cursor_key, &text);
    char query[512];
    snprintf(query, sizeof query, "title=a&cursor=%s", text.data);
    STMT_IS(list(&l, cursor_plan, query, NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"name\" = $1 AND ((\"created_at\" < $2) "
            "OR (\"created_at\" = $2 AND \"id\" > $3)) ORDER BY \"created_at\" DESC, \"id\" ASC "
            "LIMIT 21",
            "a", "2026-01-02 03:04:05+00", "42");
    done(&l);
    /* the page before it: read backwards */
    c.direction = SOOM_PAGE_PREV;
    soom_buf_clear(&text);
    soom_page_cursor_encode(&c, fingerprint, cursor_plan->cursor_key, &text);
    snprintf(query, sizeof query, "cursor=%s", text.data);
    STMT_IS(list(&l, cursor_plan, query, NULL),
            "SELECT " SELECT_LIST
            " FROM \"sample\" WHERE ((\"created_at\" > $1) OR (\"created_at\" "
            "= $1 AND \"id\" < $2)) ORDER BY \"created_at\" ASC, \"id\" DESC LIMIT 21",
            "2026-01-02 03:04:05+00", "42");
    done(&l);
    /* one direction throughout: a row comparison */
    list(&l, cursor_plan, "ordering=id", NULL);
    uint32_t by_id = l.q.fingerprint;
    done(&l);
    CHECK(by_id != fingerprint);
    struct soom_page_cursor one = {.direction = SOOM_PAGE_NEXT, .nvalues = 1};
    one.values[0] = "7";
    one.lens[0] = 1;
    soom_buf_clear(&text);
    soom_page_cursor_encode(&one, by_id, cursor_plan->cursor_key, &text);
    snprintf(query, sizeof query, "ordering=id&cursor=%s", text.data);
    STMT_IS(list(&l, cursor_plan, query, NULL),
            "SELECT " SELECT_LIST
            " FROM \"sample\" WHERE (\"id\") > ($1) ORDER BY \"id\" ASC LIMIT 21",
            "7");
    done(&l);
    /* a cursor of another ordering, or of nothing, is refused */
    snprintf(query, sizeof query, "cursor=%s", text.data);
    REFUSED(
        cursor_plan, query,
        "invalid cursor: the cursor was altered or belongs to another listing, ordering or key");
    REFUSED(cursor_plan, "cursor=garbage!", "invalid cursor: the cursor is not valid base64url");
    REFUSED(cursor_plan, "page_size=0", "page_size must be at least 1");
    REFUSED(cursor_plan, "page_size=x", "page_size must be a non-negative integer");
    soom_buf_cleanup(&text);
}

static void test_offset_pages(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, offset_plan, "", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 11");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "limit=5&offset=10", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 6 OFFSET 10");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "page=3&page_size=5", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 6 OFFSET 10");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "page_size=5&page=3", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 6 OFFSET 10");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "page=3", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 11 OFFSET 20");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "page=1&offset=0", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 11");
    done(&l);
    STMT_NO_PARAMS(list(&l, offset_plan, "limit=500", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 51");
    done(&l);
    REFUSED(offset_plan, "limit=0", "limit must be at least 1");
    REFUSED(offset_plan, "offset=-1", "offset must be a non-negative integer");
    REFUSED(offset_plan, "page=0", "page must be at least 1");
    REFUSED(offset_plan, "page=two", "page must be a non-negative integer");
}

static void test_count_statements(void)
{
    struct listing l;
    STMT_IS(list(&l, offset_plan, "score__gt=3&title__in=a,b&limit=5&offset=5", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"score\" > $1 AND \"name\" = ANY($2) "
            "ORDER BY \"id\" ASC LIMIT 6 OFFSET 5",
            "3", "{\"a\",\"b\"}");
    struct plan_stmt count;
    plan_count_sql(l.r, offset_plan, &l.q, &count);
    STMT_IS(&count, "SELECT count(*) FROM \"sample\" WHERE \"score\" > $1 AND \"name\" = ANY($2)",
            "3", "{\"a\",\"b\"}");
    done(&l);
    struct plan_spec s = base_spec();
    s.page = PLAN_PAGE_OFFSET;
    s.count = PLAN_COUNT_PLANNED;
    struct soom_plan *p = compile(&s);
    list(&l, p, "", NULL);
    plan_count_sql(l.r, p, &l.q, &count);
    STMT_NO_PARAMS(&count, "EXPLAIN (FORMAT JSON) SELECT 1 FROM \"sample\"");
    done(&l);
    soom_plan_free(p);
}

static void test_keyset_pages(void)
{
    struct listing l;
    STMT_NO_PARAMS(list(&l, keyset_plan, "ordering=-score", NULL),
                   "SELECT " SELECT_LIST " FROM \"sample\" ORDER BY \"id\" ASC LIMIT 21");
    done(&l);
    STMT_IS(list(&l, keyset_plan, "after=41&limit=5&score=3", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"id\" > $1 AND \"score\" = $2 ORDER BY "
            "\"id\" ASC LIMIT 6",
            "41", "3");
    done(&l);
    REFUSED(keyset_plan, "after=x", "after has a value of the wrong type");
    REFUSED(keyset_plan, "limit=0", "limit must be at least 1");

    /* walking a unique field downwards, under a parameter of its own name:
     * the field alone orders the walk */
    struct plan_spec s = base_spec();
    s.page = PLAN_PAGE_KEYSET;
    s.page_size = 3;
    s.keyset_field = "-title";
    s.keyset_param = "starting_after";
    struct soom_plan *p = compile(&s);
    STMT_IS(list(&l, p, "starting_after=m&after=9", NULL),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE \"name\" < $1 ORDER BY \"name\" DESC "
            "LIMIT 4",
            "m");
    done(&l);
    soom_plan_free(p);
}

/* ---- conditions from hooks ---------------------------------------------------- */

static void test_conditions(void)
{
    const char *owner[] = {"7"};
    const char *either[] = {NULL, "x"};
    struct plan_condition conds[] = {
        {"owner_id = $1", 1, owner},
        {"a IS NOT DISTINCT FROM $1 OR b = $2", 2, either},
        {"price::text <> '$1' AND note <> $$", 0, NULL},
    };
    struct plan_extra extra = {conds, COUNT(conds), false};
    struct listing l;
    STMT_IS(list(&l, plain, "score=5", &extra),
            "SELECT " SELECT_LIST " FROM \"sample\" WHERE (owner_id = $1) AND (a IS NOT DISTINCT "
            "FROM $2 OR b = $3) AND (price::text <> '$1' AND note <> $$) AND \"score\" = $4 ORDER "
            "BY \"id\" ASC",
            "7", NULL, "x", "5");
    done(&l);

    /* twelve parameters: $10 and beyond renumbered whole */
    const char *many[12] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"};
    struct plan_condition wide = {"x IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", 12,
                                  many};
    struct plan_extra two = {conds, 1, false};
    struct plan_stmt s;
    struct soom_request *r = request("");
    plan_stmt_init(&s, r->arena);
    bool first = true;
    plan_stmt_conditions(&s, &two, &first);
    CHECK(!first);
    struct plan_extra more = {&wide, 1, false};
    plan_stmt_conditions(&s, &more, &first);
    STMT_IS(&s, "(owner_id = $1) AND (x IN ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13))",
            "7", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
    soom_request_free(r);
}

/* After two parameters, each condition's $1 is $3, but never inside quotes. */
static void test_condition_quoting(void)
{
    static const struct {
        const char *sql, *renumbered;
    } cases[] = {
        {"a = $1", "(a = $3)"},
        {"a = '$1' OR b = $1", "(a = '$1' OR b = $3)"},
        {"a = 'it''s $1' AND b = $1", "(a = 'it''s $1' AND b = $3)"},
        {"a = E'it\\'s $1' AND b = $1", "(a = E'it\\'s $1' AND b = $3)"},
        {"a = e'\\\\' AND b = $1", "(a = e'\\\\' AND b = $3)"},
        {"\"col$1\" = $1", "(\"col$1\" = $3)"},
        {"\"say \"\"$1\"\"\" = $1", "(\"say \"\"$1\"\"\" = $3)"},
        {"a = $$ $1 $$ AND b = $1", "(a = $$ $1 $$ AND b = $3)"},
        {"a = $q$ it's $1 $q$ AND b = $1", "(a = $q$ it's $1 $q$ AND b = $3)"},
        {"a$1 = $1", "(a$1 = $3)"}, /* $ may be part of a name */
        {"type'$1' = $1", "(type'$1' = $3)"},
        {"a = $1::text || '$2' || $1", "(a = $3::text || '$2' || $3)"},
        {"a = 'unterminated $1", "(a = 'unterminated $1)"},
    };
    const char *one[] = {"v"};
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct soom_request *r = request("");
        struct plan_stmt s;
        plan_stmt_init(&s, r->arena);
        plan_stmt_param(&s, "x", 1, false);
        plan_stmt_param(&s, "y", 1, false);
        struct plan_condition c = {cases[i].sql, 1, one};
        struct plan_extra extra = {&c, 1, false};
        bool first = true;
        plan_stmt_conditions(&s, &extra, &first);
        STMT_IS(&s, cases[i].renumbered, "x", "y", "v");
        soom_request_free(r);
    }
}

static void test_stmt_params(void)
{
    struct soom_request *r = request("");
    struct plan_stmt s;
    plan_stmt_init(&s, r->arena);
    char value[] = "copied";
    CHECK_INT(plan_stmt_param(&s, value, 6, false), 1);
    value[0] = 'X'; /* the statement keeps its own copy */
    CHECK_INT(plan_stmt_param(&s, NULL, 0, false), 2);
    CHECK_INT(plan_stmt_param(&s, "a\0b", 3, true), 3);
    for (int i = 4; i <= 40; i++) {
        char t[8];
        snprintf(t, sizeof t, "%d", i);
        CHECK_INT(plan_stmt_param(&s, t, strlen(t), false), i);
    }
    CHECK_INT(s.n, 40);
    CHECK_STR(s.values[0], "copied");
    CHECK(s.values[1] == NULL);
    CHECK(s.binary[2] && !s.binary[0] && s.lens[2] == 3 && memcmp(s.values[2], "a\0b", 3) == 0);
    CHECK_STR(s.values[39], "40");
    soom_request_free(r);
}

/* ---- writes ----------------------------------------------------------------------- */

struct write {
    struct soom_request *r;
    struct plan_stmt s;
    struct soom_buf cols, vals;
    int n;
};

static void write_values(struct write *w, const char *body, bool update)
{
    w->r = request("");
    set_body(w->r, body);
    plan_stmt_init(&w->s, w->r->arena);
    soom_buf_init(&w->cols);
    soom_buf_init(&w->vals);
    w->n = plan_write_values(w->r, plain, w->r->json, &w->s, update, &w->cols, &w->vals);
}

static void write_done(struct write *w)
{
    soom_buf_cleanup(&w->cols);
    soom_buf_cleanup(&w->vals);
    soom_request_free(w->r);
}

static void test_insert_values(void)
{
    struct write w;
    write_values(&w,
                 "{\"tags\":[\"x\",\"new\\nline\",\"q\\\"\",\"b\\\\s\",null,\"\",\"NULL\"],"
                 "\"id\":9,\"created_at\":\"2020-01-01\",\"nope\":1,\"name\":\"ignored\","
                 "\"title\":\"t\",\"score\":null,\"ratio\":0.1,\"active\":true,"
                 "\"meta\":{\"a\":[1,2.5,\"\\u00e9\"]},\"raw\":\"AAEC/w==\"}",
                 false);
    CHECK_INT(w.n, 7);
    /* the fields' order, not the body's; read-only fields and unknown keys
     * are left out */
    CHECK_STR(w.cols.data,
              "\"name\", \"score\", \"ratio\", \"active\", \"tags\", \"meta\", \"raw\"");
    CHECK_STR(w.vals.data, "$1, $2, $3, $4, $5, $6, $7");
    STMT_IS(&w.s, "", "t", NULL, "0.1", "true",
            "{\"x\",\"new\nline\",\"q\\\"\",\"b\\\\s\",NULL,\"\",\"NULL\"}",
            "{\"a\":[1,2.5,\"\xc3\xa9\"]}", "\x00\x01\x02\xff");
    CHECK(w.s.binary[6] && w.s.lens[6] == 4 && memcmp(w.s.values[6], "\x00\x01\x02\xff", 4) == 0);
    CHECK(!w.s.binary[0]);
    write_done(&w);

    /* numbers in the writer's exact form; nested arrays; URL-safe base64 */
    write_values(&w,
                 "{\"score\":1e3,\"ratio\":-2.50,\"tags\":[[\"a\",\"b\"],[\"c\",null]],"
                 "\"meta\":\"just a string\",\"raw\":\"_-8\"}",
                 false);
    CHECK_INT(w.n, 5);
    STMT_IS(&w.s, "", "1000", "-2.5", "{{\"a\",\"b\"},{\"c\",NULL}}", "\"just a string\"",
            "\xff\xef");
    CHECK(w.s.lens[4] == 2 && memcmp(w.s.values[4], "\xff\xef", 2) == 0);
    write_done(&w);

    write_values(&w, "{\"id\":1,\"created_at\":\"x\"}", false);
    CHECK_INT(w.n, 0); /* nothing writable: INSERT ... DEFAULT VALUES */
    CHECK_INT(w.s.n, 0);
    write_done(&w);
}

static void test_update_values(void)
{
    struct write w;
    write_values(&w, "{\"active\":false,\"title\":\"new\",\"score\":3}", true);
    CHECK_INT(w.n, 3);
    CHECK_STR(w.cols.data, "\"name\" = $1, \"score\" = $2, \"active\" = $3");
    CHECK_INT(w.vals.len, 0);
    STMT_IS(&w.s, "", "new", "3", "false");
    write_done(&w);
}

/* The body must be answered with `status` and `text` in the problem. */
static void write_refused(const char *body, int status, const char *text, int line)
{
    struct write w;
    write_values(&w, body, false);
    if (w.n != -1 || w.r->status != status || strstr(body_of(w.r), text) == NULL) {
        test_failed_checks++;
        fprintf(stderr, "  FAIL %s:%d in %s: %s should be a %d with %s, got %d: %d %s\n", __FILE__,
                line, test_current, body, status, text, w.n, w.r->status, body_of(w.r));
    }
    write_done(&w);
}

#define WRITE_REFUSED(body, status, text) write_refused((body), (status), (text), __LINE__)

static void test_write_refusals(void)
{
    WRITE_REFUSED("[1,2]", 400, "\"detail\":\"the body must be a JSON object\"");
    WRITE_REFUSED("\"text\"", 400, "\"detail\":\"the body must be a JSON object\"");
    WRITE_REFUSED("{\"score\":{\"a\":1}}", 422,
                  "\"detail\":\"the body does not fit the resource\",\"instance\":\"/samples\","
                  "\"errors\":[{\"pointer\":\"/score\",\"detail\":\"must not be an object or an "
                  "array\",\"code\":\"type\",\"source\":\"body\"}]");
    WRITE_REFUSED("{\"title\":[\"a\"]}", 422,
                  "{\"pointer\":\"/title\",\"detail\":\"must not be an object or an array\"");
    WRITE_REFUSED("{\"tags\":\"x\"}", 422,
                  "{\"pointer\":\"/tags\",\"detail\":\"must be an array\"");
    WRITE_REFUSED("{\"tags\":{\"a\":1}}", 422,
                  "{\"pointer\":\"/tags\",\"detail\":\"must be an array\"");
    WRITE_REFUSED("{\"raw\":\"not base64!\"}", 422,
                  "{\"pointer\":\"/raw\",\"detail\":\"must be a base64 string\"");
    WRITE_REFUSED("{\"raw\":5}", 422,
                  "{\"pointer\":\"/raw\",\"detail\":\"must be a base64 string\"");
}

/* ---- on PostgreSQL ------------------------------------------------------------------- */

static struct soom_request *run_with(const struct soom_plan *p, unsigned action, const char *query,
                                     const char *body, const struct plan_extra *extra)
{
    struct soom_request *r = request(query);
    if (body != NULL)
        set_body(r, body);
    soom_plan_run(r, p, action, extra);
    return r;
}

static struct soom_request *run(const struct soom_plan *p, unsigned action, const char *query,
                                const char *body)
{
    return run_with(p, action, query, body, NULL);
}

static void test_on_postgres(void)
{
    struct soom_request *r = run(plain, PLAN_CREATE, "",
                                 "{\"title\":\"first\",\"score\":5,\"ratio\":0.1,\"active\":true,"
                                 "\"tags\":[\"a\\nb\",\"q\\\"\",null],\"meta\":{\"k\":[1]},"
                                 "\"raw\":\"AAE=\"}");
    CHECK_INT(r->status, 201);
    /* the row as written, every output field but the write-only one */
    const char *created = "{\"id\":1,\"title\":\"first\",\"score\":5,\"ratio\":\"0.10\","
                          "\"active\":true,\"tags\":[\"a\\nb\",\"q\\\"\",null],"
                          "\"meta\":{\"k\": [1]},\"created_at\":\"";
    CHECK(strncmp(body_of(r), created, strlen(created)) == 0);
    CHECK(strstr(body_of(r), "\"raw\"") == NULL);
    CHECK(r->out_headers != NULL && strcmp(r->out_headers->name, "Location") == 0 &&
          strcmp(r->out_headers->value, "/samples/1") == 0);
    soom_request_free(r);
    r = run(plain, PLAN_CREATE, "", "{\"title\":\"second\",\"active\":false,\"tags\":[]}");
    CHECK_INT(r->status, 201);
    soom_request_free(r);

    /* every kind of condition runs */
    static const struct {
        const char *query, *ids;
    } lists[] = {
        {"", "12"},
        {"title=first", "1"},
        {"score__gte=5&active=1", "1"},
        {"score__isnull=true", "2"},
        {"title__in=second,first&ordering=-id", "21"},
        {"title__icontains=SEC", "2"},
        {"tags__contains=a\nb", "1"},
        {"ratio=0.10", "1"},
        {"created_at__lte=2999-01-01&ordering=-created_at", "21"},
    };
    for (size_t i = 0; i < COUNT(lists); i++) {
        r = run(plain, PLAN_LIST, lists[i].query, NULL);
        CHECK_INT(r->status, 200);
        char ids[16] = "";
        for (const char *at = body_of(r); (at = strstr(at, "{\"id\":")) != NULL; at += 6)
            snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%c", at[6]);
        if (strcmp(ids, lists[i].ids) != 0)
            fprintf(stderr, "  for ?%s: %s\n", lists[i].query, body_of(r));
        CHECK_STR(ids, lists[i].ids);
        soom_request_free(r);
    }
    r = run(plain, PLAN_LIST, "fields=title,id&ordering=id", NULL);
    /* the resource's order, whatever the order of ?fields */
    CHECK_STR(body_of(r), "[{\"id\":1,\"title\":\"first\"},{\"id\":2,\"title\":\"second\"}]");
    soom_request_free(r);
    r = run(offset_plan, PLAN_LIST, "limit=1&offset=1&fields=id", NULL);
    CHECK_STR(body_of(r), "{\"count\":2,\"next\":null,\"previous\":\"http://127.0.0.1:8000/samples?"
                          "fields=id&limit=1\",\"results\":[{\"id\":2}]}");
    soom_request_free(r);

    /* what the database refuses, answered as problems */
    /* a conflict or a missing value is reported under the field's own name
     * ("title"), not its column's ("name") */
    r = run(plain, PLAN_CREATE, "", "{\"title\":\"first\",\"active\":true,\"tags\":[]}");
    CHECK_INT(r->status, 409);
    CHECK_STR(body_of(r), "{\"type\":\"about:blank\",\"title\":\"Conflict\",\"status\":409,"
                          "\"detail\":\"a row with the same title already exists\",\"instance\":"
                          "\"/samples\",\"errors\":[{\"pointer\":\"/title\",\"detail\":\"a row "
                          "with the same title already exists\",\"code\":\"unique\",\"source\":"
                          "\"body\"}]}");
    soom_request_free(r);
    r = run(plain, PLAN_CREATE, "", "{\"active\":true,\"tags\":[]}");
    CHECK_INT(r->status, 422);
    CHECK(strstr(body_of(r), "{\"pointer\":\"/title\",\"detail\":\"a value is required\","
                             "\"code\":\"required\",\"source\":\"body\"}") != NULL);
    soom_request_free(r);
    r = run(plain, PLAN_CREATE, "", "{\"title\":\"third\",\"tags\":[]}");
    CHECK_INT(r->status, 422);
    CHECK(strstr(body_of(r), "{\"pointer\":\"/active\",\"detail\":\"a value is required\","
                             "\"code\":\"required\",\"source\":\"body\"}") != NULL);
    soom_request_free(r);
    r = run(plain, PLAN_CREATE, "",
            "{\"title\":\"third\",\"active\":true,\"tags\":[],\"score\":\"x\"}");
    CHECK_INT(r->status, 422);
    CHECK(strstr(body_of(r), "invalid input syntax for type integer") != NULL);
    soom_request_free(r);
    /* a bad value from the query string is the client's 400 */
    r = run(plain, PLAN_LIST, "created_at__gt=not a date", NULL);
    CHECK_INT(r->status, 400);
    CHECK(strstr(body_of(r), "a query parameter has a value of the wrong type") != NULL);
    soom_request_free(r);
    r = run(plain, PLAN_LIST, "", NULL);
    CHECK_INT(r->status, 200); /* the connection is still good */
    soom_request_free(r);

    /* a hook's condition runs as written: '$1' in a literal is text */
    r = run(plain, PLAN_CREATE, "", "{\"title\":\"$1\",\"active\":true,\"tags\":[]}");
    CHECK_INT(r->status, 201);
    long dollar_id = strtol(body_of(r) + 6, NULL, 10); /* {"id":N, */
    CHECK(dollar_id > 2);
    soom_request_free(r);
    const char *active[] = {"true"};
    struct plan_condition not_dollar = {"name <> '$1' AND active = $1", 1, active};
    struct plan_extra extra = {&not_dollar, 1, false};
    r = run_with(plain, PLAN_LIST, "fields=title&ordering=id", NULL, &extra);
    CHECK_STR(body_of(r), "[{\"title\":\"first\"}]");
    soom_request_free(r);
    /* after the lookup's $1, where a renumbered literal would read '$2' */
    long ids[] = {1, 2, dollar_id};
    for (int i = 0; i < 3; i++) {
        r = request("");
        char *value = soom_arena_printf(r->arena, "%ld", ids[i]);
        r->match.nparams = 1;
        r->match.params[0] = (struct soom_route_param){"id", value, strlen(value), SOOM_PARAM_INT};
        soom_plan_run(r, detail_plan, PLAN_RETRIEVE, &extra);
        CHECK_INT(r->status, i == 0 ? 200 : 404); /* 2 is not active, the last is "$1" */
        soom_request_free(r);
    }
}

int main(void)
{
    const char *url = pg_test_setup("plan_sql");
    config = pg_test_config(url);
    make_plans();
    RUN(test_no_query);
    RUN(test_filter_lookups);
    RUN(test_isnull_and_several_filters);
    RUN(test_in_lists);
    RUN(test_filter_refusals);
    RUN(test_ordering);
    RUN(test_ordering_column_not_in_output);
    RUN(test_fields);
    RUN(test_cursor_pages);
    RUN(test_offset_pages);
    RUN(test_count_statements);
    RUN(test_keyset_pages);
    RUN(test_conditions);
    RUN(test_condition_quoting);
    RUN(test_stmt_params);
    RUN(test_insert_values);
    RUN(test_update_values);
    RUN(test_write_refusals);
    struct soom_pg_conn *c = pg_test_connect(url);
    int rc = pg_test_exec(c, "CREATE TABLE sample (id bigserial PRIMARY KEY, name varchar(100) NOT "
                             "NULL UNIQUE, score integer, ratio numeric(5,2), active boolean NOT "
                             "NULL, tags text[] NOT NULL, meta jsonb, raw bytea, created_at "
                             "timestamptz NOT NULL DEFAULT now())");
    CHECK_INT(rc, SOOM_OK);
    soom_pg_conn_close(c);
    RUN(test_on_postgres);
    soom_pg_pool_teardown();
    soom_plan_free(plain);
    soom_plan_free(cursor_plan);
    soom_plan_free(offset_plan);
    soom_plan_free(keyset_plan);
    soom_plan_free(detail_plan);
    soom_config_free(config);
    pg_test_teardown();
    return test_summary();
}
