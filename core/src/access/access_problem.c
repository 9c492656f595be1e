/*
 * How access control answers (see access_impl.h): 401 or 403 as Django
 * REST framework decides, 429 for a throttle, each a problem document with
 * a stable `type` per case and DRF's words as its detail; and what is
 * counted and logged about each refusal. No answer says whether a user or
 * a token exists: the details name the kind of credentials only.
 */
#include <stdio.h>
#include <string.h>

#include "access_impl.h"
#include "ops_metrics.h"
#include "soom/log.h"
#include "soom/response.h"

static const char *const FAILURE_WORDS[] = {
#define FAILURE_WORD(name, label) label,
    SOOM_AUTH_FAILURES(FAILURE_WORD)
#undef FAILURE_WORD
};

void access_answer_unauthenticated(struct soom_request *r, const struct soom_access *a,
                                   const struct soom_access_route *route, bool failed,
                                   const char *detail)
{
    /* DRF: the first authentication class's WWW-Authenticate makes it a
     * 401; a first class without one (or none at all) makes it a 403 */
    const char *header = NULL;
    if (route->nclasses > 0)
        header = a->classes[route->classes[0]]->header;
    if (detail == NULL)
        detail = failed ? "Incorrect authentication credentials."
                        : "Authentication credentials were not provided.";
    int status = 403;
    if (header != NULL) {
        soom_response_header(r, "WWW-Authenticate", header);
        status = 401;
    }
    soom_response_problem_type(
        r, status, failed ? ACCESS_TYPE_FAILED : ACCESS_TYPE_NOT_AUTHENTICATED, detail, NULL);
}

void access_answer_denied(struct soom_request *r, const char *detail)
{
    soom_response_problem_type(
        r, 403, ACCESS_TYPE_DENIED,
        detail ? detail : "You do not have permission to perform this action.", NULL);
}

void access_answer_throttled(struct soom_request *r, long wait)
{
    char retry[24], detail[96];
    snprintf(retry, sizeof retry, "%ld", wait);
    soom_response_header(r, "Retry-After", retry);
    snprintf(detail, sizeof detail, "Request was throttled. Expected available in %ld second%s.",
             wait, wait == 1 ? "" : "s");
    soom_response_problem_type(r, 429, ACCESS_TYPE_THROTTLED, detail, NULL);
    soom_metrics_throttled(r->route != NULL ? (int)r->match.route_id : -1);
}

void access_note_failure(struct soom_request *r, enum soom_auth_failure f)
{
    soom_metrics_auth_failure(f);
    if (!soom_log_enabled(SOOM_LOG_DEBUG))
        return;
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_DEBUG, "request refused");
    soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
    soom_log_str(&l, "reason", (unsigned)f < SOOM_AF_COUNT ? FAILURE_WORDS[f] : "?");
    soom_log_end(&l);
}
