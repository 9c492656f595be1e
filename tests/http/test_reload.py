"""`soom run --reload`: a change to a handler's file reaches the next
requests of a client that keeps one keep-alive connection open, without a
failed request, under every server model; a syntax error keeps the code
that was serving; a request waiting when the reload happens finishes on the
code it started on; a change of the routes (which the core compiled at
start-up) restarts the process, the same pid, to serve them."""

import os
import threading
import time

from harness import Server, eq, main, write_app
from pgdb import temp_dir

HELLO = r'''
local soom = require "soom"
local version = require "version"
return soom.Resource {
    route = "/hello",
    get = function() return { version = version } end,
}
'''

SLOW = r'''
local soom = require "soom"
return soom.Resource {
    route = "/slow",
    get = function()
        local before = require("version")
        soom.sleep(1.5)
        return { version = before, after = require("version") }
    end,
}
'''


def new_app(name):
    root = temp_dir("soom-reload-")
    return write_app(os.path.join(root, name), {
        "app.lua": 'return { name = "%s" }\n' % name,
        "resources/hello.lua": HELLO,
        "resources/slow.lua": SLOW,
        "version.lua": "return 1\n",
    })


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Client(threading.Thread):
    """Sends GET /hello over one keep-alive connection until stopped,
    recording every answer; any failure is kept, not raised."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.conn = srv.connection()
        self.answers = []
        self.errors = []
        self.sockets = set()  # the client ports used: one, if the connection stayed
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                status, _, body = self.srv.json("GET", "/hello", conn=self.conn)
                self.answers.append((status, body and body.get("version")))
                self.sockets.add(self.conn.sock.getsockname() if self.conn.sock else None)
            except Exception as e:  # a dropped connection or a bad answer: the test fails
                self.errors.append(repr(e))
                return
            time.sleep(0.005)

    def wait_for(self, version, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.errors:
                raise AssertionError("a request failed: %s" % self.errors)
            if self.answers and self.answers[-1] == (200, version):
                return
            time.sleep(0.02)
        raise AssertionError("no answer with version %r; last %r" % (version, self.answers[-3:]))

    def more(self, n=20):
        """Waits for n more answers."""
        target = len(self.answers) + n
        deadline = time.time() + 10
        while len(self.answers) < target and time.time() < deadline and not self.errors:
            time.sleep(0.01)


def wait_log(srv, text, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in srv.log():
            return
        time.sleep(0.05)
    raise AssertionError("%r not in the log:\n%s" % (text, srv.log()))


def check_model(model):
    app = new_app("reload_" + model.replace("-", "_"))
    srv = Server(app, env={"SOOM_SERVER": model, "SOOM_ACCESS_LOG": "false"},
                 args=["--reload"]).start()
    client = Client(srv)
    try:
        wait_log(srv, "watching the app's Lua files")
        client.start()
        client.wait_for(1)
        write(os.path.join(app, "version.lua"), "return 2\n")
        client.wait_for(2)
        write(os.path.join(app, "version.lua"), "return 3 +\n")  # a syntax error
        wait_log(srv, "do not load")
        client.more()
        client.wait_for(2, timeout=1)
        write(os.path.join(app, "version.lua"), "return 4\n")
        client.wait_for(4)
    finally:
        client.stopping = True
        client.join(5)
        srv.stop()
    eq(srv.proc.returncode, 0, "a clean exit (states of every generation closed):\n" + srv.log())
    eq(client.errors, [], "no request failed")
    eq(len(client.sockets), 1, "one connection, kept open: %r" % client.sockets)
    assert None not in client.sockets, "the server never closed the connection"
    statuses = {s for s, _ in client.answers}
    eq(statuses, {200}, "every answer")
    versions = [v for _, v in client.answers]
    eq(sorted(set(versions)), [1, 2, 4], "the syntax error never served")
    eq(versions, sorted(versions), "answers switch to the new code and stay there")
    log = srv.log()
    assert "'<eof>' expected" in log or "unexpected symbol" in log, "the error is printed:\n" + log
    assert log.count("reloaded the app's Lua code") >= 2, log


def test_async():
    check_model("async")


def test_threads():
    check_model("threads")


def test_thread_per_connection():
    check_model("thread-per-connection")


def test_prefork():
    check_model("prefork")


def test_a_waiting_request_finishes_on_its_code():
    app = new_app("inflight")
    # one thread: the new request lands on the state the waiting one holds
    srv = Server(app, env={"SOOM_ACCESS_LOG": "false", "SOOM_THREADS": "1"},
                 args=["--reload"]).start()
    try:
        wait_log(srv, "watching the app's Lua files")
        result = {}

        def slow():
            result["answer"] = srv.json("GET", "/slow")

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)  # the request is in its sleep
        write(os.path.join(app, "version.lua"), "return 2\n")
        wait_log(srv, "reloaded the app's Lua code")
        eq(srv.json("GET", "/hello")[2], {"version": 2}, "a new request runs the new code")
        t.join(10)
        status, _, body = result["answer"]
        eq((status, body), (200, {"version": 1, "after": 1}), "the old state served it to its end")
        eq(srv.json("GET", "/slow")[2]["after"], 2)
    finally:
        srv.stop()
    eq(srv.proc.returncode, 0, srv.log())


def test_the_sample_app_reloads_without_a_restart():
    """The routes' signature is the same for the same files in the richest
    app (generic resources, schemas, authentication): a change of Lua code
    alone reloads, it does not restart."""
    import shutil
    from harness import SAMPLE
    app = os.path.join(temp_dir("soom-reload-sample-"), "sample")
    shutil.copytree(SAMPLE, app, ignore=shutil.ignore_patterns(".soom"))
    srv = Server(app, env={"SOOM_ACCESS_LOG": "false"}, args=["--reload"]).start()
    try:
        wait_log(srv, "watching the app's Lua files")
        eq(srv.json("GET", "/hello")[0], 200)
        hello = os.path.join(app, "resources", "hello.lua")
        with open(hello) as f:
            text = f.read()
        write(hello, text + "\n-- touched\n")
        wait_log(srv, "reloaded the app's Lua code")
        eq(srv.json("GET", "/hello")[0], 200)
        assert "restarting" not in srv.log(), srv.log()
    finally:
        srv.stop()
    eq(srv.proc.returncode, 0, srv.log())


def check_restart(model):
    app = new_app("routes_" + model)
    srv = Server(app, env={"SOOM_ACCESS_LOG": "false", "SOOM_SERVER": model},
                 args=["--reload"]).start()
    try:
        wait_log(srv, "watching the app's Lua files")
        pid = srv.proc.pid
        write(os.path.join(app, "resources", "more.lua"),
              'return require("soom").Resource { route = "/more", '
              'get = function() return { more = require("version") } end }\n')
        wait_log(srv, "the app's routes changed: restarting to serve them")
        deadline = time.time() + 30
        while True:
            try:
                status, _, body = srv.json("GET", "/more")
                if status == 200:
                    break
            except OSError:
                pass  # between the old process's last answer and the new one's first
            assert time.time() < deadline, "the new route never answered:\n" + srv.log()
            time.sleep(0.05)
        eq(body, {"more": 1}, "the new route, served after the restart")
        eq(srv.proc.pid, pid, "the same process (pid), so supervisors and SIGTERM still reach it")
        assert srv.proc.poll() is None
        # the restarted server reloads Lua code as before
        write(os.path.join(app, "version.lua"), "return 2\n")
        deadline = time.time() + 15
        while srv.json("GET", "/more")[2] != {"more": 2}:
            assert time.time() < deadline, srv.log()
            time.sleep(0.05)
    finally:
        srv.stop()
    eq(srv.proc.returncode, 0, srv.log())


def test_changed_routes_restart_the_server():
    check_restart("async")


def test_changed_routes_restart_prefork():
    check_restart("prefork")


if __name__ == "__main__":
    main(globals())
