"""End-to-end tests of request validation: JSON Schema compiled at start-up
and run in C before any Lua, through apps/sample's /orders and small apps
made for the test."""

import json
import tempfile
import time

from harness import Server, eq, main, start_failure, write_app

GOOD = {"customer": {"name": "Ada", "email": "ada@example.com"},
        "lines": [{"sku": "ABC-1234", "quantity": 2}, {"sku": "XYZ-0001", "quantity": 3}]}


def accepted_count(srv):
    return sum(1 for l in srv.log_lines() if l.get("msg") == "order accepted")


def problem(srv, method, path, body=None, **kw):
    status, headers, doc = srv.json(method, path, body=body, **kw)
    eq(headers["content-type"], "application/problem+json")
    return status, doc


def test_valid_body_reaches_the_resource():
    srv = Server(env={"SOOM_THREADS": "1"}).start()
    try:
        status, _, doc = srv.json("POST", "/orders", body=GOOD)
        eq((status, doc), (201, {"accepted": True, "items": 5, "priority": "normal"}))
        time.sleep(0.2)
        eq(accepted_count(srv), 1, "the resource ran once")
    finally:
        srv.stop()


def test_invalid_body_lists_every_error_and_lua_never_runs():
    srv = Server(env={"SOOM_THREADS": "1", "SOOM_FORMAT_ASSERTION": "true"}).start()
    try:
        bad = {"customer": {"name": "", "email": "not-an-email"},
               "lines": [{"sku": "ABC-1234", "quantity": 0}, {"sku": "bad"}], "extra": 1,
               "priority": "urgent"}
        status, doc = problem(srv, "POST", "/orders", bad)
        eq(status, 422)
        eq(doc["status"], 422)
        got = {(e["pointer"], e["code"], e["source"]) for e in doc["errors"]}
        eq(got, {("/customer/name", "minLength", "body"),
                 ("/customer/email", "format", "body"),
                 ("/lines/0/quantity", "minimum", "body"),
                 ("/lines/1/sku", "pattern", "body"),
                 ("/lines/1/quantity", "required", "body"),
                 ("/extra", "additionalProperties", "body"),
                 ("/priority", "enum", "body")})
        for e in doc["errors"]:
            assert e["detail"], e
        # wrong types are refused, not coerced, in bodies
        body = json.loads(json.dumps(GOOD))
        body["lines"][0]["quantity"] = "2"
        status, doc = problem(srv, "POST", "/orders", body)
        eq([(e["pointer"], e["code"]) for e in doc["errors"]], [("/lines/0/quantity", "type")])
        # no body at all
        status, doc = problem(srv, "POST", "/orders", None, headers={"Content-Type": "application/json"})
        eq(status, 400)
        time.sleep(0.2)
        eq(accepted_count(srv), 0, "the resource's Lua never ran")
    finally:
        srv.stop()


def test_query_is_coerced_and_validated():
    srv = Server().start()
    try:
        status, _, doc = srv.json("GET", "/orders?limit=5&status=open&status=shipped&express=1")
        eq(status, 200)
        eq(doc, {"query": {"limit": 5, "status": ["open", "shipped"], "express": True},
                 "limit_type": "number"})
        status, _, doc = srv.json("GET", "/orders?status=open,shipped")
        eq(doc["query"]["status"], ["open", "shipped"])
        status, doc = problem(srv, "GET", "/orders?limit=abc&status=lost&other=1")
        eq(status, 422)
        got = {(e["pointer"], e["code"], e["source"]) for e in doc["errors"]}
        eq(got, {("/limit", "type", "query"), ("/status/0", "enum", "query"),
                 ("/other", "additionalProperties", "query")})
        # query and body errors together in one answer
        status, doc = problem(srv, "POST", "/orders?limit=0", {"lines": []})
        sources = sorted({e["source"] for e in doc["errors"]})
        eq(sources, ["body", "query"])
    finally:
        srv.stop()


SCHEMA_APP = {
    "resources/things.lua": """
local soom = require "soom"
local s = require "soom.schema"
return soom.Resource {
    route = "/things",
    validation_schema = s.object { name = s.string { min = 1 }, size = s.integer { optional = true } },
    post = function(_, req) return req.body, 201 end,
    put = function(_, req) return req.body end,
    patch = function(_, req) return req.body end,
}
""",
}


def test_patch_is_partial_put_is_whole():
    with tempfile.TemporaryDirectory() as d:
        srv = Server(write_app(d, SCHEMA_APP)).start()
        try:
            eq(srv.json("PATCH", "/things", body={"size": 3})[0], 200)
            eq(srv.json("PUT", "/things", body={"size": 3})[0], 422)
            eq(srv.json("POST", "/things", body={"size": 3})[0], 422)
            status, _, doc = srv.json("PATCH", "/things", body={"size": "big"})
            eq((status, doc["errors"][0]["pointer"]), (422, "/size"))
            eq(srv.json("POST", "/things", body={"name": "x"})[0], 201)
        finally:
            srv.stop()


def test_invalid_schema_stops_startup_naming_resource_and_path():
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {"resources/bad.lua": """
local soom = require "soom"
return soom.Resource {
    route = "/bad",
    validation_schema = { type = "object", properties = { name = { type = "string", minLength = -1 } } },
    post = function() end,
}
"""})
        code, log = start_failure(d)
        assert code != 0, log
        assert "resources/bad.lua" in log and "validation_schema" in log, log
        assert "/properties/name/minLength" in log, log
        write_app(d, {"resources/bad.lua": """
local soom = require "soom"
return soom.Resource {
    route = "/bad",
    query_schema = { type = "object", properties = { q = { pattern = "([a-" } } },
    get = function() end,
}
"""})
        code, log = start_failure(d)
        assert code != 0 and "query_schema" in log and "/properties/q/pattern" in log, log


def test_hostile_pattern_returns():
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {"resources/re.lua": """
local soom = require "soom"
return soom.Resource {
    route = "/re",
    validation_schema = { type = "object", properties = { s = { type = "string", pattern = "^(a+)+$" } } },
    post = function() return { ok = true } end,
}
"""})
        srv = Server(d).start()
        try:
            t0 = time.time()
            status, _, doc = srv.json("POST", "/re", body={"s": "a" * 40 + "!"})
            eq(status, 422)
            assert time.time() - t0 < 5
            eq(srv.json("POST", "/re", body={"s": "aaaa"})[0], 200)
        finally:
            srv.stop()


main(globals())
