/*
 * PostgreSQL errors as the core answers them (see soom/pg.h): SQLSTATE to
 * SOOM_E* codes, the problem a client is shown (never the server's text
 * for anything but a bad value) and the log line with the details.
 */
#include <stdio.h>
#include <string.h>

#include "pg_checks.h"
#include "soom/error.h"
#include "soom/log.h"
#include "soom/pg.h"

/* ---- error mapping ------------------------------------------------------- */

static bool state_is(const char *s, const char *want)
{
    return strcmp(s, want) == 0;
}

int soom_pg_error_code(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return SOOM_EUNAVAIL;
    if (strncmp(s, "23", 2) == 0)
        return state_is(s, "23502") || state_is(s, "23514") ? SOOM_EINVALID : SOOM_ECONFLICT;
    if (strncmp(s, "22", 2) == 0)
        return SOOM_EINVALID;
    /* The server's protocol_violation is the client's mistake (a statement
     * given the wrong number of parameters), not an outage to retry. */
    if (state_is(s, "08P01"))
        return SOOM_EINTERNAL;
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0 || state_is(s, "57P01") ||
        state_is(s, "57P02") || state_is(s, "57P03") || state_is(s, "57014") ||
        state_is(s, "40001") || state_is(s, "40P01") || state_is(s, "55P03"))
        return SOOM_EUNAVAIL;
    return SOOM_EINTERNAL;
}

/* The columns of a "Key (a, b)=(...)" detail into `out`; true when there
 * is exactly one. */
static bool key_columns(const char *detail, char *out, size_t outlen)
{
    const char *k = strstr(detail, "Key (");
    const char *end = k != NULL ? strstr(k, ")=(") : NULL;
    out[0] = '\0';
    if (end == NULL)
        return false;
    k += 5;
    snprintf(out, outlen, "%.*s", (int)(end - k), k);
    return strchr(out, ',') == NULL;
}

/* "/column" as a JSON pointer (~ and / escaped) into `out`. */
static void write_pointer(char *out, size_t size, const char *column)
{
    size_t o = 0;
    if (column == NULL || column[0] == '\0')
        return;
    out[o++] = '/';
    for (; *column && o + 3 < size; column++) {
        if (*column == '~' || *column == '/') {
            out[o++] = '~';
            out[o++] = *column == '~' ? '0' : '1';
        } else {
            out[o++] = *column;
        }
    }
    out[o] = '\0';
}

static void set_pointer(struct soom_pg_problem *p, const char *column)
{
    write_pointer(p->pointer, sizeof p->pointer, column);
}

/* A CHECK violation points at the constraint's columns, which the
 * catalog named at start-up (pg_checks.c); PostgreSQL's error does not. */
static void check_pointers(const struct soom_pg_error *e, struct soom_pg_problem *p)
{
    const char *const *cols = NULL;
    size_t n = pg_checks_columns(e->table, e->constraint, &cols);
    if (n == 0)
        return;
    set_pointer(p, cols[0]);
    for (size_t i = 1; i < n && p->nalso < SOOM_PG_PROBLEM_POINTERS - 1; i++)
        write_pointer(p->also[p->nalso++], sizeof p->also[0], cols[i]);
}

static void conflict_problem(const struct soom_pg_error *e, struct soom_pg_problem *p)
{
    char cols[96];
    bool one = key_columns(e->detail, cols, sizeof cols);
    if (one)
        set_pointer(p, cols);
    if (state_is(e->sqlstate, "23505")) {
        p->code = "unique";
        if (cols[0] != '\0')
            snprintf(p->text, sizeof p->text, "a row with the same %s already exists", cols);
        p->detail = cols[0] != '\0' ? p->text : "a row with the same values already exists";
    } else if (state_is(e->sqlstate, "23503") && strstr(e->detail, "is not present") != NULL) {
        /* the value sent names no row: bad input (422), not a conflict */
        p->status = 422;
        p->code = "foreign_key";
        p->detail = "the referenced row does not exist";
    } else if (state_is(e->sqlstate, "23503") || state_is(e->sqlstate, "23001")) {
        p->code = "foreign_key";
        p->pointer[0] = '\0';
        p->detail = "the row is still referenced by other rows";
    } else {
        p->code = "conflict";
        p->detail = "the row conflicts with an existing row";
    }
}

void soom_pg_error_problem(const struct soom_pg_error *e, int code, struct soom_pg_problem *p)
{
    static const struct soom_pg_error NONE = {"", "", "", "", "", ""};
    memset(p, 0, sizeof *p);
    if (e == NULL)
        e = &NONE;
    p->status = soom_error_status(code);
    switch (code) {
    case SOOM_ECONFLICT: conflict_problem(e, p); break;
    case SOOM_EINVALID:
        set_pointer(p, e->column);
        if (state_is(e->sqlstate, "23502")) {
            p->code = "required";
            p->detail = "a value is required";
        } else if (state_is(e->sqlstate, "23514")) {
            if (p->pointer[0] == '\0')
                check_pointers(e, p);
            p->code = "check";
            snprintf(p->text, sizeof p->text, "a value fails the check %s", e->constraint);
            p->detail = e->constraint[0] != '\0' ? p->text : "a value fails a check";
        } else {
            /* class 22: the message is about the value sent */
            p->code = "invalid";
            snprintf(p->text, sizeof p->text, "%s", e->message);
            p->detail = p->text;
        }
        break;
    case SOOM_EUNAVAIL: p->detail = "the database is unavailable; try again later"; break;
    case SOOM_EUNKNOWN:
        p->detail = "the connection to the database was lost while the write was being "
                    "committed: it may or may not have been made. Retry with the same "
                    "Idempotency-Key, or read the resource before writing again";
        break;
    default: p->detail = "the server hit an error; the request id is in the log"; break;
    }
}

void soom_pg_error_log(const struct soom_pg_error *e, int code, const char *sql,
                       const char *request_id)
{
    enum soom_log_level level = code == SOOM_EUNAVAIL                             ? SOOM_LOG_WARN
                                : code == SOOM_ECONFLICT || code == SOOM_EINVALID ? SOOM_LOG_DEBUG
                                                                                  : SOOM_LOG_ERROR;
    struct soom_log_line l;
    soom_log_begin(&l, level, "database error");
    if (request_id != NULL)
        soom_log_str(&l, "request_id", request_id);
    soom_log_str(&l, "failure", soom_error_message(code));
    if (e != NULL) {
        soom_log_str(&l, "sqlstate", e->sqlstate);
        soom_log_str(&l, "error", e->message[0] != '\0' ? e->message : soom_error_message(code));
        if (e->detail[0] != '\0')
            soom_log_str(&l, "detail", e->detail);
        if (e->constraint[0] != '\0')
            soom_log_str(&l, "constraint", e->constraint);
    } else {
        /* the pool had no connection to give (no SQLSTATE: the server
         * said nothing); the pool's own line says why */
        soom_log_str(&l, "sqlstate", "");
        soom_log_str(&l, "error",
                     code == SOOM_EUNAVAIL
                         ? "no database connection: the pool is exhausted or the "
                           "database is down (see \"cannot connect to the database\")"
                         : soom_error_message(code));
    }
    if (sql != NULL)
        soom_log_str(&l, "sql", sql);
    soom_log_end(&l);
}
