/*
 * What native modules registered, as the rest of the core reads it
 * (module_registry.c): their C routes, for the route table and `soom
 * routes`, and their Lua libraries, for every Lua state. Written during
 * the modules' init at start-up, read-only afterwards.
 */
#ifndef SOOM_MODULE_REGISTRY_H
#define SOOM_MODULE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "soom/module.h"

struct soom_module_route;

struct soom_module_route_info {
    const char *pattern;
    const char *methods; /* "GET, POST", as the module gave them */
    bool raw_body;
    const char *module; /* the module's name */
};

/* The C routes, in registration order; `i` < soom_module_route_count(). */
size_t soom_module_route_count(void);
const struct soom_module_route *soom_module_route_at(size_t i);
void soom_module_route_describe(size_t i, struct soom_module_route_info *out);

/* The Lua libraries: "soom.ext.<name>" and its opener. */
size_t soom_module_lua_count(void);
const char *soom_module_lua_at(size_t i, soom_module_lua_fn *open);

/* Loaded modules. */
size_t soom_module_count(void);

/* The modules' constant response headers (add_response_header), in the
 * order registered. */
size_t soom_module_header_count(void);
const char *soom_module_header_at(size_t i, const char **value);

#endif
