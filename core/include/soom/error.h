/*
 * Error codes of the Soom core.
 *
 * Every C function that can fail returns an int: SOOM_OK (0) or one of the
 * negative codes below. One table generates the enum, the message of each code
 * and the HTTP status it maps to, so the three can never drift apart. Detail
 * text (a parser position, a database message) travels with the request, not
 * through a second return channel.
 */
#ifndef SOOM_ERROR_H
#define SOOM_ERROR_H

#include "soom/soom.h"

/* XX(name, http status, message) */
#define SOOM_ERRNO_MAP(XX)                                                                         \
    XX(EINVAL, 500, "invalid argument")                                                            \
    XX(ENOTFOUND, 404, "not found")                                                                \
    XX(EMETHOD, 405, "method not allowed")                                                         \
    XX(EBADJSON, 400, "malformed JSON")                                                            \
    XX(EDEPTH, 400, "JSON nested too deeply")                                                      \
    XX(EUTF8, 400, "invalid UTF-8")                                                                \
    XX(EBADREQ, 400, "bad request")                                                                \
    XX(ETOOBIG, 413, "request body too large")                                                     \
    XX(EMEDIA, 415, "unsupported media type")                                                      \
    XX(EINVALID, 422, "validation failed")                                                         \
    XX(ECONFLICT, 409, "conflict")                                                                 \
    XX(EUNAVAIL, 503, "service unavailable")                                                       \
    XX(EUNKNOWN, 500, "outcome unknown")                                                           \
    XX(ETIMEDOUT, 504, "timed out")                                                                \
    XX(ECONFIG, 500, "invalid configuration")                                                      \
    XX(ECONFLICTROUTE, 500, "conflicting routes")                                                  \
    XX(ELUA, 500, "error in Lua code")                                                             \
    XX(EIO, 500, "input/output error")                                                             \
    XX(EINTERNAL, 500, "internal error")                                                           \
    XX(EAUTH, 401, "authentication failed")                                                        \
    XX(EVALUE, 422, "unsupported JSON value")

enum soom_error {
    SOOM_OK = 0,
#define SOOM_ERROR_ENUM(name, status, msg) SOOM_##name,
    SOOM_ERROR_FIRST_ = -1000,
    SOOM_ERRNO_MAP(SOOM_ERROR_ENUM)
#undef SOOM_ERROR_ENUM
        SOOM_ERROR_LAST_
};

/* The message of an error code; a static string, never NULL. */
SOOM_API const char *soom_error_message(int code);

/* The HTTP status an error code maps to (500 for an unknown code). */
SOOM_API int soom_error_status(int code);

#endif
