/*
 * A module with a middleware at every phase that does nothing: what the
 * module machinery itself costs a request (bench/modules.sh).
 */
#include "soom/module.h"

static int pass(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)req, (void)resp, (void)ud;
    return SOOM_MODULE_CONTINUE;
}

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    (void)settings;
    for (int phase = SOOM_PHASE_REQUEST; phase <= SOOM_PHASE_DONE; phase++)
        if (host->add_middleware(mod, phase, pass, NULL) != SOOM_MODULE_OK)
            return SOOM_MODULE_ERROR;
    return SOOM_MODULE_OK;
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = 0,
    .name = "noop",
    .version = "1.0",
    .init = init,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
