/*
 * The event loop (see loop.h): an epoll set, a binary heap of timers, a
 * queue of tasks posted from any thread behind an eventfd, and a table of
 * one-shot descriptor waits indexed by fd.
 *
 * epoll_event.data tells the two kinds of registrations apart: a watch is
 * a pointer (always even), a one-shot wait is (fd << 1) | 1. A wait whose
 * caller names the socket (a key) stays registered, level-triggered, after
 * it fired: the next wait of that socket for the same events costs no
 * system call (a statement's answer, on every statement of a pooled
 * session). A readiness that finds no wait armed removes it (the session
 * is idle, or went on to another loop), so it cannot wake the loop again.
 * A wait without a key uses EPOLLONESHOT: a descriptor number may be
 * closed and reused without the loop knowing, so each such wait re-arms
 * (one EPOLL_CTL_MOD). So does a wait for output, which a kept
 * registration would report again at every turn.
 *
 * Posted tasks are swapped out of the queue under its lock and run outside
 * it, so a task may post more (they run at the next turn).
 */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "soom/error.h"

#define MAX_EVENTS 128

struct task {
    soom_loop_task_fn fn;
    void *arg;
    uint64_t token;
};

struct task_list {
    struct task *items;
    size_t n, cap;
};

struct fd_wait {
    soom_loop_task_fn fn; /* NULL: no wait armed */
    void *arg;
    uint64_t token;
    bool registered; /* in the epoll set (perhaps disarmed) */
    uint64_t key;    /* the socket registered, 0: unknown (one-shot) */
    unsigned events; /* what it is registered for */
};

struct soom_loop {
    int epfd;
    int efd;
    struct soom_loop_watch post_watch;
    pthread_mutex_t post_lock;
    struct task_list posted; /* under post_lock */
    atomic_size_t nposted;   /* posted.n, read without the lock */
    struct task_list running;
    atomic_bool wakeup_sent;
    atomic_bool stopping;

    struct soom_loop_timer **heap; /* 1-based */
    size_t nheap, capheap;

    struct fd_wait *fds;
    size_t nfds;

    struct epoll_event events[MAX_EVENTS];
    int nevents, cur; /* the batch being handled */

    soom_loop_prepare_fn prepare;
    void *prepare_arg;
    uint64_t now; /* read at each wake-up */

    struct at_free {
        soom_loop_free_fn fn;
        void *arg;
    } * at_free;
    size_t nat_free;
};

static _Thread_local struct soom_loop *current_loop;

struct soom_loop *soom_loop_current(void)
{
    return current_loop;
}

/* ---- tasks ---------------------------------------------------------------- */

static void task_push(struct task_list *t, soom_loop_task_fn fn, void *arg, uint64_t token)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->items = xrealloc(t->items, t->cap * sizeof *t->items);
    }
    t->items[t->n++] = (struct task){fn, arg, token};
}

void soom_loop_post(struct soom_loop *l, soom_loop_task_fn fn, void *arg, uint64_t token)
{
    pthread_mutex_lock(&l->post_lock);
    task_push(&l->posted, fn, arg, token);
    atomic_store_explicit(&l->nposted, l->posted.n, memory_order_release);
    pthread_mutex_unlock(&l->post_lock);
    /* the loop's own thread sees the queue before it blocks */
    if (current_loop == l || atomic_exchange(&l->wakeup_sent, true))
        return;
    uint64_t one = 1;
    ssize_t w = write(l->efd, &one, sizeof one);
    (void)w;
}

/* The eventfd is read before wakeup_sent is cleared: a post in between
 * finds it set and writes nothing, but its task is in the queue, which
 * the next turn runs; a post after it writes the eventfd again. Clearing
 * it anywhere else (when the queue is taken, say) can leave it set with
 * the eventfd already read, and every later post from another thread then
 * waits for some other event to wake the loop. */
static void drain_eventfd(struct soom_loop_watch *w, unsigned events)
{
    (void)events;
    struct soom_loop *l = (struct soom_loop *)((char *)w - offsetof(struct soom_loop, post_watch));
    uint64_t n;
    ssize_t r = read(w->fd, &n, sizeof n);
    (void)r;
    atomic_store(&l->wakeup_sent, false);
}

/* Runs what was posted until now; returns whether there was anything. */
static bool run_posted(struct soom_loop *l)
{
    if (atomic_load_explicit(&l->nposted, memory_order_acquire) == 0)
        return false; /* the common case: no lock taken */
    pthread_mutex_lock(&l->post_lock);
    struct task_list batch = l->posted;
    l->posted = l->running;
    l->posted.n = 0;
    atomic_store_explicit(&l->nposted, 0, memory_order_relaxed);
    pthread_mutex_unlock(&l->post_lock);
    for (size_t i = 0; i < batch.n; i++)
        batch.items[i].fn(batch.items[i].arg, batch.items[i].token);
    bool any = batch.n > 0;
    batch.n = 0;
    l->running = batch;
    return any;
}

static bool has_posted(struct soom_loop *l)
{
    return atomic_load_explicit(&l->nposted, memory_order_acquire) > 0;
}

/* ---- the loop ------------------------------------------------------------- */

int soom_loop_new(struct soom_loop **out)
{
    *out = NULL;
    struct soom_loop *l = xcalloc(1, sizeof *l);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&l->post_lock, NULL);
    soom_loop_watch_init(&l->post_watch, drain_eventfd);
    if (l->epfd < 0 || l->efd < 0 ||
        soom_loop_watch(l, &l->post_watch, l->efd, SOOM_LOOP_IN) != SOOM_OK) {
        soom_loop_free(l);
        return SOOM_EIO;
    }
    *out = l;
    return SOOM_OK;
}

void soom_loop_at_free(struct soom_loop *l, soom_loop_free_fn fn, void *arg)
{
    l->at_free = xrealloc(l->at_free, (l->nat_free + 1) * sizeof *l->at_free);
    l->at_free[l->nat_free++] = (struct at_free){fn, arg};
}

void soom_loop_free(struct soom_loop *l)
{
    if (l == NULL)
        return;
    for (size_t i = l->nat_free; i-- > 0;)
        l->at_free[i].fn(l->at_free[i].arg);
    free(l->at_free);
    if (current_loop == l)
        current_loop = NULL;
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->efd >= 0)
        close(l->efd);
    pthread_mutex_destroy(&l->post_lock);
    free(l->posted.items);
    free(l->running.items);
    free(l->heap);
    free(l->fds);
    free(l);
}

void soom_loop_set_prepare(struct soom_loop *l, soom_loop_prepare_fn fn, void *arg)
{
    l->prepare = fn;
    l->prepare_arg = arg;
}

void soom_loop_stop(struct soom_loop *l)
{
    atomic_store(&l->stopping, true);
    if (current_loop == l)
        return;
    uint64_t one = 1;
    ssize_t w = write(l->efd, &one, sizeof one);
    (void)w;
}

/* ---- watches -------------------------------------------------------------- */

void soom_loop_watch_init(struct soom_loop_watch *w, soom_loop_watch_fn cb)
{
    w->cb = cb;
    w->fd = -1;
    w->events = 0;
}

int soom_loop_watch(struct soom_loop *l, struct soom_loop_watch *w, int fd, unsigned events)
{
    if (w->fd >= 0 && w->fd != fd)
        soom_loop_unwatch(l, w);
    struct epoll_event ev = {.events = events, .data.ptr = w};
    int op = w->fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) != 0)
        return SOOM_EIO;
    w->fd = fd;
    w->events = events;
    return SOOM_OK;
}

void soom_loop_unwatch(struct soom_loop *l, struct soom_loop_watch *w)
{
    if (w->fd < 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->fd = -1;
    /* a readiness of it may still wait in the batch being handled */
    for (int i = l->cur + 1; i < l->nevents; i++) {
        if (l->events[i].data.ptr == w)
            l->events[i].data.ptr = NULL;
    }
}

/* ---- timers: a binary min-heap, 1-based, each timer knowing its index ---- */

static void heap_set(struct soom_loop *l, size_t i, struct soom_loop_timer *t)
{
    l->heap[i] = t;
    t->index = i;
}

static void heap_up(struct soom_loop *l, size_t i)
{
    struct soom_loop_timer *t = l->heap[i];
    while (i > 1 && l->heap[i / 2]->at > t->at) {
        heap_set(l, i, l->heap[i / 2]);
        i /= 2;
    }
    heap_set(l, i, t);
}

static void heap_down(struct soom_loop *l, size_t i)
{
    struct soom_loop_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i;
        if (c > l->nheap)
            break;
        if (c + 1 <= l->nheap && l->heap[c + 1]->at < l->heap[c]->at)
            c++;
        if (l->heap[c]->at >= t->at)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void soom_loop_timer_stop(struct soom_loop *l, struct soom_loop_timer *t)
{
    size_t i = t->index;
    if (i == 0)
        return;
    t->index = 0;
    struct soom_loop_timer *last = l->heap[l->nheap--];
    if (i > l->nheap)
        return;
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->index);
}

void soom_loop_timer_start(struct soom_loop *l, struct soom_loop_timer *t, uint64_t at)
{
    soom_loop_timer_stop(l, t);
    t->at = at;
    if (l->nheap + 1 >= l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = xrealloc(l->heap, l->capheap * sizeof *l->heap);
    }
    l->nheap++;
    heap_set(l, l->nheap, t);
    heap_up(l, l->nheap);
}

uint64_t soom_loop_now(const struct soom_loop *l)
{
    return l->now;
}

static void run_timers(struct soom_loop *l)
{
    uint64_t now = l->now;
    while (l->nheap > 0 && l->heap[1]->at <= now) {
        struct soom_loop_timer *t = l->heap[1];
        soom_loop_timer_stop(l, t);
        t->cb(t);
    }
}

/* ---- one-shot descriptor waits -------------------------------------------- */

int soom_loop_fd_arm(struct soom_loop *l, int fd, uint64_t key, unsigned events,
                     soom_loop_task_fn fn, void *arg, uint64_t token)
{
    if (fd < 0)
        return SOOM_EIO;
    if ((size_t)fd >= l->nfds) {
        size_t n = l->nfds ? l->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        l->fds = xrealloc(l->fds, n * sizeof *l->fds);
        memset(l->fds + l->nfds, 0, (n - l->nfds) * sizeof *l->fds);
        l->nfds = n;
    }
    struct fd_wait *s = &l->fds[fd];
    /* a socket is nearly always writable: a kept registration for output
     * would fire again at the next turn, so such a wait stays one-shot */
    if (events & SOOM_LOOP_OUT)
        key = 0;
    /* the same socket, still registered for the same events: a closed
     * socket left the set, and a new one on its number has another key */
    if (!(key != 0 && s->registered && s->key == key && s->events == events)) {
        unsigned flags = key != 0 ? 0u : (unsigned)EPOLLONESHOT;
        struct epoll_event ev = {.events = events | flags, .data.u64 = ((uint64_t)fd << 1) | 1u};
        /* the hint may be stale both ways: the fd was closed and its number
         * reused (gone from the set), or registered by an earlier holder */
        int op = s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        int rc = epoll_ctl(l->epfd, op, fd, &ev);
        if (rc != 0 && errno == ENOENT)
            rc = epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
        else if (rc != 0 && errno == EEXIST)
            rc = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
        if (rc != 0) {
            s->registered = false;
            return SOOM_EIO;
        }
        s->registered = true;
        s->key = key;
        s->events = events;
    }
    s->fn = fn;
    s->arg = arg;
    s->token = token;
    return SOOM_OK;
}

void soom_loop_fd_disarm(struct soom_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || l->fds[fd].fn == NULL)
        return;
    struct fd_wait *s = &l->fds[fd];
    s->fn = NULL;
    if (s->key != 0)
        return; /* a late readiness finds no wait and removes it */
    struct epoll_event ev = {.events = EPOLLONESHOT, .data.u64 = ((uint64_t)fd << 1) | 1u};
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void soom_loop_fd_forget(struct soom_loop *l, int fd, uint64_t key)
{
    if (fd < 0 || (size_t)fd >= l->nfds || key == 0)
        return;
    struct fd_wait *s = &l->fds[fd];
    if (s->fn != NULL || !s->registered || s->key != key)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    s->registered = false;
}

static void fd_fired(struct soom_loop *l, int fd)
{
    if ((size_t)fd >= l->nfds)
        return;
    struct fd_wait *s = &l->fds[fd];
    soom_loop_task_fn fn = s->fn;
    if (fn == NULL) {
        /* a kept registration with no wait: level-triggered, it would
         * fire at every turn until someone reads */
        if (s->registered && s->key != 0) {
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
            s->registered = false;
        }
        return;
    }
    s->fn = NULL;
    fn(s->arg, s->token);
}

/* ---- turning -------------------------------------------------------------- */

static int wait_ms(struct soom_loop *l, uint64_t max_ns)
{
    uint64_t wait = max_ns;
    if (l->nheap > 0) {
        uint64_t now = l->now;
        uint64_t at = l->heap[1]->at;
        uint64_t until = at > now ? at - now : 0;
        if (until < wait)
            wait = until;
    }
    if (wait == UINT64_MAX)
        return -1;
    /* round up: waking before the timer is due would only spin */
    uint64_t ms = (wait + 999999u) / 1000000u;
    return ms > 1000000 ? 1000000 : (int)ms;
}

void soom_loop_turn(struct soom_loop *l, uint64_t max_ns)
{
    struct soom_loop *outer = current_loop; /* a private loop may turn inside a turn */
    current_loop = l;
    l->now = soom_clock_ns();
    if (run_posted(l))
        l->now = soom_clock_ns(); /* the tasks (fibers resumed) took time */
    if (l->prepare != NULL) {
        uint64_t limit = l->prepare(l->prepare_arg);
        if (limit < max_ns)
            max_ns = limit;
    }
    if (has_posted(l) || atomic_load(&l->stopping))
        max_ns = 0;
    int n = epoll_wait(l->epfd, l->events, MAX_EVENTS, wait_ms(l, max_ns));
    l->now = soom_clock_ns();
    l->nevents = n > 0 ? n : 0;
    for (l->cur = 0; l->cur < l->nevents; l->cur++) {
        struct epoll_event *ev = &l->events[l->cur];
        if (ev->data.u64 & 1u) {
            fd_fired(l, (int)(ev->data.u64 >> 1));
        } else if (ev->data.ptr != NULL) {
            struct soom_loop_watch *w = ev->data.ptr;
            w->cb(w, ev->events);
        }
    }
    l->nevents = l->cur = 0;
    run_timers(l);
    current_loop = outer;
}

void soom_loop_run(struct soom_loop *l)
{
    current_loop = l;
    while (!atomic_load(&l->stopping))
        soom_loop_turn(l, UINT64_MAX);
    current_loop = NULL;
}
