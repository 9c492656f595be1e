/*
 * cors: Cross-Origin Resource Sharing, as a native module.
 *
 *   modules = { cors = {
 *       origins = { "https://app.example.com" },   -- or "*"
 *       origin_patterns = { "^https://[a-z0-9-]+\\.example\\.com$" },
 *       methods = { "GET", "POST" },               -- default: the usual six
 *       headers = { "content-type" },              -- or "*": whatever is asked
 *       credentials = true, max_age = 600, expose_headers = { "X-Request-Id" },
 *   } }
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered 204 at the request phase, before routing, so it never reaches
 * a handler. Any other response (the handler's, an error, another
 * module's) gets its CORS headers at the response phase. An origin that is
 * not allowed gets no CORS header at all, preflight or not, which is how a
 * browser learns it is refused (django-cors-headers does the same). When
 * the answer depends on the origin, every response says Vary: Origin, so a
 * cache never hands one origin's answer to another. With credentials and
 * origins "*", the origin is echoed: the standard forbids "*" there;
 * without credentials, "*" goes on every response, Origin or not.
 *
 * Origins compare case-insensitively; patterns are POSIX extended regular
 * expressions matched against the whole origin. Settings are read once at
 * init; an unknown key or a bad value stops start-up with a message.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "soom/module.h"

#define MAX_LIST 64

static const struct soom_module_host *H;
static struct soom_module_handle *M;

static struct {
    bool any_origin;
    char *origins[MAX_LIST];
    size_t norigins;
    regex_t patterns[MAX_LIST];
    size_t npatterns;
    char *methods;    /* Access-Control-Allow-Methods */
    char *headers;    /* Access-Control-Allow-Headers, NULL: echo the request's */
    char *expose;     /* Access-Control-Expose-Headers, NULL: none */
    char max_age[24]; /* "" : not sent */
    bool credentials;
    bool vary; /* the answer depends on the origin */
} C;

static const char *DEFAULT_METHODS[] = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
static const char *DEFAULT_HEADERS[] = {"accept",           "accept-language", "authorization",
                                        "content-language", "content-type",    "x-request-id",
                                        "x-requested-with"};

/* Set at the request phase on a preflight, so the response phase leaves it. */
static char PREFLIGHT;

/* ---- matching origins ------------------------------------------------- */

static bool origin_allowed(const char *origin, size_t n)
{
    if (C.any_origin)
        return true;
    for (size_t i = 0; i < C.norigins; i++)
        if (strlen(C.origins[i]) == n && strncasecmp(C.origins[i], origin, n) == 0)
            return true;
    if (C.npatterns == 0 || n > 512)
        return false;
    char text[513];
    memcpy(text, origin, n);
    text[n] = '\0';
    for (size_t i = 0; i < C.npatterns; i++)
        if (regexec(&C.patterns[i], text, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* Adds `token` to the response's Vary unless it is there already. */
static void vary(struct soom_request *req, struct soom_response *resp, const char *token)
{
    const char *v = H->resp_header(resp, "Vary");
    if (v == NULL) {
        H->resp_add_header(resp, "Vary", token);
        return;
    }
    size_t tn = strlen(token);
    for (const char *p = v; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, " ,");
        if ((n == tn && strncasecmp(p, token, n) == 0) || (n == 1 && *p == '*'))
            return;
        p += n;
    }
    size_t len = strlen(v) + tn + 3;
    char *joined = H->alloc(req, len);
    snprintf(joined, len, "%s, %s", v, token);
    H->resp_set_header(resp, "Vary", joined);
}

/* Access-Control-Allow-Origin (and -Credentials) for an allowed origin. */
static void allow_origin(struct soom_request *req, struct soom_response *resp, const char *origin,
                         size_t n)
{
    if (C.any_origin && !C.credentials) {
        H->resp_set_header(resp, "Access-Control-Allow-Origin", "*");
    } else {
        char *o = H->alloc(req, n + 1);
        memcpy(o, origin, n);
        o[n] = '\0';
        H->resp_set_header(resp, "Access-Control-Allow-Origin", o);
    }
    if (C.credentials)
        H->resp_set_header(resp, "Access-Control-Allow-Credentials", "true");
}

/* ---- the two phases ------------------------------------------------------ */

static int preflight(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    const char *m = H->req_method(req);
    if (m[0] != 'O' || strcmp(m, "OPTIONS") != 0)
        return SOOM_MODULE_CONTINUE;
    size_t n, an;
    const char *origin = H->req_header(req, "Origin", &n);
    const char *asked = H->req_header(req, "Access-Control-Request-Method", &an);
    if (origin == NULL || asked == NULL)
        return SOOM_MODULE_CONTINUE; /* a plain OPTIONS: the app's to answer */
    H->set_context(req, M, &PREFLIGHT);
    H->resp_set_status(resp, 204);
    if (C.vary)
        vary(req, resp, "Origin");
    if (!origin_allowed(origin, n))
        return SOOM_MODULE_RESPOND;
    allow_origin(req, resp, origin, n);
    H->resp_set_header(resp, "Access-Control-Allow-Methods", C.methods);
    size_t hn;
    const char *want = H->req_header(req, "Access-Control-Request-Headers", &hn);
    if (C.headers != NULL) {
        H->resp_set_header(resp, "Access-Control-Allow-Headers", C.headers);
    } else if (want != NULL && hn > 0) {
        char *echo = H->alloc(req, hn + 1);
        memcpy(echo, want, hn);
        echo[hn] = '\0';
        H->resp_set_header(resp, "Access-Control-Allow-Headers", echo);
    }
    if (C.max_age[0] != '\0')
        H->resp_set_header(resp, "Access-Control-Max-Age", C.max_age);
    return SOOM_MODULE_RESPOND;
}

static int response(struct soom_request *req, struct soom_response *resp, void *ud)
{
    (void)ud;
    if (H->get_context(req, M) == &PREFLIGHT)
        return SOOM_MODULE_CONTINUE;
    if (C.vary)
        vary(req, resp, "Origin");
    size_t n;
    const char *origin = H->req_header(req, "Origin", &n);
    if (origin == NULL || !origin_allowed(origin, n))
        return SOOM_MODULE_CONTINUE;
    allow_origin(req, resp, origin, n);
    if (C.expose != NULL)
        H->resp_set_header(resp, "Access-Control-Expose-Headers", C.expose);
    return SOOM_MODULE_CONTINUE;
}

/* ---- settings ----------------------------------------------------------- */

static int fail(const char *fmt, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    H->set_error(M, msg);
    return SOOM_MODULE_ERROR;
}

/* A list of strings (or one string) at `key`, into out[]; -1 when it is
 * something else. */
static int read_list(const struct soom_json *settings, const char *key, const char **out,
                     size_t max)
{
    const struct soom_json *v = H->json_get(settings, key);
    if (v == NULL)
        return 0;
    if (H->json_type(v) == SOOM_MODULE_JSON_STRING) {
        out[0] = H->json_string(v, NULL);
        return 1;
    }
    size_t n = H->json_count(v);
    if (H->json_type(v) != SOOM_MODULE_JSON_ARRAY || n > max)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out[i] = H->json_string(H->json_at(v, i), NULL);
        if (out[i] == NULL)
            return -1;
    }
    return (int)n;
}

static char *join(const char **items, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 2;
    char *s = malloc(len), *p = s;
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? ", " : "", items[i]);
    return s;
}

static int read_origins(const struct soom_json *settings)
{
    const char *list[MAX_LIST];
    int n = read_list(settings, "origins", list, MAX_LIST);
    if (n < 0)
        return fail("cors: %s must be \"*\" or a list of origins", "origins");
    for (int i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0)
            C.any_origin = true;
        else
            C.origins[C.norigins++] = strdup(list[i]);
    }
    n = read_list(settings, "origin_patterns", list, MAX_LIST);
    if (n < 0)
        return fail("cors: %s must be a list of regular expressions", "origin_patterns");
    for (int i = 0; i < n; i++) {
        if (regcomp(&C.patterns[C.npatterns], list[i], REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0)
            return fail("cors: origin_patterns: \"%s\" is not an extended regular expression",
                        list[i]);
        C.npatterns++;
    }
    if (!C.any_origin && C.norigins == 0 && C.npatterns == 0)
        return fail("cors: %s: give origins (a list, or \"*\") or origin_patterns", "no origin");
    return SOOM_MODULE_OK;
}

static int read_lists(const struct soom_json *settings)
{
    const char *list[MAX_LIST];
    int n = read_list(settings, "methods", list, MAX_LIST);
    if (n < 0)
        return fail("cors: %s must be a list of method names", "methods");
    C.methods = n > 0 ? join(list, (size_t)n)
                      : join(DEFAULT_METHODS, sizeof DEFAULT_METHODS / sizeof DEFAULT_METHODS[0]);
    n = read_list(settings, "headers", list, MAX_LIST);
    if (n < 0)
        return fail("cors: %s must be \"*\" or a list of header names", "headers");
    if (n == 1 && strcmp(list[0], "*") == 0)
        C.headers = NULL;
    else
        C.headers = n > 0
                        ? join(list, (size_t)n)
                        : join(DEFAULT_HEADERS, sizeof DEFAULT_HEADERS / sizeof DEFAULT_HEADERS[0]);
    n = read_list(settings, "expose_headers", list, MAX_LIST);
    if (n < 0)
        return fail("cors: %s must be a list of header names", "expose_headers");
    C.expose = n > 0 ? join(list, (size_t)n) : NULL;
    return SOOM_MODULE_OK;
}

static int read_scalars(const struct soom_json *settings)
{
    const struct soom_json *v = H->json_get(settings, "credentials");
    if (v != NULL && H->json_type(v) != SOOM_MODULE_JSON_BOOL)
        return fail("cors: %s must be a boolean", "credentials");
    C.credentials = H->json_bool(v);
    v = H->json_get(settings, "max_age");
    double age = v != NULL ? H->json_number(v) : 86400;
    if ((v != NULL && H->json_type(v) != SOOM_MODULE_JSON_NUMBER) || age < 0 || age > 1e9 ||
        age != (double)(long)age)
        return fail("cors: %s must be a whole number of seconds", "max_age");
    if (age > 0)
        snprintf(C.max_age, sizeof C.max_age, "%ld", (long)age);
    return SOOM_MODULE_OK;
}

static int check_keys(const struct soom_json *settings)
{
    static const char *KNOWN[] = {"origins",     "origin_patterns", "methods",       "headers",
                                  "credentials", "max_age",         "expose_headers"};
    for (size_t i = 0; i < H->json_count(settings); i++) {
        const char *key = H->json_key(H->json_at(settings, i));
        bool known = false;
        for (size_t k = 0; k < sizeof KNOWN / sizeof KNOWN[0]; k++)
            known = known || strcmp(key, KNOWN[k]) == 0;
        if (!known)
            return fail("cors: unknown setting \"%s\"", key);
    }
    return SOOM_MODULE_OK;
}

/* With origins "*" and no credentials the answer is the same whatever the
 * request's Origin, so it goes on every response as constant headers, with
 * no response-phase call (a response without Origin ignores them, as the
 * Fetch standard says). */
static int constant_headers(void)
{
    int rc = H->add_response_header(M, "Access-Control-Allow-Origin", "*");
    if (rc == SOOM_MODULE_OK && C.expose != NULL)
        rc = H->add_response_header(M, "Access-Control-Expose-Headers", C.expose);
    return rc;
}

static int init(struct soom_module_handle *mod, const struct soom_module_host *host,
                const struct soom_json *settings)
{
    H = host, M = mod;
    int rc = check_keys(settings);
    if (rc == SOOM_MODULE_OK)
        rc = read_origins(settings);
    if (rc == SOOM_MODULE_OK)
        rc = read_lists(settings);
    if (rc == SOOM_MODULE_OK)
        rc = read_scalars(settings);
    if (rc != SOOM_MODULE_OK)
        return rc;
    C.vary = !C.any_origin || C.credentials;
    rc = H->add_middleware(mod, SOOM_PHASE_REQUEST, preflight, NULL);
    if (rc != SOOM_MODULE_OK)
        return rc;
    if (!C.vary) /* "*" without credentials: the same headers for every request */
        return constant_headers();
    return H->add_middleware(mod, SOOM_PHASE_RESPONSE, response, NULL);
}

static void stop(struct soom_module_handle *mod)
{
    (void)mod;
    for (size_t i = 0; i < C.norigins; i++)
        free(C.origins[i]);
    for (size_t i = 0; i < C.npatterns; i++)
        regfree(&C.patterns[i]);
    free(C.methods);
    free(C.headers);
    free(C.expose);
    memset(&C, 0, sizeof C);
}

static const struct soom_module MODULE = {
    .size = sizeof(struct soom_module),
    .abi_major = SOOM_MODULE_ABI_MAJOR,
    .abi_minor = 1, /* add_response_header */
    .name = "cors",
    .version = "1.0.0",
    .init = init,
    .shutdown = stop,
};

const struct soom_module *soom_module_v1(void)
{
    return &MODULE;
}
