--- soom.db: queries on PostgreSQL.
--
--   local rows = db.query("SELECT id, name FROM sample WHERE score > $1", 10)
--   local _, n = db.query("DELETE FROM sample WHERE id = $1", id)   -- n rows deleted
--   local row = db.one("SELECT * FROM sample WHERE id = $1", id)    -- or nil
--   db.transaction(function(tx)
--       tx:query("UPDATE account SET balance = balance - $1 WHERE id = $2", amount, from)
--       tx:query("UPDATE account SET balance = balance + $1 WHERE id = $2", amount, to)
--   end)
--
-- Values only ever reach the database as $n parameters: nil and soom.null
-- are NULL, booleans true/false, numbers their exact decimal text, strings
-- as they are, tables as JSON (use db.array{...} for a PostgreSQL array and
-- db.binary(s) for raw bytea bytes). Rows come back as an array of tables
-- keyed by column name with typed values (docs/DATABASE.md has the table);
-- NULL is soom.null, so a row keeps every column.
--
-- In a request the connection comes from the process's pool on the first
-- query and stays with the request until its response is sent. Outside a
-- request (commands, migrations) a direct connection to the effective
-- settings' database_url is used (or the URL given to db.use), until
-- db.close().
--
-- A database error raises a soom.errors problem: 409 for a unique or
-- foreign-key violation, 422 for invalid data, 503 when the database is
-- unavailable, else 500; the SQL error itself goes to the log only. A
-- write is never sent twice: when the session is lost while a COMMIT (or
-- a write outside a transaction) runs, the problem is a 500 of type
-- urn:soom:problem:commit-unknown, without Retry-After.

local pg = require "soom.core.pg"
local errors = require "soom.errors"

local type, select, setmetatable, error, pcall, tonumber, ipairs =
    type, select, setmetatable, error, pcall, tonumber, ipairs
local unpack, concat, format = unpack, table.concat, string.format

local _M = {}

local used_url, override_url
local on_demand -- gives the URL on first use when none is set (soom.core.appenv)

local settings = require("soom.core.settings").get

-- Points the direct connection at the right database; a no-op in the
-- common case (same URL as last time).
local function prepare()
    local s = settings()
    local url = override_url or s.database_url
    if (url == nil or url == "") and on_demand then
        url = on_demand()
        s.database_url = url
    end
    if url ~= used_url and url ~= nil then
        local prepared = true
        if s.pool and s.pool.prepared == false then
            prepared = false
        end
        local pooler = s.database ~= nil and s.database.pooler == "pgbouncer-transaction"
        -- refused (false) inside a request, which uses the pool instead
        if pg.use(url, 0, prepared, pooler) then
            used_url = url
        end
    end
end

local function numeric_as_number()
    return settings().numeric_as == "number"
end

local function raise(failure)
    local extra
    if failure.code then
        local field = { pointer = failure.pointer or "", detail = failure.field_detail, code = failure.code }
        extra = { errors = { field } }
        for _, pointer in ipairs(failure.also or {}) do -- a CHECK over several columns
            extra.errors[#extra.errors + 1] = { pointer = pointer, detail = field.detail,
                code = field.code }
        end
    end
    if failure.status == 503 then
        extra = extra or {}
        extra.headers = { ["Retry-After"] = "1" }
    end
    if failure.type then -- a write whose commit's outcome is unknown: no Retry-After
        extra = extra or {}
        extra.type = failure.type
    end
    error(errors.error(failure.status, failure.detail, extra), 0)
end

-- The statement of a call and how to run it: `sql` is the SQL, or a table
-- { sql, readonly = true } for a read that a read replica may serve.
local function statement(sql, who)
    local run = pg.query
    if type(sql) == "table" then
        if sql.readonly then
            run = pg.query_read
        end
        sql = sql[1]
    end
    if type(sql) ~= "string" then
        error("soom.db." .. who .. ": the SQL must be a string", 3)
    end
    return run, sql
end

local function query(run, sql, ...)
    prepare()
    local rows, n = run(numeric_as_number(), sql, ...)
    if rows == nil then
        raise(n)
    end
    return rows, n
end

--- Runs `sql` with $1.. bound to the arguments. Returns the rows (an
-- array, empty when none) and, for INSERT/UPDATE/DELETE without RETURNING,
-- the number of rows affected as a second value.
--
-- `sql` may be a table { sql, readonly = true }: a read that a read replica
-- may serve (database.replicas; docs/SCALING.md); inside a transaction, or
-- once the request used the primary, it runs on the primary anyway.
function _M.query(sql, ...)
    local run, text = statement(sql, "query")
    return query(run, text, ...)
end

--- The first row of `sql` (the same forms as query), or nil when there is none.
function _M.one(sql, ...)
    local run, text = statement(sql, "one")
    return (query(run, text, ...))[1]
end

local function check(ok, failure)
    if not ok then
        raise(failure)
    end
end

local Tx = {}
Tx.__index = Tx

function Tx:query(sql, ...)
    return _M.query(sql, ...)
end

function Tx:one(sql, ...)
    return _M.one(sql, ...)
end

local TX = setmetatable({}, Tx)
local savepoints = 0

local function pack(...)
    return { n = select("#", ...), ... }
end

--- Runs fn(tx) in a transaction: committed when fn returns (its results
-- are returned), rolled back when it raises (the error is raised again).
-- Nested calls use savepoints, so an inner failure undoes only the inner
-- work.
function _M.transaction(fn)
    if type(fn) ~= "function" then
        error("soom.db.transaction needs a function", 2)
    end
    prepare()
    local savepoint
    if pg.in_transaction() then
        savepoints = savepoints + 1
        savepoint = "soom_sp_" .. savepoints
        check(pg.query(false, "SAVEPOINT " .. savepoint))
    else
        check(pg.begin())
    end
    local results = pack(pcall(fn, TX))
    if savepoint then
        savepoints = savepoints - 1
    end
    if not results[1] then
        -- the original error matters more than a failing rollback
        if savepoint then
            pg.query(false, "ROLLBACK TO SAVEPOINT " .. savepoint)
        else
            pg.rollback()
        end
        error(results[2], 0)
    end
    if savepoint then
        check(pg.query(false, "RELEASE SAVEPOINT " .. savepoint))
    else
        check(pg.commit())
    end
    return unpack(results, 2, results.n)
end

--- Marks a string to be sent as raw bytes (for a bytea parameter).
function _M.binary(s)
    if type(s) ~= "string" then
        error("soom.db.binary needs a string", 2)
    end
    return setmetatable({ s }, pg.binary_mt)
end

--- The text PostgreSQL reads back as exactly the number `v`: an integral
-- value in full digits, any other in the fewest significant digits (15 to
-- 17) that give back the same double, so 0.1 is "0.1" and not
-- "0.10000000000000001", which a numeric column would keep as it is; NaN
-- and the infinities as PostgreSQL spells them. The one writer of numbers
-- as SQL values on the Lua side (array elements, queryset parameters,
-- model defaults and choices).
function _M.number_text(v)
    if v ~= v then
        return "NaN"
    elseif v == math.huge or v == -math.huge then
        return v > 0 and "Infinity" or "-Infinity"
    elseif v % 1 == 0 and v > -2 ^ 63 and v < 2 ^ 63 then
        return format("%.0f", v)
    end
    for digits = 15, 16 do
        local text = format("%." .. digits .. "g", v)
        if tonumber(text) == v then
            return text
        end
    end
    return format("%.17g", v)
end

-- Appends the literal of `v`; `level` is the error level that names
-- db.array's caller from this depth of nesting.
local function array_item(v, out, level)
    local t = type(v)
    if v == nil or v == _M.null then
        out[#out + 1] = "NULL"
    elseif t == "table" then
        local parts = {}
        for i = 1, #v do
            array_item(v[i], parts, level + 1)
        end
        out[#out + 1] = "{" .. concat(parts, ",") .. "}"
    elseif t == "number" then
        if v ~= v or v == math.huge or v == -math.huge then
            error("soom.db.array: NaN and infinities cannot be array elements", level)
        end
        out[#out + 1] = _M.number_text(v)
    elseif t == "boolean" then
        out[#out + 1] = v and "t" or "f"
    elseif t == "string" then
        out[#out + 1] = '"' .. v:gsub('[\\"]', "\\%0") .. '"'
    else
        error("soom.db.array: a " .. t .. " cannot be an array element", level)
    end
end

--- The PostgreSQL array literal of a Lua list (nested lists for more
-- dimensions), to send as one parameter: `WHERE id = ANY($1)`. Strings are
-- quoted with their backslashes and quotes escaped, so any text (a newline,
-- a quote, a comma) comes back as it went; soom.null is NULL. The one
-- writer of array literals on the Lua side (model defaults use it too).
function _M.array(list)
    if type(list) ~= "table" then
        error("soom.db.array needs a table", 2)
    end
    local out = {}
    array_item(list, out, 3)
    return out[1]
end

--- Outside a request: use `url` for the direct connection instead of the
-- settings' database_url (nil: back to the settings).
function _M.use(url)
    if url ~= nil and type(url) ~= "string" then
        error("soom.db.use needs a URL string", 2)
    end
    override_url = url
end

--- Outside a request: `fn` gives the database URL the first time a query
-- finds none set (a command starting the app's embedded database only when
-- it queries); nil removes it.
function _M.on_demand(fn)
    on_demand = fn
end

--- Closes the direct connection (outside a request); the next query opens
-- a new one.
function _M.close()
    pg.close()
end

--- True while the current connection is inside a transaction.
function _M.in_transaction()
    return pg.in_transaction()
end

_M.null = require("soom.json").null

return _M
