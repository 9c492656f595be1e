/*
 * handler_timeout (see lua_watch.h): the watch of each state, the reaper's
 * check, the signal handler on the Lua thread and the hook it sets.
 *
 * The handler touches only the watch of its own thread (a thread-local of
 * the executable, which is safe in a signal handler), lua_sethook() (which
 * LuaJIT's profiler also calls from its signal handler) and siglongjmp().
 */
#include "lua_watch.h"

#include <lauxlib.h>
#include <link.h>
#include <lua.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "clock.h"

#define MAX_RANGES 512
/* once stopped, the hook comes back every so many instructions, so that
 * error handlers can run but a handler that swallows the error cannot go
 * on for long */
#define HOOK_AGAIN 1000

struct range {
    uintptr_t start, end;
};

/* The code of every loaded object but LuaJIT: a hard stop never lands in
 * it (a lock of libc or of ours might be held). */
static struct range ranges[MAX_RANGES];
static size_t nranges;
static int watch_signal;

static _Thread_local struct soom_lua_watch *current;

/* ---- the hook and the signal ---------------------------------------------- */

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct soom_lua_watch *w = current;
    if (w == NULL || atomic_load(&w->deadline) == 0)
        return;
    w->stopped = true;
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, HOOK_AGAIN);
    luaL_error(L, "handler_timeout: the handler ran for more than %f s without waiting",
               (double)w->timeout_ns / 1e9);
}

static uintptr_t interrupted_pc(void *ucv)
{
    ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0; /* unknown: never safe */
#endif
}

static bool safe_to_leave(uintptr_t pc)
{
    if (pc == 0)
        return false;
    for (size_t i = 0; i < nranges; i++) {
        if (pc >= ranges[i].start && pc < ranges[i].end)
            return false;
    }
    return true;
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    struct soom_lua_watch *w = current;
    if (w == NULL || atomic_load(&w->deadline) == 0)
        return;
    if (atomic_load(&w->stage) >= 2 && w->jump != NULL && safe_to_leave(interrupted_pc(ucv)))
        siglongjmp(*w->jump, SOOM_LUA_WATCH_HARD_STOP);
    if (!w->hooked) {
        w->hooked = true;
        lua_sethook(w->L, stop_hook, LUA_MASKCOUNT, 1);
    }
}

/* ---- set-up -------------------------------------------------------------- */

static int note_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "luajit") != NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            uintptr_t start = info->dlpi_addr + ph->p_vaddr;
            ranges[nranges++] = (struct range){start, start + ph->p_memsz};
        }
    }
    return 0;
}

void soom_lua_watch_setup(void)
{
    nranges = 0;
    dl_iterate_phdr(note_object, NULL);
    if (watch_signal != 0)
        return;
    watch_signal = SIGRTMIN + 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(watch_signal, &sa, NULL);
}

/* ---- stretches ------------------------------------------------------------ */

void soom_lua_watch_init(struct soom_lua_watch *w, lua_State *L)
{
    memset(w, 0, sizeof *w);
    w->L = L;
}

static void start(struct soom_lua_watch *w)
{
    atomic_store(&w->stage, 0);
    atomic_store(&w->deadline, w->timeout_ns ? soom_clock_ns() + w->timeout_ns : 0);
}

void soom_lua_watch_begin(struct soom_lua_watch *w, double timeout_s, sigjmp_buf *jump)
{
    w->thread = pthread_self();
    if (timeout_s != w->timeout_s) { /* most stretches have their state's last one */
        w->timeout_s = timeout_s;
        w->timeout_ns = timeout_s > 0 ? (uint64_t)(timeout_s * 1e9) : 0;
    }
    w->jump = jump;
    w->stopped = false;
    current = w;
    start(w);
}

bool soom_lua_watch_end(struct soom_lua_watch *w)
{
    atomic_store(&w->deadline, 0); /* before the hook goes: the handler then does nothing */
    if (w->hooked) {
        lua_sethook(w->L, NULL, 0, 0);
        w->hooked = false;
    }
    w->jump = NULL;
    current = NULL;
    return w->stopped;
}

void soom_lua_watch_lost(struct soom_lua_watch *w)
{
    atomic_store(&w->deadline, 0);
    w->jump = NULL;
    w->hooked = false;
    current = NULL;
    /* the handler that jumped here ran with its signal blocked */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, watch_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void soom_lua_watch_pause(lua_State *L)
{
    (void)L;
    if (current != NULL)
        atomic_store(&current->deadline, 0);
}

void soom_lua_watch_resume(lua_State *L)
{
    (void)L;
    if (current != NULL)
        start(current);
}

void soom_lua_watch_check(struct soom_lua_watch *w, uint64_t now, uint64_t grace_ns)
{
    uint64_t deadline = atomic_load(&w->deadline);
    if (deadline == 0 || now < deadline || watch_signal == 0)
        return;
    int stage = atomic_load(&w->stage);
    uint64_t since = atomic_load(&w->signalled_at);
    if (stage > 0 && now - since < grace_ns)
        return;
    atomic_store(&w->stage, stage < 2 ? stage + 1 : 2);
    atomic_store(&w->signalled_at, now);
    /* the stretch may have ended meanwhile: the handler then finds no
     * deadline and does nothing */
    pthread_kill(w->thread, watch_signal);
}
