"""End-to-end tests of retries that never duplicate: Idempotency-Key on POST
and PATCH (replays, another body, a duplicate in flight, expiry and purge,
per resource and per user), on generic resources and on Lua handlers, and
writes whose COMMIT outcome is unknown, with a real backend terminated
while it commits (a deferred constraint trigger sleeps in it)."""

import json
import tempfile
import time

from harness import Database, Server, eq, in_thread, main, pg_sh, private_cluster, write_app

MODEL = """
local soom = require "soom"
return soom.model {
    table = "item", primary_key = "id", managed = false,
    fields = { id = soom.f.bigserial(), name = soom.f.text { unique = true }, qty = soom.f.integer { null = true } },
}
"""

RESOURCES = """
local soom = require "soom"
local db = require "soom.db"
local Item = require "models.item"
local FIELDS = { "id", "name", "qty" }
local function lua_insert(req)
    local row = db.one("INSERT INTO item (name, qty) VALUES ($1, $2) RETURNING id, name, qty",
                       req.body.name, req.body.qty)
    return row, 201, { Location = "/items/" .. row.id }
end
return {
    soom.ListCreateResource { route = "/items", model = Item, fields = FIELDS },
    soom.RetrieveUpdateDestroyResource { route = "/items/{id:int}", model = Item, fields = FIELDS },
    soom.ListCreateResource { route = "/strict-items", model = Item, fields = FIELDS,
                              idempotency = "required" },
    soom.ListCreateResource { route = "/plain-items", model = Item, fields = FIELDS,
                              idempotency = false },
    soom.ListCreateResource { route = "/keyed-items", model = Item, fields = FIELDS,
        authentication = { soom.auth.api_key { keys = { alice = "alice-key", bob = "bob-key" } } },
        permissions = { soom.perm.is_authenticated } },
    soom.Resource { route = "/lua-items", post = function(_, req) return lua_insert(req) end },
    soom.Resource { route = "/lua-tx-items", post = function(_, req)
        return db.transaction(function() return lua_insert(req) end)
    end },
}
"""

SCHEMA = """
CREATE TABLE item (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, qty integer);
CREATE SEQUENCE slow_once;
-- 'slow...' rows take a while to insert; 'commit-slow...' rows make the
-- first COMMIT that carries one sleep (a deferred trigger runs at COMMIT)
CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.name LIKE 'slow%' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$;
CREATE TRIGGER item_slow BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION slow_insert();
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name LIKE 'commit-slow%' AND nextval('slow_once') = 1 THEN PERFORM pg_sleep(60); END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER item_commit_slow AFTER INSERT ON item DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


class Env:
    def __init__(self, env=None, db_url=None):
        self.tmp = tempfile.TemporaryDirectory()
        app = write_app(self.tmp.name, {"models/item.lua": MODEL, "resources/items.lua": RESOURCES})
        self.db = Database(db_url)
        self.db.psql([], input=SCHEMA)
        self.srv = Server(app, env=dict({"DATABASE_URL": self.db.url}, **(env or {}))).start()

    def post(self, path, body, key=None, method="POST", headers=None):
        headers = dict(headers or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        status, hdrs, data = self.srv.request(method, path, body, headers)
        return status, hdrs, json.loads(data) if data else None

    def count(self, where="true"):
        return int(self.db.scalar("SELECT count(*) FROM item WHERE " + where))

    def close(self):
        self.srv.stop()
        self.db.drop()
        self.tmp.cleanup()


def test_a_retry_replays_without_writing():
    env = Env()
    try:
        body = {"name": "a", "qty": 1}
        status, hdrs, first = env.post("/items", body, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
        eq(status, 201)
        assert "idempotent-replayed" not in hdrs
        for _ in range(3):
            status, again, doc = env.post("/items", body, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
            eq(status, 201, "a retry gets the first answer")
            eq(doc, first)
            eq(again["location"], hdrs["location"])
            eq(again["idempotent-replayed"], "true")
        eq(env.count(), 1, "one row for four requests")
        # a bare key works too; PATCH is covered as well
        path = hdrs["location"]
        eq(env.post(path, {"qty": 5}, "patch-1", "PATCH")[0], 200)
        env.db.sql("UPDATE item SET qty = 9")
        status, hdrs, doc = env.post(path, {"qty": 5}, "patch-1", "PATCH")
        eq((status, doc["qty"], hdrs["idempotent-replayed"]), (200, 5, "true"))
        eq(env.db.scalar("SELECT qty FROM item"), "9", "the replay wrote nothing")
        # a Lua handler's writes and its answer are kept together as well
        for path in ("/lua-items", "/lua-tx-items"):
            for _ in range(2):
                eq(env.post(path, {"name": path, "qty": 2}, "lua-" + path)[0], 201)
            eq(env.count("name = '%s'" % path), 1, path)
    finally:
        env.close()


def test_the_same_key_with_another_request_is_422():
    env = Env()
    try:
        eq(env.post("/items", {"name": "b", "qty": 1}, "k1")[0], 201)
        status, hdrs, doc = env.post("/items", {"name": "b2", "qty": 1}, "k1")
        eq(status, 422)
        eq(hdrs["content-type"], "application/problem+json")
        eq(doc["type"], "urn:soom:problem:idempotency-key-reused")
        eq(env.count(), 1)
        # another path under the same route is another request too
        eq(env.post("/items/1", {"qty": 2}, "p1", "PATCH")[0], 200)
        eq(env.post("/items/2", {"qty": 2}, "p1", "PATCH")[0], 422)
        # keys belong to their resource: the same key on another one is new
        eq(env.post("/strict-items", {"name": "b3", "qty": 1}, "k1")[0], 201)
        eq(env.count(), 2)
    finally:
        env.close()


def test_keys_belong_to_their_user():
    env = Env()
    try:
        alice, bob = {"X-Api-Key": "alice-key"}, {"X-Api-Key": "bob-key"}
        eq(env.post("/keyed-items", {"name": "g1", "qty": 1}, "k", headers=alice)[0], 201)
        # bob's key of the same text is his own: another body is no 422 for him
        eq(env.post("/keyed-items", {"name": "g2", "qty": 1}, "k", headers=bob)[0], 201)
        status, hdrs, doc = env.post("/keyed-items", {"name": "g1", "qty": 1}, "k", headers=alice)
        eq((status, doc["name"], hdrs.get("idempotent-replayed")), (201, "g1", "true"))
        eq(env.count(), 2)
    finally:
        env.close()


def test_a_stale_session_is_replaced_before_a_write():
    env = Env()
    try:
        eq(env.post("/items", {"name": "h1", "qty": 1})[0], 201)
        # the pool's idle sessions are ended by the server, as a restart does
        env.db.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        time.sleep(0.2)
        for i in range(4):
            eq(env.post("/items", {"name": "h-%d" % i, "qty": 1})[0], 201, "not commit-unknown")
            eq(env.post("/lua-items", {"name": "hl-%d" % i, "qty": 1})[0], 201)
        eq(env.count(), 9)
    finally:
        env.close()


def test_a_duplicate_in_flight_is_409():
    env = Env()
    try:
        join = in_thread(env.post, "/items", {"name": "slow-1", "qty": 1}, "k-slow")
        deadline = time.time() + 10
        while env.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                            "AND datname = current_database()") == "0":
            assert time.time() < deadline, "the first request never reached its insert"
            time.sleep(0.02)
        status, hdrs, doc = env.post("/items", {"name": "slow-1", "qty": 1}, "k-slow")
        eq(status, 409)
        eq(doc["type"], "urn:soom:problem:idempotency-key-in-use")
        eq(join()[0], 201)
        status, hdrs, _ = env.post("/items", {"name": "slow-1", "qty": 1}, "k-slow")
        eq((status, hdrs.get("idempotent-replayed")), (201, "true"))
        eq(env.count(), 1)
    finally:
        env.close()


def test_failures_keep_no_key_and_keys_can_be_required():
    env = Env()
    try:
        env.db.sql("INSERT INTO item (name, qty) VALUES ('taken', 1)")
        eq(env.post("/items", {"name": "taken", "qty": 1}, "k-fail")[0], 409)
        env.db.sql("DELETE FROM item")
        # the failed write kept nothing: the retry runs for real
        status, hdrs, _ = env.post("/items", {"name": "taken", "qty": 1}, "k-fail")
        eq((status, hdrs.get("idempotent-replayed")), (201, None))
        status, _, doc = env.post("/strict-items", {"name": "c", "qty": 1})
        eq((status, doc["type"]), (400, "urn:soom:problem:idempotency-key-missing"))
        for bad in ('"unterminated', "", "x" * 256, '"a"b"'):
            eq(env.post("/items", {"name": "d", "qty": 1}, bad)[0], 400, "key %r" % bad[:20])
        # a resource that turned keys off writes every time
        for _ in range(2):
            env.post("/plain-items", {"name": "plain-%d" % env.count(), "qty": 1}, "k-plain")
        eq(env.count("name LIKE 'plain-%'"), 2)
    finally:
        env.close()


def test_keys_expire_and_are_purged():
    env = Env({"SOOM_IDEMPOTENCY__TTL": "1", "SOOM_IDEMPOTENCY__PURGE_INTERVAL": "0.1"})
    try:
        eq(env.post("/items", {"name": "e1", "qty": 1}, "k-old")[0], 201)
        eq(env.db.scalar("SELECT count(*) FROM soom_idempotency WHERE key = 'k-old'"), "1")
        time.sleep(1.3)
        # expired: the key is free again, even for another body
        eq(env.post("/items", {"name": "e2", "qty": 1}, "k-old")[0], 201)
        eq(env.post("/items", {"name": "e3", "qty": 1}, "k-other")[0], 201)
        time.sleep(1.3)
        eq(env.post("/items", {"name": "e4", "qty": 1}, "k-new")[0], 201)
        # that write purged the keys that had expired
        eq(env.db.sql("SELECT key FROM soom_idempotency ORDER BY key"), [["k-new"]])
    finally:
        env.close()


def backend_sleeping(db, timeout=15):
    """The pid of the backend sleeping in the commit trigger."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid = db.scalar("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                        "AND datname = current_database()")
        if pid:
            return pid
        time.sleep(0.02)
    raise AssertionError("no backend reached the commit trigger")


def killed_during_commit(env, path, body, key=None):
    env.db.sql("ALTER SEQUENCE slow_once RESTART")
    join = in_thread(env.post, path, body, key)
    pid = backend_sleeping(env.db)
    eq(env.db.scalar("SELECT pg_terminate_backend(%s)" % pid), "t")
    return join()


def test_a_commit_lost_is_answered_commit_unknown():
    env = Env()
    try:
        # a generic resource without a key (one statement, committing by itself)
        status, hdrs, doc = killed_during_commit(env, "/items", {"name": "commit-slow-1", "qty": 1})
        eq(status, 500, "not a retryable 503")
        eq(doc["type"], "urn:soom:problem:commit-unknown")
        assert "retry-after" not in hdrs, hdrs
        # with a key (a transaction: the COMMIT itself is lost); the retry is safe
        status, hdrs, doc = killed_during_commit(env, "/items", {"name": "commit-slow-2", "qty": 1},
                                                 "k-lost")
        eq((status, doc["type"]), (500, "urn:soom:problem:commit-unknown"))
        assert "retry-after" not in hdrs, hdrs
        eq(env.post("/items", {"name": "commit-slow-2", "qty": 1}, "k-lost")[0], 201)
        status, hdrs, _ = env.post("/items", {"name": "commit-slow-2", "qty": 1}, "k-lost")
        eq((status, hdrs.get("idempotent-replayed")), (201, "true"))
        eq(env.count("name = 'commit-slow-2'"), 1)
        # a Lua handler's soom.db.transaction, and its INSERT on its own
        for i, path in enumerate(("/lua-tx-items", "/lua-items")):
            status, hdrs, doc = killed_during_commit(env, path,
                                                     {"name": "commit-slow-l%d" % i, "qty": 1})
            eq((status, doc["type"]), (500, "urn:soom:problem:commit-unknown"), path)
            assert "retry-after" not in hdrs, hdrs
        # every database error line says why
        lines = [l for l in env.srv.log_lines() if l.get("msg") == "database error"]
        assert len(lines) >= 4, lines
        for line in lines:
            assert line.get("error") and "sqlstate" in line, line
    finally:
        env.close()


def test_database_down_log_lines_give_the_reason():
    cluster = private_cluster("idem")
    try:
        url = pg_sh("url", cluster)
        env = Env(db_url=url)
        try:
            pg_sh("stop", cluster)
            eq(env.post("/items", {"name": "f", "qty": 1})[0], 503)
            eq(env.post("/lua-items", {"name": "f", "qty": 1})[0], 503)
            lines = [l for l in env.srv.log_lines() if l.get("msg") == "database error"]
            eq(len(lines), 2, "one line per failed request")
            for line in lines:
                assert line.get("error") and "sqlstate" in line, line
            pg_sh("start", cluster)
        finally:
            env.close()
    finally:
        pg_sh("stop", cluster)


main(globals())
