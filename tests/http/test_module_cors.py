"""End-to-end tests of the cors module (core/modules/cors/cors.c), loaded the
way an app loads it (`modules = { cors = {...} }`, no path: the module
shipped with soom), with the probe test module beside it to see what the
requests reached."""

import os
import shutil
import tempfile

from harness import Server, eq, main, write_app

BUILD = os.environ.get("SOOM_BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
PROBE = os.path.join(os.path.abspath(BUILD), "tests", "modules", "probe.so")

RESOURCE = '''
local soom = require "soom"
return soom.Resource {
    route = "/things",
    get = function() return { things = {} }, 200, { ["X-Total"] = "0" } end,
    post = function() return { made = true }, 201 end,
}
'''

ALLOWED = "https://app.example.com"


def cors_app(cors):
    root = tempfile.mkdtemp(prefix="soom-cors-")
    write_app(root, {
        "settings.lua": 'return { modules = { cors = %s, probe = { path = "%s", order = 1 } } }\n'
                        % (cors, PROBE),
        "resources/things.lua": RESOURCE,
    })
    return root


class Served:
    def __init__(self, cors):
        self.app = cors_app(cors)
        self.srv = Server(self.app).start()

    def __enter__(self):
        return self.srv

    def __exit__(self, *exc):
        self.srv.stop()
        shutil.rmtree(self.app)


def cors_headers(headers):
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


def preflight(srv, path, origin, method="POST", headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return srv.request("OPTIONS", path, headers=h)


def test_preflight_is_answered_before_any_handler():
    with Served('{ origins = { "%s" }, max_age = 600 }' % ALLOWED) as srv:
        status, headers, body = preflight(srv, "/probe/reach", ALLOWED, "GET", "content-type")
        eq((status, body), (204, b""))
        eq(cors_headers(headers), {
            "access-control-allow-origin": ALLOWED,
            "access-control-allow-methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
            "access-control-allow-headers": "accept, accept-language, authorization, "
                                            "content-language, content-type, x-request-id, "
                                            "x-requested-with",
            "access-control-max-age": "600",
        })
        eq(headers.get("vary"), "Origin")
        eq(headers.get("x-probe-trail"), "s", "no routing, no handler phase")
        eq(srv.json("GET", "/probe/stats")[2]["reached"], 0, "the route's handler never ran")
        # a plain OPTIONS (no Origin) is the app's: it reaches the route
        status, _, doc = srv.json("OPTIONS", "/probe/reach")
        eq((status, doc), (200, {"reached": True}))
        eq(srv.json("GET", "/probe/stats")[2]["reached"], 1)
        # a preflight for a Lua resource never enters Lua
        status, headers, _ = preflight(srv, "/things", ALLOWED)
        eq((status, headers.get("allow")), (204, None))
        srv.stop()
        lines = [l for l in srv.log_lines() if l.get("msg") == "request" and l["method"] == "OPTIONS"]
        assert lines and all(not l["lua"] for l in lines), lines


def test_wrong_origins_get_no_cors_headers():
    with Served('{ origins = { "%s" }, credentials = true }' % ALLOWED) as srv:
        for origin in ("https://evil.example.com", "http://app.example.com",
                       "https://app.example.com.evil.net", "null"):
            status, headers, _ = preflight(srv, "/things", origin)
            eq((status, cors_headers(headers)), (204, {}), origin)
            eq(headers.get("vary"), "Origin")
            status, headers, _ = srv.request("GET", "/things", headers={"Origin": origin})
            eq((status, cors_headers(headers)), (200, {}), origin)
            eq(headers.get("vary"), "Origin", "the answer depends on the origin")
        # no Origin at all: not a CORS request
        status, headers, _ = srv.request("GET", "/things")
        eq((cors_headers(headers), headers.get("vary")), ({}, "Origin"))


def test_actual_requests_with_credentials_and_exposed_headers():
    with Served('{ origins = { "%s" }, credentials = true, expose_headers = { "X-Total", '
                '"X-Request-Id" } }' % ALLOWED) as srv:
        status, headers, _ = srv.request("GET", "/things", headers={"Origin": ALLOWED})
        eq(status, 200)
        eq(cors_headers(headers), {
            "access-control-allow-origin": ALLOWED,
            "access-control-allow-credentials": "true",
            "access-control-expose-headers": "X-Total, X-Request-Id",
        })
        eq(headers.get("vary"), "Origin")
        # origins compare without regard to case
        status, headers, _ = srv.request("POST", "/things", body={},
                                         headers={"Origin": "HTTPS://App.Example.COM"})
        eq((status, headers.get("access-control-allow-origin")), (201, "HTTPS://App.Example.COM"))
        # errors carry the headers too, or the browser hides them from the page
        for path, expected in (("/nowhere", 404), ("/things?x", 200)):
            status, headers, _ = srv.request("DELETE" if expected == 404 else "GET", path,
                                             headers={"Origin": ALLOWED})
            eq(headers.get("access-control-allow-origin"), ALLOWED, path)
        status, headers, _ = srv.request("DELETE", "/things", headers={"Origin": ALLOWED})
        eq((status, headers.get("access-control-allow-origin")), (405, ALLOWED))


def test_any_origin():
    with Served('{ origins = "*" }') as srv:
        status, headers, _ = srv.request("GET", "/things", headers={"Origin": "https://x.org"})
        eq((status, headers.get("access-control-allow-origin")), (200, "*"))
        eq(headers.get("vary"), None, "the same answer for every origin")
        eq(headers.get("access-control-allow-credentials"), None)
        # the same answer for every request: "*" without an Origin too, and
        # once on a preflight, which sets it itself
        status, headers, _ = srv.request("GET", "/nowhere")
        eq((status, headers.get("access-control-allow-origin")), (404, "*"))
        raw = srv.raw(b"OPTIONS /things HTTP/1.1\r\nHost: x\r\nOrigin: https://x.org\r\n"
                      b"Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n")
        raw = raw.decode("latin-1").lower()
        assert raw.startswith("http/1.1 204"), raw
        eq(raw.count("access-control-allow-origin:"), 1, raw)
    with Served('{ origins = "*", expose_headers = { "X-Total" } }') as srv:
        status, headers, _ = srv.request("GET", "/things")
        eq((headers.get("access-control-allow-origin"),
            headers.get("access-control-expose-headers")), ("*", "X-Total"))
    # with credentials the origin is echoed: "*" is not allowed there
    with Served('{ origins = "*", credentials = true }') as srv:
        status, headers, _ = srv.request("GET", "/things", headers={"Origin": "https://x.org"})
        eq(headers.get("access-control-allow-origin"), "https://x.org")
        eq(headers.get("access-control-allow-credentials"), "true")
        eq(headers.get("vary"), "Origin")


def test_origin_patterns_methods_and_any_header():
    with Served('{ origin_patterns = { "^https://[a-z0-9-]+\\\\.example\\\\.com$" }, '
                'methods = { "GET", "POST" }, headers = "*", max_age = 0 }') as srv:
        status, headers, _ = preflight(srv, "/things", "https://eu-1.example.com", "POST",
                                       "x-custom, content-type")
        eq(status, 204)
        eq(cors_headers(headers), {
            "access-control-allow-origin": "https://eu-1.example.com",
            "access-control-allow-methods": "GET, POST",
            "access-control-allow-headers": "x-custom, content-type",
        })
        for origin in ("https://example.com", "https://a.example.com.evil.net",
                       "http://a.example.com"):
            status, headers, _ = preflight(srv, "/things", origin)
            eq(cors_headers(headers), {}, origin)


if __name__ == "__main__":
    main(globals())
