/*
 * The inside of the metrics registry, shared by ops_metrics.c (families,
 * recording), ops_shm.c (the segment and its series table) and
 * ops_expose.c (the text format). Private to the ops module.
 *
 * The segment, mapped shared and anonymous before any fork:
 *
 *   header | series table | label strings | service-wide cells
 *          | process 0: header, gauge cells, shard 0 .. shard N-1
 *          | process 1: ...
 *
 * A cell is a 64-bit word: an integer count, or the bits of a double for
 * the families whose values are real numbers (an app's own). A series
 * owns cells_per_series consecutive cells at the same offset in every
 * shard (or in every process block, or once service-wide); a histogram's
 * are its buckets (not cumulative; the last is +Inf) and then its sum.
 */
#ifndef SOOM_OPS_IMPL_H
#define SOOM_OPS_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops_metrics.h"

/* Where a family's cells live. */
enum ops_storage {
    OPS_SHARDED, /* in each thread's shard, summed (counters, histograms) */
    OPS_PROCESS, /* in each process's block, summed over live processes */
    OPS_SERVICE, /* once for the whole service (an app's gauges) */
};

/* How a family's series are found. */
enum ops_layout {
    OPS_FIXED,  /* nfixed series with label values given at declaration */
    OPS_ROUTE,  /* one per route (and per method when labelled so) */
    OPS_PACKED, /* http_requests_total: found by (route, method, status) */
    OPS_LABELS, /* an app's: found by its label values */
};

struct ops_family {
    char *name, *help;
    enum soom_metric_kind kind;
    enum ops_storage storage;
    enum ops_layout layout;
    bool real;    /* cells hold doubles */
    double scale; /* integer cells are divided by this when exposed */
    char *labels[SOOM_METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[SOOM_METRICS_MAX_BUCKETS];    /* in exposed units */
    uint64_t ibounds[SOOM_METRICS_MAX_BUCKETS]; /* in cell units (integer families) */
    char le[SOOM_METRICS_MAX_BUCKETS][24];      /* the bounds as exposed ("0.005") */
    size_t nbounds;
    uint32_t cps;                    /* cells per series */
    uint32_t base;                   /* first cell (OPS_FIXED, OPS_ROUTE) */
    const char *const *fixed_values; /* OPS_FIXED: nfixed * nlabels values */
    size_t nfixed;
    bool by_method; /* OPS_ROUTE: one series per (route, method) */
};

/* A series found by its labels, in the segment's open-addressing table. */
struct ops_series {
    _Atomic uint64_t key; /* 0: empty */
    _Atomic uint32_t ready;
    uint32_t family;
    uint32_t cell;
    uint32_t labels_off, labels_len; /* OPS_LABELS: values joined by '\0' */
};

struct ops_seg {
    uint64_t magic;
    uint32_t nprocs, nshards;
    uint32_t shard_cells, proc_cells, service_cells;
    uint32_t series_cap, strings_cap;
    _Atomic uint32_t next_shard_cell, next_service_cell, strings_used;
    double start_time;
    /* offsets in bytes from the start of the segment */
    size_t series_off, strings_off, service_off, procs_off, proc_stride;
};

struct ops_proc {
    _Atomic int32_t pid;          /* 0: no process serves in this block now */
    _Atomic uint32_t shards_used; /* shards ever taken: a scrape reads no further */
    uint32_t pad[14];             /* the cells start on their own cache line */
};

/* The registry of this process (a copy in each forked worker). */
struct ops_registry {
    struct ops_family families[SOOM_METRICS_MAX_FAMILIES];
    size_t nfamilies;
    bool sealed;
    struct ops_seg *seg;
    size_t seg_size;
    const char *const *routes;
    size_t nroutes;
    unsigned proc;               /* this process's index */
    _Atomic unsigned generation; /* bumped by process_begin: shards retaken */
    struct soom_build_versions versions;
};

extern struct ops_registry ops_reg;

/* ---- the segment (ops_shm.c) -------------------------------------------- */

/* Maps a zeroed segment for the registry's families. */
int ops_seg_map(struct ops_registry *reg, unsigned nprocs, unsigned nshards, uint32_t shard_cells,
                uint32_t proc_cells, uint32_t service_cells, uint32_t series_cap,
                uint32_t strings_cap);
void ops_seg_unmap(struct ops_registry *reg);

struct ops_series *ops_seg_series(const struct ops_seg *seg);
const char *ops_seg_strings(const struct ops_seg *seg);
_Atomic uint64_t *ops_seg_service(const struct ops_seg *seg);
struct ops_proc *ops_seg_proc(const struct ops_seg *seg, unsigned i);
_Atomic uint64_t *ops_seg_proc_cells(const struct ops_seg *seg, unsigned i);
_Atomic uint64_t *ops_seg_shard(const struct ops_seg *seg, unsigned proc, unsigned shard);

/* The series with `key` (non-zero) of family `family`, added when new:
 * its cells are taken from the storage's free cells and, for OPS_LABELS,
 * `labels` (len bytes) is copied into the segment. Returns its index in
 * the table, or -1 when the table, the cells or the strings are full. */
int ops_seg_find(struct ops_seg *seg, uint64_t key, uint32_t family, uint32_t cps,
                 enum ops_storage storage, const char *labels, size_t len);

/* ---- values ------------------------------------------------------------- */

static inline double ops_bits_double(uint64_t bits)
{
    double d;
    __builtin_memcpy(&d, &bits, sizeof d);
    return d;
}

static inline uint64_t ops_double_bits(double d)
{
    uint64_t bits;
    __builtin_memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* Adds a double to a cell holding one; `shared` when other threads write
 * the same cell. */
void ops_cell_add_double(_Atomic uint64_t *cell, double v, bool shared);

/* A family's value at `cell` summed over its storage (every shard of
 * every process, the live processes, or the one service-wide cell). */
/* The `n` integer cells from `cell` summed over the family's storage, in
 * one pass over the shards (a histogram's buckets and sum). */
void ops_sum_cells(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell,
                   uint32_t n, uint64_t *out);

/* Writes a double as Prometheus reads it back exactly ("0.005", "+Inf"). */
size_t ops_format_double(double v, char *out, size_t len);

uint64_t ops_sum_int(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell);
double ops_sum_double(const struct ops_registry *reg, const struct ops_family *f, uint32_t cell);

/* ---- process figures (ops_process.c) ------------------------------------ */

struct ops_process_figures {
    uint64_t cpu_us; /* user + system, since the process started */
    uint64_t rss, fds, max_fds;
};

void ops_process_read(struct ops_process_figures *out);

#endif
