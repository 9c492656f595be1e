/*
 * The process's own figures (CPU time, resident memory, descriptors), read
 * from the kernel when sampled. CPU time is recorded as what was spent
 * since the last sample, added to a counter in the process's shard, so a
 * worker that dies keeps what it had spent and its replacement adds its
 * own.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ops_impl.h"

static _Atomic uint64_t cpu_recorded_us;

void ops_process_reset(void)
{
    atomic_store(&cpu_recorded_us, 0);
}

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

void soom_metrics_process_sample(void)
{
    if (!soom_metrics_enabled())
        return;
    uint64_t now = cpu_us();
    uint64_t before = atomic_load(&cpu_recorded_us);
    while (before < now && !atomic_compare_exchange_weak(&cpu_recorded_us, &before, now)) {
    }
    struct rlimit rl;
    uint64_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
    ops_record_process(now > before ? now - before : 0, rss_bytes(), open_fds(), max);
}
