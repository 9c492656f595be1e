"""End-to-end tests of the database pool under a served app: queueing and
503s past its bounds, a database that goes away and comes back, and
connections killed under the server's feet."""

import tempfile
import time

from harness import Database, Server, eq, in_thread, main, pg_sh, private_cluster, write_app

APP = {
    "resources/db.lua": """
local soom = require "soom"
return {
    soom.Resource {
        route = "/sleep",
        get = function(_, req)
            local rows = soom.db.query("SELECT pg_sleep($1) IS NULL AS slept, pg_backend_pid() AS pid",
                tonumber(req.query.s) or 0.5)
            return { pid = rows[1].pid }
        end,
    },
    soom.Resource {
        route = "/now",
        get = function()
            return { n = soom.db.query("SELECT count(*)::int AS n FROM pg_stat_activity")[1].n }
        end,
    },
}
""",
}



def app_dir(tmp):
    return write_app(tmp, APP)


def test_queue_then_503_never_a_hang():
    db = Database()
    # a thread per connection, so the eight requests really run at once
    env = {"DATABASE_URL": db.url, "SOOM_SERVER": "thread-per-connection", "SOOM_POOL__MAX": "2",
           "SOOM_POOL__MAX_WAITING": "2", "SOOM_POOL__ACQUIRE_TIMEOUT_MS": "400"}
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app_dir(d), env=env).start()
        try:
            # warm up: eight Lua states, so no request waits for one to load
            for j in [in_thread(srv.request, "GET", "/sleep?s=0.3") for _ in range(8)]:
                j(30)
            t0 = time.time()
            joins = [in_thread(srv.request, "GET", "/sleep?s=2") for _ in range(8)]
            results = [j(30) for j in joins]
            took = time.time() - t0
            statuses = sorted(r[0] for r in results)
            # two connections serve two requests; two more wait 400 ms in the queue
            # and give up; the other four find the queue full and are refused at once
            eq(statuses, [200] * 2 + [503] * 6)
            for status, headers, body in results:
                if status == 503:
                    eq(headers.get("content-type"), "application/problem+json")
                    eq(headers.get("retry-after"), "1")
            assert took < 5, "the pool made clients wait %.1fs" % took
            # waiting within the timeout is served
            srv.stop()
            env["SOOM_POOL__MAX_WAITING"] = "8"
            env["SOOM_POOL__ACQUIRE_TIMEOUT_MS"] = "10000"
            srv = Server(app_dir(d), env=env).start()
            joins = [in_thread(srv.request, "GET", "/sleep?s=0.3") for _ in range(6)]
            eq(sorted(j(30)[0] for j in joins), [200] * 6, "queued requests are served in turn")
        finally:
            srv.stop()
            db.drop()


def test_terminated_connections_are_replaced():
    db = Database()
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app_dir(d), env={"DATABASE_URL": db.url, "SOOM_THREADS": "2",
                                      "SOOM_POOL__MAX": "2", "SOOM_POOL__MIN": "2"}).start()
        try:
            pids = {srv.json("GET", "/sleep?s=0")[2]["pid"] for _ in range(6)}
            db.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            time.sleep(0.3)
            for _ in range(6):
                status, _, doc = srv.json("GET", "/sleep?s=0")
                eq(status, 200, "served after pg_terminate_backend")
                assert doc["pid"] not in pids, "a terminated connection was reused"
        finally:
            srv.stop()
            db.drop()


pg = pg_sh


def test_database_down_then_back():
    env = private_cluster("outage")
    url = pg("url", env)
    with tempfile.TemporaryDirectory() as d:
        srv = Server(app_dir(d), env={"DATABASE_URL": url, "SOOM_THREADS": "4",
                                      "SOOM_POOL__ACQUIRE_TIMEOUT_MS": "1000"}).start()
        try:
            eq(srv.request("GET", "/now")[0], 200)
            load = [in_thread(lambda: [srv.request("GET", "/sleep?s=0.05")[0] for _ in range(40)])
                    for _ in range(3)]
            time.sleep(0.3)
            pg("stop", env)
            seen = set()
            for j in load:
                seen |= set(j(60))
            assert seen <= {200, 503}, seen
            t0 = time.time()
            status, headers, _ = srv.request("GET", "/now")
            eq(status, 503, "database down")
            eq(headers.get("retry-after"), "1")
            assert time.time() - t0 < 3, "a down database must not make clients wait"
            pg("start", env)
            deadline = time.time() + 20
            while time.time() < deadline and srv.request("GET", "/now")[0] != 200:
                time.sleep(0.2)
            eq(srv.request("GET", "/now")[0], 200, "recovered without a restart")
            eq(srv.proc.poll(), None, "the same soom process")
        finally:
            srv.stop()
            pg("stop", env)


main(globals())
