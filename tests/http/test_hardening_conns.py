"""End-to-end tests of connection accounting and shutdown (issue 17, point
6): at max_connections an idle keep-alive connection makes room for a new
client, oldest first, while busy connections are never cut; on SIGTERM the
clients already in the listen queue, whose requests are sent, are served
before the server stops accepting."""

import signal
import socket
import sys
import tempfile
import time

from harness import Server, eq, in_thread, main, write_app

APP = {
    "app.lua": 'return { name = "connapp" }\n',
    "resources/all.lua": r'''
local soom = require "soom"
return {
    soom.Resource { route = "/hello", get = function() return { hello = true } end },
    soom.Resource {
        route = "/sleep",
        get = function(_, req)
            soom.sleep(tonumber(req.query.s) or 0.5)
            return { slept = true }
        end,
    },
}
''',
}

MODELS = ("threads", "thread-per-connection", "prefork", "async")
GET = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


def server(model, env):
    e = {"SOOM_SERVER": model, "SOOM_THREADS": "1", "SOOM_WORKERS": "1", "DATABASE_URL": ""}
    e.update(env)
    app = write_app(tempfile.mkdtemp(prefix="soom-conns-app-"), APP)
    return Server(app, env=e).start()


def stop(srv):
    """Stops the server: it exits 0, with nothing from the sanitizers
    (unless the test failed already: that failure is the one to see)."""
    srv.stop()
    if sys.exc_info()[0] is not None:
        return
    eq(srv.proc.returncode, 0, "exit code:\n" + srv.log()[-3000:])
    assert "Sanitizer" not in srv.log(), srv.log()[-5000:]


def connect(srv, timeout=5):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)


def read_response(s):
    """One response with a Content-Length body, or what came before the
    connection ended (b"" when it was closed with nothing sent)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return data
        if not chunk:
            return data
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return data


def closed_by_server(s):
    s.settimeout(2)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def check_idle_make_room(model):
    srv = server(model, {"SOOM_MAX_CONNECTIONS": "4"})
    try:
        idle = []
        for _ in range(4):  # four keep-alive connections, each served once, oldest first
            s = connect(srv)
            s.sendall(GET)
            assert read_response(s).startswith(b"HTTP/1.1 200"), model
            idle.append(s)
            time.sleep(0.05)
        # a new client is admitted at once, not after the idle ones time out
        new = connect(srv, timeout=3)
        t0 = time.time()
        new.sendall(GET)
        got = read_response(new)
        assert got.startswith(b"HTTP/1.1 200"), "%s: the new client got %r after %.1fs" % (
            model, got[:60], time.time() - t0)
        # the oldest idle connection made the room; the newest still serves
        assert closed_by_server(idle[0]), "%s: the oldest idle connection was closed" % model
        idle[3].settimeout(3)
        idle[3].sendall(GET)
        assert read_response(idle[3]).startswith(b"HTTP/1.1 200"), model
        for s in idle + [new]:
            s.close()
    finally:
        stop(srv)


def make_idle_test(model):
    return lambda: check_idle_make_room(model)


for _m in MODELS:
    globals()["test_idle_connections_make_room_%s" % _m.replace("-", "_")] = make_idle_test(_m)


def test_busy_connections_are_never_cut():
    # at the limit with every connection busy (requests in flight, or a
    # client still sending its headers), a new client waits its turn in the
    # listen queue and nobody is cut
    for model in ("threads", "prefork", "async"):
        srv = server(model, {"SOOM_MAX_CONNECTIONS": "3", "SOOM_THREADS": "3"})
        try:
            sleeps = [in_thread(srv.request, "GET", "/sleep?s=1.2") for _ in range(2)]
            time.sleep(0.2)
            partial = connect(srv)
            partial.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # headers not finished
            time.sleep(0.3)
            new = connect(srv, timeout=6)
            new.sendall(GET)
            got = read_response(new)
            assert got.startswith(b"HTTP/1.1 200"), (model, got[:60])
            for join in sleeps:
                eq(join(10)[0], 200, "%s: a busy request was not cut" % model)
            partial.settimeout(3)
            partial.sendall(b"\r\n")
            assert read_response(partial).startswith(b"HTTP/1.1 200"), "%s: the slow client" % model
            partial.close()
            new.close()
        finally:
            stop(srv)


def check_backlog_served_on_sigterm(model):
    threads = "2" if model == "threads" else "1"  # the threads model's sleeps hold their threads
    srv = server(model, {"SOOM_MAX_CONNECTIONS": "2", "SOOM_THREADS": threads})
    try:
        sleeps = [in_thread(srv.request, "GET", "/sleep?s=1") for _ in range(2)]
        time.sleep(0.3)
        # four clients whose requests are sent, queued behind the limit
        queued = []
        for _ in range(4):
            s = connect(srv, timeout=8)
            s.sendall(GET)
            queued.append(s)
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        answers = [read_response(s) for s in queued]
        for join in sleeps:
            eq(join(10)[0], 200, model)
        served = [a for a in answers if a.startswith(b"HTTP/1.1 200")]
        eq(len(served), 4, "%s: queued requests answered (%r)" % (model, [a[:20] for a in answers]))
        eq(srv.wait(20), 0, "%s: exit code" % model)
        for s in queued:
            s.close()
    finally:
        stop(srv)


def make_backlog_test(model):
    return lambda: check_backlog_served_on_sigterm(model)


# thread-per-connection has no listen queue at the limit: libmicrohttpd
# accepts every connection and closes the ones over it at once
for _m in ("threads", "prefork", "async"):
    globals()["test_listen_queue_served_on_sigterm_%s" % _m] = make_backlog_test(_m)


if __name__ == "__main__":
    main(globals())
