"""Idle keep-alive connections: what thousands of them cost the server in
memory and CPU while they wait, and the request-head limit that sizes the
memory each one holds (max_header)."""
import os
import resource
import selectors
import socket
import tempfile
import time

from harness import Server, eq, main, write_app

APP = {
    "app.lua": 'return { name = "idle" }\n',
    "resources/echo.lua": r'''
local soom = require "soom"

return {
    soom.Resource {
        route = "/echo",
        get = function(_, req) return { query = req.query } end,
    },
}
''',
}

IDLE = 8000


def start(env=None):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < IDLE + 1000:
        raise AssertionError("the descriptor limit (%d) is below %d" % (hard, IDLE + 1000))
    e = {"SOOM_SERVER": "async", "SOOM_THREADS": "2", "DATABASE_URL": "",
         "SOOM_MAX_CONNECTIONS": str(IDLE + 500), "SOOM_ACCESS_LOG": "false"}
    e.update(env or {})
    return Server(write_app(tempfile.mkdtemp(prefix="soom-idle-"), APP), env=e).start()


def open_idle(port, n):
    """n connections that each made one keep-alive request, then wait."""
    req = b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
    sel = selectors.DefaultSelector()
    socks, pending = [], {}

    def drain(until):
        deadline = time.time() + 60
        while len(pending) > until:
            assert time.time() < deadline, "%d connections never answered" % len(pending)
            for key, events in sel.select(1.0):
                s = pending[key.fd]
                if events & selectors.EVENT_WRITE:
                    s.send(req)
                    sel.modify(s, selectors.EVENT_READ)
                else:
                    data = s.recv(65536)
                    assert data.startswith(b"HTTP/1.1 200"), data[:100]
                    sel.unregister(s)
                    del pending[key.fd]

    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        pending[s.fileno()] = s
        sel.register(s, selectors.EVENT_WRITE)
        if len(pending) >= 400:  # the listen backlog
            drain(200)
    drain(0)
    sel.close()
    return socks


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_ns(pid):
    """CPU time of all the process's threads, in nanoseconds."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


def idle_memory_kib(env=None):
    """What an idle keep-alive connection adds to the server's memory."""
    srv = start(env)
    try:
        eq(srv.request("GET", "/echo")[0], 200)
        before = rss_kb(srv.proc.pid)
        socks = open_idle(srv.port, IDLE)
        time.sleep(0.5)
        per = (rss_kb(srv.proc.pid) - before) / len(socks)
        eq(srv.request("GET", "/echo")[0], 200)
        for s in socks:
            s.close()
        return per
    finally:
        srv.stop()


def test_idle_connection_memory():
    """An idle keep-alive connection holds libmicrohttpd's memory for a
    request head, max_header bytes, written over by each request (README.md:
    ~17 KiB by default, ~9 KiB at 8192): halving max_header about halves
    what every idle connection holds."""
    full = idle_memory_kib()
    half = idle_memory_kib({"SOOM_MAX_HEADER": "8192"})
    print("  %.1f KiB per idle connection, %.1f at max_header = 8192" % (full, half))
    assert 1.6 < full / half < 2.1, "%.1f KiB against %.1f" % (full, half)


def cpu_ms_over(pid, seconds):
    t0 = cpu_ns(pid)
    time.sleep(seconds)
    return (cpu_ns(pid) - t0) / 1e6


def test_idle_connections_cost_little_cpu():
    """Waiting connections cost the server next to no CPU: nothing walks
    all of them ten times a second, nor lists their descriptors every
    second (8,000 of them took ~80 ms more of CPU in 6 s that way; the
    bound leaves room for a sanitizer build on a loaded machine)."""
    srv = start()
    try:
        eq(srv.request("GET", "/echo")[0], 200)
        alone = cpu_ms_over(srv.proc.pid, 6)
        socks = open_idle(srv.port, IDLE)
        time.sleep(1.5)  # the first count of the descriptors
        spent = cpu_ms_over(srv.proc.pid, 6)
        print("  %.1f ms of CPU in 6 s with %d idle connections, %.1f without" % (
            spent, len(socks), alone))
        assert spent - alone < 40, "%.1f ms of CPU in 6 s, %.1f without" % (spent, alone)
        for s in socks:
            s.close()
    finally:
        srv.stop()


def request_line(nbytes):
    """GET /echo?<parameters> of about nbytes."""
    params, size, i = [], 0, 0
    while size < nbytes:
        p = b"p%d=%d" % (i, i)
        params.append(p)
        size += len(p) + 1
        i += 1
    return b"GET /echo?" + b"&".join(params) + b" HTTP/1.1\r\nHost: x\r\n\r\n", i


def with_cookie(nbytes):
    return b"GET /echo HTTP/1.1\r\nHost: x\r\nCookie: " + b"a" * nbytes + b"\r\n\r\n"


def status(reply):
    return int(reply[9:12]) if reply.startswith(b"HTTP/1.1 ") else None


def test_max_header_limits():
    """What max_header admits (README.md): a line of up to ~16,000 bytes and
    one header line of up to ~8,000 by default (a 4 KB cookie, a JWT of
    several KB), half of that at 8192; what is over it gets a 431 or a
    414 at once."""
    for max_header, line, header in ((None, 15500, 7500), ("8192", 7500, 3500)):
        srv = start({"SOOM_MAX_HEADER": max_header} if max_header else None)
        try:
            req, n = request_line(line)
            reply = srv.raw(req)
            eq(status(reply), 200, "a line of %d bytes" % line)
            assert b'"p%d"' % (n - 1) in reply
            eq(status(srv.raw(with_cookie(header))), 200, "a header of %d bytes" % header)
            t0 = time.time()
            eq(status(srv.raw(with_cookie(header + 1000))), 431)
            req, _ = request_line(line * 2)
            assert status(srv.raw(req)) in (414, 431)
            assert time.time() - t0 < 2, "refused at once"
            eq(srv.request("GET", "/echo")[0], 200)
        finally:
            srv.stop()


main(globals())
