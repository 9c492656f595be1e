/*
 * The helper threads of soom_work_run (see work.h): a queue of jobs under
 * one lock, threads started as jobs find none idle, up to one per core.
 * A job lives on its caller's fiber stack; the caller waits for it without
 * a deadline (the request's budget must not end the wait while a helper
 * still writes into that stack).
 */
#include "work.h"

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "wait.h"

struct job {
    void (*fn)(void *);
    void *arg;
    struct soom_waiter waiter;
    bool done;
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static struct job *head, **tail = &head;
static long nthreads, nidle;
static pid_t owner; /* a forked worker starts its own helpers */

static void *helper_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        nidle++;
        while (head == NULL)
            pthread_cond_wait(&queued, &lock);
        nidle--;
        struct job *j = head;
        head = j->next;
        if (head == NULL)
            tail = &head;
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        pthread_mutex_lock(&lock);
        j->done = true;
        soom_waiter_wake(&j->waiter);
    }
    return NULL;
}

/* With the lock held: a helper for the job just queued, when none is idle
 * and fewer than one per core run. False when none can be had. */
static bool helper_ready(void)
{
    if (owner != getpid()) {
        owner = getpid();
        nthreads = nidle = 0;
    }
    if (nidle > 0)
        return true;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads > 0 && nthreads >= (cores > 0 ? cores : 1))
        return true; /* queued for the next helper free */
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &attr, helper_main, NULL) == 0;
    pthread_attr_destroy(&attr);
    if (ok)
        nthreads++;
    return ok || nthreads > 0;
}

void soom_work_run(void (*fn)(void *), void *arg)
{
    if (!soom_wait_switches()) {
        fn(arg);
        return;
    }
    struct job j = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&lock);
    *tail = &j;
    tail = &j.next;
    if (!helper_ready()) {
        /* no thread to be had: take the job back and do it here */
        struct job **p = &head;
        while (*p != &j)
            p = &(*p)->next;
        *p = NULL;
        tail = p;
        pthread_mutex_unlock(&lock);
        fn(arg);
        return;
    }
    pthread_cond_signal(&queued);
    uint64_t budget = soom_wait_set_budget(0);
    while (!j.done)
        soom_waiter_wait(&j.waiter, &lock, 0);
    soom_wait_set_budget(budget);
    pthread_mutex_unlock(&lock);
}
