"""Read replicas (database.replicas; docs/SCALING.md) with a real streaming
replica: pg_basebackup -R of a private primary, on a port of its own,
logging every statement.

Reads (generic list and retrieve, soom.db.query{readonly = true}, handlers
declaring readonly = true) go to the replica; writes and transactions to
the primary; a replica stopped, or paused past database.max_replica_lag,
sends reads to the primary without a failed request, and they come back
when it does; a read carrying a write's Soom-Read-After token sees it.
"""

import tempfile
import threading
import time

import scalekit
from harness import Database, Server, eq, write_app

APP = {
    "models/item.lua": """
local soom = require "soom"
return soom.model {
    table = "item", primary_key = "id",
    fields = { id = soom.f.bigserial(), name = soom.f.text() },
}
""",
    "resources/items.lua": """
local soom = require "soom"
local Item = require "models.item"
local function where() return soom.db.one("SELECT pg_is_in_recovery() AS replica").replica end
return {
    soom.ListCreateResource { route = "/items", model = Item, fields = { "id", "name" },
        validation_schema = { type = "object", required = { "name" },
            properties = { name = { type = "string" } } } },
    soom.RetrieveUpdateDestroyResource { route = "/items/{id:int}", model = Item,
        fields = { "id", "name" } },
    soom.Resource { route = "/where/readonly", readonly = true,
        get = function() return { replica = where() } end },
    soom.Resource { route = "/where/plain", get = function() return { replica = where() } end },
    soom.Resource { route = "/where/query",
        get = function()
            local row = soom.db.one({ "SELECT pg_is_in_recovery() AS replica", readonly = true })
            return { replica = row.replica }
        end },
    soom.Resource { route = "/where/after-write",
        post = function()
            local q = { "SELECT pg_is_in_recovery() AS replica", readonly = true }
            local before = soom.db.one(q).replica
            soom.db.query("INSERT INTO item (name) VALUES ('written')")
            return { before = before, replica = soom.db.one(q).replica }
        end },
    soom.Resource { route = "/where/tx", readonly = true,
        get = function()
            return soom.db.transaction(function(tx)
                return { replica = tx:one("SELECT pg_is_in_recovery() AS replica").replica }
            end)
        end },
}
""",
}

SCHEMA = "CREATE TABLE item (id bigserial PRIMARY KEY, name text NOT NULL)"


def build(cluster):
    rep = scalekit.Replica(cluster.env)
    cluster.on_teardown(rep.cleanup)
    rep.start()
    db = Database(cluster.url())
    cluster.on_teardown(db.drop)
    db.sql(SCHEMA)
    rep.wait_replayed(db.url)
    return db, rep


CLUSTER = scalekit.Cluster("replica", build)


def serve(extra=None, server="async"):
    db, rep = CLUSTER.get()
    env = {"DATABASE_URL": db.url, "SOOM_DATABASE__REPLICAS": rep.url(db.name),
           "SOOM_DATABASE__REPLICA_CHECK_MS": "100", "SOOM_SERVER": server, "SOOM_THREADS": "2"}
    env.update(extra or {})
    return Server(write_app(tempfile.mkdtemp(), APP), env=env).start()


def where(srv, path="/where/readonly", headers=None):
    status, _, doc = srv.json("GET", path, headers=headers)
    eq(status, 200, path)
    return doc["replica"]


def wait_for(fn, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting: " + what)


def test_reads_are_served_by_the_replica():
    db, rep = CLUSTER.get()
    for model in ("async", "threads"):
        srv = serve(server=model)
        try:
            eq(where(srv), True, model + ": a handler declaring readonly = true")
            eq(where(srv, "/where/query"), True, model + ": soom.db.query{readonly = true}")
            eq(where(srv, "/where/plain"), False, model + ": any other read stays on the primary")
            eq(where(srv, "/where/tx"), False, model + ": a transaction, on the primary")
            status, _, doc = srv.json("POST", "/where/after-write", {})
            eq((status, doc), (200, {"before": True, "replica": False}),
               model + ": once the request wrote, its reads stay on the primary")
            marker = "replica-%s-%d" % (model, time.time_ns())
            status, _, doc = srv.json("GET", "/items")
            eq(status, 200, "generic list")
            status, hdrs, item = srv.json("POST", "/items", {"name": marker})
            eq(status, 201, "a write, on the primary")
            assert "soom-read-after" in hdrs, "a write hands out its token"
            wait_for(lambda: srv.json("GET", "/items/%d" % item["id"])[0] == 200,
                     "the replica replays the write")
            log = rep.log()
            assert 'FROM "item"' in log, "the replica's statement log shows the generic reads"
            assert "INSERT" not in log, "writes never reach the replica"
        finally:
            srv.stop()


def test_a_token_reads_its_own_write():
    db, rep = CLUSTER.get()
    srv = serve({"SOOM_DATABASE__MAX_REPLICA_LAG": "60"})
    try:
        rep.admin_sql("SELECT pg_wal_replay_pause()")
        status, hdrs, item = srv.json("POST", "/items", {"name": "fresh"})
        eq(status, 201)
        token = hdrs["soom-read-after"]
        path = "/items/%d" % item["id"]
        eq(srv.json("GET", path)[0], 404, "the paused replica, within max lag, lacks the write")
        status, _, doc = srv.json("GET", path, headers={"Soom-Read-After": token})
        eq((status, doc), (200, item), "the token sends the read where the write is")
        eq(srv.json("GET", path, headers={"Soom-Read-After": "garbage"})[0], 200,
           "a token that does not parse reads from the primary")
        rep.admin_sql("SELECT pg_wal_replay_resume()")
        # replayed: the replica serves the token's read again
        wait_for(lambda: where(srv, headers={"Soom-Read-After": token}), "replica has the token")
    finally:
        srv.stop()
        rep.admin_sql("SELECT pg_wal_replay_resume()")


def test_lag_past_max_moves_reads_to_the_primary():
    db, rep = CLUSTER.get()
    srv = serve({"SOOM_DATABASE__MAX_REPLICA_LAG": "0.5"})
    try:
        eq(where(srv), True)
        # an idle primary: the replica stays in use (its lag is measured in
        # LSNs, not by the age of its last replayed transaction)
        time.sleep(1.5)
        eq(where(srv), True, "caught up with an idle primary")
        rep.admin_sql("SELECT pg_wal_replay_pause()")
        db.sql("INSERT INTO item (name) VALUES ('while paused')")
        wait_for(lambda: where(srv) is False, "reads move to the primary")
        rep.admin_sql("SELECT pg_wal_replay_resume()")
        wait_for(lambda: where(srv) is True, "reads come back to the replica")
    finally:
        srv.stop()
        rep.admin_sql("SELECT pg_wal_replay_resume()")


def test_a_replica_down_and_back():
    db, rep = CLUSTER.get()
    srv = serve()
    failures, seen = [], []
    stop = threading.Event()

    def reader():
        conn = None
        while not stop.is_set():
            try:
                status, _, doc = srv.json("GET", "/where/readonly")
                status2, _, _ = srv.json("GET", "/items?limit=5")
                if status != 200 or status2 != 200:
                    failures.append((status, status2, doc))
                else:
                    seen.append(doc["replica"])
            except Exception as e:  # counted, not raised from the thread
                failures.append(repr(e))
        return conn

    threads = [threading.Thread(target=reader) for _ in range(3)]
    try:
        eq(where(srv), True)
        for t in threads:
            t.start()
        time.sleep(0.5)
        rep.stop()
        n = len(seen)
        wait_for(lambda: len(seen) > n + 20 and seen[-1] is False, "reads on the primary")
        eq(where(srv), False, "the replica is down: the primary serves")
        rep.start()
        wait_for(lambda: where(srv) is True, "the replica back in use", timeout=20)
        stop.set()
        for t in threads:
            t.join(30)
        eq(failures, [], "no request failed")
        assert False in seen and True in seen
    finally:
        stop.set()
        srv.stop()


if __name__ == "__main__":
    scalekit.main(globals(), CLUSTER)
