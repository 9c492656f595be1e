"""End-to-end tests of what a Lua handler cannot do to its worker or its
process (issue 17, point 1): a runaway loop is stopped under every server
model, with handler_timeout overridable per resource; a state that goes
over lua_memory_limit answers 500 and is replaced, with the process's
memory bounded; errors raised outside every protected call (a finalizer
that raises while the core works on the state) are a logged 500, never a
panic; and the failures that used to lose their diagnostics (an error
object whose __tostring raises, a body that is a function, a header with
an invalid name) are logged 500s."""

import os
import sys
import tempfile
import time

from harness import Server, eq, in_thread, main, write_app

APP = {
    "app.lua": 'return { name = "hardenapp" }\n',
    "resources/all.lua": r'''
local soom = require "soom"

return {
    soom.Resource {
        route = "/hello",
        get = function() return { hello = true } end,
    },
    -- runaway loops: one the JIT compiles into a trace that never leaves
    -- (stopped the hard way), one that stays in the interpreter (the hook)
    soom.Resource {
        route = "/spin",
        get = function(_, req)
            if req.query.kind == "tight" then
                local n = 0
                while true do n = n + 1 end
            elseif req.query.kind == "empty" then
                while true do end
            end
            local t, i = {}, 0
            while true do i = i + 1; t[i % 100] = { i } end
        end,
    },
    -- its own limit, far below the settings' one
    soom.Resource {
        route = "/spin-short",
        handler_timeout = 0.3,
        get = function()
            local t, i = {}, 0
            while true do i = i + 1; t[i % 100] = { i } end
        end,
    },
    -- busy for about a second, which its own limit allows
    soom.Resource {
        route = "/busy-long",
        handler_timeout = 5,
        get = function()
            local t0, n = os.clock(), 0
            while os.clock() - t0 < 1 do n = n + 1 end
            return { busy = true }
        end,
    },
    -- allocates `mb` megabytes that stay reachable, then answers with how
    -- much it held: bounded, so that a server without a memory limit
    -- answers 200 instead of taking the machine
    soom.Resource {
        route = "/hog",
        get = function(_, req)
            local want = (tonumber(req.query.mb) or 300) * 1024 * 1024
            local kind = req.query.kind
            local t, held = {}, 0
            if kind == "jit" then
                -- a loop the JIT compiles: tables of 16 numbers
                local n = math.floor(want / 200)
                for i = 1, n do t[i] = { i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i } end
                held = n * 200
            else
                local i = 0
                while held < want do
                    i = i + 1
                    t[i] = string.rep("x", 65536) .. i
                    held = held + 65536
                end
            end
            return { held_mb = math.floor(held / 1048576), n = #t }
        end,
    },
    soom.Resource {
        route = "/sleep",
        get = function(_, req)
            soom.sleep(tonumber(req.query.s) or 0.5)
            return { slept = true }
        end,
    },
    -- an error object whose __tostring raises
    soom.Resource {
        route = "/bad-error",
        get = function()
            error(setmetatable({}, { __tostring = function() error("a broken __tostring") end }))
        end,
    },
    -- bodies that are neither a table, a string nor nil
    soom.Resource {
        route = "/bad-body",
        get = function(_, req)
            local kind = req.query.kind
            if kind == "function" then return function() end end
            if kind == "boolean" then return true end
            if kind == "coroutine" then return coroutine.create(function() end) end
            return 42
        end,
    },
    -- headers that HTTP cannot carry
    soom.Resource {
        route = "/bad-header",
        get = function(_, req)
            local kind = req.query.kind
            if kind == "space" then return {}, 200, { ["Bad Name"] = "x" } end
            if kind == "paren" then return {}, 200, { ["X-(y)"] = "x" } end
            if kind == "empty" then return {}, 200, { [""] = "x" } end
            if kind == "nul" then return {}, 200, { ["X-Nul"] = "a\0b" } end
            if kind == "table" then return {}, 200, { ["X-T"] = {} } end
            return {}, 200, { ["X-Good"] = "fine", ["X-Tab"] = "a\tb" }
        end,
    },
    -- leaves garbage whose finalizers raise, collected whenever the GC
    -- steps next: inside a handler (an ordinary error) or while the core
    -- works on the state outside any protected call
    soom.Resource {
        route = "/bad-gc",
        get = function()
            for _ = 1, 20000 do
                local p = newproxy(true)
                getmetatable(p).__gc = function() error("a finalizer that raises") end
            end
            local rows = {}
            for i = 1, 200 do rows[i] = { n = i, s = "row " .. i } end
            return { rows = rows }
        end,
    },
}
''',
}

MODELS = ("threads", "thread-per-connection", "prefork", "async")


def app_dir():
    return write_app(tempfile.mkdtemp(prefix="soom-harden-app-"), APP)


def server(model="async", env=None):
    e = {"SOOM_SERVER": model, "SOOM_THREADS": "2", "SOOM_WORKERS": "1", "DATABASE_URL": ""}
    e.update(env or {})
    return Server(app_dir(), env=e).start()


def stop(srv):
    """Stops the server: it exits 0, with nothing from the sanitizers
    (unless the test failed already: that failure is the one to see)."""
    srv.stop()
    if sys.exc_info()[0] is not None:
        return
    eq(srv.proc.returncode, 0, "exit code:\n" + srv.log()[-3000:])
    assert "Sanitizer" not in srv.log(), srv.log()[-5000:]


def errors_logged(srv, request_id, word=""):
    return [l for l in srv.log_lines()
            if l.get("level") == "error" and l.get("request_id") == request_id
            and word in l.get("msg", "")]


def logged_500(srv, path, word=""):
    """GETs `path`: a 500 problem whose request id names an error line."""
    status, headers, body = srv.request("GET", path)
    eq(status, 500, path + ": " + body.decode(errors="replace"))
    eq(headers["content-type"], "application/problem+json", path)
    rid = headers["x-request-id"]
    deadline = time.time() + 2
    while not errors_logged(srv, rid, word) and time.time() < deadline:
        time.sleep(0.05)  # access and error lines are flushed by the reaper
    lines = errors_logged(srv, rid, word)
    assert lines, "%s: no error line for request %s:\n%s" % (path, rid, srv.log()[-3000:])
    return lines[0]


def check_runaway(model):
    srv = server(model, {"SOOM_HANDLER_TIMEOUT": "0.5"})
    try:
        for _ in range(4):
            eq(srv.request("GET", "/hello")[0], 200)
        for kind, want in (("empty", 500), ("tight", 500), ("interp", 503)):
            spin = in_thread(srv.request, "GET", "/spin?kind=" + kind)
            time.sleep(0.1)
            # the service answers meanwhile, on the other thread
            for _ in range(3):
                eq(srv.request("GET", "/hello")[0], 200, "%s: served during a runaway" % model)
            status, headers, _ = spin(15)
            eq(status, want, "%s %s" % (model, kind))
            eq(headers["content-type"], "application/problem+json")
            rid = headers["x-request-id"]
            time.sleep(0.3)
            lines = errors_logged(srv, rid, "handler_timeout")
            assert lines, "%s %s: the stop is logged with the request id" % (model, kind)
            eq(lines[0].get("route"), "/spin", "the stop names the route")
            # the worker that ran the loop serves again, every one of them
            for _ in range(10):
                eq(srv.request("GET", "/hello")[0], 200)
        eq(srv.proc.poll(), None, "%s: the same process" % model)
    finally:
        stop(srv)


def make_runaway_test(model):
    return lambda: check_runaway(model)


for _m in MODELS:
    globals()["test_runaway_stopped_%s" % _m.replace("-", "_")] = make_runaway_test(_m)


def test_handler_timeout_per_resource():
    # the resource's own limit, below the settings' one, stops it
    srv = server("async", {"SOOM_HANDLER_TIMEOUT": "60"})
    try:
        t0 = time.time()
        status, headers, _ = srv.request("GET", "/spin-short")
        eq(status, 503)
        assert time.time() - t0 < 10, "stopped by the resource's 0.3 s, not the settings' 60 s"
        lines = errors_logged(srv, headers["x-request-id"], "handler_timeout")
        eq(lines[0]["route"], "/spin-short")
    finally:
        stop(srv)
    # ... and one above the settings' lets its resource run
    srv = server("threads", {"SOOM_HANDLER_TIMEOUT": "0.3"})
    try:
        status, _, body = srv.request("GET", "/busy-long")
        eq((status, body), (200, b'{"busy":true}'))
        eq(srv.request("GET", "/spin")[0], 503, "the others keep the settings' limit")
    finally:
        stop(srv)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_memory_limit_replaces_the_state():
    for model in ("async", "threads"):
        srv = server(model, {"SOOM_LUA_MEMORY_LIMIT": str(64 << 20), "SOOM_THREADS": "1"})
        try:
            eq(srv.request("GET", "/hog?mb=8")[0], 200, "under the limit")
            base = rss_kb(srv.proc.pid)
            for kind in ("interp", "jit", "interp", "jit"):
                line = logged_500(srv, "/hog?mb=300&kind=" + kind, "lua_memory_limit")
                eq(line.get("route"), "/hog")
                # the state was replaced: the next request is served
                eq(srv.request("GET", "/hello")[0], 200)
                eq(srv.request("GET", "/hog?mb=8")[0], 200)
            grown = rss_kb(srv.proc.pid) - base
            # four hogs of 300 MB each, and every replaced state gave its
            # memory back: the process holds less than one limit more
            assert grown < 48 * 1024, "%s: RSS grew by %d kB" % (model, grown)
            eq(srv.proc.poll(), None, "the same process")
        finally:
            stop(srv)


def test_requests_waiting_on_a_replaced_state():
    # under the async server requests interleave on one state: one that was
    # waiting when another took the state over its limit is answered 503
    # (retry), and the last of them closes the old state
    srv = server("async", {"SOOM_LUA_MEMORY_LIMIT": str(64 << 20), "SOOM_THREADS": "1"})
    try:
        base = rss_kb(srv.proc.pid)
        waiting = [in_thread(srv.request, "GET", "/sleep?s=0.8") for _ in range(3)]
        time.sleep(0.3)
        logged_500(srv, "/hog?mb=300", "lua_memory_limit")
        for join in waiting:
            status, headers, _ = join(10)
            eq((status, headers.get("retry-after")), (503, "1"))
            eq(errors_logged(srv, headers["x-request-id"], "replaced")[0]["route"], "/sleep")
        eq(srv.request("GET", "/sleep?s=0.01")[0], 200, "a fresh state serves")
        assert rss_kb(srv.proc.pid) - base < 48 * 1024, "the old state was closed"
    finally:
        stop(srv)


def test_error_whose_tostring_raises_is_logged():
    for model in ("async", "threads"):
        srv = server(model)
        try:
            line = logged_500(srv, "/bad-error", "error in Lua code")
            assert "__tostring" in line.get("traceback", ""), line
            eq(srv.request("GET", "/hello")[0], 200)
        finally:
            stop(srv)


def test_bodies_of_no_http_type_are_logged_500s():
    srv = server()
    try:
        for kind in ("function", "boolean", "coroutine", "number"):
            line = logged_500(srv, "/bad-body?kind=" + kind, "body")
            eq(line.get("route"), "/bad-body")
        eq(srv.request("GET", "/hello")[0], 200)
    finally:
        stop(srv)


def test_invalid_headers_are_logged_500s():
    srv = server()
    try:
        for kind in ("space", "paren", "empty", "nul", "table"):
            logged_500(srv, "/bad-header?kind=" + kind, "header")
        status, headers, _ = srv.request("GET", "/bad-header?kind=good")
        eq((status, headers.get("x-good"), headers.get("x-tab")), (200, "fine", "a\tb"))
    finally:
        stop(srv)


def test_finalizers_that_raise_never_take_the_process():
    for model in ("async", "threads"):
        srv = server(model, {"SOOM_THREADS": "1"})
        try:
            statuses = set()
            for _ in range(40):
                statuses.add(srv.request("GET", "/bad-gc")[0])
                assert srv.proc.poll() is None, "%s: the process died:\n%s" % (
                    model, srv.log()[-2000:])
            assert statuses <= {200, 500}, statuses
            eq(srv.request("GET", "/hello")[0], 200)
            assert "PANIC" not in srv.log()
        finally:
            stop(srv)


if __name__ == "__main__":
    os.environ.setdefault("SOOM_IDLE_TIMEOUT", "30")
    main(globals())
