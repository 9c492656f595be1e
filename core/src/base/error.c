/*
 * The error table of soom/error.h turned into lookups.
 */
#include "soom/error.h"

const char *soom_error_message(int code)
{
    switch (code) {
    case SOOM_OK: return "ok";
#define SOOM_ERROR_MSG(name, status, msg)                                                          \
    case SOOM_##name: return msg;
        SOOM_ERRNO_MAP(SOOM_ERROR_MSG)
#undef SOOM_ERROR_MSG
    default: return "unknown error";
    }
}

int soom_error_status(int code)
{
    switch (code) {
    case SOOM_OK: return 200;
#define SOOM_ERROR_STATUS(name, status, msg)                                                       \
    case SOOM_##name: return status;
        SOOM_ERRNO_MAP(SOOM_ERROR_STATUS)
#undef SOOM_ERROR_STATUS
    default: return 500;
    }
}
