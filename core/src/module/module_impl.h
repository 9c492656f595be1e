/*
 * The module host's private layout, shared by the files of core/src/module/
 * and visible to no other folder.
 *
 * One struct soom_module_handle per loaded module, owned by the registry
 * (module_registry.c) for the life of the process. The registry also holds
 * what modules registered during init: middleware per phase in load order,
 * C routes, Lua libraries. All of it is written at start-up, one module's
 * init at a time, and only read once the server runs.
 */
#ifndef SOOM_MODULE_IMPL_H
#define SOOM_MODULE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "soom/module.h"

#define MODULE_PHASES 5
#define MODULE_ERROR_MAX 512

struct soom_module_handle {
    char *name;
    char *path;
    const struct soom_module *desc;
    size_t desc_size; /* what the module says its descriptor holds */
    void *dl;
    size_t index; /* in load order: the context slot on requests */
    struct soom_json *settings;
    char error[MODULE_ERROR_MAX]; /* set_error() */
};

struct module_hook {
    soom_module_request_fn fn;
    void *ud;
    const struct soom_module_handle *mod;
};

struct soom_module_route {
    char *pattern;
    char *methods; /* "GET, POST" as given */
    unsigned flags;
    soom_module_request_fn fn;
    void *ud;
    const struct soom_module_handle *mod;
};

struct module_lib {
    char *name; /* the full module name, "soom.ext.<name>" */
    soom_module_lua_fn open;
    const struct soom_module_handle *mod;
};

/* A constant response header (add_response_header). */
struct module_header {
    char *name, *value;
};

struct module_registry {
    struct soom_module_handle **mods;
    size_t nmods;
    struct module_hook *hooks[MODULE_PHASES];
    size_t nhooks[MODULE_PHASES];
    struct soom_module_route **routes;
    size_t nroutes;
    struct module_lib *libs;
    size_t nlibs;
    struct module_header *headers;
    size_t nheaders;
    struct soom_module_handle *initializing; /* registration is open for it */
};

/* The process's registry (module_registry.c). */
extern struct module_registry module_reg;

/* The host's function table (module_host.c). */
extern const struct soom_module_host module_host_table;

/* The registration entries of the table (module_registry.c). */
int module_add_middleware(struct soom_module_handle *mod, int phase, soom_module_request_fn fn,
                          void *ud);
int module_add_route(struct soom_module_handle *mod, const char *methods, const char *pattern,
                     unsigned flags, soom_module_request_fn fn, void *ud);
int module_add_format(struct soom_module_handle *mod, const char *name, soom_module_format_fn fn,
                      void *ud);
int module_add_lua_library(struct soom_module_handle *mod, const char *name,
                           soom_module_lua_fn open);
int module_add_response_header(struct soom_module_handle *mod, const char *name, const char *value);

/* The JSON entries of the table (module_json.c). */
int module_json_type(const struct soom_json *v);
const struct soom_json *module_json_get(const struct soom_json *object, const char *key);
size_t module_json_count(const struct soom_json *v);
const struct soom_json *module_json_at(const struct soom_json *v, size_t i);
const char *module_json_key(const struct soom_json *member);
const char *module_json_string(const struct soom_json *v, size_t *len);
double module_json_number(const struct soom_json *v);
bool module_json_bool(const struct soom_json *v);

/* What a module's header may not hold: CR or LF anywhere (they would
 * split the response), ':' in a name, and in a name registered for every
 * response (add_response_header, checked once at init) a space or a tab
 * too. A response's own headers (set_header, on every response) keep the
 * shorter check. */
#define MODULE_HEADER_VALUE_REFUSED "\r\n"
#define MODULE_HEADER_NAME_REFUSED "\r\n:"
#define MODULE_HEADER_CONSTANT_NAME_REFUSED "\r\n: \t"

/* The length of a header name or value, SIZE_MAX when it holds a byte of
 * `refused` (one of the sets above). strcspn is one vectorised pass, which
 * matters: modules set headers on every response. */
static inline size_t module_header_len(const char *s, const char *refused)
{
    size_t n = strcspn(s, refused);
    return s[n] == '\0' ? n : SIZE_MAX;
}

/* A request's response handle, and back: the response lives in the
 * request, so the handle is the request's address under another type. */
static inline struct soom_response *module_response_of(struct soom_request *r)
{
    return (struct soom_response *)(void *)r;
}

static inline struct soom_request *module_request_of(const struct soom_response *resp)
{
    return (struct soom_request *)(void *)resp;
}

/* What kind of module call a request is in (request->module_where): the
 * places that may suspend are the handler phase, a route and a resume. */
enum module_where {
    MODULE_IN_NONE = 0,
    MODULE_IN_PHASE,
    MODULE_IN_HANDLER_PHASE,
    MODULE_IN_ROUTE,
    MODULE_IN_RESUME,
};

#endif
