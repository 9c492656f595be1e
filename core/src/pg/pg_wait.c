/*
 * libpq's blocking calls, rebuilt on its non-blocking API and wait.h:
 * connecting (PQconnectStartParams, PQconnectPoll), sending (PQsend*,
 * PQflush) and collecting results (PQconsumeInput, PQisBusy,
 * PQgetResult), with every wait for the socket going through
 * soom_wait_fd(). On a fiber of the async server a statement therefore
 * waits without holding the thread; on the other models the thread blocks
 * in poll(), as libpq itself would.
 *
 * A wait that runs out of time (the session's statement timeout plus a
 * margin, or the request's budget) leaves the session in the middle of a
 * statement: it is abandoned (a cancel request is sent to the server from
 * a short-lived thread, since PQcancel blocks, and the connection is
 * closed); the caller records the failure (SQLSTATE 57014).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "loop.h"
#include "pg_impl.h"
#include "soom/error.h"
#include "wait.h"

#define MS 1000000ull
/* past the server's statement_timeout, how long the client still waits
 * for its answer before it gives the session up (a dead network) */
#define ANSWER_MARGIN_MS 5000
#define CONNECT_TIMEOUT_S 5

static uint64_t answer_deadline(const struct soom_pg_conn *c)
{
    long t = c->set->statement_timeout_ms;
    return t > 0 ? soom_clock_ns() + (uint64_t)(t + ANSWER_MARGIN_MS) * MS : 0;
}

/* ---- giving a session up ------------------------------------------------- */

static void *cancel_main(void *arg)
{
    char err[128];
    PQcancel(arg, err, sizeof err);
    PQfreeCancel(arg);
    return NULL;
}

/* Closes a session that is in the middle of a statement, asking the server
 * to cancel it first (off this thread: PQcancel connects and blocks). */
static void abandon(struct soom_pg_conn *c)
{
    PGcancel *cancel = c->pg != NULL ? PQgetCancel(c->pg) : NULL;
    if (cancel != NULL) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, cancel_main, cancel) != 0)
            PQfreeCancel(cancel);
        pthread_attr_destroy(&attr);
    }
    PQfinish(c->pg);
    c->pg = NULL; /* its statement cache goes with the next connect */
    c->timed_out = true;
}

/* ---- results -------------------------------------------------------------- */

/* Sends what libpq buffered; false when the session broke or time ran out
 * (then abandoned). */
static bool flush(struct soom_pg_conn *c, uint64_t deadline)
{
    for (;;) {
        int rc = PQflush(c->pg);
        if (rc == 0)
            return true;
        if (rc < 0)
            return false;
        if (soom_wait_fd_key(PQsocket(c->pg), c->sock_key, SOOM_LOOP_IN | SOOM_LOOP_OUT,
                             deadline) != SOOM_OK) {
            abandon(c);
            return false;
        }
        if (!PQconsumeInput(c->pg))
            return false;
    }
}

/* After a successful PQsend*: every result of the statement, the last one
 * kept (an error one wins), as PQexec returns it. NULL when the session
 * broke (libpq's message is on it) or was abandoned. */
static PGresult *collect(struct soom_pg_conn *c)
{
    uint64_t deadline = answer_deadline(c);
    if (!flush(c, deadline))
        return NULL;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(c->pg)) {
            if (soom_wait_fd_key(PQsocket(c->pg), c->sock_key, SOOM_LOOP_IN, deadline) != SOOM_OK) {
                PQclear(last);
                abandon(c);
                return NULL;
            }
            if (!PQconsumeInput(c->pg))
                break; /* broken: PQgetResult reports it without blocking */
        }
        PGresult *res = PQgetResult(c->pg);
        if (res == NULL)
            return last;
        ExecStatusType s = PQresultStatus(res);
        if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            PQclear(last);
            last = res;
        }
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH ||
            PQstatus(c->pg) == CONNECTION_BAD)
            return last;
    }
}

PGresult *pg_wait_exec(struct soom_pg_conn *c, const char *sql)
{
    c->timed_out = false;
    if (!PQsendQuery(c->pg, sql))
        return NULL;
    return collect(c);
}

PGresult *pg_wait_params(struct soom_pg_conn *c, const char *sql, int n, const char *const *values,
                         const int *lengths, const int *formats)
{
    c->timed_out = false;
    if (!PQsendQueryParams(c->pg, sql, n, NULL, values, lengths, formats, 0))
        return NULL;
    return collect(c);
}

PGresult *pg_wait_prepare(struct soom_pg_conn *c, const char *name, const char *sql, int n)
{
    c->timed_out = false;
    if (!PQsendPrepare(c->pg, name, sql, n, NULL))
        return NULL;
    return collect(c);
}

PGresult *pg_wait_prepared(struct soom_pg_conn *c, const char *name, int n,
                           const char *const *values, const int *lengths, const int *formats)
{
    c->timed_out = false;
    if (!PQsendQueryPrepared(c->pg, name, n, values, lengths, formats, 0))
        return NULL;
    return collect(c);
}

/* The results of a pipeline of queries 0 to `last` and its Sync: the last
 * query's result, unless one before it failed (the first error is kept).
 * NULL when the session broke or was abandoned. */
static PGresult *collect_pipeline(struct soom_pg_conn *c, int last)
{
    uint64_t deadline = answer_deadline(c);
    if (!flush(c, deadline))
        return NULL;
    PGresult *kept = NULL;
    int query = 0;
    for (;;) {
        while (PQisBusy(c->pg)) {
            if (soom_wait_fd_key(PQsocket(c->pg), c->sock_key, SOOM_LOOP_IN, deadline) != SOOM_OK) {
                PQclear(kept);
                abandon(c);
                return NULL;
            }
            if (!PQconsumeInput(c->pg))
                break;
        }
        PGresult *res = PQgetResult(c->pg);
        if (res == NULL) { /* the end of one query's results */
            query++;
            continue;
        }
        ExecStatusType s = PQresultStatus(res);
        if (s == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        bool failed = s == PGRES_FATAL_ERROR || s == PGRES_PIPELINE_ABORTED;
        bool keep = failed ? kept == NULL || PQresultStatus(kept) != PGRES_FATAL_ERROR
                           : kept == NULL && query == last;
        if (keep) {
            PQclear(kept);
            kept = res;
        } else {
            PQclear(res);
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            return kept;
    }
    PQexitPipelineMode(c->pg);
    return kept;
}

/* After the queries 0 to `last` of a pipeline were sent (`sent`): its
 * Sync, then the results as collect_pipeline() keeps them. */
static PGresult *end_pipeline(struct soom_pg_conn *c, bool sent, int last)
{
    if (!sent || !PQpipelineSync(c->pg)) {
        /* half a pipeline cannot be taken back: the session goes */
        PQfinish(c->pg);
        c->pg = NULL;
        return NULL;
    }
    return collect_pipeline(c, last);
}

PGresult *pg_wait_params_after(struct soom_pg_conn *c, const char *prefix, const char *sql, int n,
                               const char *const *values, const int *lengths, const int *formats)
{
    c->timed_out = false;
    if (!PQenterPipelineMode(c->pg))
        return NULL;
    return end_pipeline(c,
                        PQsendQueryParams(c->pg, prefix, 0, NULL, NULL, NULL, NULL, 0) &&
                            PQsendQueryParams(c->pg, sql, n, NULL, values, lengths, formats, 0),
                        1);
}

PGresult *pg_wait_prepare_then(struct soom_pg_conn *c, const char *before, const char *name,
                               const char *sql, int n, const char *const *values,
                               const int *lengths, const int *formats)
{
    c->timed_out = false;
    if (!PQenterPipelineMode(c->pg))
        return NULL;
    bool sent = before == NULL || PQsendQueryParams(c->pg, before, 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQsendPrepare(c->pg, name, sql, n, NULL) &&
           PQsendQueryPrepared(c->pg, name, n, values, lengths, formats, 0);
    return end_pipeline(c, sent, before != NULL ? 2 : 1);
}

/* ---- connecting ----------------------------------------------------------- */

/* The connect_timeout the URL asked for, else ours. */
static long connect_timeout(PGconn *pg)
{
    long t = CONNECT_TIMEOUT_S;
    PQconninfoOption *opts = PQconninfo(pg);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL && atol(o->val) > 0)
            t = atol(o->val);
    }
    PQconninfoFree(opts);
    return t;
}

PGconn *pg_wait_connect(const char *const *keys, const char *const *values)
{
    PGconn *pg = PQconnectStartParams(keys, values, 1);
    if (pg == NULL)
        return NULL;
    if (PQstatus(pg) == CONNECTION_BAD)
        return pg;
    uint64_t deadline = soom_clock_ns() + (uint64_t)connect_timeout(pg) * 1000 * MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        unsigned ev = st == PGRES_POLLING_READING ? SOOM_LOOP_IN : SOOM_LOOP_OUT;
        if (soom_wait_fd(PQsocket(pg), ev, deadline) != SOOM_OK) {
            PQfinish(pg);
            return NULL; /* the caller reports a timeout */
        }
        st = PQconnectPoll(pg);
    }
    if (st == PGRES_POLLING_OK)
        PQsetnonblocking(pg, 1);
    return pg;
}
