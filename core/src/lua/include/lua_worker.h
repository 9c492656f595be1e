/*
 * LuaJIT states: one per worker thread, loaded with the app at start-up and
 * never shared between threads, and the C -> Lua entry for requests.
 *
 * A process keeps a pool of loaded states. In the `threads` and `prefork`
 * models each pool thread takes one on its first request and keeps it for
 * good; in `thread-per-connection` a connection's thread takes one and gives
 * it back when the connection closes, so states are reused rather than
 * loaded per connection. Each request runs on a coroutine of its state;
 * finished coroutines are kept for the next request.
 *
 * (The file is lua_worker.c rather than lua.c so that its header does not
 * shadow Lua's own lua.h.)
 */
#ifndef SOOM_LUA_WORKER_H
#define SOOM_LUA_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"

struct lua_State;
struct soom_app;
struct soom_request;
struct soom_config;
struct soom_lua_pool;

/* A new Lua state with the standard libraries, package.path covering soom's
 * Lua layer under `home` and the app folder `app_dir` (may be NULL), and
 * the native module soom.core.c preloaded. */
struct lua_State *soom_lua_open(const char *home, const char *app_dir);

/* A message handler for lua_pcall: the error message with a traceback. */
int soom_lua_traceback(struct lua_State *L);

/* A pool for `app` with `initial` loaded states, in *out (freed with
 * soom_lua_pool_free(), which accepts NULL). Returns SOOM_OK, or SOOM_ELUA
 * with *out NULL and the message (a Lua error while loading the app) in
 * `err`. */
int soom_lua_pool_new(struct soom_app *app, size_t initial, struct soom_lua_pool **out, char *err,
                      size_t errlen);
void soom_lua_pool_free(struct soom_lua_pool *pool);

/* Runs the request's resource in the calling thread's state, taken from
 * `pool` on the thread's first request, and fills the response. Never
 * fails: a Lua error becomes a 500 with the traceback in the log. */
void soom_lua_dispatch(struct soom_lua_pool *pool, struct soom_request *r);

/* Runs a step of the request's access chain written in Lua on the
 * thread's state: `what` 0 is authentication class `lua`'s authenticate
 * (on ACCESS_OK *user is set; on ACCESS_FAIL *detail may be), 1 is
 * permission `lua`'s has_permission. ACCESS_ANSWERED: the step answered
 * the request (a problem it raised, or a 500 for an error). */
enum access_outcome soom_lua_access_hook(struct soom_lua_pool *pool, struct soom_request *r,
                                         int what, int lua, const struct soom_request_user **user,
                                         const char **detail);

/* Loads a new generation of states from the app's files as they are now
 * (as many as are in service), for each thread to move to at its next
 * request; the states of older generations are closed once their last
 * request is done. Called from any thread. Returns SOOM_OK, or SOOM_ELUA
 * with the message in `err` (a Lua error loading the app, or routes that
 * differ from the ones being served), the states in service unchanged. */
int soom_lua_pool_reload(struct soom_lua_pool *pool, char *err, size_t errlen);

/* Gives the calling thread's state back to the pool (thread-per-connection,
 * when a connection's thread ends). */
void soom_lua_thread_release(struct soom_lua_pool *pool);

/* The reaper's pass for handler_timeout (lua_watch.h): signals the states
 * running Lua past their deadline, and again after `grace_ns`. */
void soom_lua_pool_watch(struct soom_lua_pool *pool, uint64_t now, uint64_t grace_ns);

/* Bytes held by the pool's states, as each last noted after a request. */
uint64_t soom_lua_pool_memory(struct soom_lua_pool *pool);

/* LuaJIT's version ("LuaJIT 2.1.0-beta3"), a static string. */
const char *soom_lua_version(void);

#endif
