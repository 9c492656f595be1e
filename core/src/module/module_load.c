/*
 * Loading native modules (see module_load.h) and their lifecycle hooks.
 *
 * Loading follows PostgreSQL's magic-block idea without its struct: the
 * module's one exported function returns a descriptor that says which ABI
 * it needs before the host touches anything else of it. A module is
 * refused, with one message naming it, its file and both ABI versions,
 * when the file cannot be opened, exports no entry point, was built for
 * another major, needs a newer minor than this host provides, calls itself
 * by another name, or fails its init. RTLD_LOCAL keeps two modules'
 * symbols apart; RTLD_NOW makes a missing symbol a refusal at start-up
 * rather than a crash under load.
 *
 * The handles live in the registry (module_registry.c) for the life of the
 * process and are never unloaded: a module's callbacks may be in any table.
 */
#include "module_load.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "module_impl.h"
#include "soom/error.h"
#include "soom/json.h"

/* True when the descriptor, as large as the module says it is, holds `f`. */
#define DESC_HAS(m, f)                                                                             \
    ((m)->desc_size >= offsetof(struct soom_module, f) + sizeof((m)->desc->f) && (m)->desc->f)

static bool shut_down;
static bool at_exit_set;

/* What the refusal message says of the module's side. */
struct seen {
    const char *name, *path;
    const struct soom_module *desc;
};

static int refuse(char *err, size_t errlen, const struct seen *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(char *err, size_t errlen, const struct seen *s, const char *fmt, ...)
{
    char why[MODULE_ERROR_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char theirs[96] = "module ABI unknown";
    if (s->desc != NULL && s->desc->size >= offsetof(struct soom_module, version) + sizeof(char *))
        snprintf(theirs, sizeof theirs, "module ABI %u.%u, version %s", s->desc->abi_major,
                 s->desc->abi_minor, s->desc->version ? s->desc->version : "?");
    snprintf(err, errlen, "module %s (%s): %s (%s; soom %s provides module ABI %d.%d)", s->name,
             s->path, why, theirs, SOOM_VERSION, SOOM_MODULE_ABI_MAJOR, SOOM_MODULE_ABI_MINOR);
    return SOOM_ECONFIG;
}

static bool name_ok(const char *name)
{
    if (!(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

bool soom_module_loaded(const char *name)
{
    for (size_t i = 0; i < module_reg.nmods; i++)
        if (strcmp(module_reg.mods[i]->name, name) == 0)
            return true;
    return false;
}

/* The checks that need only the descriptor. */
static int check_descriptor(const struct seen *s, char *err, size_t errlen)
{
    const struct soom_module *d = s->desc;
    if (d->size < offsetof(struct soom_module, init) + sizeof d->init)
        return refuse(err, errlen, s, "its descriptor is too small (%zu bytes)", d->size);
    if (d->abi_major != SOOM_MODULE_ABI_MAJOR)
        return refuse(err, errlen, s,
                      "built for module ABI %u, not %d: rebuild it against this soom", d->abi_major,
                      SOOM_MODULE_ABI_MAJOR);
    if (d->abi_minor > SOOM_MODULE_ABI_MINOR)
        return refuse(err, errlen, s,
                      "needs module ABI %u.%u, newer than this soom's: upgrade soom", d->abi_major,
                      d->abi_minor);
    if (d->init == NULL)
        return refuse(err, errlen, s, "its descriptor has no init");
    if (d->name == NULL || strcmp(d->name, s->name) != 0)
        return refuse(err, errlen, s, "the file holds the module \"%s\"",
                      d->name ? d->name : "(no name)");
    return SOOM_OK;
}

static struct soom_module_handle *handle_new(const struct seen *s, void *dl,
                                             struct soom_json *settings)
{
    struct soom_module_handle *h = xcalloc(1, sizeof *h);
    h->name = xstrdup(s->name);
    h->path = xstrdup(s->path);
    h->desc = s->desc;
    h->desc_size = s->desc->size;
    h->dl = dl;
    h->settings = settings;
    h->index = module_reg.nmods;
    module_reg.mods = xrealloc(module_reg.mods, (module_reg.nmods + 1) * sizeof(h));
    module_reg.mods[module_reg.nmods++] = h;
    return h;
}

static void run_shutdown_at_exit(void)
{
    soom_module_shutdown();
}

int soom_module_load(const char *name, const char *path, struct soom_json *settings, char *err,
                     size_t errlen)
{
    struct seen s = {name, path, NULL};
    if (!name_ok(name)) {
        soom_json_free(settings);
        return refuse(err, errlen, &s, "a module name is [a-z][a-z0-9_]*");
    }
    if (soom_module_loaded(name)) {
        soom_json_free(settings);
        return refuse(err, errlen, &s, "a module of that name is loaded already");
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        soom_json_free(settings);
        return refuse(err, errlen, &s, "cannot be opened: %s", dlerror());
    }
    const struct soom_module *(*entry)(void) = NULL;
    *(void **)&entry = dlsym(dl, SOOM_MODULE_ENTRY);
    s.desc = entry != NULL ? entry() : NULL;
    int rc = entry == NULL || s.desc == NULL
                 ? refuse(err, errlen, &s,
                          "no " SOOM_MODULE_ENTRY "() returning a descriptor: "
                          "not a soom module")
                 : check_descriptor(&s, err, errlen);
    if (rc != SOOM_OK) {
        dlclose(dl);
        soom_json_free(settings);
        return rc;
    }
    struct soom_module_handle *h = handle_new(&s, dl, settings);
    if (!at_exit_set) {
        atexit(run_shutdown_at_exit);
        at_exit_set = true;
    }
    module_reg.initializing = h;
    rc = h->desc->init(h, &module_host_table, settings);
    module_reg.initializing = NULL;
    if (rc != SOOM_MODULE_OK)
        return refuse(err, errlen, &s, "init failed: %s",
                      h->error[0] ? h->error : "(the module gave no reason)");
    return SOOM_OK;
}

int soom_module_worker_start(struct lua_State *L, char *err, size_t errlen)
{
    for (size_t i = 0; i < module_reg.nmods; i++) {
        struct soom_module_handle *h = module_reg.mods[i];
        if (!DESC_HAS(h, worker_start))
            continue;
        h->error[0] = '\0';
        if (h->desc->worker_start(h, L) == SOOM_MODULE_OK)
            continue;
        snprintf(err, errlen, "module %s: worker_start failed: %s", h->name,
                 h->error[0] ? h->error : "(the module gave no reason)");
        while (i-- > 0) {
            h = module_reg.mods[i];
            if (DESC_HAS(h, worker_stop))
                h->desc->worker_stop(h, L);
        }
        return SOOM_ECONFIG;
    }
    return SOOM_OK;
}

void soom_module_worker_stop(struct lua_State *L)
{
    for (size_t i = module_reg.nmods; i-- > 0;) {
        struct soom_module_handle *h = module_reg.mods[i];
        if (DESC_HAS(h, worker_stop))
            h->desc->worker_stop(h, L);
    }
}

void soom_module_shutdown(void)
{
    if (shut_down)
        return;
    shut_down = true;
    for (size_t i = module_reg.nmods; i-- > 0;) {
        struct soom_module_handle *h = module_reg.mods[i];
        if (DESC_HAS(h, shutdown))
            h->desc->shutdown(h);
    }
}
