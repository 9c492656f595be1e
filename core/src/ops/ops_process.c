/*
 * The process's own figures (CPU time, resident memory, descriptors), read
 * from the kernel; ops_metrics.c records them.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "ops_impl.h"

static uint64_t cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static uint64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n > 0 ? n - 1 : 0; /* less the descriptor reading the folder */
}

/* Reading /proc/self/fd costs the kernel about a microsecond per open
 * descriptor: with 10,000 idle keep-alive connections, milliseconds of a
 * core every time, which the clients being served wait out. A count is
 * kept until a thousand times what it cost to read has passed, so that
 * counting takes at most a thousandth of a core: a few hundred descriptors
 * are recounted every sample, ten thousand every few seconds. The wait is
 * capped (a read the scheduler stretched would otherwise freeze the
 * gauge). */
#define FDS_RECOUNT_MAX_NS (10 * 1000000000ull)
static _Atomic uint64_t fds_counted, fds_recount_at;

static uint64_t open_fds_paced(void)
{
    uint64_t now = soom_clock_ns();
    if (now < atomic_load_explicit(&fds_recount_at, memory_order_relaxed))
        return atomic_load_explicit(&fds_counted, memory_order_relaxed);
    uint64_t n = open_fds();
    atomic_store_explicit(&fds_counted, n, memory_order_relaxed);
    uint64_t wait = (soom_clock_ns() - now) * 1000u;
    atomic_store_explicit(&fds_recount_at,
                          now + (wait < FDS_RECOUNT_MAX_NS ? wait : FDS_RECOUNT_MAX_NS),
                          memory_order_relaxed);
    return n;
}

void ops_process_read(struct ops_process_figures *out)
{
    struct rlimit rl;
    out->cpu_us = cpu_us();
    out->rss = rss_bytes();
    out->fds = open_fds_paced();
    out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
}
