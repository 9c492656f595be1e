/*
 * Fibers (see fiber.h): stacks, the switch between the thread's stack and
 * a fiber's, and waiting with a timer.
 *
 * On x86-64 the switch is a few instructions of our own (push the
 * callee-saved registers, swap stack pointers, pop, return): swapcontext()
 * would make two sigprocmask system calls per switch, and a request that
 * waits switches at least four times. Elsewhere ucontext serves.
 *
 * A fiber's life: soom_fiber_run() takes one from the thread's free list
 * (or maps a new stack), switches into it, and the fiber's main loop calls
 * the function; when it returns, the fiber marks itself done and switches
 * back, and whoever switched it in puts it back on the list, where it
 * waits (still inside its main loop) for its next function.
 *
 * AddressSanitizer is told about every switch (it keeps a fake stack per
 * fiber), and valgrind about every stack, so both keep working.
 */
#include "fiber.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "loop.h"
#include "soom/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif
#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FIBER_VALGRIND 1
#endif
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

/* Lua (the interpreter, C functions it calls, JSON of deep documents) runs
 * on fibers, so stacks are roomy; only the pages touched become resident. */
#define STACK_SIZE (256u * 1024u)
#define IDLE_MAX 64
#define KEEP_TOP (16u * 1024u)

struct soom_fiber {
#if defined(__x86_64__)
    void *sp; /* saved stack pointer while switched out */
#else
    ucontext_t ctx;
#endif
    char *map; /* the mapping: guard page, then the stack */
    size_t map_len;
    soom_fiber_fn fn;
    void *arg;
    struct soom_loop *loop;
    struct soom_loop_timer timer;
    uint64_t token; /* of the current wait */
    int wait_result;
    bool waiting;
    bool done;
    uint64_t budget;
    void *local; /* its user's pointer (soom_fiber_local) */
    struct soom_fiber *next_idle;
    unsigned valgrind_id;
    void *asan_fake;
};

/* The thread's own side of the switch. */
struct thread_side {
    struct soom_fiber *current;
#if defined(__x86_64__)
    void *sp;
#else
    ucontext_t ctx;
#endif
    const void *stack_bottom; /* for AddressSanitizer */
    size_t stack_size;
    void *asan_fake;
    struct soom_fiber *idle;
    size_t nidle;
};

static _Thread_local struct thread_side side;

/* ---- the switch ----------------------------------------------------------- */

#if defined(__x86_64__)
/* switch_stacks(save, to): pushes the callee-saved registers, stores the
 * stack pointer in *save, loads `to` and pops the target's registers. A new
 * fiber's stack is laid out so that the pops and the return land in
 * fiber_start with the fiber in %r12. */
void soom_fiber_switch_(void **save, void *to);
void soom_fiber_start_(void);
__asm__(".text\n"
        ".globl soom_fiber_switch_\n"
        ".hidden soom_fiber_switch_\n"
        ".type soom_fiber_switch_,@function\n"
        "soom_fiber_switch_:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size soom_fiber_switch_, .-soom_fiber_switch_\n"
        ".globl soom_fiber_start_\n"
        ".hidden soom_fiber_start_\n"
        ".type soom_fiber_start_,@function\n"
        "soom_fiber_start_:\n"
        "    movq %r12, %rdi\n"
        "    call soom_fiber_main_\n"
        "    ud2\n"
        ".size soom_fiber_start_, .-soom_fiber_start_\n");
#endif

void soom_fiber_main_(struct soom_fiber *f);

static void asan_start(void **fake, const void *bottom, size_t size)
{
#ifdef FIBER_ASAN
    __sanitizer_start_switch_fiber(fake, bottom, size);
#else
    (void)fake, (void)bottom, (void)size;
#endif
}

static void asan_finish(void *fake, const void **bottom, size_t *size)
{
#ifdef FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
    (void)fake, (void)bottom, (void)size;
#endif
}

static char *stack_base(const struct soom_fiber *f)
{
    return f->map + getpagesize();
}

/* From the thread's stack into `f`, until it switches back. */
static void switch_in(struct soom_fiber *f)
{
    side.current = f;
    asan_start(&side.asan_fake, stack_base(f), STACK_SIZE);
#if defined(__x86_64__)
    soom_fiber_switch_(&side.sp, f->sp);
#else
    swapcontext(&side.ctx, &f->ctx);
#endif
    asan_finish(side.asan_fake, NULL, NULL);
    side.current = NULL;
}

/* From `f` back to the thread's stack. `f` may be switched in again later
 * unless it is done. */
static void switch_out(struct soom_fiber *f)
{
    asan_start(&f->asan_fake, side.stack_bottom, side.stack_size);
#if defined(__x86_64__)
    soom_fiber_switch_(&f->sp, side.sp);
#else
    swapcontext(&f->ctx, &side.ctx);
#endif
    asan_finish(f->asan_fake, &side.stack_bottom, &side.stack_size);
}

/* A fiber's whole life: run each function it is given, switch out done. */
void soom_fiber_main_(struct soom_fiber *f)
{
    asan_finish(NULL, &side.stack_bottom, &side.stack_size);
    for (;;) {
        f->fn(f->arg);
        f->done = true;
        switch_out(f);
    }
}

#if !defined(__x86_64__)
static void fiber_entry(unsigned hi, unsigned lo)
{
    soom_fiber_main_((struct soom_fiber *)(((uintptr_t)hi << 32) | lo));
}
#endif

/* ---- stacks --------------------------------------------------------------- */

static void timer_fired(struct soom_loop_timer *t);

static struct soom_fiber *fiber_new(void)
{
    struct soom_fiber *f = xcalloc(1, sizeof *f);
    size_t page = (size_t)getpagesize();
    f->map_len = STACK_SIZE + page;
    f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (f->map == MAP_FAILED)
        soom_oom(f->map_len);
    mprotect(f->map, page, PROT_NONE); /* an overflow faults instead of corrupting */
    f->timer.cb = timer_fired;
#ifdef FIBER_VALGRIND
    f->valgrind_id = VALGRIND_STACK_REGISTER(stack_base(f), stack_base(f) + STACK_SIZE);
#endif
#if defined(__x86_64__)
    /* six registers (r12 = f) and the return into soom_fiber_start_, so
     * that its call finds the stack 16-byte aligned */
    uintptr_t top = ((uintptr_t)stack_base(f) + STACK_SIZE) & ~(uintptr_t)15;
    void **sp = (void **)(top - 56);
    for (int i = 0; i < 6; i++)
        sp[i] = NULL;
    sp[3] = f;
    sp[6] = (void *)soom_fiber_start_;
    f->sp = sp;
#else
    getcontext(&f->ctx);
    f->ctx.uc_stack.ss_sp = stack_base(f);
    f->ctx.uc_stack.ss_size = STACK_SIZE;
    f->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)f;
    makecontext(&f->ctx, (void (*)(void))fiber_entry, 2, (unsigned)(p >> 32), (unsigned)p);
#endif
    return f;
}

static void fiber_free(struct soom_fiber *f)
{
#ifdef FIBER_VALGRIND
    VALGRIND_STACK_DEREGISTER(f->valgrind_id);
#endif
    munmap(f->map, f->map_len);
    free(f);
}

/* A fiber is never freed before its thread ends: a stale wake-up posted
 * by another thread may still name it. Past IDLE_MAX idle ones, the pages
 * of the stack are given back instead, all but the top ones, which hold
 * the frames of the fiber's main loop. */
static void recycle(struct soom_fiber *f)
{
    if (side.nidle >= IDLE_MAX)
        madvise(stack_base(f), STACK_SIZE - KEEP_TOP, MADV_DONTNEED);
    f->next_idle = side.idle;
    side.idle = f;
    side.nidle++;
}

void soom_fiber_thread_cleanup(void)
{
    while (side.idle != NULL) {
        struct soom_fiber *f = side.idle;
        side.idle = f->next_idle;
        fiber_free(f);
    }
    side.nidle = 0;
}

/* ---- running and waiting -------------------------------------------------- */

bool soom_fiber_run(struct soom_loop *l, soom_fiber_fn fn, void *arg)
{
    struct soom_fiber *f = side.idle;
    if (f != NULL) {
        side.idle = f->next_idle;
        side.nidle--;
    } else {
        f = fiber_new();
    }
    f->fn = fn;
    f->arg = arg;
    f->loop = l;
    f->done = false;
    f->waiting = false;
    f->budget = 0;
    f->local = NULL;
    switch_in(f);
    if (!f->done)
        return false;
    recycle(f);
    return true;
}

struct soom_fiber *soom_fiber_current(void)
{
    return side.current;
}

void **soom_fiber_local(struct soom_fiber *f)
{
    return &f->local;
}

struct soom_loop *soom_fiber_loop(const struct soom_fiber *f)
{
    return f->loop;
}

uint64_t soom_fiber_wait_begin(struct soom_fiber *f)
{
    return ++f->token;
}

/* Switches a waiting fiber back in with `result`; recycles it if that
 * was its end. */
static void resume(struct soom_fiber *f, int result)
{
    f->waiting = false;
    f->wait_result = result;
    soom_loop_timer_stop(f->loop, &f->timer);
    switch_in(f);
    if (f->done)
        recycle(f);
}

static void timer_fired(struct soom_loop_timer *t)
{
    struct soom_fiber *f = (struct soom_fiber *)((char *)t - offsetof(struct soom_fiber, timer));
    if (f->waiting)
        resume(f, SOOM_ETIMEDOUT);
}

void soom_fiber_wake(void *arg, uint64_t token)
{
    struct soom_fiber *f = arg;
    if (f->waiting && f->token == token)
        resume(f, SOOM_OK);
}

int soom_fiber_wait(struct soom_fiber *f, uint64_t deadline)
{
    if (f->budget != 0 && (deadline == 0 || f->budget < deadline))
        deadline = f->budget;
    if (deadline != 0) {
        if (soom_clock_ns() >= deadline)
            return SOOM_ETIMEDOUT;
        soom_loop_timer_start(f->loop, &f->timer, deadline);
    }
    f->waiting = true;
    switch_out(f);
    return f->wait_result;
}

uint64_t soom_fiber_budget(const struct soom_fiber *f)
{
    return f->budget;
}

void soom_fiber_set_budget(struct soom_fiber *f, uint64_t deadline)
{
    f->budget = deadline;
}
