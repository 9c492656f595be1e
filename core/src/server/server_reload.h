/*
 * `soom run --reload` (settings.reload): a thread that watches the app's
 * folder with inotify and, once its Lua files have changed and then been
 * quiet for a moment, reloads the process's Lua states
 * (soom_lua_pool_reload): requests after it run the new code, requests in
 * flight finish on the old, and no connection is closed. A load that fails
 * (a syntax error, a module that raises, routes that changed) is logged
 * and the code already loaded keeps serving. When the routes changed (a
 * new resource, a schema, a declarative resource's plan), which the core
 * compiled at start-up, the reloader sends SIGHUP to `restart_pid` (the
 * serving process, or prefork's master), which drains and returns
 * SOOM_SERVER_RESTART for the command line to restart the process.
 *
 * Every serving process watches for itself (each prefork worker has its
 * own states). Folders whose names start with "." (.soom, .git) are not
 * watched.
 */
#ifndef SOOM_SERVER_RELOAD_H
#define SOOM_SERVER_RELOAD_H

struct soom_app;
struct server_reload;

/* Starts watching `app`'s folder (its Lua pool made already); NULL, with
 * the reason logged, when inotify cannot be set up. Freed, and the thread
 * joined, by server_reload_stop(), which accepts NULL. */
struct server_reload *server_reload_start(struct soom_app *app, int restart_pid);
void server_reload_stop(struct server_reload *rl);

#endif
