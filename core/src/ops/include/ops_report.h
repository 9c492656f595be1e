/*
 * Error reports in the Sentry protocol (also spoken by GlitchTip and
 * others): an event per uncaught error, wrapped in an envelope and POSTed
 * to the project's envelope endpoint by a background thread.
 *
 * Lifecycle: soom_report_start() in each serving process (after any fork)
 * starts the sender; soom_report_event() queues from any thread and never
 * blocks: when the bounded queue is full, or while the receiver has asked
 * us to back off (429 and its Retry-After), the event is dropped and
 * counted. soom_report_stop() gives the sender a short while to deliver
 * what is queued, then ends it. The queue owns the events it holds.
 */
#ifndef SOOM_OPS_REPORT_H
#define SOOM_OPS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

struct soom_report_options {
    const char *dsn; /* https://<key>@<host>[:port][/<path>]/<project> */
    size_t queue;    /* events held at most */
    long timeout_ms; /* a send that takes longer fails */
    const char *release, *environment, *server_name;
};

/* A DSN's parts. */
struct soom_dsn {
    char url[512]; /* the envelope endpoint */
    char key[128];
    char project[64];
};

/* Parses a DSN. Returns SOOM_OK or SOOM_ECONFIG with the reason in `err`. */
int soom_report_parse_dsn(const char *dsn, struct soom_dsn *out, char *err, size_t errlen);

/* Starts the sender of this process. Returns SOOM_OK, or SOOM_ECONFIG (a
 * bad DSN, reason in `err`). */
int soom_report_start(const struct soom_report_options *o, char *err, size_t errlen);

/* True between start and stop. */
bool soom_report_enabled(void);

/* Queues an event: `event` is a JSON object (exception, request, tags,
 * contexts) to which the sender adds event_id, timestamp, platform,
 * release, environment, server_name and sdk. Copied; never blocks. */
void soom_report_event(const char *event, size_t len);

/* Delivers what is queued for up to `wait_ms`, then stops the sender and
 * drops the rest (counted). */
void soom_report_stop(long wait_ms);

#endif
