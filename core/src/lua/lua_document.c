/*
 * soom.core.document: a Lua tree written as indented JSON or block YAML in
 * one crossing, for the OpenAPI document (lua/soom/openapi/encode.lua says
 * what the text looks like). A document of 200 routes is a megabyte and a
 * half of text from some hundred thousand tables; written here it costs a
 * few milliseconds of start-up rather than tens.
 *
 * The order of the output never depends on how Lua happens to walk a
 * table: an ordered map (a table whose metatable holds its `keys`, in the
 * order they were first set) is written in that order, any other object
 * with its keys sorted (numbers first, then strings byte by byte, as
 * LuaJIT compares them). Arrays are tables with the JSON array metatable,
 * or tables whose keys are exactly 1..n. Scalars are written by the core's
 * JSON writer, so the text is what soom.json would write for each value.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lua_json.h"
#include "lua_libs.h"
#include "soom/buf.h"
#include "soom/error.h"
#include "soom/json.h"

#define DOCUMENT_MAX_DEPTH 200

/* The text already written for a table at one place of the output (its
 * indent; for YAML also whether it starts on a dash's line). The generator
 * hands one table to every operation it fits (a $ref, a shared parameter,
 * a success response), so each is walked once per place and its bytes
 * copied after: a table's text depends on nothing else, and nothing
 * changes the tree while it is written. */
struct written {
    const void *table; /* NULL: a free slot */
    int place;
    size_t off, len;
};

struct memo {
    struct written *slots;
    size_t cap; /* a power of two, or 0 when the memo could not be made */
    size_t n;
};

struct writer {
    lua_State *L;
    struct soom_buf out;
    int array_mt; /* stack index of the JSON array metatable */
    const char *err;
    struct memo memo;
};

/* ---- tables already written ------------------------------------------------ */

static size_t memo_slot(const struct memo *m, const void *table, int place)
{
    uint64_t h = ((uint64_t)(uintptr_t)table >> 4) * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)(unsigned)place * 0xC2B2AE3D27D4EB4Full;
    size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
    while (m->slots[i].table != NULL && (m->slots[i].table != table || m->slots[i].place != place))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static const struct written *memo_find(const struct memo *m, const void *table, int place)
{
    if (m->cap == 0)
        return NULL;
    const struct written *e = &m->slots[memo_slot(m, table, place)];
    return e->table != NULL ? e : NULL;
}

/* Doubles the table at half full; on a failed allocation the memo stops
 * (the text is the same without it, only slower to make). */
static void memo_grow(struct memo *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    struct written *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) {
        free(m->slots);
        *m = (struct memo){0};
        return;
    }
    struct memo grown = {.slots = slots, .cap = cap, .n = m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].table != NULL)
            slots[memo_slot(&grown, m->slots[i].table, m->slots[i].place)] = m->slots[i];
    free(m->slots);
    *m = grown;
}

static void memo_put(struct memo *m, const void *table, int place, size_t off, size_t len)
{
    if (m->cap == 0 || (m->n + 1) * 2 > m->cap) {
        memo_grow(m);
        if (m->cap == 0)
            return;
    }
    struct written *e = &m->slots[memo_slot(m, table, place)];
    if (e->table == NULL)
        m->n++;
    *e = (struct written){.table = table, .place = place, .off = off, .len = len};
}

/* Appends the text written before for the table at `idx` in this place and
 * returns true, or returns false when there is none. */
static bool memo_copy(struct writer *w, int idx, int place)
{
    const struct written *e = memo_find(&w->memo, lua_topointer(w->L, idx), place);
    if (e == NULL)
        return false;
    struct soom_buf *b = &w->out;
    size_t off = e->off, len = e->len;
    soom_buf_reserve(b, len); /* may move the buffer: copy by offset */
    memcpy(b->data + b->len, b->data + off, len);
    b->len += len;
    b->data[b->len] = '\0';
    return true;
}

/* ---- what a table is ------------------------------------------------------ */

/* Pushes the ordered keys of a map (its metatable's `keys`) and returns
 * true, or pushes nothing and returns false for any other table. */
static bool push_map_keys(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return false;
    lua_getfield(L, -1, "keys");
    bool map = lua_istable(L, -1);
    lua_remove(L, -2);
    if (!map)
        lua_pop(L, 1);
    return map;
}

static bool is_array(struct writer *w, int idx)
{
    lua_State *L = w->L;
    if (lua_getmetatable(L, idx)) {
        bool marked = lua_rawequal(L, -1, w->array_mt);
        lua_pop(L, 1);
        if (marked)
            return true;
    }
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return false;
    lua_pop(L, 2);
    if (push_map_keys(L, idx)) {
        lua_pop(L, 1);
        return false;
    }
    size_t n = lua_objlen(L, idx);
    if (n == 0)
        return false;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        double k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        if (k < 1 || k > (double)n || k != floor(k)) {
            lua_pop(L, 1);
            return false;
        }
    }
    return true;
}

struct key {
    bool number;
    double n;
    const char *s; /* a string key, anchored in the table being written */
    size_t len;
};

static int key_cmp(const void *pa, const void *pb)
{
    const struct key *a = pa, *b = pb;
    if (a->number != b->number)
        return a->number ? -1 : 1;
    if (a->number)
        return a->n < b->n ? -1 : a->n > b->n;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* The keys of an object in writing order: a map's own list (at `ordered`
 * on the stack, walked as it is written), or the keys sorted here, in a
 * C array (the strings stay anchored in the table being written). */
struct keys {
    int ordered; /* stack index of a map's key list, 0 for a sorted object */
    size_t n;
    struct key *list;
    struct key small[16];
};

static void keys_open(lua_State *L, int idx, bool sorted, struct keys *k)
{
    k->list = k->small;
    k->n = 0;
    k->ordered = 0;
    if (!sorted && push_map_keys(L, idx)) {
        k->ordered = lua_gettop(L);
        k->n = lua_objlen(L, k->ordered);
        return;
    }
    size_t cap = sizeof k->small / sizeof k->small[0];
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (k->n == cap) {
            cap *= 2;
            struct key *grown = malloc(cap * sizeof *grown);
            memcpy(grown, k->list, k->n * sizeof *grown);
            if (k->list != k->small)
                free(k->list);
            k->list = grown;
        }
        struct key *e = &k->list[k->n++];
        e->number = lua_type(L, -1) == LUA_TNUMBER;
        e->n = e->number ? lua_tonumber(L, -1) : 0;
        e->s = ""; /* no other kind of key in a document: any place will do */
        e->len = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            e->s = lua_tolstring(L, -1, &e->len);
    }
    qsort(k->list, k->n, sizeof *k->list, key_cmp);
}

/* Pushes the i-th key (from 0) and its value and returns true, or pushes
 * nothing and returns false for a key of a map whose value is nil. */
static bool keys_push(lua_State *L, int idx, const struct keys *k, size_t i)
{
    if (k->ordered != 0) {
        lua_rawgeti(L, k->ordered, (int)i + 1);
        lua_pushvalue(L, -1);
        lua_rawget(L, idx);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
            return false;
        }
        return true;
    }
    const struct key *e = &k->list[i];
    if (e->number)
        lua_pushnumber(L, e->n);
    else
        lua_pushlstring(L, e->s, e->len);
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);
    return true;
}

static void keys_close(lua_State *L, struct keys *k)
{
    if (k->list != k->small)
        free(k->list);
    if (k->ordered != 0)
        lua_remove(L, k->ordered);
}

/* True when the object has a key to write (a map may list only nil ones). */
static bool keys_any(lua_State *L, int idx, const struct keys *k)
{
    for (size_t i = 0; i < k->n; i++) {
        if (keys_push(L, idx, k, i)) {
            lua_pop(L, 2);
            return true;
        }
    }
    return false;
}

/* ---- scalars -------------------------------------------------------------- */

static bool scalar(struct writer *w, int idx)
{
    lua_State *L = w->L;
    switch (lua_type(L, idx)) {
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            soom_buf_puts(&w->out, "null");
            return true;
        }
        break;
    case LUA_TBOOLEAN:
        soom_buf_puts(&w->out, lua_toboolean(L, idx) ? "true" : "false");
        return true;
    case LUA_TNUMBER:
        if (soom_json_write_number(&w->out, lua_tonumber(L, idx)) == SOOM_OK)
            return true;
        w->err = "the OpenAPI document holds a value JSON cannot carry: NaN or infinity";
        return false;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        soom_json_write_string(&w->out, s, n);
        return true;
    }
    default: break;
    }
    w->err = "the OpenAPI document holds a value that is not JSON";
    return false;
}

/* The key at `idx` as text (tostring's), pushed. */
static const char *key_text(lua_State *L, int idx, size_t *len)
{
    lua_pushvalue(L, idx);
    return lua_tolstring(L, -1, len);
}

static bool is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static void pad(struct soom_buf *b, int n)
{
    soom_buf_reserve(b, (size_t)n);
    memset(b->data + b->len, ' ', (size_t)n);
    b->len += (size_t)n;
    b->data[b->len] = '\0';
}

/* ---- JSON ----------------------------------------------------------------- */

static bool json_table(struct writer *w, int idx, int indent, int depth);

static bool json_value(struct writer *w, int idx, int indent, int depth)
{
    lua_State *L = w->L;
    if (lua_type(L, idx) != LUA_TTABLE)
        return scalar(w, idx);
    if (memo_copy(w, idx, indent))
        return true;
    size_t start = w->out.len;
    if (!json_table(w, idx, indent, depth))
        return false;
    memo_put(&w->memo, lua_topointer(L, idx), indent, start, w->out.len - start);
    return true;
}

static bool json_table(struct writer *w, int idx, int indent, int depth)
{
    lua_State *L = w->L;
    if (depth > DOCUMENT_MAX_DEPTH) {
        w->err = "the OpenAPI document nests too deeply (a cycle?)";
        return false;
    }
    luaL_checkstack(L, 8, "the OpenAPI document nests too deeply");
    struct soom_buf *b = &w->out;
    if (is_array(w, idx)) {
        if (lua_objlen(L, idx) == 0) {
            soom_buf_puts(b, "[]");
            return true;
        }
        soom_buf_putc(b, '[');
        for (int i = 1; lua_rawgeti(L, idx, i), !lua_isnil(L, -1); i++) {
            soom_buf_puts(b, i > 1 ? ",\n" : "\n");
            pad(b, indent + 2);
            bool ok = json_value(w, lua_gettop(L), indent + 2, depth + 1);
            lua_pop(L, 1);
            if (!ok)
                return false;
        }
        lua_pop(L, 1);
        soom_buf_putc(b, '\n');
        pad(b, indent);
        soom_buf_putc(b, ']');
        return true;
    }
    struct keys k;
    keys_open(L, idx, false, &k);
    if (!keys_any(L, idx, &k)) {
        keys_close(L, &k);
        soom_buf_puts(b, "{}");
        return true;
    }
    soom_buf_putc(b, '{');
    bool first = true, ok = true;
    for (size_t i = 0; i < k.n && ok; i++) {
        if (!keys_push(L, idx, &k, i))
            continue;
        soom_buf_puts(b, first ? "\n" : ",\n");
        first = false;
        pad(b, indent + 2);
        size_t len;
        const char *name = key_text(L, -2, &len);
        soom_json_write_string(b, name, len);
        lua_pop(L, 1);
        soom_buf_puts(b, ": ");
        ok = json_value(w, lua_gettop(L), indent + 2, depth + 1);
        lua_pop(L, 2);
    }
    keys_close(L, &k);
    if (!ok)
        return false;
    soom_buf_putc(b, '\n');
    pad(b, indent);
    soom_buf_putc(b, '}');
    return true;
}

/* Compact JSON with every object's keys sorted, a map's too: the identity
 * of a schema, to tell equal components from different ones. */
static bool canonical(struct writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    if (lua_type(L, idx) != LUA_TTABLE)
        return scalar(w, idx);
    if (depth > DOCUMENT_MAX_DEPTH) {
        w->err = "the OpenAPI document nests too deeply (a cycle?)";
        return false;
    }
    luaL_checkstack(L, 8, "the OpenAPI document nests too deeply");
    struct soom_buf *b = &w->out;
    bool ok = true;
    if (is_array(w, idx)) {
        soom_buf_putc(b, '[');
        for (int i = 1; ok && (lua_rawgeti(L, idx, i), !lua_isnil(L, -1)); i++) {
            if (i > 1)
                soom_buf_putc(b, ',');
            ok = canonical(w, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, ok ? 1 : 0);
        soom_buf_putc(b, ']');
        return ok;
    }
    struct keys k;
    keys_open(L, idx, true, &k);
    soom_buf_putc(b, '{');
    for (size_t i = 0; i < k.n && ok; i++) {
        keys_push(L, idx, &k, i);
        if (i > 0)
            soom_buf_putc(b, ',');
        size_t len;
        const char *name = key_text(L, -2, &len);
        soom_json_write_string(b, name, len);
        lua_pop(L, 1);
        soom_buf_putc(b, ':');
        ok = canonical(w, lua_gettop(L), depth + 1);
        lua_pop(L, 2);
    }
    keys_close(L, &k);
    soom_buf_putc(b, '}');
    return ok;
}

/* ---- YAML ----------------------------------------------------------------- */

static bool plain_char(unsigned char c, bool first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '/' || c == '$')
        return true;
    if (first)
        return false;
    return (c >= '0' && c <= '9') || strchr(" ./{}+,()'-", c) != NULL;
}

/* True for a string every YAML reader takes for the same string, written
 * plain: a letter, _, / or $ first, no character YAML gives a meaning to,
 * no trailing space, and not a word YAML 1.1 or 1.2 reads as a boolean or
 * null. */
static bool plain_ok(const char *s, size_t n)
{
    static const char *const RESERVED[] = {"true", "false", "yes", "no",  "on",
                                           "off",  "y",     "n",   "null"};
    if (n == 0 || s[n - 1] == ' ' || memchr(s, '\0', n) != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!plain_char((unsigned char)s[i], i == 0))
            return false;
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++)
        if (strlen(RESERVED[i]) == n && strncasecmp(RESERVED[i], s, n) == 0)
            return false;
    return true;
}

static void yaml_string(struct soom_buf *b, const char *s, size_t n)
{
    if (plain_ok(s, n))
        soom_buf_append(b, s, n);
    else
        soom_json_write_string(b, s, n);
}

static bool yaml_block(struct writer *w, int idx, int indent, bool first_inline, int depth);

/* "[]" or "{}" for an empty table, else NULL. */
static const char *empty_of(struct writer *w, int idx)
{
    lua_State *L = w->L;
    if (is_array(w, idx))
        return lua_objlen(L, idx) == 0 ? "[]" : NULL;
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return "{}";
    lua_pop(L, 2);
    return NULL;
}

/* Writes the value at `idx` after "key:" or "- ": inline when a scalar or
 * empty, else as a block on the following lines (a map in a list starts
 * on the dash's line). */
static bool yaml_after(struct writer *w, int idx, int indent, bool in_list, int depth)
{
    lua_State *L = w->L;
    struct soom_buf *b = &w->out;
    if (lua_type(L, idx) != LUA_TTABLE || is_null(L, idx)) {
        soom_buf_putc(b, ' ');
        bool ok;
        if (lua_type(L, idx) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, idx, &n);
            yaml_string(b, s, n);
            ok = true;
        } else {
            ok = scalar(w, idx);
        }
        soom_buf_putc(b, '\n');
        return ok;
    }
    const char *empty = empty_of(w, idx);
    if (empty != NULL) {
        soom_buf_putc(b, ' ');
        soom_buf_puts(b, empty);
        soom_buf_putc(b, '\n');
        return true;
    }
    if (in_list && !is_array(w, idx)) {
        soom_buf_putc(b, ' ');
        return yaml_block(w, idx, indent, true, depth + 1);
    }
    soom_buf_putc(b, '\n');
    return yaml_block(w, idx, indent, false, depth + 1);
}

static bool yaml_table(struct writer *w, int idx, int indent, bool first_inline, int depth);

static bool yaml_block(struct writer *w, int idx, int indent, bool first_inline, int depth)
{
    int place = indent * 2 + (first_inline ? 1 : 0);
    if (memo_copy(w, idx, place))
        return true;
    size_t start = w->out.len;
    if (!yaml_table(w, idx, indent, first_inline, depth))
        return false;
    memo_put(&w->memo, lua_topointer(w->L, idx), place, start, w->out.len - start);
    return true;
}

static bool yaml_table(struct writer *w, int idx, int indent, bool first_inline, int depth)
{
    lua_State *L = w->L;
    struct soom_buf *b = &w->out;
    if (depth > DOCUMENT_MAX_DEPTH) {
        w->err = "the OpenAPI document nests too deeply (a cycle?)";
        return false;
    }
    luaL_checkstack(L, 8, "the OpenAPI document nests too deeply");
    if (is_array(w, idx)) {
        for (int i = 1; lua_rawgeti(L, idx, i), !lua_isnil(L, -1); i++) {
            pad(b, indent);
            soom_buf_putc(b, '-');
            bool ok = yaml_after(w, lua_gettop(L), indent + 2, true, depth);
            lua_pop(L, 1);
            if (!ok)
                return false;
        }
        lua_pop(L, 1);
        return true;
    }
    struct keys k;
    keys_open(L, idx, false, &k);
    bool first = true, ok = true;
    for (size_t i = 0; i < k.n && ok; i++) {
        if (!keys_push(L, idx, &k, i))
            continue;
        if (!(first && first_inline))
            pad(b, indent);
        first = false;
        size_t len;
        const char *name = key_text(L, -2, &len);
        yaml_string(b, name, len);
        lua_pop(L, 1);
        soom_buf_putc(b, ':');
        ok = yaml_after(w, lua_gettop(L), indent + 2, false, depth);
        lua_pop(L, 2);
    }
    keys_close(L, &k);
    return ok;
}

/* ---- the library ------------------------------------------------------------ */

enum form { FORM_JSON, FORM_YAML, FORM_CANONICAL };

/* write(doc) -> text, or raises naming what the document holds */
static int write_document(lua_State *L, enum form form)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    struct writer w = {.L = L, .err = NULL};
    soom_lua_json_push_array_mt(L);
    w.array_mt = lua_gettop(L);
    soom_buf_init(&w.out);
    bool ok;
    switch (form) {
    case FORM_YAML: ok = lua_istable(L, 1) ? yaml_block(&w, 1, 0, false, 0) : scalar(&w, 1); break;
    case FORM_CANONICAL: ok = canonical(&w, 1, 0); break;
    default: ok = json_value(&w, 1, 0, 0) && (soom_buf_putc(&w.out, '\n'), true);
    }
    free(w.memo.slots);
    if (!ok) {
        soom_buf_cleanup(&w.out);
        return luaL_error(L, "%s", w.err ? w.err : "the OpenAPI document cannot be written");
    }
    lua_pushlstring(L, w.out.data ? w.out.data : "", w.out.len);
    soom_buf_cleanup(&w.out);
    return 1;
}

static int l_json(lua_State *L)
{
    return write_document(L, FORM_JSON);
}

static int l_yaml(lua_State *L)
{
    return write_document(L, FORM_YAML);
}

static int l_canonical(lua_State *L)
{
    return write_document(L, FORM_CANONICAL);
}

int luaopen_soom_core_document(lua_State *L)
{
    static const luaL_Reg FUNCS[] = {
        {"json", l_json},
        {"yaml", l_yaml},
        {"canonical", l_canonical},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, FUNCS);
    return 1;
}
