"""End-to-end tests of the defaults users expect (issue 16, point 6 and the
small errors of point 7): formats named by soom.schema's helpers asserted,
a generic list's query_schema admitting the list's own parameters (its
`next` links followed), JSON key order kept on the Lua paths, a resource's
own OPTIONS handler, and CHECK violations pointing at their columns."""

import json
import os
import tempfile
import urllib.parse

from harness import SOURCE, Database, Server, eq, main, run_soom, start_failure, write_app

MODEL = """
local soom = require "soom"
return soom.model {
    table = "booking", primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        room = soom.f.text(),
        score = soom.f.integer(),
        starts_at = soom.f.timestamptz(),
        ends_at = soom.f.timestamptz(),
    },
}
"""

MIGRATION = """
CREATE TABLE booking (
    id bigserial PRIMARY KEY,
    room text NOT NULL,
    score integer NOT NULL CHECK (score >= 0),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CONSTRAINT booking_range CHECK (starts_at < ends_at)
);
"""

BOOKINGS = """
local soom = require "soom"
local s = require "soom.schema"
local Booking = require "models.booking"
local FIELDS = { "score", "id", "room", "starts_at", "ends_at" }
local BODY = s.object {
    room = s.string { min = 1 }, score = s.integer {},
    starts_at = s.date_time(), ends_at = s.date_time(),
}
local QUERY = s.object({ q = s.string { optional = true } })
return {
    soom.ListCreateResource {
        route = "/bookings", model = Booking, fields = FIELDS,
        validation_schema = BODY, query_schema = QUERY,
        filter_fields = { "score" }, ordering_fields = { "score", "id" },
        pagination = soom.pagination.cursor { ordering = { "id" }, page_size = 2 },
    },
    soom.ListCreateResource {
        route = "/hooked", model = Booking, fields = FIELDS, query_schema = QUERY,
        pagination = soom.pagination.offset { default_limit = 2 },
        serializer_data = function(self, data)  -- the page's rows, or the one created
            if soom.json.is_array(data) then
                for _, row in ipairs(data) do row.tag = "hooked" end
            else
                data.tag = "hooked"
            end
            return data
        end,
    },
    soom.ListResource {
        route = "/narrowed", model = Booking, fields = FIELDS,
        query_schema = s.object({ page_size = s.integer { max = 3 } }),
        pagination = soom.pagination.cursor { ordering = { "id" }, page_size = 2 },
    },
}
"""

OTHERS = """
local soom = require "soom"
local s = require "soom.schema"
return {
    soom.Resource {
        route = "/rows",
        get = function()
            return soom.db.query("SELECT 3 AS zeta, n AS alpha, 'x' AS mid, n * 10 AS beta "
                .. "FROM generate_series(1, 2) AS n")
        end,
    },
    soom.Resource {
        route = "/problem",
        get = function()
            return soom.error(409, "taken", {
                zeta = 1, alpha = true,
                errors = { { code = "unique", detail = "taken", pointer = "/name" } },
            })
        end,
    },
    soom.Resource {
        route = "/opts",
        get = function() return { ok = true } end,
        options = function(self, req)
            return { methods = { "GET" }, origin = req:header("Origin") }, 200,
                { ["Access-Control-Allow-Origin"] = "*", ["Access-Control-Max-Age"] = "600" }
        end,
    },
    soom.Resource {
        route = "/opts-allow",
        post = function() return nil, 204 end,
        options = function() return nil, 204, { Allow = "POST" } end,
    },
    soom.Resource {
        route = "/raw",
        post = function(self, req)
            local b = req.body
            return soom.db.one("INSERT INTO booking (room, score, starts_at, ends_at) "
                .. "VALUES ($1, $2, $3, $4) RETURNING id", b.room, b.score, b.starts_at,
                b.ends_at), 201
        end,
    },
    soom.Resource {
        route = "/orders",
        validation_schema = s.object {
            name = s.string { max = 100 }, email = s.string(),
            items = s.array { items = s.object { price = s.number { min = 0 } } },
        },
        query_schema = s.object({ page = s.integer { optional = true } }),
        post = function() return nil, 201 end,
    },
    soom.Resource {
        route = "/plain",
        get = function() return { ok = true } end,
    },
}
"""


class Env:
    def __init__(self, env=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.app = write_app(self.tmp.name, {
            "models/booking.lua": MODEL, "migrations/0001_booking.sql": MIGRATION,
            "resources/bookings.lua": BOOKINGS, "resources/others.lua": OTHERS,
        })
        self.db = Database()
        self.db.psql([], input=MIGRATION)
        e = {"DATABASE_URL": self.db.url, "SOOM_THREADS": "2"}
        e.update(env or {})
        self.srv = Server(self.app, env=e).start()

    def close(self):
        self.srv.stop()
        self.db.drop()
        self.tmp.cleanup()


def with_env(fn):
    def test():
        e = Env()
        try:
            fn(e)
        finally:
            e.close()
    test.__name__ = fn.__name__
    return test


def booking(room, score=1, starts="2026-12-02T10:00:00Z", ends="2026-12-02T11:00:00Z"):
    return {"room": room, "score": score, "starts_at": starts, "ends_at": ends}


def seed(srv, n):
    for i in range(n):
        status, _, doc = srv.json("POST", "/bookings", body=booking("r%d" % i, score=i))
        eq(status, 201, doc)


def path_of(link):
    u = urllib.parse.urlsplit(link)
    return u.path + ("?" + u.query if u.query else "")


@with_env
def test_format_helpers_are_asserted_without_format_assertion(e):
    srv = e.srv
    status, _, doc = srv.json("POST", "/bookings", body=booking("a", starts="tomorrow"))
    eq(status, 422, doc)
    eq([(x["pointer"], x["code"]) for x in doc["errors"]], [("/starts_at", "format")])
    eq(e.db.scalar("SELECT count(*) FROM booking"), "0", "nothing stored")
    status, _, doc = srv.json("POST", "/bookings", body=booking("a"))
    eq(status, 201, doc)


@with_env
def test_query_schema_admits_the_lists_own_parameters(e):
    srv = e.srv
    seed(srv, 5)
    # the app's own parameter, then the pages by their next links
    status, _, doc = srv.json("GET", "/bookings?q=x")
    eq(status, 200, doc)
    seen = [r["id"] for r in doc["results"]]
    while doc["next"]:
        status, _, doc = srv.json("GET", path_of(doc["next"]))
        eq(status, 200, doc)
        seen += [r["id"] for r in doc["results"]]
    eq(len(seen), 5, "every row once")
    # the framework's parameters and the declared filters
    for q in ("page_size=3", "ordering=-score", "fields=id,room", "score=2", "score__gt=1",
              "score__in=1,2", "score__isnull=false"):
        status, _, doc = srv.json("GET", "/bookings?" + q)
        eq(status, 200, (q, doc))
    # what the schema did not declare is still refused
    status, _, doc = srv.json("GET", "/bookings?other=1")
    eq((status, doc["errors"][0]["pointer"]), (422, "/other"))
    # an offset list, run in Lua: limit, offset, page
    status, _, doc = srv.json("GET", "/hooked?limit=2&offset=2")
    eq((status, len(doc["results"])), (200, 2), doc)
    status, _, doc = srv.json("GET", path_of(doc["next"]))
    eq((status, len(doc["results"])), (200, 1), doc)
    # a parameter the app narrows keeps its declaration, and is not required
    eq(srv.json("GET", "/narrowed")[0], 200)
    eq(srv.json("GET", "/narrowed?page_size=3")[0], 200)
    status, _, doc = srv.json("GET", "/narrowed?page_size=4")
    eq((status, doc["errors"][0]["code"]), (422, "maximum"))


def test_the_openapi_document_describes_both():
    tmp = tempfile.TemporaryDirectory()
    try:
        app = write_app(tmp.name, {"models/booking.lua": MODEL, "resources/bookings.lua": BOOKINGS,
                                   "resources/others.lua": OTHERS})
        code, out, err = run_soom("openapi", app)
        eq(code, 0, err)
        doc = json.loads(out)
        paths, shared = doc["paths"], doc["components"]["parameters"]

        def params(op):  # a list's parameters are components (docs/OPENAPI.md)
            return [shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                    for p in op["parameters"]]

        names = [p["name"] for p in params(paths["/bookings"]["get"])]
        for n in ("q", "cursor", "page_size", "ordering", "fields", "score", "score__gt"):
            assert n in names, (n, names)
        narrowed = {p["name"]: p for p in params(paths["/narrowed"]["get"])}
        eq(narrowed["page_size"]["schema"]["maximum"], 3, "the app's declaration")
        eq(narrowed["page_size"].get("required", False), False, "never required")
        eq(sorted(paths["/opts"].keys()), ["get", "options"], "the options handler's operation")
        assert "options" not in paths["/plain"], paths["/plain"]
    finally:
        tmp.cleanup()


def test_a_conflicting_declaration_stops_start_up():
    tmp = tempfile.TemporaryDirectory()
    try:
        bad = BOOKINGS.replace('local QUERY = s.object({ q = s.string { optional = true } })',
                               'local QUERY = s.object({ cursor = s.integer { optional = true } })')
        app = write_app(tmp.name, {"models/booking.lua": MODEL, "resources/bookings.lua": bad})
        code, log = start_failure(app, env={"DATABASE_URL": "postgresql://127.0.0.1:1/none"})
        assert code != 0, log
        assert "query_schema declares cursor" in log and "/bookings" in log, log
        assert "reads it as string" in log, log
    finally:
        tmp.cleanup()


def keys(text):
    return list(json.loads(text).keys())


@with_env
def test_key_order_follows_fields_on_every_path(e):
    srv = e.srv
    seed(srv, 3)
    want = ["score", "id", "room", "starts_at", "ends_at"]
    status, _, body = srv.request("GET", "/bookings")  # C
    eq([list(r.keys()) for r in json.loads(body)["results"]], [want, want])
    status, _, body = srv.request("GET", "/hooked")  # a Lua hook
    eq(status, 200)
    page = json.loads(body)
    eq(list(page.keys()), ["count", "next", "previous", "results"])
    eq([list(r.keys()) for r in page["results"]], [want + ["tag"]] * 2)
    status, _, body = srv.request("POST", "/hooked", body=booking("z"))
    eq((status, keys(body)), (201, want + ["tag"]))
    # soom.db rows follow the SELECT
    status, _, body = srv.request("GET", "/rows")
    eq([list(r.keys()) for r in json.loads(body)], [["zeta", "alpha", "mid", "beta"]] * 2)
    # problem documents follow RFC 9457, the Lua ones as the C ones
    status, headers, body = srv.request("GET", "/problem")
    eq((status, headers["content-type"]), (409, "application/problem+json"))
    eq(keys(body), ["type", "title", "status", "detail", "instance", "alpha", "errors", "zeta"])
    eq(list(json.loads(body)["errors"][0].keys()), ["pointer", "detail", "code"])
    status, _, body = srv.request("GET", "/bookings?other=1")
    eq(keys(body), ["type", "title", "status", "detail", "instance", "errors"])


@with_env
def test_a_resources_options_handler_answers_options(e):
    srv = e.srv
    status, headers, body = srv.request("OPTIONS", "/opts", headers={"Origin": "https://a.example"})
    eq(status, 200, body)
    eq(json.loads(body), {"methods": ["GET"], "origin": "https://a.example"})
    eq(headers["access-control-allow-origin"], "*")
    eq(headers["access-control-max-age"], "600")
    eq(headers["allow"], "GET, HEAD, OPTIONS", "Allow added")
    status, headers, _ = srv.request("OPTIONS", "/opts-allow")
    eq((status, headers["allow"]), (204, "POST"), "the handler's own Allow kept")
    # without a handler the core answers, as before
    status, headers, body = srv.request("OPTIONS", "/plain")
    eq((status, headers["allow"], body), (204, "GET, HEAD, OPTIONS", b""))
    status, headers, _ = srv.request("DELETE", "/opts")
    eq((status, headers["allow"]), (405, "GET, HEAD, OPTIONS"))


@with_env
def test_check_violations_point_at_their_columns(e):
    srv = e.srv
    status, _, doc = srv.json("POST", "/bookings", body=booking("a", score=-1))
    eq(status, 422, doc)
    eq([(x["pointer"], x["code"]) for x in doc["errors"]], [("/score", "check")])
    status, _, doc = srv.json("POST", "/bookings", body=booking(
        "a", starts="2026-12-02T12:00:00Z", ends="2026-12-02T11:00:00Z"))
    eq(status, 422, doc)
    eq(doc["detail"], "a value fails the check booking_range")
    eq(sorted((x["pointer"], x["code"]) for x in doc["errors"]),
       [("/ends_at", "check"), ("/starts_at", "check")])
    # through soom.db too
    status, _, doc = srv.json("POST", "/raw", body=booking("a", score=-1))
    eq((status, [(x["pointer"], x["code"]) for x in doc["errors"]]), (422, [("/score", "check")]))
    status, _, doc = srv.json("POST", "/raw", body=booking(
        "a", starts="2026-12-02T12:00:00Z", ends="2026-12-02T11:00:00Z"))
    eq((status, [x["pointer"] for x in doc["errors"]]), (422, ["/starts_at", "/ends_at"]))
    eq(e.db.scalar("SELECT count(*) FROM booking"), "0", "nothing stored")


def test_the_validation_docs_example_is_what_the_server_sends():
    with open(os.path.join(SOURCE, "docs", "VALIDATION.md")) as f:
        text = f.read()
    section = text[text.index("\n## Errors\n"):]
    start = section.index("```json\n") + len("```json\n")
    documented = section[start:section.index("```", start)]
    e = Env()
    try:
        body = {"name": "x" * 101, "items": [{"price": 1}, {"price": 2}, {"price": 3},
                                              {"price": -1}]}
        status, headers, sent = e.srv.request("POST", "/orders?page=x", body=body)
        eq(status, 422)
        sent, documented = json.loads(sent), json.loads(documented)
        eq(list(sent.keys()), list(documented.keys()), "members, in order")
        # the body's errors come in the schema's order, which a Lua table does not fix
        key = lambda err: (err["source"] != "query", err["pointer"])
        sent["errors"].sort(key=key)
        documented["errors"].sort(key=key)
        eq(sent, documented, "docs/VALIDATION.md's example")
    finally:
        e.close()


if __name__ == "__main__":
    main(globals())
