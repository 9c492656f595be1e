/*
 * "pattern" and "patternProperties" with PCRE2, the only file that includes
 * it.
 *
 * Why PCRE2: it is the one mature regex engine packaged everywhere that has a
 * JIT (so a compiled pattern runs at native speed), UTF-8 mode, and - what an
 * API facing the internet needs - a match limit, so a pathological pattern or
 * input such as ^(a+)+$ against "aaaa...!" gives up after a bounded amount of
 * work instead of hanging a worker. POSIX regex has no limit and no
 * look-ahead; a hand-written ECMA-262 engine would be a project of its own.
 *
 * ECMA-262 semantics where they are cheap to get: $ matches only at the very
 * end (DOLLAR_ENDONLY), \uXXXX and \u{...} escapes (ALT_BSUX), "." stops at
 * CR and LF only, \d \w \b are ASCII as in ECMA-262. Differences are listed in
 * docs/VALIDATION.md.
 *
 * Each pattern is compiled once, with its own match context holding the
 * limits; both are read-only afterwards. Matching needs a scratch
 * pcre2_match_data: one per thread, created on first use and freed when the
 * thread exits, so validation allocates nothing per match and one validator
 * runs from many threads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "soom/json.h"
#include "validate_impl.h"

struct vregex {
    pcre2_code *code;
    pcre2_match_context *mctx;
    bool jit;
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}

static void md_init(void)
{
    pthread_key_create(&md_key, md_free);
}

static pcre2_match_data *thread_match_data(void)
{
    pthread_once(&md_once, md_init);
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (md == NULL) {
        /* One pair is enough: only the verdict is used, and a too-small
         * ovector still reports the match (rc == 0). */
        md = pcre2_match_data_create(1, NULL);
        if (md == NULL)
            abort();
        pthread_setspecific(md_key, md);
    }
    return md;
}

static void regex_free(void *p)
{
    struct vregex *re = p;
    pcre2_code_free(re->code);
    pcre2_match_context_free(re->mctx);
}

/* ECMA-262 spells Unicode properties with their long names
 * (\p{Letter}, \p{General_Category=Decimal_Number}, \p{Script=Greek});
 * PCRE2 wants the short ones. */
static const char *const GC_NAMES[][2] = {
    {"Letter", "L"},
    {"Cased_Letter", "L&"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

static const char *property_name(const char *name, size_t n)
{
    static const char *const PREFIXES[] = {
        "General_Category=", "gc=", "Script=", "sc=", "Script_Extensions=", "scx="};
    for (size_t i = 0; i < sizeof PREFIXES / sizeof PREFIXES[0]; i++) {
        size_t k = strlen(PREFIXES[i]);
        if (n > k && strncmp(name, PREFIXES[i], k) == 0) {
            name += k;
            n -= k;
            break;
        }
    }
    for (size_t i = 0; i < sizeof GC_NAMES / sizeof GC_NAMES[0]; i++)
        if (strlen(GC_NAMES[i][0]) == n && strncmp(GC_NAMES[i][0], name, n) == 0)
            return GC_NAMES[i][1];
    return NULL;
}

/* The pattern with ECMA-262 property names rewritten, in the arena. */
static char *translate(struct soom_arena *a, const char *p)
{
    size_t n = strlen(p);
    char *out = soom_arena_alloc(a, n * 2 + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\' || i + 1 >= n) {
            *w++ = p[i];
            continue;
        }
        char e = p[i + 1];
        const char *close =
            (e == 'p' || e == 'P') && p[i + 2] == '{' ? strchr(p + i + 3, '}') : NULL;
        const char *name = close ? property_name(p + i + 3, (size_t)(close - (p + i + 3))) : NULL;
        if (close != NULL && name == NULL) {
            /* a script name: PCRE2 takes it without the "Script=" prefix */
            const char *eq = memchr(p + i + 3, '=', (size_t)(close - (p + i + 3)));
            name = eq ? soom_arena_strndup(a, eq + 1, (size_t)(close - eq - 1)) : NULL;
        }
        if (name != NULL) {
            w += sprintf(w, "\\%c{%s}", e, name);
            i = (size_t)(close - p);
        } else {
            *w++ = p[i];
            *w++ = p[++i];
        }
    }
    *w = '\0';
    return out;
}

int vregex_compile(struct soom_arena *a, const char *pattern, struct vregex **out, char *err,
                   size_t errlen)
{
    pattern = translate(a, pattern);
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    pcre2_set_newline(cctx, PCRE2_NEWLINE_ANYCRLF);
    pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_ALT_BSUX);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX | PCRE2_NEVER_BACKSLASH_C,
                      &code, &offset, cctx);
    pcre2_compile_context_free(cctx);
    if (re == NULL) {
        char msg[160];
        pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
        snprintf(err, errlen, "invalid regular expression at offset %zu: %s", (size_t)offset, msg);
        return -1;
    }
    /* JIT is an optimisation: without it (unsupported CPU, no executable
     * memory) the interpreter runs the same pattern. */
    int jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    struct vregex *r = soom_arena_alloc(a, sizeof *r);
    r->code = re;
    r->jit = jit == 0;
    r->mctx = pcre2_match_context_create(NULL);
    soom_arena_defer(a, regex_free, r);
    *out = r;
    return 0;
}

void vregex_set_limit(struct vregex *re, uint32_t match_limit)
{
    pcre2_set_match_limit(re->mctx, match_limit);
    /* The depth limit bounds the interpreter's backtracking memory; the JIT
     * is bounded by its stack instead. */
    pcre2_set_depth_limit(re->mctx, match_limit < 10000 ? match_limit : 10000);
}

int vregex_match_utf8(const struct vregex *re, const char *s, size_t n, void **cache)
{
    /* the thread's block, remembered by the caller for the rest of a run */
    pcre2_match_data *md = cache != NULL && *cache != NULL ? *cache : thread_match_data();
    if (cache != NULL)
        *cache = md;
    /* The subject is known to be UTF-8, so the JIT runs directly, without
     * pcre2_match()'s own checks. */
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)s, n, 0, 0, md, re->mctx)
                     : pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, md, re->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return -1; /* match limit, JIT stack */
}

int vregex_match(const struct vregex *re, const char *s, size_t n, void **cache)
{
    if (!soom_json_utf8_valid(s, n))
        return -1;
    return vregex_match_utf8(re, s, n, cache);
}
