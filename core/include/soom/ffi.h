/*
 * The functions the Lua layer calls through LuaJIT's FFI.
 *
 * These are the small, frequent calls of a request (reading the method, a
 * header, a parameter), which LuaJIT compiles into its traces. They take
 * scalars, (pointer, length) pairs and the opaque request; they return an
 * int (a count, 1/0 for found/absent, or an error code) and never call back
 * into Lua. Strings come back as borrowed (pointer, length) pairs valid for
 * the life of the request; the Lua side copies them (ffi.string).
 *
 * This header is the one source of these declarations: the build turns it
 * into soom.core.cdef for ffi.cdef (with router.h's enum soom_method and
 * enum soom_param_type), so it must stay plain declarations.
 * Only lua/soom/core/ uses them.
 */
#ifndef SOOM_FFI_H
#define SOOM_FFI_H

#include "soom/soom.h"

struct soom_request;

SOOM_API int soom_ffi_req_path(const struct soom_request *r, const char **p, size_t *n);
SOOM_API int soom_ffi_req_id(const struct soom_request *r, const char **p, size_t *n);
SOOM_API int soom_ffi_req_body(const struct soom_request *r, const char **p, size_t *n);

/* The trace context in p[0..3], n[0..3]: the trace id, this request's span
 * id, the caller's span id and the tracestate (both of length 0 when the
 * trace starts here). Returns the trace flags. */
SOOM_API int soom_ffi_req_trace(const struct soom_request *r, const char **p, size_t *n);

/* 1 and the value when the header is present (case-insensitive), else 0. */
SOOM_API int soom_ffi_req_header(const struct soom_request *r, const char *name, size_t len,
                                 const char **p, size_t *n);

/* Headers, query parameters and route parameters by position, in the
 * order they arrived or were declared; *_at returns 0 past the end. The
 * parameter's type is an enum soom_param_type. */
SOOM_API int soom_ffi_req_header_count(const struct soom_request *r);
SOOM_API int soom_ffi_req_header_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                                    const char **v, size_t *vn);
SOOM_API int soom_ffi_req_query_count(const struct soom_request *r);
SOOM_API int soom_ffi_req_query_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                                   const char **v, size_t *vn);
SOOM_API int soom_ffi_req_param_count(const struct soom_request *r);
SOOM_API int soom_ffi_req_param_at(const struct soom_request *r, int i, const char **k, size_t *kn,
                                   const char **v, size_t *vn, int *type);

#endif
