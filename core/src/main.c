/*
 * The soom binary: finds its data folder (the Lua layer and the scaffold)
 * and hands the command line to the Lua CLI, soom.cli.
 *
 * The data folder is, in order: $SOOM_HOME; <dir of the binary>/../share/soom,
 * which is where both the build tree and an installed tree keep it; the
 * install prefix compiled in. Never the source tree.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua_cli.h"
#include "serve.h"

static bool has_lua_layer(const char *home)
{
    char probe[PATH_MAX + 32];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/lua/soom/init.lua", home);
    return stat(probe, &st) == 0;
}

static bool find_home(char *out, size_t outlen)
{
    const char *env = getenv("SOOM_HOME");
    if (env != NULL && *env != '\0') {
        snprintf(out, outlen, "%s", env);
        return has_lua_layer(out);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            char candidate[PATH_MAX + 32];
            snprintf(candidate, sizeof candidate, "%s/../share/soom", exe);
            char resolved[PATH_MAX];
            if (realpath(candidate, resolved) != NULL && has_lua_layer(resolved)) {
                snprintf(out, outlen, "%s", resolved);
                return true;
            }
        }
    }
    snprintf(out, outlen, "%s", SOOM_INSTALL_DATADIR);
    return has_lua_layer(out);
}

int main(int argc, char **argv)
{
    char home[PATH_MAX];
    if (!find_home(home, sizeof home)) {
        fprintf(stderr,
                "soom: cannot find the Lua layer (looked for lua/soom/init.lua under %s); "
                "set SOOM_HOME to soom's share/soom folder\n",
                home);
        return 1;
    }
    return soom_cli_main(home, argc, argv, luaopen_soom_core_serve);
}
