/*
 * Structured logs: one JSON object per line, on standard output for a
 * server.
 *
 * Every line has "time" (UTC, RFC 3339 with microseconds), "level" and
 * "msg", then the fields the caller adds. A line is built in a caller-owned
 * struct soom_log_line and written with a single write(2), so lines from
 * different threads and processes never interleave (up to PIPE_BUF bytes).
 * The access log is a specialised path: one line per request, formatted
 * without malloc from a per-thread buffer.
 */
#ifndef SOOM_LOG_H
#define SOOM_LOG_H

#include <stdbool.h>

#include "soom/buf.h"
#include "soom/soom.h"

enum soom_log_level {
    SOOM_LOG_DEBUG,
    SOOM_LOG_INFO,
    SOOM_LOG_WARN,
    SOOM_LOG_ERROR,
};

/* Sets the threshold, whether access lines are written, and where lines go:
 * a server logs to standard output, the other commands to standard error
 * (the default), keeping their output clean. Call before starting threads. */
SOOM_API void soom_log_setup(enum soom_log_level level, bool access_log, int fd);

/* True when lines at `level` are written. */
SOOM_API bool soom_log_enabled(enum soom_log_level level);

struct soom_log_line {
    struct soom_buf buf;
    bool enabled;
};

/* Starts a line; the field calls and soom_log_end() are no-ops when the
 * level is filtered out. */
SOOM_API void soom_log_begin(struct soom_log_line *l, enum soom_log_level level, const char *msg);
SOOM_API void soom_log_str(struct soom_log_line *l, const char *key, const char *value);
SOOM_API void soom_log_strn(struct soom_log_line *l, const char *key, const char *value,
                            size_t len);
SOOM_API void soom_log_int(struct soom_log_line *l, const char *key, long long value);
SOOM_API void soom_log_bool(struct soom_log_line *l, const char *key, bool value);
/* Writes the line and releases its buffer. */
SOOM_API void soom_log_end(struct soom_log_line *l);

/* A line with only a message. */
SOOM_API void soom_log_msg(enum soom_log_level level, const char *msg);

struct soom_log_access {
    const char *request_id; /* no character that JSON must escape */
    size_t request_id_len;
    const char *method; /* escaped unless method_safe */
    bool method_safe;
    const char *path;
    size_t path_len;
    const char *route_json; /* the pattern as a JSON string, or NULL */
    int status;
    size_t bytes;
    long long duration_us;
    uint64_t now_ns;      /* when the request completed (CLOCK_MONOTONIC), or 0 */
    bool lua;             /* whether Lua ran for the request */
    const char *trace_id; /* W3C trace context (hex), or NULL */
    const char *span_id;
    const char *user; /* the authenticated user's id, or NULL */
    size_t user_len;
};

/* Writes the access line of one request, when enabled. Lines are buffered
 * per thread (see soom_log_buffer) and reach the output within ~100 ms. */
SOOM_API void soom_log_access(const struct soom_log_access *a);

/* Access lines buffered per thread before a write, in bytes; 0 writes each
 * line at once. Call before starting threads. */
SOOM_API void soom_log_buffer(size_t bytes);

/* Writes every thread's buffered access lines (periodically, and before the
 * process exits). */
SOOM_API void soom_log_flush(void);

#endif
