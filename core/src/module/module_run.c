/*
 * Calling native modules for the pipeline (see module_run.h). Each call
 * records on the request which module runs and in what kind of call, so
 * the host can tell whether suspend() is allowed there, and turns the
 * module's result into the pipeline's next step. A request that suspends
 * keeps where it stopped (request->wait_phase, wait_next) for
 * soom_module_resumed().
 */
#include "module_run.h"

#include <stdio.h>

#include "module_impl.h"
#include "request_impl.h"
#include "soom/log.h"
#include "soom/response.h"

static int call(struct soom_request *r, const struct soom_module_handle *mod,
                enum module_where where, soom_module_request_fn fn, void *ud)
{
    r->module_calling = mod;
    r->module_where = (uint8_t)where;
    int rc = fn(r, module_response_of(r), ud);
    r->module_where = MODULE_IN_NONE;
    r->module_calling = NULL;
    return rc;
}

static void bad_result(struct soom_request *r, const struct soom_module_handle *mod, int rc)
{
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_ERROR, "a module returned an invalid result");
    soom_log_str(&l, "module", mod ? mod->name : "?");
    soom_log_int(&l, "result", rc);
    soom_log_strn(&l, "request_id", r->request_id, r->request_id_len);
    soom_log_end(&l);
    r->out_headers = NULL;
    soom_response_problem(r, 500, "the server hit an error; the request id is in the log", NULL);
}

/* A middleware's result: go on, or the request is answered. */
static enum soom_module_step apply(struct soom_request *r, const struct soom_module_handle *mod,
                                   int rc)
{
    if (rc == SOOM_MODULE_CONTINUE)
        return SOOM_MODULE_NEXT;
    if (rc == SOOM_MODULE_RESPOND)
        r->responded = true;
    else if (rc >= 400 && rc <= 599)
        soom_response_problem(r, rc, NULL, NULL);
    else
        bad_result(r, mod, rc);
    return SOOM_MODULE_DONE;
}

/* A route's result: whatever it returns, the request is answered. */
static enum soom_module_step apply_route(struct soom_request *r,
                                         const struct soom_module_handle *mod, int rc)
{
    if (rc == SOOM_MODULE_CONTINUE || rc == SOOM_MODULE_RESPOND)
        r->responded = true;
    else
        apply(r, mod, rc);
    return SOOM_MODULE_DONE;
}

bool soom_module_phase_empty(int phase)
{
    return module_reg.nhooks[phase] == 0;
}

static void run_response_phase(struct soom_request *r)
{
    const struct module_hook *hooks = module_reg.hooks[SOOM_PHASE_RESPONSE];
    for (size_t i = module_reg.nhooks[SOOM_PHASE_RESPONSE]; i-- > 0;) {
        int rc = call(r, hooks[i].mod, MODULE_IN_PHASE, hooks[i].fn, hooks[i].ud);
        if (rc != SOOM_MODULE_CONTINUE) {
            apply(r, hooks[i].mod, rc);
            return;
        }
    }
}

enum soom_module_step soom_module_phase(struct soom_request *r, int phase, size_t from)
{
    size_t n = module_reg.nhooks[phase];
    if (n == 0)
        return SOOM_MODULE_NEXT;
    const struct module_hook *hooks = module_reg.hooks[phase];
    if (phase == SOOM_PHASE_RESPONSE) {
        run_response_phase(r);
        return SOOM_MODULE_DONE;
    }
    enum module_where where =
        phase == SOOM_PHASE_HANDLER ? MODULE_IN_HANDLER_PHASE : MODULE_IN_PHASE;
    for (size_t i = from; i < n; i++) {
        int rc = call(r, hooks[i].mod, where, hooks[i].fn, hooks[i].ud);
        if (phase == SOOM_PHASE_DONE)
            continue;
        if (r->wait_ticket != 0) {
            r->wait_phase = (uint8_t)phase;
            r->wait_next = (uint16_t)(i + 1);
            return SOOM_MODULE_WAIT;
        }
        if (apply(r, hooks[i].mod, rc) == SOOM_MODULE_DONE)
            return SOOM_MODULE_DONE;
    }
    return SOOM_MODULE_NEXT;
}

enum soom_module_step soom_module_route_run(struct soom_request *r,
                                            const struct soom_module_route *route)
{
    int rc = call(r, route->mod, MODULE_IN_ROUTE, route->fn, route->ud);
    if (r->wait_ticket != 0) {
        r->wait_phase = SOOM_MODULE_WAIT_ROUTE;
        return SOOM_MODULE_WAIT;
    }
    return apply_route(r, route->mod, rc);
}

static void timed_out_answer(struct soom_request *r, const struct soom_module_handle *mod)
{
    char detail[160];
    snprintf(detail, sizeof detail, "timed out waiting for module %s", mod ? mod->name : "?");
    soom_response_problem(r, 504, detail, NULL);
}

enum soom_module_step soom_module_resumed(struct soom_request *r, void *result, bool timed_out)
{
    soom_module_resume_fn fn = (soom_module_resume_fn)r->wait_fn;
    const struct soom_module_handle *mod = r->wait_module;
    bool in_route = r->wait_phase == SOOM_MODULE_WAIT_ROUTE;
    r->wait_fn = NULL;
    r->wait_module = NULL;
    if (fn == NULL) {
        if (timed_out) {
            timed_out_answer(r, mod);
            return SOOM_MODULE_DONE;
        }
        if (in_route)
            r->responded = true;
        return in_route ? SOOM_MODULE_DONE : SOOM_MODULE_NEXT;
    }
    r->module_calling = mod;
    r->module_where = MODULE_IN_RESUME;
    int rc = fn(r, module_response_of(r), result, timed_out);
    r->module_where = MODULE_IN_NONE;
    r->module_calling = NULL;
    if (r->wait_ticket != 0)
        return SOOM_MODULE_WAIT; /* suspended again, to go on from the same place */
    return in_route ? apply_route(r, mod, rc) : apply(r, mod, rc);
}
