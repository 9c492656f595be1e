--- soom.core.checks: the columns of the database's CHECK constraints, read
-- from the catalog when a server starts, so that a violation answers with
-- a pointer to each column of the constraint (PostgreSQL's error names the
-- table and the constraint only; core/src/pg/pg_checks.c keeps the list).
-- A database that cannot be reached is logged, not fatal: violations then
-- answer without pointers, as before.

local c = require "soom.core.c"
local db = require "soom.db"
local pg = require "soom.core.pg"

local pcall, ipairs, tostring, type = pcall, ipairs, tostring, type

local _M = {}

local SQL = [[
SELECT c.relname::text AS table_name, con.conname::text AS constraint_name,
       array_agg(a.attname::text ORDER BY k.ord) AS columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.contype = 'c' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
GROUP BY 1, 2]]

--- Reads the constraints over soom.db's connection (the one open, or the
-- one its first query opens) and hands them to the core. Returns their
-- number, or nil and the reason.
function _M.read()
    local ok, rows = pcall(db.query, SQL)
    if not ok then
        local errors = require "soom.errors"
        return nil, errors.is_problem(rows) and rows.detail or tostring(rows)
    end
    local list = {}
    for _, r in ipairs(rows) do
        if type(r.columns) == "table" then
            list[#list + 1] = { r.table_name, r.constraint_name, r.columns }
        end
    end
    pg.set_checks(list)
    return #list
end

--- Reads the constraints of the database at `url` over a connection of
-- its own. Returns their number, or nil and the reason.
function _M.load(url)
    db.use(url)
    local n, why = _M.read()
    db.close()
    db.use(nil)
    return n, why
end

--- The start-up step of a serving process, over soom.db's connection (soom
-- run opens one for this and the drift check: soom.commands.run).
function _M.startup(settings)
    local url = settings.database_url
    if url == nil or url == "" then
        return
    end
    local n, why = _M.read()
    if not n then
        c.log("warn", "cannot read the CHECK constraints of the database", { error = why })
    end
end

return _M
