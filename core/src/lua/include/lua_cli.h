/*
 * The command line, run in a Lua state of its own (the "main" state, which
 * is not a worker state and serves no requests).
 */
#ifndef SOOM_LUA_CLI_H
#define SOOM_LUA_CLI_H

#include <stdbool.h>

struct lua_State;

/* Runs soom.cli.main with the arguments after argv[0]; returns the exit
 * code. `home` is soom's data folder. `app_lib` opens soom.core.serve, the
 * library that serves apps: it lives above this module (the composition
 * root), which hands it in. */
int soom_cli_main(const char *home, int argc, char **argv, int (*app_lib)(struct lua_State *L));

#endif
