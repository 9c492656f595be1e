/*
 * Reloading on file changes (see server_reload.h): inotify watches on the
 * app's folder and each folder under it, read by one thread that polls
 * with a short timeout, so it notices both events and the stop flag.
 */
#include "server_reload.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "clock.h"
#include "lua_worker.h"
#include "soom/error.h"
#include "soom/log.h"

/* Editors write a file in several steps (truncate, write, rename): the
 * reload waits for this long without a change. */
#define QUIET_NS (100 * 1000 * 1000ull)
#define POLL_MS 50
#define MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF)

struct watched {
    int wd;
    char *path;
};

struct server_reload {
    struct soom_app *app;
    int fd;
    pid_t restart_pid;
    bool restarting;
    pthread_t thread;
    atomic_bool stopping;
    struct watched *dirs;
    size_t ndirs;
};

static void watch_tree(struct server_reload *rl, const char *path)
{
    int wd = inotify_add_watch(rl->fd, path, MASK | IN_ONLYDIR);
    if (wd < 0)
        return; /* gone meanwhile, or out of watches: the rest still reloads */
    rl->dirs = xrealloc(rl->dirs, (rl->ndirs + 1) * sizeof rl->dirs[0]);
    rl->dirs[rl->ndirs++] = (struct watched){wd, xstrdup(path)};
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub &&
            stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            watch_tree(rl, sub);
    }
    closedir(d);
}

static const char *dir_of(const struct server_reload *rl, int wd)
{
    for (size_t i = 0; i < rl->ndirs; i++) {
        if (rl->dirs[i].wd == wd)
            return rl->dirs[i].path;
    }
    return NULL;
}

static bool is_lua(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

/* Reads the events waiting; true when a Lua file (or a folder, which may
 * hold some) changed. New folders are watched too. */
static bool read_events(struct server_reload *rl)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;
    ssize_t n;
    while ((n = read(rl->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->len == 0 || ev->name[0] == '.')
                continue;
            if (ev->mask & IN_ISDIR) {
                const char *parent = dir_of(rl, ev->wd);
                char sub[PATH_MAX];
                if (parent != NULL && (ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
                    (size_t)snprintf(sub, sizeof sub, "%s/%s", parent, ev->name) < sizeof sub)
                    watch_tree(rl, sub);
                changed = true;
            } else if (is_lua(ev->name)) {
                changed = true;
            }
        }
    }
    return changed;
}

static void reload(struct server_reload *rl)
{
    char err[2048];
    uint64_t started = soom_clock_ns();
    int rc = soom_lua_pool_reload(rl->app->lua, err, sizeof err);
    if (rc == SOOM_ECONFLICTROUTE) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_WARN, "the app's routes changed: restarting to serve them");
        soom_log_str(&l, "reason", err);
        soom_log_end(&l);
        rl->restarting = true;
        kill(rl->restart_pid, SIGHUP);
        return;
    }
    if (rc != SOOM_OK) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR,
                       "the app's files changed but do not load: the code loaded before keeps "
                       "serving");
        soom_log_str(&l, "error", err);
        soom_log_end(&l);
        return;
    }
    struct soom_log_line l;
    soom_log_begin(&l, SOOM_LOG_INFO, "reloaded the app's Lua code");
    soom_log_int(&l, "ms", (long long)((soom_clock_ns() - started) / 1000000u));
    soom_log_int(&l, "pid", getpid());
    soom_log_end(&l);
}

static void *reload_main(void *arg)
{
    struct server_reload *rl = arg;
    uint64_t changed_at = 0; /* 0: nothing pending */
    while (!atomic_load(&rl->stopping) && !rl->restarting) {
        struct pollfd p = {.fd = rl->fd, .events = POLLIN};
        if (poll(&p, 1, POLL_MS) > 0 && read_events(rl))
            changed_at = soom_clock_ns();
        if (changed_at != 0 && soom_clock_ns() - changed_at >= QUIET_NS) {
            changed_at = 0;
            reload(rl);
            soom_log_flush();
        }
    }
    return NULL;
}

struct server_reload *server_reload_start(struct soom_app *app, int restart_pid)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        struct soom_log_line l;
        soom_log_begin(&l, SOOM_LOG_ERROR, "reload: cannot watch the app's files");
        soom_log_str(&l, "error", strerror(errno));
        soom_log_end(&l);
        return NULL;
    }
    struct server_reload *rl = xcalloc(1, sizeof *rl);
    rl->app = app;
    rl->fd = fd;
    rl->restart_pid = restart_pid;
    watch_tree(rl, app->dir);
    if (pthread_create(&rl->thread, NULL, reload_main, rl) != 0) {
        soom_log_msg(SOOM_LOG_ERROR, "reload: cannot start the watching thread");
        rl->thread = 0;
        server_reload_stop(rl);
        return NULL;
    }
    soom_log_msg(SOOM_LOG_INFO, "reload: watching the app's Lua files");
    return rl;
}

void server_reload_stop(struct server_reload *rl)
{
    if (rl == NULL)
        return;
    atomic_store(&rl->stopping, true);
    if (rl->thread != 0)
        pthread_join(rl->thread, NULL);
    for (size_t i = 0; i < rl->ndirs; i++)
        free(rl->dirs[i].path);
    free(rl->dirs);
    close(rl->fd);
    free(rl);
}
