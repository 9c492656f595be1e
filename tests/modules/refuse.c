/*
 * Modules that soom must refuse at start-up, one shared object per case,
 * chosen by REFUSE when compiling (tests/CMakeLists.txt):
 *   REFUSE_MAJOR      built for ABI major 2
 *   REFUSE_MINOR      needs a minor newer than this soom provides
 *   REFUSE_NO_ENTRY   exports no soom_module_v1
 *   REFUSE_INIT       init fails, saying why
 *   REFUSE_NAME       the descriptor names another module
 */
#include "soom/module.h"

#define REFUSE_MAJOR 1
#define REFUSE_MINOR 2
#define REFUSE_NO_ENTRY 3
#define REFUSE_INIT 4
#define REFUSE_NAME 5

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    (void)settings;
#if REFUSE == REFUSE_INIT
    host->set_error(mod, "the sky is falling");
    return SOOM_MODULE_ERROR;
#else
    (void)mod, (void)host;
    return SOOM_MODULE_OK;
#endif
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
#if REFUSE == REFUSE_MAJOR
    .abi_major = SOOM_MODULE_ABI_MAJOR + 1,
#else
    .abi_major = SOOM_MODULE_ABI_MAJOR,
#endif
#if REFUSE == REFUSE_MINOR
    .abi_minor = SOOM_MODULE_ABI_MINOR + 1,
#else
    .abi_minor = SOOM_MODULE_ABI_MINOR,
#endif
#if REFUSE == REFUSE_NAME
    .name = "someone_else",
#else
    .name = MODULE_NAME,
#endif
    .version = "9.9.9",
    .init = init,
};

#if REFUSE == REFUSE_NO_ENTRY
SOOM_MODULE_EXPORT const struct soom_module *soom_module_v0(void);
const struct soom_module *soom_module_v0(void)
{
    return &MODULE;
}
#else
const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
#endif
