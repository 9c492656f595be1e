"""End-to-end tests of JSON bodies held to RFC 8259 exactly (issue 17, point 3):
what is malformed is a 400 and stores nothing, valid JSON the core cannot take
is a 422 naming the value, big integers reach PostgreSQL digit for digit on
the C path and are refused by name where Lua would round them, and a charset
other than UTF-8 is a 415. Each case on a generic resource run in C, on one
with a Lua hook, and on a Lua resource."""

import json
import tempfile

from harness import Database, Server, eq, main, write_app

MODEL = """
local soom = require "soom"
return soom.model {
    table = "thing", primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text(),
        big = soom.f.bigint { null = true },
        small = soom.f.integer { null = true },
        exact = soom.f.numeric { null = true },
        data = soom.f.jsonb { null = true },
    },
}
"""

MIGRATION = """
CREATE TABLE thing (id bigserial PRIMARY KEY, name text NOT NULL, big bigint, small integer,
                    exact numeric, data jsonb);
"""

RESOURCES = """
local soom = require "soom"
local Thing = require "models.thing"
local FIELDS = { "id", "name", "big", "small", "exact", "data" }
return {
    soom.ListCreateResource { route = "/things", model = Thing, fields = FIELDS },
    soom.RetrieveResource { route = "/things/{id:int}", model = Thing, fields = FIELDS },
    soom.CreateResource {
        route = "/hooked", model = Thing, fields = FIELDS,
        perform_create = function(self, req, data)
            return self.super.perform_create(self, req, data)
        end,
    },
    soom.Resource {
        route = "/echo",
        post = function(_, req) return { echo = req.body } end,
    },
}
"""

JSON = {"Content-Type": "application/json"}
WRITES = ("/things", "/hooked")
PATHS = WRITES + ("/echo",)


class Env:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.app = write_app(self.tmp.name, {"models/thing.lua": MODEL,
                                             "resources/things.lua": RESOURCES})
        self.db = Database()
        self.db.psql([], input=MIGRATION)
        self.srv = Server(self.app, env={"DATABASE_URL": self.db.url, "SOOM_THREADS": "2"}).start()

    def close(self):
        self.srv.stop()
        self.db.drop()
        self.tmp.cleanup()

    def post(self, path, raw, headers=JSON):
        status, hdrs, body = self.srv.request("POST", path, body=raw, headers=headers)
        return status, hdrs, json.loads(body) if body else None

    def rows(self):
        return int(self.db.scalar("SELECT count(*) FROM thing"))


def with_env(fn):
    def test():
        e = Env()
        try:
            fn(e)
        finally:
            e.close()
    test.__name__ = fn.__name__
    return test


def problem(e, path, raw, status, headers=JSON):
    got, hdrs, doc = e.post(path, raw, headers)
    eq(got, status, "status for %r on %s (%r)" % (raw, path, doc))
    eq(hdrs.get("content-type"), "application/problem+json")
    return doc


MALFORMED = [
    b'{"name": "a", "big": -01}', b'{"name": "a", "big": 012}', b'{"name": "a", "big": 2.}',
    b'{"name": "a", "big": .5}', b'{"name": "a", "big": 1.e5}',
    b'{"name": "a\x01b"}', b'{"name": "abc\x00-hidden"}', b'{"name": "tab\there"}',
    b'{"name":\x0b"a"}', b'{"name":\x0c"a"}', b'\x1c{"name": "a"}', b'{"name": "a"}\x00',
    b'{"name": "a", "name": "b"}', b'{"name": "a", "data": {"k": 1, "\\u006b": 2}}',
    b'{"name": "\\ud800"}', b'{"name": "a",}',
]


@with_env
def test_malformed_is_400_and_stores_nothing(e):
    for path in PATHS:
        for raw in MALFORMED:
            doc = problem(e, path, raw, 400)
            assert "malformed JSON" in doc["detail"], doc
    eq(e.rows(), 0, "nothing stored")
    doc = problem(e, "/things", b'{"name": "a", "data": {"k": 1, "k": 2}}', 400)
    assert "/data/k" in doc["detail"], doc
    # the same text, well formed, is taken
    status, _, doc = e.post("/things", b'{"name": "a\\u0001b", "big": -1, "exact": 0.5}')
    eq(status, 201, repr(doc))
    eq((doc["name"], doc["big"], doc["exact"]), ("a\x01b", -1, "0.5"))


@with_env
def test_nul_is_422_naming_the_field(e):
    for path in PATHS:
        doc = problem(e, path, b'{"name": "abc\\u0000-hidden"}', 422)
        eq(doc["errors"], [{"pointer": "/name", "detail": "the NUL character (\\u0000) cannot "
                            "be stored", "code": "nul", "source": "body"}])
        doc = problem(e, path, b'{"name": "a", "data": {"list": [1, "\\u0000"]}}', 422)
        eq(doc["errors"][0]["pointer"], "/data/list/1")
    eq(e.rows(), 0, "nothing stored")


@with_env
def test_beyond_double_range_is_4xx_everywhere(e):
    for path in PATHS:
        for raw in (b'{"name": "a", "exact": 1e999}', b'{"name": "a", "data": [-1E+400]}'):
            doc = problem(e, path, raw, 422)
            eq(doc["errors"][0]["code"], "range")
        doc = problem(e, path, b'{"name": "a", "exact": %s}' % (b"9" * 70), 422)
        eq(doc["errors"][0]["pointer"], "/exact")
    eq(e.rows(), 0, "nothing stored")


@with_env
def test_big_integers_exact_on_the_c_path(e):
    big = 9223372036854775807  # bigint's largest: a double would make it ...808
    exact = 123456789012345678901234567890
    raw = ('{"name": "n", "big": %d, "exact": %d, "data": {"n": %d, "m": -9007199254740993}}'
           % (big, exact, exact)).encode()
    status, _, body = e.srv.request("POST", "/things", body=raw, headers=JSON)
    eq(status, 201, body)
    eq(e.db.sql("SELECT big, exact, data->>'n', data->>'m' FROM thing"),
       [[str(big), str(exact), str(exact), "-9007199254740993"]])
    doc = json.loads(body)
    status, _, got = e.srv.request("GET", "/things/%d" % doc["id"])
    doc = json.loads(got)  # Python reads integers exactly
    eq((doc["big"], doc["exact"], doc["data"]["n"], doc["data"]["m"]),
       (big, str(exact), exact, -9007199254740993))
    # 10^20 reaches PostgreSQL as an integer (not 1e+20) and is refused by name
    doc = problem(e, "/things", b'{"name": "x", "big": 100000000000000000000}', 422)
    eq(doc["errors"], [{"pointer": "/big", "detail": "must be an integer that fits 64 bits",
                        "code": "range", "source": "body"}])
    for raw in (b'{"name": "x", "small": 3000000000}', b'{"name": "x", "small": 1.5}',
                b'{"name": "x", "small": 1.00000000000000000001}'):
        doc = problem(e, "/things", raw, 422)
        eq(doc["errors"][0]["pointer"], "/small")
    eq(e.rows(), 1, "nothing more stored")
    status, _, body = e.srv.request("POST", "/things", body=b'{"name": "z", "small": -2147483648,'
                                    b' "big": -9223372036854775808}', headers=JSON)
    eq(status, 201, body)
    status, _, body = e.srv.request("POST", "/things", body=b'{"name": "y", "exact": 1e20}',
                                    headers=JSON)
    eq(status, 201, body)
    eq(e.db.scalar("SELECT exact FROM thing WHERE name = 'y'"), "100000000000000000000")


@with_env
def test_big_integers_refused_by_name_where_lua_runs(e):
    for path in ("/hooked", "/echo"):
        doc = problem(e, path, b'{"name": "n", "data": {"ids": [1, 9007199254740993]}}', 422)
        eq(doc["errors"][0]["pointer"], "/data/ids/1")
        eq(doc["errors"][0]["code"], "range")
    eq(e.rows(), 0, "nothing stored")
    status, _, body = e.srv.request("POST", "/echo", body=b'[9007199254740992, -9007199254740992]',
                                    headers=JSON)
    eq((status, json.loads(body)), (200, {"echo": [9007199254740992, -9007199254740992]}))


@with_env
def test_charset_other_than_utf8_is_415(e):
    for path in PATHS:
        for ct in ("application/json; charset=iso-8859-1", "application/json;charset=utf-16",
                   'application/json; charset="latin1"'):
            problem(e, path, b'{"name": "a"}', 415, {"Content-Type": ct})
    eq(e.rows(), 0, "nothing stored")
    for ct in ("application/json; charset=utf-8", 'application/json; charset="UTF-8"',
               "application/json;charset=UTF8"):
        status, _, doc = e.post("/things", b'{"name": "a"}', {"Content-Type": ct})
        eq(status, 201, repr(doc))


main(globals())
