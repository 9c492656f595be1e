"""End-to-end tests of native modules: loading (and refusing) shared
objects listed under settings.modules, and what a module registers --
middleware at each phase, C routes, JSON Schema formats, Lua libraries --
working over real HTTP. The modules are tests/modules/*.c, built like any
module against soom/module.h alone."""

import json
import os
import re
import shutil
import tempfile

from harness import Server, eq, main, run_soom, start_failure, write_app

BUILD = os.environ.get("SOOM_BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
MODULES = os.path.join(os.path.abspath(BUILD), "tests", "modules")

RESOURCES = r'''
local soom = require "soom"
local probe = require "soom.ext.probe"

return {
    soom.Resource {
        route = "/hello",
        get = function()
            return { greeting = probe.greeting(), id = probe.request_id() }
        end,
    },
    soom.Resource {
        route = "/even",
        validation_schema = {
            type = "object", required = { "n" },
            properties = { n = { type = "string", format = "probe-even" },
                           day = { type = "string", format = "date" } },
        },
        post = function(_, req) return { n = req.body.n } end,
    },
}
'''


def module_path(name):
    return os.path.join(MODULES, name + ".so")


def make_app(modules_lua, resources=RESOURCES, extra_settings=""):
    root = tempfile.mkdtemp(prefix="soom-modules-")
    write_app(root, {
        "settings.lua": "return {\n%s\n    modules = %s,\n}\n" % (extra_settings, modules_lua),
        "resources/hello.lua": resources,
    })
    return root


def probe_app(**kw):
    return make_app('{ probe = { path = "%s", greeting = "salut" } }' % module_path("probe"), **kw)


def serve(app, env=None):
    return Server(app, env=env).start()


# ---- what a module registers ----------------------------------------------

def check_phases(srv):
    # a Lua resource: every phase ran, in order; the Lua library answers
    status, headers, doc = srv.json("GET", "/hello", headers={"X-Request-Id": "req-1"})
    eq(status, 200)
    eq(doc, {"greeting": "salut", "id": "req-1"})
    eq(headers.get("x-probe-trail"), "qrhs", "request, routed, handler, response")

    # no route: no routed or handler phase, but the response phase saw the 404
    status, headers, _ = srv.request("GET", "/nowhere")
    eq((status, headers.get("x-probe-trail")), (404, "qs"))

    # refused at each phase, without reaching what comes after
    status, headers, body = srv.request("GET", "/hello", headers={"X-Probe-Deny": "request"})
    eq((status, headers.get("x-probe-trail")), (403, "qs"))
    eq(json.loads(body)["status"], 403)
    status, headers, body = srv.request("GET", "/hello", headers={"X-Probe-Deny": "routed"})
    eq((status, headers.get("x-probe-trail")), (401, "qrs"))
    eq(headers.get("www-authenticate"), "Probe")
    eq(json.loads(body)["detail"], "denied at the routed phase")
    status, headers, _ = srv.request("GET", "/hello", headers={"X-Probe-Deny": "handler"})
    eq((status, headers.get("x-probe-trail")), (429, "qrhs"))

    # the response phase may change any response, an error included
    status, _, doc = srv.json("GET", "/nowhere", headers={"X-Probe-Rewrite": "1"})
    eq((status, doc), (200, {"rewritten": True, "status": 404}))

    # a constant header (add_response_header) goes on every response the
    # response phase sees, errors included, but not on the probes; a header
    # of its name set for the response wins, and is the only one sent
    for path, status in (("/hello", 200), ("/nowhere", 404), ("/probe/stats", 200)):
        got, headers, _ = srv.request("GET", path)
        eq((got, headers.get("x-probe-constant")), (status, "on every response"), path)
    for probe in ("/live", "/ready", "/metrics"):
        eq(srv.request("GET", probe)[1].get("x-probe-constant"), None, probe)
    raw = srv.raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Probe-Own-Constant: 1\r\n"
                  b"Connection: close\r\n\r\n").decode("latin-1").lower()
    eq(raw.count("x-probe-constant:"), 1, raw)
    assert "x-probe-constant: set by the response" in raw, raw


def check_route(srv):
    body = {"word": "w\u00e9", "items": [1, 2, 3]}
    status, headers, doc = srv.json("POST", "/probe/info/bob?q=x%20y", body=body,
                                    headers={"X-Thing": "thing", "X-Probe-User": "user-7",
                                             "X-Request-Id": "req-2"})
    eq(status, 200)
    eq(headers.get("x-probe-route"), "info")
    eq(headers.get("x-probe-trail"), "qrhs")
    expected = {"method": "POST", "path": "/probe/info/bob", "route": "/probe/info/{name}",
                "name": "bob", "q": "x y", "thing": "thing", "user": "user-7", "id": "req-2",
                "greeting": "salut", "word": "w\u00e9", "body_type": 6, "items": 3}
    for k, v in expected.items():
        eq(doc[k], v, k)
    assert doc["headers"] >= 6, doc
    status, _, doc = srv.json("GET", "/probe/info/ann")
    eq((status, doc["user"], doc["word"], doc["body_type"], doc["q"]), (200, None, None, 0, None))
    # a JSON route refuses another media type; a raw one takes anything
    status, _, _ = srv.request("POST", "/probe/info/x", body=b"a=1",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq(status, 415)
    status, _, doc = srv.json("POST", "/probe/raw", body=b"a=1&b=2",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    eq((status, doc), (201, {"bytes": 7, "parsed": False, "first": "a"}))
    # the router serves HEAD with GET and answers 405 for the rest
    status, _, _ = srv.request("HEAD", "/probe/stats")
    eq(status, 200)
    status, headers, _ = srv.request("DELETE", "/probe/stats")
    eq((status, headers.get("allow")), (405, "GET, HEAD"))


def check_format(srv):
    status, _, doc = srv.json("POST", "/even", body={"n": "1234"})
    eq((status, doc), (200, {"n": "1234"}))
    status, _, doc = srv.json("POST", "/even", body={"n": "1235"})
    eq(status, 422)
    eq(doc["errors"][0]["pointer"], "/n")
    eq(doc["errors"][0]["code"], "format")
    eq(doc["errors"][0]["detail"], "must be a valid probe-even")
    # a built-in format stays an annotation without format_assertion
    status, _, _ = srv.json("POST", "/even", body={"n": "2", "day": "not a date"})
    eq(status, 200)


def check_lifecycle(srv, states):
    before = srv.json("GET", "/probe/stats")[2]
    for _ in range(5):
        srv.request("GET", "/hello")
    after = srv.json("GET", "/probe/stats")[2]
    # done and the cleanups run after the response, so the counters see
    # the previous requests (this one's come later)
    assert after["done"] - before["done"] >= 5, (before, after)
    assert after["cleanups"] - before["cleanups"] >= 5, (before, after)
    if states is None:  # states are loaded as connections need them
        assert after["started"] >= 1, after
    else:
        eq(after["started"], states, "worker_start once per worker Lua state")
    eq(after["stopped"], 0)


def test_a_module_serves_under_each_model():
    app = probe_app()
    try:
        for model, env, states in (("async", {"SOOM_THREADS": "2"}, 2),
                                   ("threads", {"SOOM_THREADS": "2"}, 2),
                                   ("thread-per-connection", {}, None),
                                   ("prefork", {"SOOM_WORKERS": "1", "SOOM_THREADS": "2"}, 2)):
            env = dict(env, SOOM_SERVER=model)
            srv = serve(app, env)
            try:
                check_phases(srv)
                check_route(srv)
                check_format(srv)
                check_lifecycle(srv, states)
            finally:
                srv.stop()
            eq(srv.proc.returncode, 0, model + " exit code")
    finally:
        shutil.rmtree(app)


def test_format_assertion_still_governs_built_in_formats():
    app = probe_app(extra_settings="    format_assertion = true,")
    try:
        srv = serve(app)
        try:
            status, _, doc = srv.json("POST", "/even", body={"n": "2", "day": "not a date"})
            eq((status, doc["errors"][0]["pointer"]), (422, "/day"))
        finally:
            srv.stop()
    finally:
        shutil.rmtree(app)


def test_routes_and_the_openapi_document_list_module_routes():
    app = probe_app()
    try:
        code, out, err = run_soom("openapi", app)
        eq(code, 0, err)
        paths = json.loads(out)["paths"]
        info = paths["/probe/info/{name}"]
        eq(sorted(info), ["get", "post"])
        eq(info["get"]["tags"], ["probe"])
        eq(info["get"]["parameters"][0]["name"], "name")
        assert "application/json" in info["post"]["requestBody"]["content"], info
        assert "*/*" in paths["/probe/raw"]["post"]["requestBody"]["content"], paths["/probe/raw"]
        assert "/hello" in paths and "/wait/{ms}" not in paths
        code, out, err = run_soom("routes", app)
        eq(code, 0, err)
        lines = {tuple(l.split()) for l in out.splitlines()[1:]}
        for row in (("GET,POST", "/probe/info/{name}", "module", "probe"),
                    ("POST", "/probe/raw", "module", "probe"),
                    ("GET", "/probe/stats", "module", "probe"),
                    ("GET", "/hello", "resources/hello.lua")):
            assert row in lines, (row, out)
    finally:
        shutil.rmtree(app)


def test_a_route_clash_with_the_app_stops_start_up():
    clash = RESOURCES.replace('route = "/hello"', 'route = "/probe/stats"')
    app = probe_app(resources=clash)
    try:
        code, log = start_failure(app)
        assert code != 0, log
        assert "/probe/stats" in log and "module probe" in log, log
    finally:
        shutil.rmtree(app)


# ---- refusals -------------------------------------------------------------

def refused(name, path=None, settings=""):
    path = path or module_path(name)
    app = make_app('{ %s = { path = "%s" %s } }' % (name, path, settings),
                   resources='return require("soom").Resource { route = "/x", '
                             'get = function() return {} end }')
    try:
        code, log = start_failure(app)
        code2, out, err = run_soom("routes", app)
    finally:
        shutil.rmtree(app)
    assert code != 0, log
    eq(code2, 1, "soom routes refuses too")
    return log, err


def one_message(text, name, path, fragments):
    line = [l for l in text.splitlines() if "module %s (" % name in l]
    assert len(line) == 1, text
    for f in [path] + fragments:
        assert f in line[0], (f, line[0])


def test_refusals_name_the_module_the_file_and_both_versions():
    provides = "provides module ABI 1.1"
    cases = {
        "refuse_major": ["built for module ABI 2, not 1", "module ABI 2.1, version 9.9.9", provides],
        "refuse_minor": ["needs module ABI 1.2, newer than this soom's", "module ABI 1.2",
                         provides],
        "refuse_no_entry": ["no soom_module_v1() returning a descriptor", "module ABI unknown",
                            provides],
        "refuse_init": ["init failed: the sky is falling", "module ABI 1.1", provides],
        "refuse_name": ['holds the module "someone_else"', provides],
    }
    for name, fragments in cases.items():
        log, err = refused(name)
        one_message(log, name, module_path(name), fragments)
        one_message(err, name, module_path(name), fragments)


def test_a_missing_file_is_refused():
    missing = os.path.join(MODULES, "no_such_module.so")
    log, _ = refused("ghost", path=missing)
    one_message(log, "ghost", missing, ["cannot be opened", "module ABI unknown",
                                        "provides module ABI 1.1"])
    # without a path: the module shipped with soom of that name
    app = make_app("{ ghost = {} }")
    try:
        code, log = start_failure(app)
    finally:
        shutil.rmtree(app)
    assert code != 0
    assert re.search(r"module ghost \([^)]*/soom/modules/ghost\.so\): cannot be opened", log), log


def test_bad_module_settings_are_refused():
    for modules, fragment in (("5", "settings.modules must be a table"),
                              ('{ ["Bad-Name"] = {} }', '"Bad-Name" is not a module name'),
                              ("{ probe = 3 }", "settings.modules.probe must be a table"),
                              ('{ probe = { path = 7 } }', "settings.modules.probe.path"),
                              ('{ cors = { origins = { "https://a" }, bogus = 1 } }',
                               'cors: unknown setting "bogus"'),
                              ('{ cors = {} }', "cors: no origin")):
        app = make_app(modules)
        try:
            code, log = start_failure(app)
        finally:
            shutil.rmtree(app)
        assert code != 0, modules
        assert fragment in log, (fragment, log)


def test_the_environment_overrides_module_settings():
    app = make_app('{ probe = { path = "%s", greeting = "salut" }, '
                   'cors = { origins = { "https://a.example" }, credentials = false } }'
                   % module_path("probe"))
    try:
        env = {"SOOM_MODULES__PROBE__GREETING": "bonjour",
               "SOOM_MODULES__CORS__ORIGINS": "https://b.example, https://c.example",
               "SOOM_MODULES__CORS__CREDENTIALS": "true"}
        srv = Server(app, env=env).start()
        try:
            eq(srv.json("GET", "/hello")[2]["greeting"], "bonjour")
            for origin, allowed in (("https://a.example", None), ("https://c.example", "https://c.example")):
                _, headers, _ = srv.request("GET", "/hello", headers={"Origin": origin})
                eq(headers.get("access-control-allow-origin"), allowed, origin)
            eq(headers.get("access-control-allow-credentials"), "true")
        finally:
            srv.stop()
        assert "SOOM_MODULES__" not in srv.log(), "not reported as unknown settings"
        code, log = start_failure(app, env={"SOOM_MODULES__CORS__CREDENTIALS": "maybe"})
        assert code != 0
        assert 'SOOM_MODULES__CORS__CREDENTIALS must be a boolean, not "maybe"' in log, log
    finally:
        shutil.rmtree(app)


def test_modules_load_in_order_and_answer_in_reverse():
    # probe (order 2) runs after cors (order 1) at the request phase, so
    # cors answers the preflight first; at the response phase probe runs
    # first and cors last, so cors' headers are on the response probe saw
    app = make_app('{ probe = { path = "%s", order = 2 }, '
                   'cors = { origins = { "https://a.example" }, order = 1 } }'
                   % module_path("probe"))
    try:
        srv = serve(app)
        try:
            status, headers, _ = srv.request("OPTIONS", "/hello", headers={
                "Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
            eq((status, headers.get("x-probe-trail")), (204, "s"))
            eq(headers.get("access-control-allow-origin"), "https://a.example")
            status, headers, _ = srv.request("GET", "/hello", headers={"Origin": "https://a.example"})
            eq((status, headers.get("x-probe-trail")), (200, "qrhs"))
        finally:
            srv.stop()
    finally:
        shutil.rmtree(app)


if __name__ == "__main__":
    main(globals())
