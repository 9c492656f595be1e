"""soom.db against a real PostgreSQL: from a CLI command (a direct
connection) and from requests served by `soom run` (the process's pool, one
connection per request, always given back): typed rows, parameters,
affected counts, errors as problems (409, 422, 500, 503), transactions and
savepoints."""

import json
import threading
import time

from harness import Server, eq, main, run_soom, write_app
from pgdb import fresh_database, psql, temp_dir

URL = fresh_database("t_dbq")

SCHEMA = """
CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL UNIQUE,
                   score int CHECK (score >= 0), price numeric(8,2));
CREATE TABLE tag (id serial PRIMARY KEY, item_id int NOT NULL REFERENCES item);
CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0));
"""

CASES = r'''
local soom = require "soom"
local db = require "soom.db"
local json = require "soom.json"

local function types(row)
    local t = {}
    for k, v in pairs(row) do
        t[k] = v == soom.null and "null" or type(v)
    end
    return t
end

local function problem(fn, ...)
    local ok, err = pcall(fn, ...)
    assert(not ok, "expected an error")
    assert(soom.is_error(err), "not a problem: " .. tostring(err))
    return { status = err.status, detail = err.detail, errors = err.errors,
             headers = err.headers }
end

local cases = {}

function cases.types()
    local row = db.one([[SELECT 1::int2 AS i2, 2147483647 AS i4, 9007199254740993::int8 AS big,
        42::int8 AS small8, 12.50::numeric(6,2) AS num, 0.5::float8 AS f8, 1.5::float4 AS f4,
        true AS yes, NULL::text AS nothing, 'héllo'::text AS txt,
        '{"a": [1, {"b": null}], "c": "d"}'::jsonb AS doc, '[]'::json AS empty,
        '{1,2,NULL}'::int4[] AS ints, '{{a,b},{c,"d e"}}'::text[] AS grid,
        '{}'::text[] AS none, '2026-11-29 02:13:31.123456+00'::timestamptz AS at,
        '2026-11-29 02:13:31'::timestamp AS local, '2026-11-29'::date AS day,
        '123e4567-e89b-12d3-a456-426614174000'::uuid AS id,
        '\x00ff41'::bytea AS raw, 'NaN'::float8 AS nan]])
    local out = { types = types(row) }
    out.raw_hex = row.raw:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end)
    out.nan = row.nan ~= row.nan
    row.raw, row.nan = nil, nil
    out.values = row
    out.ints_is_array = json.is_array(row.ints) and json.is_array(row.none)
    return out
end

function cases.params()
    local big = 2 ^ 53
    local row = db.one([[SELECT $1::int AS a, $2::text AS b, $3::bool AS c, $4::numeric AS d,
        $5::jsonb AS e, $6::text IS NULL AS f, $7::float8 AS g, $8::int[] AS h,
        encode($9::bytea, 'hex') AS i, $10::int8::text AS j, $11::text IS NULL AS k,
        $12::text[] AS l, $13::text AS m]],
        42, "x'y\"z", true, 0.1, { k = { 1, 2 } }, soom.null, 1 / 3, db.array { 1, 2, 3 },
        db.binary("\0\1\2"), big, nil, db.array { "a b", 'q"uote', soom.null }, "")
    return row
end

function cases.affected()
    local rows, n = db.query("INSERT INTO item (name, score) VALUES ($1, 1), ($2, 2)", "a", "b")
    local out = { insert_rows = #rows, insert_n = n }
    rows, n = db.query("UPDATE item SET score = score + 1")
    out.update_n = n
    rows, n = db.query("SELECT * FROM item")
    out.select_rows, out.select_n = #rows, n
    rows, n = db.query("INSERT INTO item (name) VALUES ('c') RETURNING id, name")
    out.returning = rows[1].name
    out.returning_n = n or "none"
    rows, n = db.query("DELETE FROM item")
    out.delete_n = n
    out.none = db.one("SELECT * FROM item WHERE false") == nil
    return out
end

function cases.errors()
    db.query("INSERT INTO item (name) VALUES ('dup')")
    local out = {}
    out.unique = problem(db.query, "INSERT INTO item (name) VALUES ($1)", "dup")
    out.fk = problem(db.query, "INSERT INTO tag (item_id) VALUES (999)")
    out.not_null = problem(db.query, "INSERT INTO item (name) VALUES (NULL)")
    out.check = problem(db.query, "INSERT INTO item (name, score) VALUES ('x', -1)")
    out.bad_int = problem(db.query, "SELECT $1::int", "abc")
    out.syntax = problem(db.query, "SELEKT 1")
    out.misuse = select(2, pcall(db.query, "SELECT $1::text", function() end))
    db.use("postgresql://soom:soom@127.0.0.1:1/nowhere")
    out.down = problem(db.query, "SELECT 1")
    db.use(nil)
    out.after = db.one("SELECT 'fine' AS ok").ok
    return out
end

function cases.transactions()
    db.query("INSERT INTO account VALUES (1, 100), (2, 0)")
    local out = {}
    out.returned = { db.transaction(function(tx)
        tx:query("UPDATE account SET balance = balance - 30 WHERE id = 1")
        tx:query("UPDATE account SET balance = balance + 30 WHERE id = 2")
        return "done", 7
    end) }
    local ok, err = pcall(db.transaction, function(tx)
        tx:query("UPDATE account SET balance = balance + 1000 WHERE id = 2")
        error({ mine = true })
    end)
    out.raised_same = not ok and type(err) == "table" and err.mine == true
    ok, err = pcall(db.transaction, function(tx)
        tx:query("UPDATE account SET balance = balance - 1000 WHERE id = 1")
    end)
    out.check_failed = not ok and err.status
    -- nested: the inner failure is undone, the outer work is kept
    db.transaction(function(tx)
        tx:query("UPDATE account SET balance = balance + 5 WHERE id = 1")
        out.inner = select(2, pcall(db.transaction, function(inner)
            inner:query("UPDATE account SET balance = balance + 500 WHERE id = 1")
            inner:query("SELECT 1/0")
        end)).status
        out.in_tx = db.in_transaction()
    end)
    out.after_tx = db.in_transaction()
    out.balances = db.query("SELECT id, balance FROM account ORDER BY id")
    return out
end

return soom.command {
    description = "database cases for the tests",
    arguments = { { "case", required = true } },
    run = function(args)
        soom.settings = require("soom.core.serve").settings({})
        io.write(assert(json.encode(cases[args.case]())), "\n")
    end,
}
'''

RESOURCES = r'''
local soom = require "soom"
local db = require "soom.db"

return {
    soom.Resource {
        route = "/items",
        get = function()
            return db.query("SELECT id, name, score, price FROM item ORDER BY id")
        end,
        post = function(self, req)
            local b = req.body or {}
            local rows = db.query("INSERT INTO item (name, score, price) VALUES ($1, $2, $3) "
                .. "RETURNING id, name, score, price", b.name, b.score, b.price)
            return rows[1], 201
        end,
    },
    soom.Resource {
        route = "/same",
        get = function()
            local a = db.one("SELECT pg_backend_pid() AS pid").pid
            local b = db.one("SELECT pg_backend_pid() AS pid").pid
            return { same = a == b }
        end,
    },
    soom.Resource {
        route = "/boom",
        get = function()
            return db.query("SELEKT broken")
        end,
    },
    soom.Resource {
        route = "/open",
        get = function()
            db.query("BEGIN")
            db.query("INSERT INTO item (name) VALUES ('left open')")
            return { left = "open" }
        end,
    },
    soom.Resource {
        route = "/transfer",
        post = function(self, req)
            local amount = req.body.amount
            db.transaction(function(tx)
                tx:query("UPDATE account SET balance = balance - $1 WHERE id = 1", amount)
                tx:query("UPDATE account SET balance = balance + $1 WHERE id = 2", amount)
            end)
            return db.query("SELECT id, balance FROM account ORDER BY id")
        end,
    },
    soom.Resource {
        route = "/slow",
        get = function()
            db.query("SELECT pg_sleep(1)")
            return { slept = true }
        end,
    },
}
'''


def make_app(name):
    root = temp_dir("soom-db-")
    write_app(root, {
        "app.lua": 'return { name = "%s" }\n' % name,
        "commands/dbcase.lua": CASES,
        "resources/db.lua": RESOURCES,
    })
    return root


APP = make_app("dbapp")


def reset():
    psql(URL, "DROP TABLE IF EXISTS tag, item, account; " + SCHEMA)


def case(name, env=None):
    e = {"DATABASE_URL": URL}
    e.update(env or {})
    code, out, err = run_soom("--app", APP, "dbcase", "--case", name, env=e)
    assert code == 0, "dbcase %s failed (%d):\n%s\n%s" % (name, code, out, err)
    lines = [line for line in out.splitlines() if line and not line.startswith('{"time"')]
    return json.loads(lines[-1])


def test_types_cross_into_lua():
    reset()
    out = case("types")
    t, v = out["types"], out["values"]
    for col in ("i2", "i4", "small8", "f8", "f4"):
        eq(t[col], "number", col)
    eq(t["big"], "string", "int8 beyond 2^53 keeps its digits")
    eq(v["big"], "9007199254740993")
    eq((t["num"], v["num"]), ("string", "12.50"))
    eq((t["yes"], v["yes"]), ("boolean", True))
    eq((t["nothing"], v["nothing"]), ("null", None))
    eq(v["txt"], "héllo")
    eq(v["doc"], {"a": [1, {"b": None}], "c": "d"})
    eq(v["empty"], [])
    eq(v["ints"], [1, 2, None])
    eq(v["grid"], [["a", "b"], ["c", "d e"]])
    eq(v["none"], [])
    assert out["ints_is_array"], "arrays carry the array metatable"
    eq(v["at"], "2026-11-29T02:13:31.123456+00:00")
    eq(v["local"], "2026-11-29T02:13:31")
    eq(v["day"], "2026-11-29")
    eq(v["id"], "123e4567-e89b-12d3-a456-426614174000")
    eq(out["raw_hex"], "00ff41", "bytea as the raw bytes")
    assert out["nan"], "NaN stays a number in Lua"
    out = case("types", {"SOOM_NUMERIC_AS": "number"})
    eq((out["types"]["num"], out["values"]["num"]), ("number", 12.5))


def test_parameters():
    reset()
    row = case("params")
    eq(row["a"], 42)
    eq(row["b"], "x'y\"z")
    eq(row["c"], True)
    eq(row["d"], "0.1", "numbers are sent exactly")
    eq(row["e"], {"k": [1, 2]})
    eq(row["f"], True, "soom.null is NULL")
    eq(row["g"], 1 / 3)
    eq(row["h"], [1, 2, 3])
    eq(row["i"], "000102", "db.binary sends raw bytes")
    eq(row["j"], "9007199254740992")
    eq(row["k"], True, "nil is NULL")
    eq(row["l"], ["a b", 'q"uote', None])
    eq(row["m"], "")


def test_rows_and_affected_counts():
    reset()
    out = case("affected")
    eq(out, {"insert_rows": 0, "insert_n": 2, "update_n": 2, "select_rows": 2,
             "returning": "c", "returning_n": "none", "delete_n": 3, "none": True})


def test_errors_are_problems():
    reset()
    out = case("errors")
    u = out["unique"]
    eq(u["status"], 409)
    eq(u["errors"], [{"pointer": "/name", "code": "unique",
                      "detail": "a row with the same name already exists"}])
    eq(out["fk"]["status"], 422)
    eq(out["fk"]["errors"][0]["pointer"], "/item_id")
    eq(out["not_null"]["status"], 422)
    eq(out["not_null"]["errors"][0]["pointer"], "/name")
    eq(out["check"]["status"], 422)
    eq(out["bad_int"]["status"], 422)
    assert "invalid input syntax for type integer" in out["bad_int"]["detail"]
    eq(out["syntax"]["status"], 500)
    # outside a request the operator reads PostgreSQL's own message
    assert "syntax error" in out["syntax"]["detail"], out["syntax"]
    assert "cannot be a query parameter" in out["misuse"], out["misuse"]
    eq(out["down"]["status"], 503)
    eq(out["down"]["headers"], {"Retry-After": "1"})
    eq(out["after"], "fine")


def test_transactions_and_savepoints():
    reset()
    out = case("transactions")
    eq(out["returned"], ["done", 7])
    assert out["raised_same"], "the error is raised again as it was"
    eq(out["check_failed"], 422)
    eq(out["inner"], 422)
    eq(out["in_tx"], True)
    eq(out["after_tx"], False)
    eq(out["balances"], [{"id": 1, "balance": 75}, {"id": 2, "balance": 30}])


def serve(env=None):
    e = {"DATABASE_URL": URL, "SOOM_THREADS": "4"}
    e.update(env or {})
    return Server(APP, env=e).start()


def test_requests_use_the_pool_and_give_it_back():
    reset()
    srv = serve({"SOOM_POOL__MAX": "2", "SOOM_POOL__ACQUIRE_TIMEOUT_MS": "2000"})
    try:
        status, _, body = srv.json("POST", "/items", {"name": "a", "score": 3, "price": "9.90"})
        eq((status, body), (201, {"id": 1, "name": "a", "score": 3, "price": "9.90"}))
        # more requests than connections, errors included: none may leak one
        for i in range(12):
            status, _, body = srv.json("POST", "/items", {"name": "a"})
            eq(status, 409)
            status, _, body = srv.json("GET", "/boom")
            eq(status, 500)
            status, _, body = srv.json("GET", "/items")
            eq(status, 200)
        eq(body, [{"id": 1, "name": "a", "score": 3, "price": "9.90"}])
        status, _, body = srv.json("GET", "/same")
        eq(body, {"same": True}, "a request keeps its connection")
    finally:
        srv.stop()


def test_request_errors_as_problem_documents():
    reset()
    srv = serve()
    try:
        srv.json("POST", "/items", {"name": "dup"})
        status, hdrs, body = srv.json("POST", "/items", {"name": "dup"})
        eq(status, 409)
        eq(hdrs["content-type"], "application/problem+json")
        eq(body["errors"], [{"pointer": "/name", "code": "unique",
                             "detail": "a row with the same name already exists"}])
        status, _, body = srv.json("POST", "/items", {"score": 1})
        eq((status, body["errors"][0]["pointer"]), (422, "/name"))
        status, _, body = srv.json("POST", "/items", {"name": "neg", "score": -1})
        eq(status, 422)
        status, _, body = srv.json("GET", "/boom")
        eq(status, 500)
        assert "syntax" not in json.dumps(body), "the SQL error stays in the log: %r" % body
        logged = [line for line in srv.log_lines() if line.get("msg") == "database error"
                  and line.get("sqlstate") == "42601"]
        assert logged and "syntax error" in logged[0]["error"], srv.log()
        assert logged[0].get("request_id"), "the log line names the request"
    finally:
        srv.stop()


def test_transaction_left_open_is_rolled_back():
    reset()
    srv = serve({"SOOM_POOL__MAX": "1"})
    try:
        eq(srv.json("GET", "/open")[0], 200)
        status, _, body = srv.json("GET", "/items")
        eq((status, body), (200, []))
        psql(URL, "INSERT INTO account VALUES (1, 10), (2, 0)")
        status, _, body = srv.json("POST", "/transfer", {"amount": 4})
        eq(body, [{"id": 1, "balance": 6}, {"id": 2, "balance": 4}])
        status, _, body = srv.json("POST", "/transfer", {"amount": 100})
        eq(status, 422)
        eq(psql(URL, "SELECT string_agg(balance::text, ',' ORDER BY id) FROM account").strip(),
           "6,4")
    finally:
        srv.stop()


def test_pool_exhausted_is_503():
    reset()
    srv = serve({"SOOM_POOL__MAX": "1", "SOOM_POOL__ACQUIRE_TIMEOUT_MS": "100"})
    try:
        results = []

        def slow():
            results.append(srv.json("GET", "/slow")[0])
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        status, hdrs, body = srv.json("GET", "/items")
        t.join()
        eq(status, 503)
        eq(hdrs.get("retry-after"), "1")
        eq(results, [200])
        eq(srv.json("GET", "/items")[0], 200)
    finally:
        srv.stop()


def test_no_database_configured():
    code, out, err = run_soom("--app", APP, "dbcase", "--case", "params",
                              env={"DATABASE_URL": ""})
    assert code != 0
    assert "no database is configured" in err, err


if __name__ == "__main__":
    main(globals())
