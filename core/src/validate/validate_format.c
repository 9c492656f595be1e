/*
 * The "format" checkers, asserted only when the validator was compiled with
 * format_assertion (otherwise "format" is an annotation, as 2020-12 says).
 *
 * Each checker is a small hand-written recogniser for the grammar its RFC
 * gives, working on (s, n) without allocating: date-time, date, time
 * (RFC 3339 section 5.6, leap seconds only at 23:59:60 UTC), duration
 * (RFC 3339 appendix A), email (RFC 5321 mailbox, dot-atom or quoted local
 * part), uuid (RFC 4122 text form), ipv4 (dotted quad, no leading zeros),
 * ipv6 (RFC 4291 section 2.2, no zone) and uri (RFC 3986 absolute URI).
 * Native modules add their own (soom_validate_add_format), always
 * asserted; the table of added formats is written at start-up only and
 * read without locks afterwards. Other format names are accepted as
 * annotations.
 */
#include <string.h>

#include "alloc.h"
#include "hex.h"
#include "soom/error.h"
#include "soom/validate.h"
#include "validate_impl.h"

static const struct {
    const char *name;
    enum vformat f;
} FORMATS[] = {
    {"date-time", VF_DATE_TIME}, {"date", VF_DATE},   {"time", VF_TIME},
    {"duration", VF_DURATION},   {"email", VF_EMAIL}, {"uuid", VF_UUID},
    {"ipv4", VF_IPV4},           {"ipv6", VF_IPV6},   {"uri", VF_URI},
};

#define ADDED_MAX 200 /* VF_ADDED + ADDED_MAX fits the node's byte */

static struct {
    char *name;
    soom_validate_format_fn fn;
    void *ud;
} added[ADDED_MAX];
static size_t nadded;

enum vformat vformat_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (strcmp(FORMATS[i].name, name) == 0)
            return FORMATS[i].f;
    for (size_t i = 0; i < nadded; i++)
        if (strcmp(added[i].name, name) == 0)
            return (enum vformat)(VF_ADDED + i);
    return VF_NONE;
}

const char *vformat_name(enum vformat f)
{
    if (f >= VF_ADDED && (size_t)(f - VF_ADDED) < nadded)
        return added[f - VF_ADDED].name;
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++)
        if (FORMATS[i].f == f)
            return FORMATS[i].name;
    return "";
}

bool vformat_always(enum vformat f)
{
    return f >= VF_ADDED;
}

int soom_validate_add_format(const char *name, soom_validate_format_fn fn, void *ud)
{
    if (name == NULL || *name == '\0' || fn == NULL || nadded == ADDED_MAX)
        return SOOM_EINVAL;
    if (vformat_lookup(name) != VF_NONE)
        return SOOM_ECONFLICT;
    added[nadded].name = xstrdup(name);
    added[nadded].fn = fn;
    added[nadded].ud = ud;
    nadded++;
    return SOOM_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads exactly `k` digits at s[*i] into *v. */
static bool digits(const char *s, size_t n, size_t *i, int k, int *v)
{
    if (*i + (size_t)k > n)
        return false;
    int x = 0;
    for (int j = 0; j < k; j++) {
        char c = s[*i + (size_t)j];
        if (!is_digit(c))
            return false;
        x = x * 10 + (c - '0');
    }
    *i += (size_t)k;
    *v = x;
    return true;
}

static bool expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

static bool parse_date(const char *s, size_t n, size_t *i)
{
    static const int DAYS[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (!digits(s, n, i, 4, &y) || !expect(s, n, i, '-') || !digits(s, n, i, 2, &m) ||
        !expect(s, n, i, '-') || !digits(s, n, i, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > DAYS[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static bool parse_time(const char *s, size_t n, size_t *i)
{
    int h, m, sec, oh = 0, om = 0;
    if (!digits(s, n, i, 2, &h) || !expect(s, n, i, ':') || !digits(s, n, i, 2, &m) ||
        !expect(s, n, i, ':') || !digits(s, n, i, 2, &sec))
        return false;
    if (h > 23 || m > 59 || sec > 60)
        return false;
    if (*i < n && s[*i] == '.') {
        size_t start = ++*i;
        while (*i < n && is_digit(s[*i]))
            (*i)++;
        if (*i == start)
            return false;
    }
    if (*i >= n)
        return false;
    int sign = 0;
    if (s[*i] == 'Z' || s[*i] == 'z') {
        (*i)++;
    } else if (s[*i] == '+' || s[*i] == '-') {
        sign = s[(*i)++] == '+' ? 1 : -1;
        if (!digits(s, n, i, 2, &oh) || !expect(s, n, i, ':') || !digits(s, n, i, 2, &om) ||
            oh > 23 || om > 59)
            return false;
    } else {
        return false;
    }
    if (sec == 60) {
        /* A leap second exists only at 23:59:60 UTC. */
        int utc = ((h * 60 + m - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return false;
    }
    return true;
}

static bool check_date_time(const char *s, size_t n)
{
    size_t i = 0;
    if (!parse_date(s, n, &i) || i >= n || (s[i] != 'T' && s[i] != 't'))
        return false;
    i++;
    return parse_time(s, n, &i) && i == n;
}

/* RFC 3339 appendix A: units in order, none skipped within a group. */
static bool check_duration(const char *s, size_t n)
{
    static const char DATE_UNITS[] = "YMD", TIME_UNITS[] = "HMS";
    size_t i = 0;
    if (!expect(s, n, &i, 'P') || i == n)
        return false;
    const char *units = DATE_UNITS;
    int next = 0, count = 0, last = -1;
    bool in_time = false;
    while (i < n) {
        if (s[i] == 'T') {
            if (in_time || i + 1 == n)
                return false;
            in_time = true, units = TIME_UNITS, next = 0, last = -1, i++;
            continue;
        }
        size_t start = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start || i == n)
            return false;
        if (s[i] == 'W')
            return !in_time && count == 0 && i + 1 == n;
        const char *u = strchr(units, s[i]);
        if (u == NULL || (int)(u - units) < next || (last >= 0 && (int)(u - units) != last + 1))
            return false;
        last = (int)(u - units);
        next = last + 1;
        count++;
        i++;
    }
    return !(in_time && last < 0);
}

static bool check_uuid(const char *s, size_t n)
{
    return hex_is_uuid(s, n);
}

static bool check_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && !expect(s, n, &i, '.'))
            return false;
        size_t start = i;
        int v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return false;
    }
    return i == n;
}

static bool check_ipv6(const char *s, size_t n)
{
    int groups = 0;
    bool gap = false;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
        if (i == n)
            return true;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && hex_value((unsigned char)s[i]) >= 0 && i - start < 4)
            i++;
        if (i < n && s[i] == '.') {
            /* an embedded IPv4 address ends the text and counts twice */
            if (!check_ipv4(s + start, n - start))
                return false;
            groups += 2;
            break;
        }
        if (i == start)
            return false;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < n && s[i] == ':') {
            if (gap)
                return false;
            gap = true;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false;
        }
    }
    return gap ? groups < 8 : groups == 8;
}

static bool email_atom_char(unsigned char c)
{
    return is_alpha((char)c) || is_digit((char)c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL ||
           c >= 0x80;
}

static bool check_hostname(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alpha(c) || is_digit(c) || c == '-' || (unsigned char)c >= 0x80) {
            if ((label == 0 && c == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

static bool check_email(const char *s, size_t n)
{
    const char *at = NULL;
    size_t i = 0;
    if (n > 0 && s[0] == '"') {
        for (i = 1; i < n && s[i] != '"'; i++)
            if (s[i] == '\\')
                i++;
        if (i >= n || i + 1 >= n || s[i + 1] != '@')
            return false;
        at = s + i + 1;
    } else {
        for (i = 0; i < n && s[i] != '@'; i++) {
            if (s[i] == '.' ? (i == 0 || s[i - 1] == '.') : !email_atom_char((unsigned char)s[i]))
                return false;
        }
        if (i == 0 || i == n || s[i - 1] == '.')
            return false;
        at = s + i;
    }
    const char *d = at + 1;
    size_t dn = n - (size_t)(d - s);
    if (dn >= 2 && d[0] == '[' && d[dn - 1] == ']') {
        if (dn > 7 && strncmp(d + 1, "IPv6:", 5) == 0)
            return check_ipv6(d + 6, dn - 7);
        return check_ipv4(d + 1, dn - 2);
    }
    return check_hostname(d, dn);
}

static bool uri_char(unsigned char c)
{
    return is_alpha((char)c) || is_digit((char)c) || strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL;
}

static bool check_uri(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alpha(s[0]))
        return false;
    while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    if (i == n || s[i] != ':')
        return false;
    size_t rest = ++i;
    for (; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || hex_value((unsigned char)s[i + 1]) < 0 ||
                hex_value((unsigned char)s[i + 2]) < 0)
                return false;
            i += 2;
        } else if (!uri_char((unsigned char)s[i])) {
            return false;
        }
    }
    if (n - rest >= 2 && s[rest] == '/' && s[rest + 1] == '/') {
        /* authority: a port, when present, is digits only */
        size_t a = rest + 2, e = a;
        while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#')
            e++;
        const char *host = memchr(s + a, '@', e - a);
        size_t h = host ? (size_t)(host - s) + 1 : a;
        if (h < e && s[h] == '[') {
            const char *close = memchr(s + h, ']', e - h);
            if (close == NULL)
                return false;
            h = (size_t)(close - s) + 1;
        } else {
            while (h < e && s[h] != ':')
                if (s[h++] == '[' || s[h - 1] == ']')
                    return false;
        }
        if (h < e && s[h] == ':')
            for (size_t k = h + 1; k < e; k++)
                if (!is_digit(s[k]))
                    return false;
    }
    return true;
}

static bool check_date(const char *s, size_t n)
{
    size_t i = 0;
    return parse_date(s, n, &i) && i == n;
}

static bool check_time(const char *s, size_t n)
{
    size_t i = 0;
    return parse_time(s, n, &i) && i == n;
}

bool vformat_check(enum vformat f, const char *s, size_t n)
{
    switch (f) {
    case VF_DATE_TIME: return check_date_time(s, n);
    case VF_DATE: return check_date(s, n);
    case VF_TIME: return check_time(s, n);
    case VF_DURATION: return check_duration(s, n);
    case VF_EMAIL: return check_email(s, n);
    case VF_UUID: return check_uuid(s, n);
    case VF_IPV4: return check_ipv4(s, n);
    case VF_IPV6: return check_ipv6(s, n);
    case VF_URI: return check_uri(s, n);
    default:
        if (f >= VF_ADDED && (size_t)(f - VF_ADDED) < nadded)
            return added[f - VF_ADDED].fn(s, n, added[f - VF_ADDED].ud);
        return true;
    }
}
