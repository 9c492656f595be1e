/*
 * The HTTP server: libmicrohttpd under one of three models chosen by
 * settings.server, signal handling and graceful shutdown.
 */
#ifndef SOOM_SERVER_H
#define SOOM_SERVER_H

#include <stdint.h>

struct soom_app;
struct soom_request;

/* What soom_server_run() returns when settings.reload found the app's
 * routes changed: the caller restarts the process to serve them. */
#define SOOM_SERVER_RESTART 75

/* The bytes of routes of static bytes added without them (the OpenAPI
 * document's: a few hundred million instructions for a large app):
 * `make` runs on the calling thread while another loads the worker states
 * and warms the database pool, so the two share the machine's cores;
 * `fill` then puts the bytes in the route table, before the first request.
 * Each returns SOOM_OK, or an error that stops the start (its reason is
 * the caller's to report). */
struct soom_server_late {
    int (*make)(void *ctx);
    int (*fill)(void *ctx, struct soom_app *app);
    void *ctx;
};

/* Serves `app`, with the bytes of `late` (may be NULL) filled in, until
 * SIGTERM or SIGINT, then drains in-flight requests (bounded by
 * settings.drain_timeout). Returns the process exit code: 0 after a clean
 * shutdown, 1 when the server could not start (the reason is logged, or
 * is late's), SOOM_SERVER_RESTART after a SIGHUP with settings.reload on
 * (sent by the reloader when only a restart can serve the app's files). */
int soom_server_run(struct soom_app *app, const struct soom_server_late *late);

/* Suspending a request, the server's side (native modules reach it
 * through module_host.h). Called during a pipeline step: once the step
 * returns, the server parks the request, holding no thread, until
 * soom_server_resume() with the returned ticket (from any thread) or until
 * timeout_ns pass, then goes on with soom_pipeline_resume(). Returns the
 * ticket, or 0 when this process serves no requests. */
uint64_t soom_server_suspend(struct soom_request *r, uint64_t timeout_ns);

/* Wakes a suspended request with `result`. Returns SOOM_OK, or
 * SOOM_ENOTFOUND when it timed out or was woken already (the caller keeps
 * `result`). */
int soom_server_resume(uint64_t ticket, void *result);

#endif
