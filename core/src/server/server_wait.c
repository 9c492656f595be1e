/*
 * Suspended requests (see server_wait.h).
 *
 * Slots are allocated one by one and never move (a blocked thread waits on
 * the condition variable inside its slot); a table of pointers indexes
 * them and a free list reuses them. A ticket is (use count << 32 | index
 * + 1), so a ticket that outlived its suspension finds a slot whose count
 * moved on and is refused.
 *
 * Deadlines sit in a binary min-heap of slot indexes; each slot knows its
 * place in it, so waking a ticket early removes its deadline at once and
 * the heap only ever holds live suspensions. One timer thread sleeps until
 * the earliest deadline (on CLOCK_MONOTONIC, like every deadline of the
 * core) and wakes what is due.
 *
 * One mutex guards everything here. unpark() is always called after it is
 * released: the HTTP library takes its own locks there, and a ticket in
 * state WOKEN cannot change any more, so nothing is lost by letting go.
 */
#include "server_wait.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "soom/error.h"

enum slot_state { SLOT_FREE, SLOT_ARMED, SLOT_PARKED, SLOT_BLOCKED, SLOT_WOKEN };

#define NO_POS SIZE_MAX

struct slot {
    uint32_t uses;
    enum slot_state state;
    bool timed_out;
    void *conn;
    void *result;
    uint64_t deadline;
    size_t heap_pos;
    uint32_t next_free; /* index + 1; 0 ends the list */
    pthread_cond_t cv;  /* a blocked thread waits here */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t timer_cv;
    pthread_t timer;
    bool running, stopping;
    void (*unpark)(void *conn);
    struct slot **slots;
    uint32_t nslots;
    uint32_t free_head; /* index + 1 */
    uint32_t *heap;
    size_t nheap, capheap;
    size_t pending;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
}

/* ---- the deadline heap ---------------------------------------------------- */

static bool earlier(size_t a, size_t b)
{
    return W.slots[W.heap[a]]->deadline < W.slots[W.heap[b]]->deadline;
}

static void heap_swap(size_t a, size_t b)
{
    uint32_t t = W.heap[a];
    W.heap[a] = W.heap[b];
    W.heap[b] = t;
    W.slots[W.heap[a]]->heap_pos = a;
    W.slots[W.heap[b]]->heap_pos = b;
}

static void heap_up(size_t i)
{
    while (i > 0 && earlier(i, (i - 1) / 2)) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < W.nheap && earlier(l, m))
            m = l;
        if (r < W.nheap && earlier(r, m))
            m = r;
        if (m == i)
            return;
        heap_swap(i, m);
        i = m;
    }
}

static void heap_push(uint32_t index)
{
    if (W.nheap == W.capheap) {
        W.capheap = W.capheap ? W.capheap * 2 : 64;
        W.heap = xrealloc(W.heap, W.capheap * sizeof W.heap[0]);
    }
    W.heap[W.nheap] = index;
    W.slots[index]->heap_pos = W.nheap;
    heap_up(W.nheap++);
}

static void heap_remove(struct slot *s)
{
    size_t i = s->heap_pos;
    if (i == NO_POS)
        return;
    s->heap_pos = NO_POS;
    if (--W.nheap == i)
        return;
    W.heap[i] = W.heap[W.nheap];
    W.slots[W.heap[i]]->heap_pos = i;
    heap_up(i);
    heap_down(W.slots[W.heap[i]]->heap_pos);
}

/* ---- slots ------------------------------------------------------------------ */

static uint32_t slot_new(void)
{
    if (W.free_head != 0) {
        uint32_t i = W.free_head - 1;
        W.free_head = W.slots[i]->next_free;
        return i;
    }
    W.slots = xrealloc(W.slots, (W.nslots + 1) * sizeof W.slots[0]);
    struct slot *s = xcalloc(1, sizeof *s);
    cond_init_monotonic(&s->cv);
    s->heap_pos = NO_POS;
    W.slots[W.nslots] = s;
    return W.nslots++;
}

/* The slot of a live ticket, NULL for a stale or malformed one. */
static struct slot *slot_of(uint64_t ticket)
{
    uint32_t index = (uint32_t)ticket;
    if (index == 0 || index > W.nslots)
        return NULL;
    struct slot *s = W.slots[index - 1];
    if (s->uses != (uint32_t)(ticket >> 32) || s->state == SLOT_FREE)
        return NULL;
    return s;
}

/* Wakes `s` under the lock; returns the connection to unpark, if any. */
static void *wake_locked(struct slot *s, void *result, bool timed_out)
{
    void *conn = NULL;
    s->result = result;
    s->timed_out = timed_out;
    heap_remove(s);
    if (s->state == SLOT_PARKED)
        conn = s->conn;
    else if (s->state == SLOT_BLOCKED)
        pthread_cond_signal(&s->cv);
    s->state = SLOT_WOKEN;
    return conn;
}

/* ---- the timer ---------------------------------------------------------------- */

static struct timespec at_ns(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&W.lock);
    while (!W.stopping) {
        if (W.nheap == 0) {
            pthread_cond_wait(&W.timer_cv, &W.lock);
            continue;
        }
        struct slot *s = W.slots[W.heap[0]];
        uint64_t now = soom_clock_ns();
        if (s->deadline > now) {
            struct timespec ts = at_ns(s->deadline);
            pthread_cond_timedwait(&W.timer_cv, &W.lock, &ts);
            continue;
        }
        void *conn = wake_locked(s, NULL, true);
        if (conn != NULL) {
            pthread_mutex_unlock(&W.lock);
            W.unpark(conn);
            pthread_mutex_lock(&W.lock);
        }
    }
    pthread_mutex_unlock(&W.lock);
    return NULL;
}

int soom_wait_setup(void (*unpark)(void *conn))
{
    W.unpark = unpark;
    W.stopping = false;
    cond_init_monotonic(&W.timer_cv);
    if (pthread_create(&W.timer, NULL, timer_main, NULL) != 0)
        return SOOM_EINTERNAL;
    W.running = true;
    return SOOM_OK;
}

void soom_wait_teardown(void)
{
    if (!W.running)
        return;
    pthread_mutex_lock(&W.lock);
    W.stopping = true;
    pthread_cond_signal(&W.timer_cv);
    pthread_mutex_unlock(&W.lock);
    pthread_join(W.timer, NULL);
    W.running = false;
    for (uint32_t i = 0; i < W.nslots; i++) {
        pthread_cond_destroy(&W.slots[i]->cv);
        free(W.slots[i]);
    }
    free(W.slots);
    free(W.heap);
    pthread_cond_destroy(&W.timer_cv);
    W.slots = NULL, W.heap = NULL;
    W.nslots = W.free_head = 0;
    W.nheap = W.capheap = W.pending = 0;
}

/* ---- tickets ------------------------------------------------------------------- */

uint64_t soom_wait_arm(uint64_t timeout_ns)
{
    if (!W.running)
        return 0;
    uint64_t deadline = soom_clock_ns() + timeout_ns;
    pthread_mutex_lock(&W.lock);
    uint32_t i = slot_new();
    struct slot *s = W.slots[i];
    s->uses++;
    s->state = SLOT_ARMED;
    s->timed_out = false;
    s->conn = s->result = NULL;
    s->deadline = deadline;
    heap_push(i);
    if (s->heap_pos == 0)
        pthread_cond_signal(&W.timer_cv); /* the new earliest deadline */
    W.pending++;
    uint64_t ticket = ((uint64_t)s->uses << 32) | (i + 1);
    pthread_mutex_unlock(&W.lock);
    return ticket;
}

int soom_wait_wake(uint64_t ticket, void *result, bool timed_out)
{
    pthread_mutex_lock(&W.lock);
    struct slot *s = slot_of(ticket);
    if (s == NULL || s->state == SLOT_WOKEN) {
        pthread_mutex_unlock(&W.lock);
        return SOOM_ENOTFOUND;
    }
    void *conn = wake_locked(s, result, timed_out);
    pthread_mutex_unlock(&W.lock);
    if (conn != NULL)
        W.unpark(conn);
    return SOOM_OK;
}

bool soom_wait_park(uint64_t ticket, void *conn)
{
    pthread_mutex_lock(&W.lock);
    struct slot *s = slot_of(ticket);
    bool parked = s != NULL && s->state == SLOT_ARMED;
    if (parked) {
        s->state = SLOT_PARKED;
        s->conn = conn;
    }
    pthread_mutex_unlock(&W.lock);
    return parked;
}

void soom_wait_block(uint64_t ticket)
{
    pthread_mutex_lock(&W.lock);
    struct slot *s = slot_of(ticket);
    if (s != NULL && s->state == SLOT_ARMED) {
        s->state = SLOT_BLOCKED;
        while (s->state == SLOT_BLOCKED)
            pthread_cond_wait(&s->cv, &W.lock);
    }
    pthread_mutex_unlock(&W.lock);
}

void soom_wait_take(uint64_t ticket, void **result, bool *timed_out)
{
    pthread_mutex_lock(&W.lock);
    struct slot *s = slot_of(ticket);
    *result = NULL;
    *timed_out = true;
    if (s != NULL) {
        if (s->state != SLOT_WOKEN) /* not woken (a request torn down): retire it */
            heap_remove(s);
        *result = s->result;
        *timed_out = s->timed_out;
        s->state = SLOT_FREE;
        s->uses++; /* the ticket is stale from now on */
        s->next_free = W.free_head;
        W.free_head = (uint32_t)(ticket & 0xffffffffu);
        W.pending--;
    }
    pthread_mutex_unlock(&W.lock);
}

size_t soom_wait_pending(void)
{
    pthread_mutex_lock(&W.lock);
    size_t n = W.pending;
    pthread_mutex_unlock(&W.lock);
    return n;
}
