/*
 * The built-in endpoints every service has, answered before routing and
 * without Lua: /metrics (Prometheus), /live and /ready (probes). Their
 * paths are settings. State: whether the process is draining, which turns
 * /ready to 503 at once.
 */
#ifndef SOOM_BUILTIN_H
#define SOOM_BUILTIN_H

#include <stdbool.h>

#include "request_impl.h"

/* Answers `r` when its path is a built-in endpoint (with `metrics` true,
 * /metrics among them) and marks it a probe; returns whether it did. The
 * answer of /ready waits for a database connection, so it is left to
 * soom_builtin_ready() (r->ready_check set), which the last step of the
 * pipeline calls: on a fiber under the async server, where the wait does
 * not hold the thread. */
bool soom_builtin_answer(struct soom_request *r, bool metrics);
void soom_builtin_ready(struct soom_request *r);

/* From now on /ready answers 503 (SIGTERM received). */
void soom_builtin_set_draining(void);

struct soom_app;

/* Maps the metrics of the whole service (before any fork), with the
 * versions of the libraries for soom_build_info. Returns SOOM_OK or an
 * error with the reason logged. */
int soom_builtin_setup(const struct soom_app *app, const char *mhd_version);

/* Starts serving process `index`: its metrics block, its error-report
 * sender. */
void soom_builtin_process_begin(const struct soom_app *app, unsigned index);

/* Records the process's gauges (pool, Lua memory, CPU, memory, descriptors);
 * called about once a second. */
void soom_builtin_sample(const struct soom_app *app);

/* Stops the process's error-report sender (after draining). */
void soom_builtin_process_end(void);

#endif
