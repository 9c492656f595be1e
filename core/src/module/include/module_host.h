/*
 * The module host's side of the server (module_host.c).
 *
 * The server sits above the module host (its pipeline calls the modules),
 * so the host reaches the server's waiting through this small interface,
 * which each serving process sets before it serves: the threaded server
 * over libmicrohttpd's suspend/resume, and any other server model with
 * its own means. Without one (a command that only lists routes) suspend()
 * answers 0.
 */
#ifndef SOOM_MODULE_HOST_H
#define SOOM_MODULE_HOST_H

#include <stdint.h>

struct soom_request;

struct soom_module_server {
    /* Arms a suspension of `r` that the server carries out when the
     * current pipeline step returns; a ticket, or 0 when it cannot. */
    uint64_t (*suspend)(struct soom_request *r, uint64_t timeout_ns);
    /* Wakes a ticket from any thread: SOOM_OK, or SOOM_ENOTFOUND when it
     * timed out or was woken already. */
    int (*resume)(uint64_t ticket, void *result);
};

/* Sets (or with NULL clears) the server of this process; `s` is borrowed
 * until cleared. */
void soom_module_set_server(const struct soom_module_server *s);

#endif
