/*
 * soom.core.testing: what `soom test` needs from C to run an app's tests
 * against the real thing: start the app as a child process, wait for its
 * port, speak HTTP/1.1 to it over loopback, stop it. Loaded only by the
 * test runner, never by a serving process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "lua_libs.h"
#include "soom/buf.h"

extern char **environ;

/* exe() -> the path of the running soom binary */
static int l_exe(lua_State *L)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return luaL_error(L, "cannot find the soom binary: %s", strerror(errno));
    lua_pushlstring(L, path, (size_t)n);
    return 1;
}

/* pid() -> the process id */
static int l_pid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

/* free_port() -> a TCP port on 127.0.0.1 that was free a moment ago */
static int l_free_port(lua_State *L)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return luaL_error(L, "free_port: %s", strerror(errno));
    }
    close(fd);
    lua_pushinteger(L, ntohs(a.sin_port));
    return 1;
}

static int connect_loopback(int port, double timeout)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {(time_t)timeout, (suseconds_t)((timeout - (time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* listening(port) -> true when something accepts connections on it */
static int l_listening(lua_State *L)
{
    int fd = connect_loopback((int)luaL_checkinteger(L, 1), 0.5);
    if (fd >= 0)
        close(fd);
    lua_pushboolean(L, fd >= 0);
    return 1;
}

/* spawn(argv, log_path, env) -> pid. The child writes stdout and stderr to
 * log_path; `env` (a table name -> value) is added to the environment. */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *log_path = luaL_checkstring(L, 2);
    int argc = (int)lua_objlen(L, 1);
    char **argv = xcalloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        lua_rawgeti(L, 1, i + 1);
        argv[i] = xstrdup(luaL_checkstring(L, -1));
        lua_pop(L, 1);
    }
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return luaL_error(L, "spawn: cannot open %s: %s", log_path, strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        if (lua_istable(L, 3)) {
            lua_pushnil(L);
            while (lua_next(L, 3) != 0) {
                setenv(lua_tostring(L, -2), lua_tostring(L, -1), 1);
                lua_pop(L, 1);
            }
        }
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    if (pid < 0)
        return luaL_error(L, "spawn: %s", strerror(errno));
    lua_pushinteger(L, pid);
    return 1;
}

/* kill(pid, "TERM" | "KILL" | "INT") */
static int l_kill(lua_State *L)
{
    static const char *const NAMES[] = {"TERM", "KILL", "INT", NULL};
    static const int SIGS[] = {SIGTERM, SIGKILL, SIGINT};
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    int which = luaL_checkoption(L, 2, "TERM", NAMES);
    lua_pushboolean(L, kill(pid, SIGS[which]) == 0);
    return 1;
}

/* wait(pid, timeout) -> exit code (128 + signal when killed), or nil on timeout */
static int l_wait(lua_State *L)
{
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    double timeout = luaL_optnumber(L, 2, 30);
    for (double waited = 0; waited <= timeout; waited += 0.01) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 1;
        }
        if (r < 0)
            return luaL_error(L, "wait: %s", strerror(errno));
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    lua_pushnil(L);
    return 1;
}

static void send_all(lua_State *L, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            close(fd);
            luaL_error(L, "http: send failed: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Pushes status, headers (lower-case names), body parsed from a response. */
static int push_response(lua_State *L, const char *p, size_t n)
{
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (end == NULL || n < 12 || strncmp(p, "HTTP/1.", 7) != 0)
        return luaL_error(L, "http: malformed response (%d bytes)", (int)n);
    lua_pushinteger(L, atoi(p + 9));
    lua_newtable(L);
    const char *line = memchr(p, '\n', (size_t)(end - p)) + 1;
    while (line < end) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon != NULL) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *c = line; c < colon; c++)
                luaL_addchar(&b, (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c));
            luaL_pushresult(&b);
            const char *v = colon + 1;
            while (v < eol && *v == ' ')
                v++;
            lua_pushlstring(L, v, (size_t)(eol - v));
            lua_rawset(L, -3);
        }
        line = eol + 2;
    }
    lua_pushlstring(L, end + 4, n - (size_t)(end + 4 - p));
    return 3;
}

/* http(port, method, path, headers, body, timeout) -> status, headers, body.
 * One request on a new connection (Connection: close), read to the end. */
static int l_http(lua_State *L)
{
    int port = (int)luaL_checkinteger(L, 1);
    const char *method = luaL_checkstring(L, 2);
    const char *path = luaL_checkstring(L, 3);
    size_t blen = 0;
    const char *body = luaL_optlstring(L, 5, NULL, &blen);
    double timeout = luaL_optnumber(L, 6, 30);
    struct soom_buf req;
    soom_buf_init(&req);
    soom_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n", method,
                    path, port);
    if (lua_istable(L, 4)) {
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            soom_buf_printf(&req, "%s: %s\r\n", lua_tostring(L, -2), lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    if (body != NULL)
        soom_buf_printf(&req, "Content-Length: %zu\r\n", blen);
    soom_buf_puts(&req, "\r\n");
    if (body != NULL)
        soom_buf_append(&req, body, blen);
    int fd = connect_loopback(port, timeout);
    if (fd < 0) {
        soom_buf_cleanup(&req);
        return luaL_error(L, "http: cannot connect to port %d: %s", port, strerror(errno));
    }
    send_all(L, fd, req.data, req.len);
    soom_buf_clear(&req);
    char chunk[16384];
    ssize_t r;
    while ((r = recv(fd, chunk, sizeof chunk, 0)) > 0)
        soom_buf_append(&req, chunk, (size_t)r);
    close(fd);
    int n = push_response(L, req.data ? req.data : "", req.len);
    soom_buf_cleanup(&req);
    return n;
}

int luaopen_soom_core_testing(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"exe", l_exe},
        {"free_port", l_free_port},
        {"listening", l_listening},
        {"spawn", l_spawn},
        {"kill", l_kill},
        {"wait", l_wait},
        {"http", l_http},
        {"pid", l_pid},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
