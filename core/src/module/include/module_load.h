/*
 * Loading native modules and running their lifecycle hooks
 * (module_load.c). Modules are loaded once per process at start-up, in the
 * order the settings give, and never unloaded.
 */
#ifndef SOOM_MODULE_LOAD_H
#define SOOM_MODULE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

struct lua_State;
struct soom_json;

/* Opens the module `name` from the shared object at `path` (RTLD_NOW |
 * RTLD_LOCAL), checks its descriptor and runs its init with `settings`
 * (taken over: kept for the life of the process; may be NULL). Returns
 * SOOM_OK, or SOOM_ECONFIG with one message in `err` naming the module,
 * the file and both ABI versions: a missing file, no entry point, another
 * major, a too-new minor, a name that differs, or an init that failed. */
int soom_module_load(const char *name, const char *path, struct soom_json *settings, char *err,
                     size_t errlen);

/* True when a module of that name is loaded in this process. */
bool soom_module_loaded(const char *name);

/* Every module's worker_start for a new worker state, in load order.
 * Returns SOOM_OK, or SOOM_ECONFIG with the module's message in `err`
 * (the modules started before it are stopped again). */
int soom_module_worker_start(struct lua_State *L, char *err, size_t errlen);

/* Every module's worker_stop for a state about to close, newest first. */
void soom_module_worker_stop(struct lua_State *L);

/* Every module's shutdown, newest first; once per process (later calls do
 * nothing). Also runs at exit in a process that loaded modules. */
void soom_module_shutdown(void);

#endif
