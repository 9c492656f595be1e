/*
 * Plans: a generic resource (list, create, retrieve, update, destroy over a
 * model) compiled at start-up into what a request needs to run in C.
 *
 * The Lua layer describes a generic resource as a spec (its model's table
 * and columns, the serializer's fields, the lookup, filters, ordering and
 * pagination, and which actions override no Lua step); soom_plan_new()
 * checks it and precomputes the SQL pieces and the JSON shape. A plan is
 * immutable after that and shared by every thread. Identifiers only ever
 * come from the spec (validated, quoted); request values only ever travel
 * as statement parameters.
 *
 * With an owner field, every action is the request's user's: lists,
 * retrieves, updates and destroys see only the rows whose owner is the
 * user (r->user, set by authentication), and a create sets the owner
 * itself whatever the body says.
 *
 * Actions run in two ways. When the resource overrides no Lua step for an
 * action, soom_plan_respond() runs it from the route to the response
 * without entering Lua: SQL on the request's pooled connection, rows
 * written straight to JSON. Otherwise the resource's Lua runs and calls the
 * same C steps (soom_plan_fetch and friends) with what its hooks supplied:
 * extra conditions from get_queryset, values from perform_create, rows to
 * hand to serializer_data.
 */
#ifndef SOOM_PLAN_H
#define SOOM_PLAN_H

#include <stdbool.h>

#include "soom/buf.h"
#include "soom/page.h"

struct soom_request;
struct soom_pg_result;
struct soom_pg_shape;

enum plan_action {
    PLAN_LIST = 1 << 0,
    PLAN_CREATE = 1 << 1,
    PLAN_RETRIEVE = 1 << 2,
    PLAN_UPDATE = 1 << 3,
    PLAN_DESTROY = 1 << 4,
};

/* How input values are checked and sent for a column. */
enum plan_kind {
    PLAN_KIND_INT,
    PLAN_KIND_FLOAT, /* real, double precision, numeric */
    PLAN_KIND_BOOL,
    PLAN_KIND_JSON, /* json, jsonb: any JSON value, sent as its text */
    PLAN_KIND_BYTEA,
    PLAN_KIND_TEXT, /* text, varchar, uuid, dates and the rest: as text */
};

/* ---- the spec the Lua layer gives ---------------------------------------- */

struct plan_spec_column {
    const char *name;
    const char *type; /* SQL type as declared: "bigint", "text[]", "numeric(10,2)" */
    bool nullable;
    bool read_only; /* never written by a request (serial, generated...) */
};

struct plan_spec_field {
    const char *name;   /* output name */
    const char *column; /* model column; NULL for a to-many embed */
    bool read_only;
    bool write_only;
    const char *alt; /* another body key for the column (category_id), or NULL */
    /* an embedded relation: a correlated subquery over the outer row "_t"
     * yielding its JSON (json_build_object / json_agg), built by the Lua
     * layer from the models (lua/soom/core/embed.lua) */
    const char *embed_sql;
    const char *embed_local; /* the outer row's column the subquery reads */
    bool embed_many;
    bool embed_expand; /* only with ?expand=<name>; else the key column */
    /* a to-one embed of plain columns is a LEFT JOIN instead, its columns
     * written by the core like the row's own: the target table
     * ("schema.table" or "table"), its key column, and the fields */
    const char *join_table;
    const char *join_remote;
    const char *const *join_columns;
    const char *const *join_names;
    size_t njoin;
};

/* A filter across relations ("category__name"): the condition on `column`
 * (SQL, qualified) goes between `prefix` and `suffix` (nested IN
 * subqueries). */
struct plan_spec_rfilter {
    const char *name;
    const char *prefix;
    const char *column;
    const char *type;
    const char *suffix;
};

/* An ordering across to-one relations: a scalar subquery. */
struct plan_spec_rorder {
    const char *name;
    const char *sql;
    bool nullable;
    bool orderable; /* usable in ?ordering= (else only a default ordering) */
};

enum plan_page_kind { PLAN_PAGE_NONE, PLAN_PAGE_CURSOR, PLAN_PAGE_OFFSET, PLAN_PAGE_KEYSET };
enum plan_count { PLAN_COUNT_EXACT, PLAN_COUNT_PLANNED, PLAN_COUNT_NONE };

struct plan_spec {
    const char *table;
    const char *primary_key;
    const struct plan_spec_column *columns;
    size_t ncolumns;
    const struct plan_spec_field *fields;
    size_t nfields;
    const char *lookup_field;   /* column matched by the route parameter (detail routes) */
    const char *lookup_param;   /* the route parameter */
    const char *owner_field;    /* column holding the user who owns a row, or NULL */
    const char *const *filters; /* output names usable as ?name=, ?name__gt=... */
    size_t nfilters;
    const char *const *ordering_fields; /* output names usable in ?ordering= */
    size_t nordering_fields;
    const char *const *ordering; /* default ordering terms ("-created_at") */
    size_t nordering;
    const struct plan_spec_rfilter *rfilters;
    size_t nrfilters;
    const struct plan_spec_rorder *rorders;
    size_t nrorders;
    unsigned actions;
    unsigned fast; /* actions that run without Lua */
    enum plan_page_kind page;
    long page_size, max_page_size; /* cursor; offset: default and max limit */
    enum plan_count count;
    const char *route; /* the route's pattern: a cursor opens only on its own resource */
    const char *secret_key;
    const char *secret_key_fallbacks;
    /* keyset pages: ?<keyset_param>=<last value> over one unique field */
    const char *keyset_field; /* "id" or "-id" */
    const char *keyset_param; /* "after" */
    const char *results_key;  /* the envelope's names: "results", "next" */
    const char *next_key;
};

/* ---- the compiled plan ----------------------------------------------------- */

struct plan_column {
    char *name;
    char *quoted;
    enum plan_kind kind;
    unsigned char int_bits; /* PLAN_KIND_INT: 16, 32 or 64 */
    bool array;
    bool nullable;
    bool read_only;
};

struct plan_field {
    char *name;
    int column; /* -1: a to-many embed */
    bool read_only;
    bool write_only;
    char *alt; /* the other body key, or NULL */
    int embed; /* index in embeds, or -1 */
};

struct plan_embed {
    char *sql;
    int local; /* column of the outer row */
    int field;
    bool many;
    bool expand;
    /* the LEFT JOIN form (join != NULL) */
    char *join;     /* " LEFT JOIN <table> AS "_j<n>" ON ..." */
    char *select;   /* ", "_j<n>"."a" AS "_e<n>_0", ..." */
    char *null_col; /* "_e<n>k": the joined key, NULL when there is no row */
    char **cols;    /* "_e<n>_<i>" */
    char **names;
    size_t ncols;
};

struct plan_rfilter {
    char *name;
    char *prefix;
    char *suffix;
    struct plan_column column; /* name and quoted: the qualified SQL */
};

struct plan_rorder {
    char *name;
    char *sql;
    char *alias; /* "_o<n>": its result column */
    bool nullable;
    bool orderable;
};

/* An ordering term: a column of the table, or (rel >= 0) an ordering
 * across relations. */
struct plan_order {
    int column;
    bool desc;
    int rel;
};

#define PLAN_MAX_EMBEDS 32

#define PLAN_MAX_ORDER 8

struct soom_plan {
    char *table;
    char *table_quoted;
    struct plan_column *columns;
    size_t ncolumns;
    struct plan_field *fields;
    size_t nfields;
    int pk;
    int lookup; /* column, -1 on collection routes */
    int owner;  /* column of the owning user's id, -1 when rows have no owner */
    char *lookup_param;
    int *filters; /* field indexes */
    size_t nfilters;
    int *orderable; /* field indexes */
    size_t norderable;
    struct plan_embed *embeds;
    size_t nembeds;
    struct plan_rfilter *rfilters;
    size_t nrfilters;
    struct plan_rorder *rorders;
    size_t nrorders;
    bool *returned;                             /* per column: in `returning` */
    struct plan_order ordering[PLAN_MAX_ORDER]; /* the default, pk last */
    size_t nordering;
    unsigned actions;
    unsigned fast;
    enum plan_page_kind page;
    long page_size, max_page_size;
    enum plan_count count;
    struct plan_order keyset; /* keyset pages: the field and direction */
    char *keyset_param;
    char *results_json; /* the envelope's member names, as JSON strings */
    char *next_json;
    char *returning;             /* output columns, quoted, comma-separated */
    struct soom_pg_shape *shape; /* output fields, in order */
    unsigned default_embeds;     /* embeds of a request without ?expand, ?fields */
    char *route;
    struct soom_page_key *cursor_key; /* seals and opens cursors */
    bool random_key;                  /* no secret_key: a key of this process tree */
};

/* Compiles a spec into *out, owned by the caller (soom_plan_free, which
 * accepts NULL). Returns SOOM_OK, or SOOM_EINVAL with *out NULL and a
 * message naming the part of the spec at fault in `err`. */
int soom_plan_new(const struct plan_spec *spec, struct soom_plan **out, char *err, size_t errlen);
void soom_plan_free(struct soom_plan *p);

/* The action a method runs on this plan, 0 when none. */
unsigned soom_plan_action(const struct soom_plan *p, unsigned method);

/* An ordering term's SQL (a quoted column or a subquery) and the name of
 * its result column. Borrowed from the plan. */
const char *soom_plan_order_sql(const struct soom_plan *p, const struct plan_order *o);
const char *soom_plan_order_name(const struct soom_plan *p, const struct plan_order *o);

/* ---- running -------------------------------------------------------------- */

/* Conditions a get_queryset hook added: SQL fragments written by the app
 * (never from a request), each with its own $1.. parameters, renumbered when
 * combined. */
struct plan_condition {
    const char *sql;
    size_t nparams;
    const char *const *params; /* NULL entries are SQL NULL */
};

struct plan_extra {
    const struct plan_condition *conditions;
    size_t nconditions;
    bool for_update; /* retrieve: lock the row (an update or destroy follows) */
};

/* Runs `action` for the request with the conditions `extra` (NULL: none)
 * and fills its response. */
void soom_plan_run(struct soom_request *r, const struct soom_plan *p, unsigned action,
                   const struct plan_extra *extra);

/* Runs the request's action under plan `p` (its route's) entirely in C (the
 * fast path) and fills its response. */
void soom_plan_respond(struct soom_request *r, const struct soom_plan *p);

#endif
