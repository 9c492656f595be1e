"""End-to-end tests of suspended requests: the waiter module
(tests/modules/waiter.c) suspends requests and resumes them from a thread
of its own, or never; the server must answer every one, hold no thread
while they wait (async, threads and prefork), and answer by the timeout when
no resume comes."""

import json
import os
import shutil
import signal
import tempfile
import threading
import time

from harness import Server, eq, in_thread, main, write_app

BUILD = os.environ.get("SOOM_BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
WAITER = os.path.join(os.path.abspath(BUILD), "tests", "modules", "waiter.so")


def make_app(settings=""):
    root = tempfile.mkdtemp(prefix="soom-wait-")
    write_app(root, {
        "settings.lua": 'return { modules = { waiter = { path = "%s" %s } } }\n' % (WAITER, settings),
        "resources/hello.lua": 'return require("soom").Resource { route = "/hello", '
                               'get = function() return { hello = true } end }\n',
    })
    return root


def concurrently(srv, paths):
    """Sends every request at once, each on its own connection; returns
    the (status, doc) pairs in order."""
    results = [None] * len(paths)
    start = threading.Barrier(len(paths))

    def one(i):
        conn = srv.connection(timeout=30)
        start.wait()
        try:
            status, _, doc = srv.json("GET", paths[i], conn=conn)
            results[i] = (status, doc)
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def check_many(srv, n):
    results = concurrently(srv, ["/wait/50"] * n)
    statuses = [r[0] if r else None for r in results]
    eq(statuses.count(200), n, "answered: %r" % [s for s in statuses if s != 200][:5])
    ids = {r[1]["id"] for r in results}
    eq(len(ids), n, "each answer is its own request's")
    assert all(r[1]["waited"] == 50 for r in results), results[:3]


def check_timeouts(srv):
    # never resumed: the core answers 504 once the timeout has passed
    t0 = time.time()
    status, _, doc = srv.json("GET", "/never")
    eq((status, doc["detail"]), (504, "timed out waiting for module waiter"))
    assert time.time() - t0 >= 0.3, "answered before the timeout"
    # resumed too late: the module's callback answers the timeout, and the
    # late resume is refused (the module frees what it would have handed over)
    status, _, doc = srv.json("GET", "/wait/600")
    eq((status, doc["detail"]), (503, "the wait outlasted its timeout"))
    time.sleep(0.6)
    eq(srv.json("GET", "/wait-stats")[2]["late"], 1)


def check_wait_before_handler(srv):
    status, headers, doc = srv.json("GET", "/hello", headers={"X-Wait-Before": "30"})
    eq((status, doc, headers.get("x-waited-before")), (200, {"hello": True}, "30"))
    # suspending is refused without a timeout, twice over, and before the
    # handler phase (the request goes on as if nothing had been asked)
    status, _, doc = srv.json("GET", "/wait-checks")
    eq((status, doc), (200, {"resumed": True}))
    status, headers, doc = srv.json("GET", "/hello", headers={"X-Wait-Early": "1"})
    eq((status, doc, headers.get("x-early-suspend")), (200, {"hello": True}, "refused"))


def test_200_suspended_requests_with_two_threads():
    for model in ("async", "threads"):
        check_200_suspended(model)


def check_200_suspended(model):
    app = make_app(", timeout_ms = 300")
    srv = Server(app, env={"SOOM_THREADS": "2", "SOOM_SERVER": model}).start()
    try:
        check_many(srv, 200)
        # two threads served them, so they were suspended side by side: far
        # more than two at once (not all 200: on a loaded machine the client's
        # threads send them over longer than one wait lasts)
        peak = srv.json("GET", "/wait-stats")[2]["peak"]
        assert peak > 20, "at most %d suspended at once" % peak
        check_timeouts(srv)
        check_wait_before_handler(srv)
        eq(srv.json("GET", "/wait-stats")[2]["pending"], 0)
    finally:
        srv.stop()
        shutil.rmtree(app)
    eq(srv.proc.returncode, 0)
    lines = [l for l in srv.log_lines() if l.get("msg") == "request"]
    eq(len([l for l in lines if l["path"] == "/wait/50" and l["status"] == 200]), 200)


def test_thread_per_connection_and_prefork():
    app = make_app(", timeout_ms = 300")
    try:
        for env in ({"SOOM_SERVER": "thread-per-connection"},
                    {"SOOM_SERVER": "prefork", "SOOM_WORKERS": "2", "SOOM_THREADS": "2"}):
            srv = Server(app, env=env).start()
            try:
                check_many(srv, 50)
                status, _, _ = srv.json("GET", "/never")
                eq(status, 504)
                check_wait_before_handler(srv)
            finally:
                srv.stop()
            eq(srv.proc.returncode, 0, env["SOOM_SERVER"])
    finally:
        shutil.rmtree(app)


def test_shutdown_waits_for_suspended_requests():
    app = make_app()
    srv = Server(app).start()
    try:
        join = in_thread(srv.json, "GET", "/wait/1000")
        deadline = time.time() + 10
        while srv.json("GET", "/wait-stats")[2]["pending"] == 0:  # until it is suspended
            assert time.time() < deadline, "the request never arrived"
            time.sleep(0.02)
        srv.signal(signal.SIGTERM)
        status, _, doc = join()
        eq((status, doc["waited"]), (200, 1000))
        eq(srv.wait(10), 0)
    finally:
        srv.stop()
        shutil.rmtree(app)


if __name__ == "__main__":
    main(globals())
