/*
 * The registry of native modules (see module_impl.h and module_registry.h):
 * the loaded modules and what they registered, and the registration
 * entries of the host table. Registration is open only to the module whose
 * init is running; everything here is written at start-up and then read by
 * every worker thread without locks.
 *
 * A route's pattern and methods are checked when it is registered, on a
 * router of the modules' own routes, so a typo or two modules claiming
 * one route fail at that module's init with a message naming both; a clash
 * with the app's routes is found when the route table is built.
 */
#include "module_registry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "module_impl.h"
#include "soom/error.h"
#include "soom/router.h"
#include "soom/validate.h"

struct module_registry module_reg;

/* The modules' routes, for checking them as they come. */
static struct soom_router *module_router;

static bool may_register(const struct soom_module_handle *mod)
{
    return mod != NULL && mod == module_reg.initializing;
}

int module_add_middleware(struct soom_module_handle *mod, int phase, soom_module_request_fn fn,
                          void *ud)
{
    if (!may_register(mod))
        return SOOM_MODULE_ESTATE;
    if (phase < 0 || phase >= MODULE_PHASES || fn == NULL)
        return SOOM_MODULE_EINVAL;
    size_t n = module_reg.nhooks[phase];
    module_reg.hooks[phase] =
        xrealloc(module_reg.hooks[phase], (n + 1) * sizeof(struct module_hook));
    module_reg.hooks[phase][n] = (struct module_hook){fn, ud, mod};
    module_reg.nhooks[phase] = n + 1;
    return SOOM_MODULE_OK;
}

/* "GET, POST" (commas and/or spaces) into a method mask; 0 when a name is
 * unknown or there is none. */
static unsigned parse_methods(const char *text)
{
    unsigned mask = 0;
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, " ,");
        if (n == 0)
            break;
        unsigned bit = soom_router_method_parse(p, n);
        if (bit == 0)
            return 0;
        mask |= bit;
        p += n;
    }
    return mask;
}

int module_add_route(struct soom_module_handle *mod, const char *methods, const char *pattern,
                     unsigned flags, soom_module_request_fn fn, void *ud)
{
    if (!may_register(mod))
        return SOOM_MODULE_ESTATE;
    unsigned mask = methods != NULL ? parse_methods(methods) : 0;
    if (mask == 0 || pattern == NULL || fn == NULL ||
        (flags & ~(unsigned)SOOM_MODULE_ROUTE_RAW_BODY) != 0) {
        snprintf(mod->error, sizeof mod->error, "add_route: bad methods \"%s\" or arguments",
                 methods ? methods : "(null)");
        return SOOM_MODULE_EINVAL;
    }
    if (module_router == NULL)
        module_router = soom_router_new();
    char owner[128], err[MODULE_ERROR_MAX - 64];
    snprintf(owner, sizeof owner, "module %s", mod->name);
    int rc = soom_router_add(module_router, pattern, mask, (int)module_reg.nroutes, owner, err,
                             sizeof err);
    if (rc != SOOM_OK) {
        snprintf(mod->error, sizeof mod->error, "add_route %s: %s", pattern, err);
        return rc == SOOM_ECONFLICTROUTE ? SOOM_MODULE_EEXIST : SOOM_MODULE_EINVAL;
    }
    struct soom_module_route *r = xcalloc(1, sizeof *r);
    r->pattern = xstrdup(pattern);
    r->methods = xstrdup(methods);
    r->flags = flags;
    r->fn = fn;
    r->ud = ud;
    r->mod = mod;
    module_reg.routes =
        xrealloc(module_reg.routes, (module_reg.nroutes + 1) * sizeof(module_reg.routes[0]));
    module_reg.routes[module_reg.nroutes++] = r;
    return SOOM_MODULE_OK;
}

int module_add_format(struct soom_module_handle *mod, const char *name, soom_module_format_fn fn,
                      void *ud)
{
    if (!may_register(mod))
        return SOOM_MODULE_ESTATE;
    int rc = soom_validate_add_format(name, fn, ud);
    if (rc == SOOM_ECONFLICT) {
        snprintf(mod->error, sizeof mod->error, "add_format: the format \"%s\" exists already",
                 name);
        return SOOM_MODULE_EEXIST;
    }
    return rc == SOOM_OK ? SOOM_MODULE_OK : SOOM_MODULE_EINVAL;
}

static bool lib_name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || *name == '.')
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return false;
    return name[strlen(name) - 1] != '.';
}

int module_add_lua_library(struct soom_module_handle *mod, const char *name,
                           soom_module_lua_fn open)
{
    if (!may_register(mod))
        return SOOM_MODULE_ESTATE;
    if (!lib_name_ok(name) || open == NULL) {
        snprintf(mod->error, sizeof mod->error,
                 "add_lua_library: \"%s\" is not a name of [a-z0-9_.]", name ? name : "(null)");
        return SOOM_MODULE_EINVAL;
    }
    char full[256];
    snprintf(full, sizeof full, "soom.ext.%s", name);
    for (size_t i = 0; i < module_reg.nlibs; i++) {
        if (strcmp(module_reg.libs[i].name, full) == 0) {
            snprintf(mod->error, sizeof mod->error,
                     "add_lua_library: %s is registered already by module %s", full,
                     module_reg.libs[i].mod->name);
            return SOOM_MODULE_EEXIST;
        }
    }
    module_reg.libs =
        xrealloc(module_reg.libs, (module_reg.nlibs + 1) * sizeof(module_reg.libs[0]));
    module_reg.libs[module_reg.nlibs++] = (struct module_lib){xstrdup(full), open, mod};
    return SOOM_MODULE_OK;
}

/* Headers the server writes itself: a constant one would be a second copy. */
static bool header_reserved(const char *name)
{
    static const char *OWN[] = {"Content-Type", "Content-Length", "Transfer-Encoding",
                                "Connection",   "Date",           "X-Request-Id",
                                "traceparent",  "tracestate"};
    for (size_t i = 0; i < sizeof OWN / sizeof OWN[0]; i++)
        if (strcasecmp(name, OWN[i]) == 0)
            return true;
    return false;
}

int module_add_response_header(struct soom_module_handle *mod, const char *name, const char *value)
{
    if (!may_register(mod))
        return SOOM_MODULE_ESTATE;
    if (name == NULL || value == NULL || name[0] == '\0' ||
        module_header_len(name, MODULE_HEADER_CONSTANT_NAME_REFUSED) == SIZE_MAX ||
        module_header_len(value, MODULE_HEADER_VALUE_REFUSED) == SIZE_MAX ||
        header_reserved(name)) {
        snprintf(mod->error, sizeof mod->error,
                 "add_response_header: \"%s\" is not a header a module may set on every response",
                 name ? name : "(null)");
        return SOOM_MODULE_EINVAL;
    }
    module_reg.headers =
        xrealloc(module_reg.headers, (module_reg.nheaders + 1) * sizeof(module_reg.headers[0]));
    module_reg.headers[module_reg.nheaders++] =
        (struct module_header){xstrdup(name), xstrdup(value)};
    return SOOM_MODULE_OK;
}

/* ---- reading ------------------------------------------------------------- */

size_t soom_module_header_count(void)
{
    return module_reg.nheaders;
}

const char *soom_module_header_at(size_t i, const char **value)
{
    *value = module_reg.headers[i].value;
    return module_reg.headers[i].name;
}

size_t soom_module_route_count(void)
{
    return module_reg.nroutes;
}

const struct soom_module_route *soom_module_route_at(size_t i)
{
    return i < module_reg.nroutes ? module_reg.routes[i] : NULL;
}

void soom_module_route_describe(size_t i, struct soom_module_route_info *out)
{
    const struct soom_module_route *r = module_reg.routes[i];
    out->pattern = r->pattern;
    out->methods = r->methods;
    out->raw_body = (r->flags & SOOM_MODULE_ROUTE_RAW_BODY) != 0;
    out->module = r->mod->name;
}

size_t soom_module_lua_count(void)
{
    return module_reg.nlibs;
}

const char *soom_module_lua_at(size_t i, soom_module_lua_fn *open)
{
    *open = module_reg.libs[i].open;
    return module_reg.libs[i].name;
}

size_t soom_module_count(void)
{
    return module_reg.nmods;
}
