/*
 * The reference server of bench/idle.py: bare libmicrohttpd answering
 * GET /json with a constant body, in epoll mode on a pool of threads,
 * with the connection limit, idle timeout and per-connection memory that
 * idle.py gives Soom. What the idle connections cost it is what they cost
 * libmicrohttpd and the kernel on this machine, without Soom.
 *
 *     mhd_idle PORT THREADS CONNECTION_LIMIT MEMORY_LIMIT
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char BODY[] = "{\"message\":\"Hello, World!\"}";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **state)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    (void)size;
    if (*state == NULL) {
        *state = (void *)1;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mhd_idle PORT THREADS CONNECTION_LIMIT MEMORY_LIMIT\n");
        return 2;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)atoi(argv[1]), NULL, NULL, handler, NULL, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)atoi(argv[2]), MHD_OPTION_CONNECTION_LIMIT, (unsigned)atoi(argv[3]),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)atol(argv[4]), MHD_OPTION_CONNECTION_TIMEOUT,
        3600u, MHD_OPTION_END);
    if (d == NULL) {
        perror("MHD_start_daemon");
        return 1;
    }
    pause();
    return 0;
}
