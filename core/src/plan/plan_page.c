/*
 * The body of a list: a plain array without pagination, else the page
 * envelope, {"next", "previous", "results"} for cursors and {"count",
 * "next", "previous", "results"} for offsets, with absolute links built
 * from the request (X-Forwarded-Proto/Host only with settings.trust_proxy).
 */
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "plan_internal.h"
#include "soom/config.h"
#include "soom/json.h"
#include "soom/pg.h"

/* The first value of a comma-separated header, trimmed. */
static const char *first_value(const char *v, size_t *n)
{
    while (*n > 0 && (*v == ' ' || *v == '\t'))
        v++, (*n)--;
    const char *comma = memchr(v, ',', *n);
    if (comma != NULL)
        *n = (size_t)(comma - v);
    while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
        (*n)--;
    return v;
}

static void url_escape(struct soom_buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            soom_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex_digit(c >> 4, true), hex_digit(c, true)};
            soom_buf_append(b, e, 3);
        }
    }
}

static void base_url(const struct soom_request *r, struct soom_buf *b)
{
    const struct soom_config *cfg = r->config;
    const char *scheme = "http", *host = NULL;
    size_t scheme_len = 4, host_len = 0;
    if (cfg->trust_proxy) {
        const char *v = soom_request_header(r, "X-Forwarded-Proto", 17, &scheme_len);
        if (v != NULL)
            scheme = first_value(v, &scheme_len);
        else
            scheme_len = 4;
        host = soom_request_header(r, "X-Forwarded-Host", 16, &host_len);
        if (host != NULL)
            host = first_value(host, &host_len);
    }
    if (host == NULL || host_len == 0)
        host = soom_request_header(r, "Host", 4, &host_len);
    soom_buf_append(b, scheme, scheme_len);
    soom_buf_puts(b, "://");
    if (host != NULL && host_len > 0)
        soom_buf_append(b, host, host_len);
    else
        soom_buf_printf(b, "%s:%ld", cfg->host, cfg->port);
    soom_buf_append(b, r->path, r->path_len);
}

static bool dropped(const struct soom_kv *kv, const char *const *drop)
{
    for (; *drop != NULL; drop++) {
        if (kv->key_len == strlen(*drop) && memcmp(kv->key, *drop, kv->key_len) == 0)
            return true;
    }
    return false;
}

/* Writes a JSON string: the request's URL with the parameters in `drop`
 * removed and `name`=`value` pairs (NULL-terminated list) added. */
static void write_link(const struct soom_request *r, const char *const *drop,
                       const char *const *set, struct soom_buf *out)
{
    struct soom_buf u;
    soom_buf_init(&u);
    base_url(r, &u);
    char sep = '?';
    for (size_t i = 0; i < r->nquery; i++) {
        if (dropped(&r->query[i], drop))
            continue;
        soom_buf_putc(&u, sep);
        sep = '&';
        url_escape(&u, r->query[i].key, r->query[i].key_len);
        soom_buf_putc(&u, '=');
        url_escape(&u, r->query[i].value, r->query[i].value_len);
    }
    for (size_t i = 0; set[i] != NULL; i += 2) {
        soom_buf_putc(&u, sep);
        sep = '&';
        soom_buf_puts(&u, set[i]);
        soom_buf_putc(&u, '=');
        url_escape(&u, set[i + 1], strlen(set[i + 1]));
    }
    soom_json_write_string(out, u.data, u.len);
    soom_buf_cleanup(&u);
}

/* ---- cursor pages ------------------------------------------------------------ */

static void write_cursor_link(const struct soom_request *r, const struct soom_plan *p,
                              const struct plan_list_query *q, const struct soom_pg_result *res,
                              int row, enum soom_page_direction dir, struct soom_buf *out)
{
    struct soom_page_cursor c = {.direction = dir, .nvalues = q->norder};
    for (size_t i = 0; i < q->norder; i++) {
        int col = soom_pg_result_column(res, soom_plan_order_name(p, &q->order[i]));
        c.values[i] = soom_pg_result_value(res, row, col, &c.lens[i]);
    }
    struct soom_buf text;
    soom_buf_init(&text);
    soom_page_cursor_encode(&c, q->fingerprint, p->cursor_key, &text);
    static const char *const DROP[] = {"cursor", NULL};
    const char *set[] = {"cursor", text.data, NULL};
    write_link(r, DROP, set, out);
    soom_buf_cleanup(&text);
}

static void write_rows(const struct soom_plan *p, const struct plan_list_query *q,
                       const struct soom_pg_result *res, int first, int n, bool reversed,
                       unsigned flags, struct soom_buf *out)
{
    (void)p;
    soom_pg_json_rows_range(res, first, n, reversed, q->shape, flags, out);
}

static void write_cursor_page(const struct soom_request *r, const struct soom_plan *p,
                              const struct plan_list_query *q, const struct soom_pg_result *res,
                              unsigned flags, struct soom_buf *out)
{
    int got = soom_pg_result_rows(res);
    bool more = got > q->limit;
    int n = more ? (int)q->limit : got;
    bool backward = q->has_cursor && q->cursor.direction == SOOM_PAGE_PREV;
    /* rows of a backward read come last-first: row n-1 is the page's first */
    int first_row = backward ? n - 1 : 0, last_row = backward ? 0 : n - 1;
    bool has_next = backward ? true : more;
    bool has_prev = backward ? more : q->has_cursor;
    soom_buf_puts(out, "{\"next\":");
    if (has_next && n > 0)
        write_cursor_link(r, p, q, res, last_row, SOOM_PAGE_NEXT, out);
    else if (has_next && q->has_cursor) /* an empty page reached backwards: start over */
        write_link(r, (const char *const[]){"cursor", NULL}, (const char *const[]){NULL}, out);
    else
        soom_buf_puts(out, "null");
    soom_buf_puts(out, ",\"previous\":");
    if (has_prev && n > 0)
        write_cursor_link(r, p, q, res, first_row, SOOM_PAGE_PREV, out);
    else
        soom_buf_puts(out, "null");
    soom_buf_puts(out, ",\"results\":");
    write_rows(p, q, res, 0, n, backward, flags, out);
    soom_buf_putc(out, '}');
}

/* ---- offset pages -------------------------------------------------------------- */

static void write_offset_link(const struct soom_request *r, const struct plan_list_query *q,
                              long offset, struct soom_buf *out)
{
    static const char *const DROP[] = {"offset", "limit", "page", "page_size", NULL};
    char a[24], b[24];
    if (q->paged_by_number) {
        snprintf(a, sizeof a, "%ld", offset / q->limit + 1);
        snprintf(b, sizeof b, "%ld", q->limit);
        const char *set[] = {"page", a, "page_size", b, NULL};
        write_link(r, DROP, set, out);
        return;
    }
    snprintf(a, sizeof a, "%ld", q->limit);
    snprintf(b, sizeof b, "%ld", offset);
    const char *set[] = {"limit", a, "offset", b, NULL};
    write_link(r, DROP, offset > 0 ? set : (const char *const[]){"limit", a, NULL}, out);
}

static void write_offset_page(const struct soom_request *r, const struct soom_plan *p,
                              const struct plan_list_query *q, const struct soom_pg_result *res,
                              long long count, unsigned flags, struct soom_buf *out)
{
    int got = soom_pg_result_rows(res);
    bool more = got > q->limit;
    int n = more ? (int)q->limit : got;
    soom_buf_puts(out, "{\"count\":");
    if (count >= 0)
        soom_json_write_int(out, count);
    else
        soom_buf_puts(out, "null");
    soom_buf_puts(out, ",\"next\":");
    if (more)
        write_offset_link(r, q, q->offset + q->limit, out);
    else
        soom_buf_puts(out, "null");
    soom_buf_puts(out, ",\"previous\":");
    if (q->offset > 0)
        write_offset_link(r, q, q->offset > q->limit ? q->offset - q->limit : 0, out);
    else
        soom_buf_puts(out, "null");
    soom_buf_puts(out, ",\"results\":");
    write_rows(p, q, res, 0, n, false, flags, out);
    soom_buf_putc(out, '}');
}

/* {"items": [...], "next": "<the last row's key>" | null} */
static void write_keyset_page(const struct soom_plan *p, const struct plan_list_query *q,
                              const struct soom_pg_result *res, unsigned flags,
                              struct soom_buf *out)
{
    int got = soom_pg_result_rows(res);
    bool more = got > q->limit;
    int n = more ? (int)q->limit : got;
    soom_buf_putc(out, '{');
    soom_buf_puts(out, p->results_json);
    soom_buf_putc(out, ':');
    write_rows(p, q, res, 0, n, false, flags, out);
    soom_buf_putc(out, ',');
    soom_buf_puts(out, p->next_json);
    soom_buf_putc(out, ':');
    if (more && n > 0) {
        int col = soom_pg_result_column(res, p->columns[p->keyset.column].name);
        size_t len;
        const char *v = soom_pg_result_value(res, n - 1, col, &len);
        soom_json_write_string(out, v, len);
    } else {
        soom_buf_puts(out, "null");
    }
    soom_buf_putc(out, '}');
}

void plan_page_write(struct soom_request *r, const struct soom_plan *p,
                     const struct plan_list_query *q, const struct soom_pg_result *res,
                     long long count, struct soom_buf *out)
{
    unsigned flags = soom_pg_json_flags(r->config);
    switch (p->page) {
    case PLAN_PAGE_CURSOR: write_cursor_page(r, p, q, res, flags, out); break;
    case PLAN_PAGE_OFFSET: write_offset_page(r, p, q, res, count, flags, out); break;
    case PLAN_PAGE_KEYSET: write_keyset_page(p, q, res, flags, out); break;
    default: soom_pg_json_rows(res, q->shape, flags, out);
    }
}
