/*
 * The HTTP server: libmicrohttpd under one of three models chosen by
 * settings.server, signal handling and graceful shutdown.
 */
#ifndef SOOM_SERVER_H
#define SOOM_SERVER_H

struct soom_app;

/* Serves `app` until SIGTERM or SIGINT, then drains in-flight requests
 * (bounded by settings.drain_timeout). Returns the process exit code:
 * 0 after a clean shutdown, 1 when the server could not start (the reason
 * is logged). */
int soom_server_run(struct soom_app *app);

#endif
