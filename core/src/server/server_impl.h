/*
 * What server.c (the process models, libmicrohttpd's callbacks, the
 * reaper, prefork) and server_async.c (the event-loop model) share.
 * Private to the server module, the one that includes microhttpd.h.
 */
#ifndef SOOM_SERVER_IMPL_H
#define SOOM_SERVER_IMPL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct soom_app;
struct soom_config;
struct soom_request;

/* Room for the options of a daemon. */
#define SERVER_MHD_OPTIONS 12

/* What server.c lends the async model, so that server_async.c depends on
 * it only through these pointers. */
struct server_hooks {
    /* Fills `opts` with what every daemon of the process shares (the
     * logger, the listening socket `fd`, limits and timeouts, the
     * callbacks), ending with MHD_OPTION_END, and returns the index of
     * that end, where the caller may add its own; `connection_limit` is
     * this daemon's share. */
    size_t (*mhd_options)(struct MHD_OptionItem *opts, const struct soom_config *cfg, int fd,
                          long connection_limit);
    /* libmicrohttpd's access handler, the same in every model (its cls is
     * the app). */
    MHD_AccessHandlerCallback on_request;
    /* Queues the request's response on its connection. */
    enum MHD_Result (*send_response)(struct MHD_Connection *mc, struct soom_request *r);
    /* Shuts down connections waiting for their client too long, and, while
     * draining, every waiting connection with nothing on its way (the
     * reaper's pass); returns how many waiting connections it spared while
     * draining. */
    int (*reap)(void);
    /* Starts the drain: responses say "Connection: close" from now on. */
    void (*set_draining)(void);
    /* The number of requests in flight. */
    int (*inflight)(void);
    /* Connections open on the calling thread. */
    long (*connections)(void);
    /* Clients waiting in the listen queue, not yet accepted. */
    long (*listen_queue)(void);
};

/* ---- the async model (server_async.c) ------------------------------------- */

/* Starts settings.threads loop threads, each with its own daemon on a
 * duplicate of the listening socket `fd`. Returns SOOM_OK, or an error
 * after logging why. `hooks` must outlive the server. */
int server_async_start(struct soom_app *app, int fd, const struct server_hooks *hooks);

/* The last call of the access handler on an async worker: runs the rest
 * of the pipeline on a fiber; answers now when it finished, or suspends
 * the connection until it does. */
enum MHD_Result server_async_finish(struct MHD_Connection *mc, struct soom_request *r);

/* Wakes the fiber of a request a native module suspended (the server's
 * unpark for server_wait.c): `job` is what server_async.c parked the
 * ticket with. Any thread. */
void server_async_unpark(void *job);

/* Accepts what waits in the listen queue (up to settings.drain_timeout),
 * then stops accepting (each loop quiesces its daemon), waits for the requests
 * in flight up to settings.drain_timeout, then stops the loops. Returns
 * the requests still in flight at the deadline (then the loops are left
 * running: the caller exits). */
int server_async_drain(void);

#endif
