-- Specs of lua/soom/db.lua against the real PostgreSQL of the test suite,
-- in a private schema: query and one, parameters of every kind, typed
-- results, soom.db.array round trips (any text, NULL, nested lists),
-- binary values, transactions with savepoints, and database errors as
-- soom.errors problems. Run by `soom test tests/lua/db_spec.lua`; needs
-- DATABASE_URL (ctest gives it through the `postgres` fixture) and fails
-- without it.
local db = require "soom.db"
local errors = require "soom.errors"
local json = require "soom.json"
local settings = require "soom.core.settings"
local soom = require "soom"
local t = require "soom.test"
local testing = require "soom.core.testing"

local BASE_URL = os.getenv("DATABASE_URL")
if BASE_URL == nil or BASE_URL == "" then
    error("db_spec.lua needs PostgreSQL: DATABASE_URL is not set (run it with ctest, which "
        .. "starts tests/support/pg.sh, or export DATABASE_URL=$(tests/support/pg.sh url))", 0)
end

-- Runs fn() with soom.db on a fresh schema of its own, dropped afterwards.
local function in_schema(fn)
    local schema = ("db_spec_%d"):format(testing.pid())
    db.use(BASE_URL)
    db.query(('DROP SCHEMA IF EXISTS "%s" CASCADE'):format(schema))
    db.query(('CREATE SCHEMA "%s"'):format(schema))
    db.use(BASE_URL .. (BASE_URL:find("?", 1, true) and "&" or "?")
        .. "options=-csearch_path%3D" .. schema)
    local ok, err = xpcall(fn, debug.traceback)
    db.use(BASE_URL)
    db.query(('DROP SCHEMA IF EXISTS "%s" CASCADE'):format(schema))
    db.close()
    db.use(nil)
    if not ok then
        error(err, 0)
    end
end

local function samples()
    db.query([[CREATE TABLE sample (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        score integer CHECK (score >= 0),
        tags text[],
        raw bytea)]])
end

-- The problem that running `sql` raises.
local function refusal(sql, ...)
    local ok, err = pcall(db.query, sql, ...)
    t.ok(not ok, "expected an error from " .. sql)
    t.ok(errors.is_problem(err), "a problem: " .. tostring(err))
    return err
end

local function here()
    return debug.getinfo(2, "l").currentline
end

-- Every text an array element may hold.
local AWKWARD = {
    "new\nline", 'a "quote"', "back\\slash", "a,comma", "{braces}", " spaced ", "",
    "NULL", "tab\tand\rreturn", "caf\195\169 \240\159\152\128", "\\n", "'single'",
}

return {
    -- ---- query and one -------------------------------------------------------

    t.case("query returns every row, keyed by column; none is an empty array", function()
        in_schema(function()
            local rows = db.query("SELECT n, 'row ' || n AS label FROM generate_series(1, 3) AS n")
            t.eq(rows, { { n = 1, label = "row 1" }, { n = 2, label = "row 2" }, { n = 3, label = "row 3" } })
            local none = db.query("SELECT 1 AS n WHERE false")
            t.eq(#none, 0)
            t.eq(json.encode(none), "[]", "encoded as an array, not an object")
            local _, n = db.query("SELECT 1")
            t.eq(n, nil, "a SELECT has no affected count")
        end)
    end),

    t.case("rows keep the SELECT's column order, through changes too", function()
        in_schema(function()
            local rows = db.query("SELECT 3 AS zeta, n AS alpha, 'x' AS mid, NULL AS nothing, "
                .. "n * 2 AS alpha FROM generate_series(1, 2) AS n")
            t.eq(json.encode(rows), '[{"zeta":3,"alpha":2,"mid":"x","nothing":null},'
                .. '{"zeta":3,"alpha":4,"mid":"x","nothing":null}]')
            rows[1].added = true
            rows[2].mid = nil
            t.eq(json.encode(rows), '[{"zeta":3,"alpha":2,"mid":"x","nothing":null,"added":true},'
                .. '{"zeta":3,"alpha":4,"nothing":null}]')
            t.eq(json.encode(db.one("SELECT 1 AS b, 2 AS a")), '{"b":1,"a":2}')
        end)
    end),

    t.case("writes give the number of rows affected; RETURNING gives rows", function()
        in_schema(function()
            samples()
            local rows, n = db.query("INSERT INTO sample (name, score) VALUES ('a', 1), ('b', 2), ('c', 3)")
            t.eq({ #rows, n }, { 0, 3 })
            local _
            _, n = db.query("UPDATE sample SET score = score + 1 WHERE score >= $1", 2)
            t.eq(n, 2)
            _, n = db.query("DELETE FROM sample WHERE name = $1", "nobody")
            t.eq(n, 0)
            rows, n = db.query("INSERT INTO sample (name) VALUES ($1) RETURNING id, name", "d")
            t.eq({ rows, n }, { { { id = 4, name = "d" } }, nil })
            _, n = db.query("DELETE FROM sample")
            t.eq(n, 4)
        end)
    end),

    t.case("one is the first row, or nil", function()
        in_schema(function()
            t.eq(db.one("SELECT n FROM generate_series(5, 9) AS n ORDER BY n DESC"), { n = 9 })
            t.eq(db.one("SELECT 1 AS n WHERE $1", false), nil)
        end)
    end),

    t.case("a { sql, readonly = true } read runs like any query outside a request", function()
        in_schema(function()
            t.eq(db.query({ "SELECT $1::int AS n", readonly = true }, 7), { { n = 7 } })
            t.eq(db.one({ "SELECT 2 AS n", readonly = true }), { n = 2 })
            t.eq(db.one({ "SELECT 3 AS n" }), { n = 3 })
        end)
    end),

    t.case("misuse raises at the caller's line", function()
        local line = here() + 1
        local err = t.raises(function() db.query(5) end, "soom.db.query: the SQL must be a string")
        t.ok(tostring(err):find("db_spec.lua:" .. line .. ":", 1, true), tostring(err))
        t.raises(function() db.one({}) end, "soom.db.one: the SQL must be a string")
        t.raises(function() db.transaction("BEGIN") end, "soom.db.transaction needs a function")
        t.raises(function() db.binary(5) end, "soom.db.binary needs a string")
        t.raises(function() db.array("{1}") end, "soom.db.array needs a table")
        t.raises(function() db.use(5) end, "soom.db.use needs a URL string")
    end),

    -- ---- parameters ------------------------------------------------------------

    t.case("parameters: NULL, booleans, integers, floats, text", function()
        in_schema(function()
            local row = db.one("SELECT $1::int IS NULL AS a, $2::int AS b, $3::int IS NULL AS c, "
                .. "$4::boolean AS d, $5::boolean AS e", nil, 2, soom.null, true, false)
            t.eq(row, { a = true, b = 2, c = true, d = true, e = false })
            row = db.one("SELECT $1::bigint AS a, $2::bigint::text AS b, $3::bigint::text AS c, "
                .. "$4::int AS d", 2 ^ 53, 2 ^ 60, -2 ^ 62, 0)
            t.eq(row, { a = 2 ^ 53, b = "1152921504606846976", c = "-4611686018427387904", d = 0 },
                "integral numbers in full digits")
            row = db.one("SELECT $1::numeric = 0.1 AS exact, $1::numeric::text AS text, "
                .. "$2::float8 AS third, $3::float8 AS tiny, $4::numeric::text AS neg",
                0.1, 1 / 3, 5e-324, -2.5)
            t.eq(row, { exact = true, text = "0.1", third = 1 / 3, tiny = 5e-324, neg = "-2.5" },
                "the shortest digits that read back the same")
            row = db.one("SELECT $1::float8 = 'Infinity' AS inf, $2::float8 = '-Infinity' AS ninf, "
                .. "$3::float8 = 'NaN' AS nan", math.huge, -math.huge, 0 / 0)
            t.eq(row, { inf = true, ninf = true, nan = true })
            local text = "o'k; DROP TABLE x; -- \"q\" \\ \n caf\195\169"
            t.eq(db.one("SELECT $1::text AS s, length($1::text) AS n", text), { s = text, n = 34 })
        end)
    end),

    t.case("parameters: tables travel as JSON", function()
        in_schema(function()
            local doc = { a = 1, b = { true, soom.null, "x" }, c = { d = 2.5 } }
            t.eq(db.one("SELECT $1::jsonb AS v", doc).v, doc)
            t.eq(db.one("SELECT $1::jsonb AS v", { 1, 2 }).v, { 1, 2 })
            t.eq(db.one("SELECT $1::text AS v", {}).v, "{}", "an empty table is an object")
            t.eq(db.one("SELECT $1::text AS v", soom.array {}).v, "[]", "soom.array marks an array")
            t.eq(db.one("SELECT $1::jsonb ->> 'k' AS v", { k = "line\nbreak" }).v, "line\nbreak")
        end)
    end),

    t.case("parameters that cannot be sent are refused", function()
        in_schema(function()
            t.raises(function() db.query("SELECT $1", print) end, "a function cannot be a query parameter")
            t.raises(function() db.query("SELECT $1", { f = print }) end, "cannot encode as JSON: function")
            local err = refusal("SELECT $1::text", "a\0b")
            t.eq(err.status, 422)
            t.eq(err.detail, "a text value contains a NUL character")
            err = refusal("SELECT $1::int, $2::int", 1)
            t.eq(err.status, 500, "the wrong number of parameters is the caller's bug, not an outage")
            t.eq(err.headers, nil, "no Retry-After")
            t.eq(db.one("SELECT 1 AS ok"), { ok = 1 }, "the connection is still good")
        end)
    end),

    -- ---- results -----------------------------------------------------------------

    t.case("results are typed by column type", function()
        in_schema(function()
            local row = db.one([[SELECT 1::int2 AS i2, 2::int4 AS i4, 9007199254740992::int8 AS i8,
                9007199254740993::int8 AS big, 12.50::numeric AS num, 1.5::real AS r,
                0.1::float8 AS f8, true AS yes, 'txt'::text AS s, '{"a":[1,null]}'::jsonb AS jb,
                '[1, 2]'::json AS j, '\x00ff'::bytea AS b, '2026-01-02'::date AS d,
                '2026-01-02 03:04:05.5+00'::timestamptz AS tz,
                '00000000-0000-4000-8000-000000000000'::uuid AS u, '{1,NULL,3}'::int[] AS ints,
                '{{a,b},{"c d",NULL}}'::text[] AS grid, NULL::int AS nothing]])
            t.eq(row, {
                i2 = 1, i4 = 2, i8 = 9007199254740992, big = "9007199254740993", num = "12.50",
                r = 1.5, f8 = 0.1, yes = true, s = "txt", jb = { a = { 1, soom.null } }, j = { 1, 2 },
                b = "\0\255", d = "2026-01-02", tz = "2026-01-02T03:04:05.5+00:00",
                u = "00000000-0000-4000-8000-000000000000", ints = { 1, soom.null, 3 },
                grid = { { "a", "b" }, { "c d", soom.null } }, nothing = soom.null,
            })
            t.ok(json.is_array(row.ints), "arrays are arrays")
        end)
    end),

    t.case("numeric columns as numbers when settings say so", function()
        in_schema(function()
            local saved = settings.get()
            settings.set({ numeric_as = "number" })
            local ok, row = pcall(db.one, "SELECT 12.50::numeric AS n")
            settings.set(saved)
            t.ok(ok, tostring(row))
            t.eq(row, { n = 12.5 })
            t.eq(db.one("SELECT 12.50::numeric AS n"), { n = "12.50" }, "exact text by default")
        end)
    end),

    -- ---- arrays -------------------------------------------------------------------

    t.case("db.array writes PostgreSQL array literals", function()
        t.eq(db.array({}), "{}")
        t.eq(db.array({ 1, -2, 2.5, 0.1, 2 ^ 60 }), "{1,-2,2.5,0.1,1152921504606846976}")
        t.eq(db.array({ true, false, soom.null }), "{t,f,NULL}")
        t.eq(db.array({ "a", 'q"', "b\\s", "x\ny", "NULL" }), '{"a","q\\"","b\\\\s","x\ny","NULL"}')
        t.eq(db.array({ { 1, 2 }, { 3, 4 } }), "{{1,2},{3,4}}")
        t.eq(db.number_text(0.1), "0.1")
        t.eq(db.number_text(1 / 3), "0.3333333333333333")
        t.eq(db.number_text(-0.0), "-0")
        t.eq(db.number_text(1e300), "1e+300")
        t.eq(tonumber(db.number_text(5e-324)), 5e-324, "the smallest double reads back")
        t.eq(db.number_text(2 ^ 63), "9.223372036854776e+18", "2^63 is past bigint: shortest digits")
    end),

    t.case("db.array: every text element comes back unchanged", function()
        in_schema(function()
            local row = db.one("SELECT $1::text[] AS a, array_length($1::text[], 1) AS n", db.array(AWKWARD))
            t.eq(row.n, #AWKWARD)
            t.eq(row.a, AWKWARD)
            for i, s in ipairs(AWKWARD) do
                t.eq(db.one("SELECT ($1::text[])[$2] AS e", db.array(AWKWARD), i).e, s, "element " .. i)
            end
            local copy = db.query("SELECT e FROM unnest($1::text[]) WITH ORDINALITY AS u(e, i) ORDER BY i",
                db.array(AWKWARD))
            for i, r in ipairs(copy) do
                t.eq(r.e, AWKWARD[i], "unnest " .. i)
            end
            t.eq(db.one("SELECT $1::text[] AS a", db.array({ "NULL", soom.null })).a, { "NULL", soom.null },
                "the text NULL is not NULL")
        end)
    end),

    t.case("db.array: the old JSON-swapped literal turned a newline into the letter n", function()
        in_schema(function()
            local list = { "new\nline", "back\\slash" }
            local swapped = json.encode(list):gsub("^%[", "{"):gsub("%]$", "}")
            local old = db.one("SELECT $1::text[] AS a", swapped).a
            t.eq(old, { "newnline", "back\\slash" }, "what the JSON-swap writer sent back")
            t.eq(db.one("SELECT $1::text[] AS a", db.array(list)).a, list, "what db.array sends back")
        end)
    end),

    t.case("db.array: NULL, numbers, booleans and nested lists round trip", function()
        in_schema(function()
            local row = db.one("SELECT $1::int[] AS ints, $2::float8[] AS floats, $3::numeric[] AS nums, "
                .. "$4::boolean[] AS flags, $5::int[][] AS grid, $6::text[][] AS words, $7::int[] AS empty",
                db.array({ 1, soom.null, -3 }), db.array({ 0.1, 1 / 3, 1e300, -0.5 }),
                db.array({ 0.1, 12.5 }), db.array({ true, false, soom.null }),
                db.array({ { 1, 2 }, { 3, 4 } }), db.array({ { "a\nb", "c,d" }, { soom.null, '"' } }),
                db.array({}))
            t.eq(row, {
                ints = { 1, soom.null, -3 }, floats = { 0.1, 1 / 3, 1e300, -0.5 }, nums = { "0.1", "12.5" },
                flags = { true, false, soom.null }, grid = { { 1, 2 }, { 3, 4 } },
                words = { { "a\nb", "c,d" }, { soom.null, '"' } }, empty = soom.array {},
            })
            t.eq(db.one("SELECT 0.1::numeric = ANY($1::numeric[]) AS hit", db.array({ 0.1 })).hit, true,
                "0.1 is 0.1 to a numeric")
        end)
    end),

    t.case("db.array into a column and an ANY condition", function()
        in_schema(function()
            samples()
            db.query("INSERT INTO sample (name, tags) VALUES ($1, $2)", "a", db.array(AWKWARD))
            db.query("INSERT INTO sample (name, tags) VALUES ($1, $2)", "b", db.array({ "x" }))
            t.eq(db.one("SELECT tags FROM sample WHERE name = 'a'").tags, AWKWARD)
            local names = db.query("SELECT name FROM sample WHERE name = ANY($1) ORDER BY name",
                db.array({ "b", "a", "nobody" }))
            t.eq(names, { { name = "a" }, { name = "b" } })
            t.eq(#db.query("SELECT 1 FROM sample WHERE $1 = ANY(tags)", "new\nline"), 1)
        end)
    end),

    t.case("db.array: refusals at the caller's line", function()
        local line = here() + 1
        local err = t.raises(function() db.array({ 1, 0 / 0 }) end,
            "soom.db.array: NaN and infinities cannot be array elements")
        t.ok(tostring(err):find("db_spec.lua:" .. line .. ":", 1, true), tostring(err))
        line = here() + 1
        err = t.raises(function() db.array({ { 1 }, { math.huge } }) end,
            "soom.db.array: NaN and infinities cannot be array elements")
        t.ok(tostring(err):find("db_spec.lua:" .. line .. ":", 1, true), "nested: " .. tostring(err))
        t.raises(function() db.array({ print }) end, "soom.db.array: a function cannot be an array element")
        t.raises(function() db.array({ { { coroutine.create(print) } } }) end,
            "soom.db.array: a thread cannot be an array element")
    end),

    -- ---- binary -------------------------------------------------------------------------

    t.case("db.binary sends raw bytes to bytea, and bytea comes back as bytes", function()
        in_schema(function()
            local all = {}
            for i = 0, 255 do
                all[#all + 1] = string.char(i)
            end
            local bytes = table.concat(all)
            local row = db.one("SELECT $1::bytea AS b, octet_length($1::bytea) AS n", db.binary(bytes))
            t.eq(row.n, 256)
            t.ok(row.b == bytes, "every byte value round trips")
            samples()
            db.query("INSERT INTO sample (name, raw) VALUES ($1, $2)", "z", db.binary("\0\1\0"))
            t.eq(db.one("SELECT raw, octet_length(raw) AS n FROM sample").n, 3)
            t.ok(db.one("SELECT raw FROM sample").raw == "\0\1\0", "a NUL-bearing value")
            t.eq(db.one("SELECT $1::bytea = '\\x00ff'::bytea AS same", db.binary("\0\255")).same, true)
        end)
    end),

    -- ---- transactions -----------------------------------------------------------------

    t.case("transaction commits and returns fn's results, nils included", function()
        in_schema(function()
            samples()
            t.ok(not db.in_transaction(), "not before")
            local inside
            local a, b, c = db.transaction(function(tx)
                tx:query("INSERT INTO sample (name) VALUES ($1)", "kept")
                inside = db.in_transaction()
                return 1, nil, tx:one("SELECT name FROM sample").name
            end)
            t.eq({ a, b, c }, { 1, nil, "kept" })
            t.eq(select("#", db.transaction(function() return nil, nil end)), 2)
            t.ok(inside, "in_transaction inside")
            t.ok(not db.in_transaction(), "not after")
            db.close() -- committed: a new session sees it
            t.eq(db.one("SELECT count(*)::int AS n FROM sample").n, 1)
        end)
    end),

    t.case("transaction rolls back when fn raises, and raises the same error", function()
        in_schema(function()
            samples()
            local problem = soom.error(409, "no")
            local ok, err = pcall(db.transaction, function(tx)
                tx:query("INSERT INTO sample (name) VALUES ('gone')")
                error(problem)
            end)
            t.ok(not ok)
            t.ok(rawequal(err, problem), "the very error value")
            ok, err = pcall(db.transaction, function() error("plain text", 0) end)
            t.eq({ ok, err }, { false, "plain text" }, "a string error unchanged")
            t.ok(not db.in_transaction(), "rolled back")
            t.eq(db.one("SELECT count(*)::int AS n FROM sample").n, 0)
        end)
    end),

    t.case("a nested transaction is a savepoint: an inner failure undoes only the inner work", function()
        in_schema(function()
            samples()
            db.transaction(function(tx)
                tx:query("INSERT INTO sample (name) VALUES ('outer 1')")
                local ok = pcall(db.transaction, function(inner)
                    inner:query("INSERT INTO sample (name) VALUES ('inner')")
                    t.ok(db.in_transaction(), "still in the transaction")
                    error("inner fails")
                end)
                t.ok(not ok)
                -- an SQL error inside a savepoint leaves the outer transaction usable
                ok = pcall(db.transaction, function(inner)
                    inner:query("INSERT INTO sample (name) VALUES ('outer 1')")
                end)
                t.ok(not ok, "the duplicate is refused")
                db.transaction(function(inner)
                    inner:query("INSERT INTO sample (name) VALUES ('inner kept')")
                    local deepest = pcall(db.transaction, function(deep)
                        deep:query("INSERT INTO sample (name) VALUES ('deepest')")
                        error("deepest fails")
                    end)
                    t.ok(not deepest)
                end)
                tx:query("INSERT INTO sample (name) VALUES ('outer 2')")
            end)
            t.eq(db.query("SELECT name FROM sample ORDER BY id"),
                { { name = "outer 1" }, { name = "inner kept" }, { name = "outer 2" } })
        end)
    end),

    t.case("an outer failure undoes the committed savepoints too", function()
        in_schema(function()
            samples()
            local ok = pcall(db.transaction, function(tx)
                db.transaction(function(inner)
                    inner:query("INSERT INTO sample (name) VALUES ('inner')")
                end)
                tx:query("INSERT INTO sample (name) VALUES ('outer')")
                error("outer fails")
            end)
            t.ok(not ok)
            t.eq(db.one("SELECT count(*)::int AS n FROM sample").n, 0)
        end)
    end),

    t.case("a database error inside a transaction rolls it back and is the problem raised", function()
        in_schema(function()
            samples()
            db.query("INSERT INTO sample (name) VALUES ('taken')")
            local ok, err = pcall(db.transaction, function(tx)
                tx:query("INSERT INTO sample (name) VALUES ('new')")
                tx:query("INSERT INTO sample (name) VALUES ('taken')")
            end)
            t.ok(not ok)
            t.ok(errors.is_problem(err), tostring(err))
            t.eq(err.status, 409)
            t.ok(not db.in_transaction())
            t.eq(db.query("SELECT name FROM sample"), { { name = "taken" } }, "'new' rolled back")
        end)
    end),

    -- ---- errors ------------------------------------------------------------------------

    t.case("errors are problems: 409 unique, 422 required, check and invalid, 500", function()
        in_schema(function()
            samples()
            db.query("INSERT INTO sample (name) VALUES ('a')")
            local err = refusal("INSERT INTO sample (name) VALUES ($1)", "a")
            t.eq({ err.status, err.title }, { 409, "Conflict" })
            t.eq(err.errors, { { pointer = "/name", code = "unique",
                detail = "a row with the same name already exists" } })
            t.ok(err.detail:find("duplicate key value violates unique constraint", 1, true),
                "outside a request the detail is PostgreSQL's: " .. err.detail)
            err = refusal("INSERT INTO sample (score) VALUES (1)")
            t.eq(err.status, 422)
            t.eq(err.errors, { { pointer = "/name", code = "required", detail = "a value is required" } })
            err = refusal("INSERT INTO sample (name, score) VALUES ('b', -1)")
            t.eq(err.status, 422)
            t.eq(err.errors, { { pointer = "", code = "check",
                detail = "a value fails the check sample_score_check" } })
            err = refusal("SELECT $1::int", "x")
            t.eq(err.status, 422)
            t.eq(err.errors[1].code, "invalid")
            t.eq(err.detail, 'invalid input syntax for type integer: "x"')
            err = refusal("SELEC 1")
            t.eq({ err.status, err.errors }, { 500, nil })
            t.eq(err.detail, 'syntax error at or near "SELEC"')
            err = refusal("SELECT * FROM no_such_table")
            t.eq(err.status, 500)
            t.eq(err.detail, 'relation "no_such_table" does not exist')
        end)
    end),

    t.case("an unreachable database is a 503 with Retry-After", function()
        local ok, port = pcall(testing.free_port)
        t.ok(ok, tostring(port))
        db.use(("postgresql://soom:soom@127.0.0.1:%d/soom?connect_timeout=5"):format(port))
        local done, err = pcall(db.query, "SELECT 1")
        db.use(nil)
        t.ok(not done, "no server there")
        t.ok(errors.is_problem(err), tostring(err))
        t.eq(err.status, 503)
        t.eq(err.headers, { ["Retry-After"] = "1" })
        t.ok(err.detail:find("Connection refused", 1, true), err.detail)
    end),

    t.case("use, close: one direct connection, reopened after close", function()
        in_schema(function()
            local pid = db.one("SELECT pg_backend_pid() AS p").p
            t.eq(db.one("SELECT pg_backend_pid() AS p").p, pid, "the same session")
            db.close()
            t.ok(db.one("SELECT pg_backend_pid() AS p").p ~= pid, "a new session after close")
        end)
    end),
}
