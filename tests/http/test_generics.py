"""End-to-end tests of the generic resources over a real PostgreSQL: every
class and method, filters, ordering, field selection, hooks, status codes,
hostile input, and the C fast path."""

import json
import os
import tempfile
import time

from harness import Database, Server, eq, in_thread, main, write_app

MODEL = """
local soom = require "soom"
return soom.model {
    table = "item", primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text(),
        score = soom.f.integer(),
        price = soom.f.numeric { precision = 10, scale = 2, null = true },
        tags = soom.f.array(soom.f.text(), { null = true }),
        data = soom.f.jsonb { null = true },
        active = soom.f.boolean { default = true },
        code = soom.f.text { unique = true, null = true },
        secret = soom.f.text { null = true },
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
}
"""

MIGRATION = """
CREATE TABLE item (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    score integer NOT NULL CHECK (score >= 0),
    price numeric(10,2),
    tags text[],
    data jsonb,
    active boolean NOT NULL DEFAULT true,
    code text UNIQUE,
    secret text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE note (id bigserial PRIMARY KEY, item_id bigint NOT NULL REFERENCES item (id), body text NOT NULL);
"""

RESOURCES = {
    # every class, over the same model
    "resources/items.lua": """
local soom = require "soom"
local Item = require "models.item"
local FIELDS = { "id", "name", "score", "price", "tags", "data", "active", "code",
                 { "password", source = "secret", write_only = true }, "created_at" }
return {
    soom.ListCreateResource {
        route = "/items", model = Item, fields = FIELDS,
        filter_fields = { "score", "name", "active", "tags", "code", "price" },
        ordering_fields = { "id", "score", "name", "created_at" },
        ordering = { "id" },
    },
    soom.RetrieveUpdateDestroyResource { route = "/items/{id:int}", model = Item, fields = FIELDS },
    soom.ListResource { route = "/ro/items", model = Item, fields = { "id", { "title", source = "name" } } },
    soom.CreateResource { route = "/new/items", model = Item },
    soom.RetrieveResource { route = "/ro/items/{id:int}", model = Item, fields = { "id", "name" } },
    soom.UpdateResource { route = "/upd/items/{id:int}", model = Item, fields = { "id", "name", "score" } },
    soom.DestroyResource { route = "/del/items/{id:int}", model = Item },
    soom.RetrieveUpdateResource { route = "/ru/items/{id:int}", model = Item },
    soom.RetrieveDestroyResource { route = "/rd/items/{code}", model = Item, lookup_field = "code" },
}
""",
    # hooks, each overridden on its own resource
    "resources/hooks.lua": """
local soom = require "soom"
local Item = require "models.item"
return {
    soom.ListResource {
        route = "/active", model = Item, fields = { "id", "name" }, ordering = { "id" },
        get_queryset = function(self, req)
            return self.super.get_queryset(self, req):filter { active = true }
        end,
    },
    soom.ListResource {
        route = "/cheap", model = Item, fields = { "id" }, ordering = { "id" },
        get_queryset = function(self, req)
            return self.super.get_queryset(self, req):filter { price = 0.1 }
        end,
    },
    soom.ListResource {
        route = "/no-secret", model = Item, fields = { "id" }, ordering = { "id" },
        get_queryset = function(self, req)
            return self.super.get_queryset(self, req):where("secret IS NOT DISTINCT FROM $1", nil)
        end,
    },
    soom.ListResource {
        route = "/wrapped", model = Item, fields = { "id", "name" }, ordering = { "id" },
        serializer_data = function(self, rows) return { count = #rows, items = rows } end,
    },
    soom.RetrieveResource {
        route = "/upper/{id:int}", model = Item, fields = { "id", "name" },
        serializer_data = function(self, obj) obj.name = obj.name:upper(); return obj end,
    },
    soom.CreateResource {
        route = "/stamped", model = Item, fields = { "id", "name", "score", "code" },
        perform_create = function(self, req, data)
            data.code = "stamped-" .. data.name
            return self.super.perform_create(self, req, data)
        end,
    },
    soom.CreateResource {
        route = "/with-note", model = Item, fields = { "id", "name", "score" },
        perform_create = function(self, req, data)
            local obj = self.super.perform_create(self, req, data)
            -- a second write in the same transaction; fails for note = "fail"
            soom.db.query("INSERT INTO note (item_id, body) VALUES ($1, $2)", obj.id, data.note or "n")
            if data.note == "fail" then error("the second step failed") end
            return obj
        end,
    },
    soom.RetrieveDestroyResource {
        route = "/soft/{id:int}", model = Item, fields = { "id", "name", "active" },
        perform_destroy = function(self, req, obj)
            soom.db.query("UPDATE item SET active = false WHERE id = $1", obj.id)
        end,
    },
    soom.RetrieveUpdateResource {
        route = "/capped/{id:int}", model = Item, fields = { "id", "score" },
        perform_update = function(self, req, obj, data)
            if data.score and data.score > 50 then data.score = 50 end
            return self.super.perform_update(self, req, obj, data)
        end,
        get_object = function(self, req)
            local obj = self.super.get_object(self, req)
            if obj and obj.score == 13 then return nil end  -- unlucky items are hidden
            return obj
        end,
    },
}
""",
}


def make_app(d):
    files = {"models/item.lua": MODEL, "migrations/0001_item.sql": MIGRATION}
    files.update(RESOURCES)
    return write_app(d, files)


class Env:
    def __init__(self, env=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.app = make_app(self.tmp.name)
        self.db = Database()
        self.db.psql([], input=MIGRATION)
        e = {"DATABASE_URL": self.db.url, "SOOM_THREADS": "2"}
        e.update(env or {})
        self.srv = Server(self.app, env=e).start()

    def close(self):
        self.srv.stop()
        self.db.drop()
        self.tmp.cleanup()


def with_env(fn, env=None):
    def test():
        e = Env(env)
        try:
            fn(e)
        finally:
            e.close()
    test.__name__ = fn.__name__
    return test


def post(srv, path, body):
    return srv.json("POST", path, body=body)


def seed(srv, n=5):
    ids = []
    for i in range(n):
        status, headers, doc = post(srv, "/items", {"name": "item-%d" % i, "score": i * 10,
                                                     "tags": ["t%d" % i, "all"], "data": {"i": i},
                                                     "price": "1.50", "password": "pw%d" % i})
        eq(status, 201)
        ids.append(doc["id"])
    return ids


def lua_flags(srv, path_prefix):
    time.sleep(0.2)
    return [l["lua"] for l in srv.log_lines()
            if l.get("msg") == "request" and l["path"].startswith(path_prefix)]


@with_env
def test_list_create_retrieve_update_destroy(e):
    srv = e.srv
    status, headers, doc = post(srv, "/items", {"name": "a", "score": 5, "tags": ["x", "y z"],
                                                "data": {"k": [1, None], "x": 1.0000000000000002},
                                                "price": 12.5,
                                                "password": "hunter2"})
    eq(status, 201)
    eq(headers["location"], "/items/%d" % doc["id"])
    eq((doc["name"], doc["score"], doc["tags"], doc["data"], doc["price"], doc["active"]),
       ("a", 5, ["x", "y z"], {"k": [1, None], "x": 1.0000000000000002}, "12.50", True))
    assert "password" not in doc and "secret" not in doc, "write-only fields never go out"
    eq(e.db.scalar("SELECT secret FROM item WHERE id = %d" % doc["id"]), "hunter2")
    assert doc["created_at"].endswith("+00:00")
    # retrieve
    status, _, got = srv.json("GET", "/items/%d" % doc["id"])
    eq((status, got), (200, doc))
    # list: a plain array without pagination
    status, _, rows = srv.json("GET", "/items")
    eq((status, [r["id"] for r in rows]), (200, [doc["id"]]))
    # PUT and PATCH update what they are given; read-only fields are ignored
    status, _, upd = srv.json("PATCH", "/items/%d" % doc["id"],
                              body={"score": 6, "created_at": "2000-01-01T00:00:00Z", "id": 999})
    eq((status, upd["score"], upd["id"], upd["created_at"]), (200, 6, doc["id"], doc["created_at"]))
    status, _, upd = srv.json("PUT", "/items/%d" % doc["id"], body={"name": "b", "score": 7})
    eq((upd["name"], upd["score"], upd["tags"]), ("b", 7, ["x", "y z"]))
    # delete
    status, _, _ = srv.request("DELETE", "/items/%d" % doc["id"])
    eq(status, 204)
    eq(srv.request("GET", "/items/%d" % doc["id"])[0], 404)
    eq(srv.request("DELETE", "/items/%d" % doc["id"])[0], 404)
    eq(srv.request("PATCH", "/items/%d" % doc["id"], body={"score": 1})[0], 404)
    eq(e.db.scalar("SELECT count(*) FROM item"), "0")


@with_env
def test_every_class(e):
    srv = e.srv
    ids = seed(srv, 3)
    status, _, rows = srv.json("GET", "/ro/items")
    eq(rows[0], {"id": ids[0], "title": "item-0"})
    eq(srv.request("POST", "/ro/items", body={})[0], 405)
    status, headers, doc = post(srv, "/new/items", {"name": "n", "score": 1})
    eq(status, 201)
    eq(srv.request("GET", "/new/items")[0], 405)
    eq(srv.json("GET", "/ro/items/%d" % ids[0])[2], {"id": ids[0], "name": "item-0"})
    eq(srv.request("DELETE", "/ro/items/%d" % ids[0])[0], 405)
    eq(srv.json("PATCH", "/upd/items/%d" % ids[0], body={"name": "u"})[2],
       {"id": ids[0], "name": "u", "score": 0})
    eq(srv.request("GET", "/upd/items/%d" % ids[0])[0], 405)
    eq(srv.json("GET", "/ru/items/%d" % ids[1])[2]["name"], "item-1")
    eq(srv.json("PUT", "/ru/items/%d" % ids[1], body={"name": "ru", "score": 2})[2]["name"], "ru")
    srv.json("PATCH", "/items/%d" % ids[2], body={"code": "abc"})
    eq(srv.json("GET", "/rd/items/abc")[2]["id"], ids[2])
    eq(srv.request("DELETE", "/rd/items/abc")[0], 204)
    eq(srv.request("GET", "/rd/items/abc")[0], 404)
    eq(srv.request("DELETE", "/del/items/%d" % ids[1])[0], 204)
    eq(e.db.scalar("SELECT count(*) FROM item"), "2")


@with_env
def test_filters_ordering_fields(e):
    srv = e.srv
    ids = seed(srv, 5)
    srv.json("PATCH", "/items/%d" % ids[4], body={"active": False, "price": None})

    def get(q):
        status, _, rows = srv.json("GET", "/items?" + q)
        eq(status, 200, q)
        return rows
    eq([r["score"] for r in get("score=20")], [20])
    eq([r["score"] for r in get("score__gt=20")], [30, 40])
    eq([r["score"] for r in get("score__gte=20&score__lt=40")], [20, 30])
    eq([r["score"] for r in get("score__lte=10")], [0, 10])
    eq([r["score"] for r in get("score__in=0,40,99")], [0, 40])
    eq([r["name"] for r in get("name__contains=m-3")], ["item-3"])
    eq([r["name"] for r in get("name__icontains=ITEM-1")], ["item-1"])
    eq(len(get("tags__contains=all")), 5)
    eq([r["name"] for r in get("tags__contains=t2")], ["item-2"])
    eq([r["id"] for r in get("active=false")], [ids[4]])
    eq(len(get("active=true")), 4)
    eq([r["id"] for r in get("price__isnull=true")], [ids[4]])
    eq(len(get("price__isnull=false")), 4)
    eq(len(get("unknown_param=1")), 5, "unknown parameters are ignored")
    eq([r["score"] for r in get("ordering=-score")], [40, 30, 20, 10, 0])
    eq([r["name"] for r in get("ordering=-name&score__lt=30")], ["item-2", "item-1", "item-0"])
    rows = get("fields=name,score&score=10")
    eq(rows, [{"name": "item-1", "score": 10}])
    for bad in ("score=abc", "score__gt=1.5", "active=maybe", "price__isnull=perhaps",
                "ordering=secret", "ordering=nope", "fields=secret", "fields=password",
                "fields=nope", "score__regex=1", "score__in=1,x"):
        status, _, doc = srv.json("GET", "/items?" + bad)
        eq(status, 400, bad)
        assert doc["detail"], doc
    # the fast path: these ran without Lua
    assert lua_flags(srv, "/items") and not any(lua_flags(srv, "/items")), "generic requests ran Lua"


@with_env
def test_hooks(e):
    srv = e.srv
    ids = seed(srv, 4)
    srv.json("PATCH", "/items/%d" % ids[1], body={"active": False})
    # get_queryset adds a condition
    eq([r["id"] for r in srv.json("GET", "/active")[2]], [ids[0], ids[2], ids[3]])
    # score is not a filter field of this resource: the parameter is ignored
    eq([r["id"] for r in srv.json("GET", "/active?score=0")[2]], [ids[0], ids[2], ids[3]])
    # a number is sent as the text that reads back the same (0.1, not
    # 0.10000000000000001), and a nil parameter is NULL
    srv.json("PATCH", "/items/%d" % ids[3], body={"price": "0.10", "password": None})
    for path in ("/cheap", "/no-secret"):
        status, _, doc = srv.json("GET", path)
        eq((status, doc), (200, [{"id": ids[3]}]), path)
    # serializer_data shapes the output
    eq(srv.json("GET", "/wrapped")[2]["count"], 4)
    eq(srv.json("GET", "/upper/%d" % ids[0])[2], {"id": ids[0], "name": "ITEM-0"})
    eq(srv.request("GET", "/upper/999999")[0], 404)
    # perform_create changes the data
    status, headers, doc = post(srv, "/stamped", {"name": "s", "score": 1})
    eq((status, doc["code"]), (201, "stamped-s"))
    assert headers.get("location", "").startswith("/stamped/"), headers
    # perform_destroy soft-deletes
    eq(srv.request("DELETE", "/soft/%d" % ids[2])[0], 204)
    eq(e.db.scalar("SELECT active FROM item WHERE id = %d" % ids[2]), "f")
    # perform_update caps, get_object hides
    eq(srv.json("PATCH", "/capped/%d" % ids[3], body={"score": 99})[2]["score"], 50)
    srv.json("PATCH", "/items/%d" % ids[0], body={"score": 13})
    eq(srv.request("GET", "/capped/%d" % ids[0])[0], 404)
    eq(srv.request("PATCH", "/capped/%d" % ids[0], body={"score": 1})[0], 404)
    eq(e.db.scalar("SELECT score FROM item WHERE id = %d" % ids[0]), "13")
    # each overridden hook entered Lua for its action
    for prefix in ("/active", "/cheap", "/no-secret", "/wrapped", "/upper", "/stamped", "/soft",
                   "/capped"):
        flags = lua_flags(srv, prefix)
        assert flags and all(flags), "%s did not run its Lua hook" % prefix


@with_env
def test_status_codes_and_transactions(e):
    srv = e.srv
    ids = seed(srv, 1)
    srv.json("PATCH", "/items/%d" % ids[0], body={"code": "dup"})
    # 409: unique violation
    status, _, doc = post(srv, "/items", {"name": "x", "score": 1, "code": "dup"})
    eq(status, 409)
    eq(doc["errors"][0]["pointer"], "/code")
    # the database's own words ("duplicate key value violates ...") stay in the log
    assert "duplicate" not in json.dumps(doc).lower(), doc
    # 422: not null, check, bad types
    eq(post(srv, "/items", {"score": 1})[0], 422)               # name NOT NULL
    status, _, doc = post(srv, "/items", {"name": "x", "score": -1})  # CHECK
    eq(status, 422)
    eq(post(srv, "/items", {"name": "x", "score": "many"})[0], 422)
    eq(post(srv, "/items", {"name": "x", "score": 1, "tags": "not-a-list"})[0], 422)
    eq(post(srv, "/items", {"name": "x", "score": 1, "data": {"deep": [1, {"a": None}]}})[0], 201)
    eq(post(srv, "/items", [1, 2])[0], 400)
    # a write that fails in its transaction leaves nothing behind
    before = e.db.scalar("SELECT count(*) FROM item")
    status, _, _ = post(srv, "/with-note", {"name": "t", "score": 1, "note": "fail"})
    eq(status, 500)
    eq(e.db.scalar("SELECT count(*) FROM item"), before, "the item was rolled back")
    eq(e.db.scalar("SELECT count(*) FROM note"), "0")
    eq(post(srv, "/with-note", {"name": "t", "score": 1, "note": "ok"})[0], 201)
    eq(e.db.scalar("SELECT count(*) FROM note"), "1")
    # no SQL in any response
    for _, _, body in [srv.request("GET", "/items?score=abc"),
                       srv.request("POST", "/items", body={"name": "x", "score": -5})]:
        text = body.decode().lower()
        for word in ("select", "insert", "violates", "sqlstate", "constraint \""):
            assert word not in text, "SQL leaked: %s" % text


@with_env
def test_sql_injection_is_harmless(e):
    srv = e.srv
    ids = seed(srv, 3)
    attacks = ["1; DROP TABLE item; --", "1' OR '1'='1", "1) OR (1=1", "\"; DROP TABLE item; --",
               "' UNION SELECT secret FROM item --"]
    from urllib.parse import quote
    for a in attacks:
        q = quote(a)
        for path in ("/items?score=" + q, "/items?name=" + q, "/items?name__contains=" + q,
                     "/items?score__in=" + q, "/items?ordering=" + q, "/items?fields=" + q,
                     "/items?" + q + "=1", "/items/" + q, "/rd/items/" + q):
            status, _, body = srv.request("GET", path)
            assert status in (200, 400, 404), (path, status)
            text = body.decode()
            assert "hunter" not in text and "pw0" not in text, "secret leaked via %s" % path
            if status == 200 and "name" in path:
                eq(json.loads(body), [], path)
        status, _, doc = post(srv, "/items", {"name": a, "score": 1})
        eq(status, 201)
        eq(doc["name"], a, "stored verbatim")
    eq(e.db.scalar("SELECT count(*) FROM item"), str(3 + len(attacks)), "the table is intact")
    eq(srv.json("GET", "/items/%d" % ids[0])[0], 200)


@with_env
def test_no_lost_write_on_sigterm(e):
    srv = e.srv
    join = in_thread(lambda: post(srv, "/items", {"name": "last", "score": 1}))
    time.sleep(0.05)
    srv.signal(15)
    status, _, doc = join(20)
    eq(srv.wait(30), 0)
    if status == 201:
        eq(e.db.scalar("SELECT name FROM item WHERE id = %d" % doc["id"]), "last")
    # and many writes with SIGTERM right after the last answer
    srv2 = Server(e.app, env={"DATABASE_URL": e.db.url}).start()
    try:
        answered = []
        for i in range(30):
            status, _, doc = post(srv2, "/items", {"name": "w%d" % i, "score": i})
            if status == 201:
                answered.append(doc["id"])
        srv2.signal(15)
        eq(srv2.wait(30), 0)
        stored = {int(r[0]) for r in e.db.sql("SELECT id FROM item")}
        missing = [i for i in answered if i not in stored]
        eq(missing, [], "every 201 is in the table")
    finally:
        srv2.stop()


main(globals())
