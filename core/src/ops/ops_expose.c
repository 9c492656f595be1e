/*
 * The Prometheus text format 0.0.4 of every family, summed over shards
 * and processes at scrape time (the only time the shards are added up).
 * Series of labelled families come from the segment's table in one pass,
 * grouped by family; a route's histograms are written once the route has
 * seen a request, so an app's many routes cost nothing until used.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ops_impl.h"

static const char *const METHODS[] = {"GET",   "HEAD",   "POST",    "PUT",
                                      "PATCH", "DELETE", "OPTIONS", "_OTHER"};

#define PUT(b, s) soom_buf_append((b), (s), sizeof(s) - 1)

static void put_double(struct soom_buf *b, double v)
{
    char t[40];
    soom_buf_append(b, t, ops_format_double(v, t, sizeof t));
}

/* A count, without snprintf: a scrape writes tens of thousands of them. */
static void put_u64(struct soom_buf *b, uint64_t v)
{
    char t[24];
    size_t i = sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    soom_buf_append(b, t + i, sizeof t - i);
}

/* An integer cell value in the family's unit: exact, with as many decimals
 * as the scale has (nanoseconds as seconds: 9). */
static void put_scaled(struct soom_buf *b, uint64_t v, double scale)
{
    char t[48];
    if (scale == 1) {
        snprintf(t, sizeof t, "%" PRIu64, v);
        soom_buf_puts(b, t);
        return;
    }
    uint64_t s = (uint64_t)scale;
    int digits = 0;
    for (uint64_t x = s; x > 1; x /= 10)
        digits++;
    int n = snprintf(t, sizeof t, "%" PRIu64 ".%0*" PRIu64, v / s, digits, v % s);
    while (n > 0 && t[n - 1] == '0')
        n--;
    if (n > 0 && t[n - 1] == '.')
        n--;
    soom_buf_append(b, t, (size_t)n);
}

static void put_value(struct soom_buf *b, const struct ops_family *f, uint32_t cell)
{
    if (f->real) {
        put_double(b, ops_sum_double(&ops_reg, f, cell));
        return;
    }
    uint64_t v = ops_sum_int(&ops_reg, f, cell);
    if (f->kind == SOOM_METRIC_GAUGE && f->scale == 1) {
        char t[24];
        snprintf(t, sizeof t, "%" PRId64, (int64_t)v); /* a gauge may go below zero */
        soom_buf_puts(b, t);
        return;
    }
    put_scaled(b, v, f->scale);
}

static void put_escaped(struct soom_buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\')
            PUT(b, "\\\\");
        else if (c == '"')
            PUT(b, "\\\"");
        else if (c == '\n')
            PUT(b, "\\n");
        else
            soom_buf_putc(b, c);
    }
}

/* A series' labels: names from the family, values as (pointer, length). */
struct labels {
    const char *v[SOOM_METRICS_MAX_LABELS];
    size_t n[SOOM_METRICS_MAX_LABELS];
};

/* {a="x",b="y"  (open: the caller closes it, maybe after le) */
static bool put_labels(struct soom_buf *b, const struct ops_family *f, const struct labels *l)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        soom_buf_putc(b, i == 0 ? '{' : ',');
        soom_buf_puts(b, f->labels[i]);
        PUT(b, "=\"");
        put_escaped(b, l->v[i], l->n[i]);
        soom_buf_putc(b, '"');
    }
    return f->nlabels > 0;
}

static void put_series_name(struct soom_buf *b, const struct ops_family *f, const char *suffix,
                            const struct labels *l)
{
    soom_buf_puts(b, f->name);
    soom_buf_puts(b, suffix);
    if (put_labels(b, f, l))
        soom_buf_putc(b, '}');
    soom_buf_putc(b, ' ');
}

/* A histogram from its summed cells: the bucket lines share one label text. */
static void put_histogram_cells(struct soom_buf *b, const struct ops_family *f,
                                const uint64_t *cells, const struct labels *l)
{
    struct soom_buf labels;
    soom_buf_init(&labels);
    bool any = put_labels(&labels, f, l);
    const char *lt = labels.data ? labels.data : "";
    size_t ln = labels.len;
    size_t name = strlen(f->name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        cum += cells[i];
        soom_buf_append(b, f->name, name);
        PUT(b, "_bucket");
        soom_buf_append(b, lt, ln);
        soom_buf_puts(b, any ? ",le=\"" : "{le=\"");
        if (i == f->nbounds)
            PUT(b, "+Inf");
        else
            soom_buf_puts(b, f->le[i]);
        PUT(b, "\"} ");
        put_u64(b, cum);
        soom_buf_putc(b, '\n');
    }
    soom_buf_append(b, f->name, name);
    PUT(b, "_sum");
    soom_buf_append(b, lt, ln);
    soom_buf_puts(b, any ? "} " : " ");
    uint64_t sum = cells[f->nbounds + 1];
    if (f->real)
        put_double(b, ops_bits_double(sum));
    else
        put_scaled(b, sum, f->scale);
    soom_buf_putc(b, '\n');
    soom_buf_append(b, f->name, name);
    PUT(b, "_count");
    soom_buf_append(b, lt, ln);
    soom_buf_puts(b, any ? "} " : " ");
    put_u64(b, cum);
    soom_buf_putc(b, '\n');
    soom_buf_cleanup(&labels);
}

static void put_histogram(struct soom_buf *b, const struct ops_family *f, uint32_t cell,
                          const struct labels *l)
{
    uint64_t cells[SOOM_METRICS_MAX_BUCKETS + 2];
    ops_sum_cells(&ops_reg, f, cell, f->cps, cells);
    if (f->real) /* the sum is a double in each shard: add them as doubles */
        cells[f->nbounds + 1] = ops_double_bits(ops_sum_double(&ops_reg, f, cell + f->cps - 1));
    put_histogram_cells(b, f, cells, l);
}

static void put_series(struct soom_buf *b, const struct ops_family *f, uint32_t cell,
                       const struct labels *l)
{
    if (f->kind == SOOM_METRIC_HISTOGRAM) {
        put_histogram(b, f, cell, l);
        return;
    }
    put_series_name(b, f, "", l);
    put_value(b, f, cell);
    soom_buf_putc(b, '\n');
}

static void put_header(struct soom_buf *b, const struct ops_family *f)
{
    static const char *const TYPES[] = {"counter", "gauge", "histogram"};
    PUT(b, "# HELP ");
    soom_buf_puts(b, f->name);
    soom_buf_putc(b, ' ');
    for (const char *p = f->help; *p; p++) {
        if (*p == '\\')
            PUT(b, "\\\\");
        else if (*p == '\n')
            PUT(b, "\\n");
        else
            soom_buf_putc(b, *p);
    }
    PUT(b, "\n# TYPE ");
    soom_buf_puts(b, f->name);
    soom_buf_putc(b, ' ');
    soom_buf_puts(b, TYPES[f->kind]);
    soom_buf_putc(b, '\n');
}

static void route_label(struct labels *l, size_t at, uint32_t route)
{
    const char *name = route < ops_reg.nroutes ? ops_reg.routes[route] : "unmatched";
    l->v[at] = name;
    l->n[at] = strlen(name);
}

static void put_fixed(struct soom_buf *b, const struct ops_family *f, size_t index)
{
    struct labels l;
    if (index == SOOM_M_BUILD_INFO) {
        const char *v[4] = {SOOM_VERSION, ops_reg.versions.luajit, ops_reg.versions.libmicrohttpd,
                            ops_reg.versions.libpq};
        for (size_t i = 0; i < 4; i++) {
            l.v[i] = v[i] ? v[i] : "unknown";
            l.n[i] = strlen(l.v[i]);
        }
        put_series(b, f, f->base, &l);
        return;
    }
    for (size_t i = 0; i < f->nfixed; i++) {
        if (f->nlabels == 1) {
            l.v[0] = f->fixed_values[i];
            l.n[0] = strlen(l.v[0]);
        }
        put_series(b, f, f->base + (uint32_t)i * f->cps, &l);
    }
}

static void put_routes(struct soom_buf *b, const struct ops_family *f)
{
    uint32_t nm = f->by_method ? SOOM_MM_COUNT : 1;
    uint64_t cells[SOOM_METRICS_MAX_BUCKETS + 2];
    for (uint32_t r = 0; r <= ops_reg.nroutes; r++) {
        for (uint32_t m = 0; m < nm; m++) {
            uint32_t cell = f->base + (r * nm + m) * f->cps;
            ops_sum_cells(&ops_reg, f, cell, f->cps, cells);
            uint64_t seen = 0;
            for (uint32_t i = 0; i < (f->kind == SOOM_METRIC_HISTOGRAM ? f->nbounds + 1 : 1); i++)
                seen += cells[i];
            if (seen == 0)
                continue;
            struct labels l;
            if (f->by_method) {
                l.v[0] = METHODS[m];
                l.n[0] = strlen(METHODS[m]);
            }
            route_label(&l, f->by_method ? 1 : 0, r);
            if (f->kind == SOOM_METRIC_HISTOGRAM) {
                put_histogram_cells(b, f, cells, &l);
            } else {
                put_series_name(b, f, "", &l);
                put_u64(b, cells[0]);
                soom_buf_putc(b, '\n');
            }
        }
    }
}

/* The labels of a series found by key: (method, route, status) unpacked,
 * or an app's values split at their '\0's. */
static void table_labels(const struct ops_family *f, const struct ops_series *s, char *status,
                         struct labels *l)
{
    if (f->layout == OPS_PACKED) {
        uint64_t k = atomic_load(&s->key) - 1;
        unsigned st = (unsigned)(k & 1023), m = (unsigned)((k >> 10) & 15);
        l->v[0] = METHODS[m < SOOM_MM_COUNT ? m : SOOM_MM_OTHER];
        l->n[0] = strlen(l->v[0]);
        route_label(l, 1, (uint32_t)(k >> 14));
        l->n[2] = (size_t)snprintf(status, 8, "%u", st);
        l->v[2] = status;
        return;
    }
    const char *p = ops_seg_strings(ops_reg.seg) + s->labels_off;
    for (size_t i = 0; i < f->nlabels; i++) {
        l->v[i] = p;
        l->n[i] = strlen(p);
        p += l->n[i] + 1;
    }
}

void soom_metrics_expose(struct soom_buf *out)
{
    if (ops_reg.seg == NULL)
        return;
    soom_metrics_process_sample();
    const struct ops_seg *seg = ops_reg.seg;
    const struct ops_series *table = ops_seg_series(seg);
    /* the ready series of each family, in table order, as linked lists */
    int32_t *next = xmalloc(seg->series_cap * sizeof *next);
    int32_t head[SOOM_METRICS_MAX_FAMILIES], tail[SOOM_METRICS_MAX_FAMILIES];
    memset(head, 0xff, sizeof head);
    for (uint32_t i = 0; i < seg->series_cap; i++) {
        if (atomic_load(&table[i].key) == 0 || !atomic_load(&table[i].ready))
            continue;
        uint32_t fam = table[i].family;
        next[i] = -1;
        if (head[fam] < 0)
            head[fam] = (int32_t)i;
        else
            next[tail[fam]] = (int32_t)i;
        tail[fam] = (int32_t)i;
    }
    for (size_t i = 0; i < ops_reg.nfamilies; i++) {
        const struct ops_family *f = &ops_reg.families[i];
        put_header(out, f);
        if (f->layout == OPS_FIXED)
            put_fixed(out, f, i);
        else if (f->layout == OPS_ROUTE)
            put_routes(out, f);
        for (int32_t s = f->layout >= OPS_PACKED ? head[i] : -1; s >= 0; s = next[s]) {
            struct labels l;
            char status[8];
            table_labels(f, &table[s], status, &l);
            put_series(out, f, table[s].cell, &l);
        }
    }
    free(next);
}
