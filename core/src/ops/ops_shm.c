/*
 * The metrics segment: one shared anonymous mapping, made by the first
 * process before it forks, so that every worker writes the same memory and
 * any worker's scrape sees all of it (see ops_impl.h for the layout).
 *
 * The series table is open addressing with linear probing. A series is
 * added by compare-and-swap on its key: the winner takes cells and copies
 * the label values, then marks it ready; a thread that finds the key
 * already claimed waits the few instructions it takes to be ready. A
 * process killed between the claim and the mark leaves a series that
 * never becomes ready: it is skipped, never exposed, and a later claim of
 * the same key probes past it. Nothing is ever removed, so indexes stay
 * valid for the life of the segment.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "ops_impl.h"
#include "soom/error.h"

#define SEG_MAGIC 0x736f6f6d6d657472ull /* "soommetr" */
#define CACHE_LINE 64

static size_t align_up(size_t n)
{
    return (n + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

int ops_seg_map(struct ops_registry *reg, unsigned nprocs, unsigned nshards, uint32_t shard_cells,
                uint32_t proc_cells, uint32_t service_cells, uint32_t series_cap,
                uint32_t strings_cap)
{
    shard_cells = (uint32_t)(align_up(shard_cells * 8u) / 8u);
    proc_cells = (uint32_t)(align_up(proc_cells * 8u) / 8u);
    size_t off = align_up(sizeof(struct ops_seg));
    size_t series_off = off;
    off = align_up(off + (size_t)series_cap * sizeof(struct ops_series));
    size_t strings_off = off;
    off = align_up(off + strings_cap);
    size_t service_off = off;
    off = align_up(off + (size_t)service_cells * 8u);
    size_t procs_off = off;
    size_t stride =
        sizeof(struct ops_proc) + (size_t)proc_cells * 8u + (size_t)nshards * shard_cells * 8u;
    size_t size = procs_off + stride * nprocs;
    /* Pages are given on first touch: shards that no thread writes cost no
     * memory. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return SOOM_EIO;
    struct ops_seg *seg = p;
    seg->magic = SEG_MAGIC;
    seg->nprocs = nprocs;
    seg->nshards = nshards;
    seg->shard_cells = shard_cells;
    seg->proc_cells = proc_cells;
    seg->service_cells = service_cells;
    seg->series_cap = series_cap;
    seg->strings_cap = strings_cap;
    seg->series_off = series_off;
    seg->strings_off = strings_off;
    seg->service_off = service_off;
    seg->procs_off = procs_off;
    seg->proc_stride = stride;
    reg->seg = seg;
    reg->seg_size = size;
    return SOOM_OK;
}

void ops_seg_unmap(struct ops_registry *reg)
{
    if (reg->seg != NULL)
        munmap(reg->seg, reg->seg_size);
    reg->seg = NULL;
    reg->seg_size = 0;
}

struct ops_series *ops_seg_series(const struct ops_seg *seg)
{
    return (struct ops_series *)((char *)seg + seg->series_off);
}

const char *ops_seg_strings(const struct ops_seg *seg)
{
    return (const char *)seg + seg->strings_off;
}

_Atomic uint64_t *ops_seg_service(const struct ops_seg *seg)
{
    return (_Atomic uint64_t *)((char *)seg + seg->service_off);
}

struct ops_proc *ops_seg_proc(const struct ops_seg *seg, unsigned i)
{
    return (struct ops_proc *)((char *)seg + seg->procs_off + seg->proc_stride * i);
}

_Atomic uint64_t *ops_seg_proc_cells(const struct ops_seg *seg, unsigned i)
{
    return (_Atomic uint64_t *)(ops_seg_proc(seg, i) + 1);
}

_Atomic uint64_t *ops_seg_shard(const struct ops_seg *seg, unsigned proc, unsigned shard)
{
    return ops_seg_proc_cells(seg, proc) + seg->proc_cells + (size_t)shard * seg->shard_cells;
}

/* Takes `n` units from an allocator holding `used` of `cap`. */
static bool take(_Atomic uint32_t *used, uint32_t cap, uint32_t n, uint32_t *out)
{
    uint32_t at = atomic_fetch_add(used, n);
    if (at > cap || cap - at < n)
        return false; /* the allocator stays past the end: later takes fail too */
    *out = at;
    return true;
}

/* Fills a claimed entry; false when the segment has no room left (the
 * entry then stays claimed and never ready). */
static bool fill(struct ops_seg *seg, struct ops_series *s, uint32_t family, uint32_t cps,
                 enum ops_storage storage, const char *labels, size_t len)
{
    uint32_t cell;
    bool ok = storage == OPS_SERVICE ? take(&seg->next_service_cell, seg->service_cells, cps, &cell)
                                     : take(&seg->next_shard_cell, seg->shard_cells, cps, &cell);
    if (!ok)
        return false;
    s->family = family;
    s->cell = cell;
    s->labels_len = (uint32_t)len;
    if (len > 0) {
        uint32_t at;
        if (!take(&seg->strings_used, seg->strings_cap, (uint32_t)len, &at))
            return false;
        memcpy((char *)seg + seg->strings_off + at, labels, len);
        s->labels_off = at;
    }
    atomic_store_explicit(&s->ready, 1, memory_order_release);
    return true;
}

/* Waits for a claimed entry to be ready; false when it stays unready (its
 * writer died, or the segment was full). */
static bool wait_ready(struct ops_series *s)
{
    for (int i = 0; i < 1 << 20; i++) {
        if (atomic_load_explicit(&s->ready, memory_order_acquire))
            return true;
    }
    return false;
}

static bool same_labels(const struct ops_seg *seg, const struct ops_series *s, uint32_t family,
                        const char *labels, size_t len)
{
    return s->family == family && s->labels_len == len &&
           (len == 0 || memcmp(ops_seg_strings(seg) + s->labels_off, labels, len) == 0);
}

int ops_seg_find(struct ops_seg *seg, uint64_t key, uint32_t family, uint32_t cps,
                 enum ops_storage storage, const char *labels, size_t len)
{
    struct ops_series *table = ops_seg_series(seg);
    uint32_t mask = seg->series_cap - 1;
    uint32_t i = (uint32_t)(key ^ (key >> 29) ^ (key >> 47)) & mask;
    for (uint32_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
        struct ops_series *s = &table[i];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0) {
            uint64_t expected = 0;
            if (atomic_compare_exchange_strong(&s->key, &expected, key)) {
                if (!fill(seg, s, family, cps, storage, labels, len))
                    return -1;
                return (int)i;
            }
            k = expected; /* another thread claimed it first: look at its key */
        }
        if (k != key || !wait_ready(s))
            continue;
        if (same_labels(seg, s, family, labels, len))
            return (int)i;
    }
    return -1;
}
