/*
 * Shared by the plan_*.c files only: statements under construction
 * (plan_stmt.c), the parsed list query, and the steps each file provides.
 *
 * A statement's SQL text and parameters live in the request's arena; the
 * parameters are numbered in the order they are added.
 */
#ifndef SOOM_PLAN_INTERNAL_H
#define SOOM_PLAN_INTERNAL_H

#include "plan.h"
#include "request_impl.h"

struct soom_json;
struct soom_pg_conn;
struct soom_pg_result;

struct plan_stmt {
    struct soom_arena *arena;
    const struct soom_plan *plan; /* names field errors of writes; may be NULL */
    bool write;                   /* never sent twice (soom_pg_exec_once) */
    struct soom_buf *sql;         /* in the arena; its bytes freed by a callback on it */
    const char **values;
    size_t *lens;
    bool *binary;
    size_t n, cap;
    bool read; /* a read: a read replica may serve it (plan_stmt_exec) */
};

void plan_stmt_init(struct plan_stmt *s, struct soom_arena *a);

/* Adds a parameter (NULL: SQL NULL; the bytes are copied into the arena)
 * and returns its number, for "$%d". */
int plan_stmt_param(struct plan_stmt *s, const char *v, size_t len, bool binary);

/* Appends conditions (app-written SQL with their own $1..) renumbered after
 * the statement's parameters, each as " AND (...)" (or the first without
 * AND when `first` points to true, which is then cleared). */
void plan_stmt_conditions(struct plan_stmt *s, const struct plan_extra *extra, bool *first);

/* Runs the statement on the request's connection. On failure answers the
 * request (503, 409, 422, 500) and returns the SOOM code; `bad_input_400`
 * turns invalid-value errors (22xxx) into 400s, for values that came from
 * the query string. */
int plan_stmt_exec(struct soom_request *r, struct plan_stmt *s, struct soom_pg_result **out,
                   bool bad_input_400);

/* ---- embedded relations (plan_embed.c) ----------------------------------- */

/* What a request's rows are written as: the shape and the embeds (a bit
 * per plan embed) the statement must compute. */
struct plan_output {
    const struct soom_pg_shape *shape;
    unsigned embeds;
};

/* The shape of the fields in `include` (NULL: all; by field index) with
 * the embeds in `expand` expanded; the embeds it needs go to *embeds.
 * Owned by the caller (soom_pg_shape_free). */
struct soom_pg_shape *plan_shape_new(const struct soom_plan *p, const bool *include,
                                     unsigned expand, unsigned *embeds);

/* Adds the embeds named in "a,b" (?expand=) to *expand; false after a 400
 * for a name that is not an embed. */
bool plan_expand_parse(struct soom_request *r, const struct soom_plan *p, const char *v, size_t n,
                       unsigned *expand);

/* The request's output: ?expand= read, with the fields of `include` (NULL:
 * all). False after answering 400. */
bool plan_output_parse(struct soom_request *r, const struct soom_plan *p, const bool *include,
                       struct plan_output *out);

/* SELECT "_t".*, <embeds> FROM (<inner>) AS "_t" [<order_by>] */
void plan_embed_select(const struct soom_plan *p, unsigned embeds, const char *inner,
                       const char *order_by, struct soom_buf *sql);

/* Rewrites the statement's SQL to compute the embeds over its rows (a
 * SELECT as a subquery, a write with RETURNING as a WITH); nothing when
 * `embeds` is 0. */
void plan_embed_wrap(struct plan_stmt *s, const struct soom_plan *p, unsigned embeds, bool write);

/* ---- the list query (plan_query.c) --------------------------------------- */

struct plan_list_query {
    struct plan_stmt stmt; /* WHERE conditions so far, then the whole SELECT */
    bool has_where;
    const char *where; /* the WHERE text alone (plan_list_sql keeps it for counts) */
    size_t where_params;
    struct plan_order order[PLAN_MAX_ORDER];
    size_t norder;
    uint32_t fingerprint;
    const struct soom_pg_shape *shape; /* the output, narrowed by ?fields= */
    unsigned embeds;                   /* the embeds it computes */
    bool *include;                     /* ?fields=: per field, or NULL */
    long limit;
    long offset;
    bool paged_by_number; /* ?page= rather than ?offset= */
    bool has_cursor;
    struct soom_page_cursor cursor;
    int key_columns[PLAN_MAX_ORDER]; /* result columns of the ordering values */
};

/* Reads the query string (filters, ordering, fields, page position) into
 * `q`, adding the conditions of `extra`. On bad input answers 400 and
 * returns false. */
bool plan_list_parse(struct soom_request *r, const struct soom_plan *p,
                     const struct plan_extra *extra, struct plan_list_query *q);

/* Completes q->stmt as the SELECT of the page (limit + 1 rows). */
void plan_list_sql(const struct soom_plan *p, struct plan_list_query *q);

/* The statement counting the rows of the listing (exact or planned). */
void plan_count_sql(struct soom_request *r, const struct soom_plan *p,
                    const struct plan_list_query *q, struct plan_stmt *count);

/* ---- pages (plan_page.c) --------------------------------------------------- */

/* Writes the list body for `res` (limit + 1 rows fetched): a plain array, or
 * the page envelope with next/previous links (and count). */
void plan_page_write(struct soom_request *r, const struct soom_plan *p,
                     const struct plan_list_query *q, const struct soom_pg_result *res,
                     long long count, struct soom_buf *out);

/* ---- writes (plan_write.c) -------------------------------------------------- */

/* Adds the body's writable fields to `s` as "col1, col2" / "$1, $2" (for
 * INSERT) or "col1 = $1, col2 = $2" (for UPDATE). Returns the number of
 * fields, or -1 after answering 400/422 when the body is not an object or
 * a value does not fit its column. */
int plan_write_values(struct soom_request *r, const struct soom_plan *p,
                      const struct soom_json *body, struct plan_stmt *s, bool update,
                      struct soom_buf *columns, struct soom_buf *values);

#endif
