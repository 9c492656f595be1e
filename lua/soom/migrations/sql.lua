--- soom.migrations.sql: the SQL text of the autodetector's operations.
--
-- Each operation (soom.migrations.autodetect) becomes its forward
-- statements and the statements that undo it. CREATE TABLE is written as
-- soom.model's create_table_sql writes it (columns with their inline
-- constraints, then the primary key, unique_together and named checks),
-- so a table reads the same whichever wrote it; a constraint whose name
-- is not the one PostgreSQL would give it (kept over a rename) is named.
-- Identifiers come from models, which soom.model checked, and are quoted.

local state = require "soom.migrations.state"

local ipairs, error, tostring = ipairs, error, tostring
local concat = table.concat

local _M = {}

local function q(name)
    return '"' .. name .. '"'
end

--- The quoted name of a table key ("legacy.booking" -> "legacy"."booking").
function _M.table_name(key)
    local schema, name = key:match("^([^.]+)%.(.+)$")
    if schema then
        return q(schema) .. "." .. q(name)
    end
    return q(key)
end

local function names(list)
    local out = {}
    for i, n in ipairs(list) do
        out[i] = q(n)
    end
    return concat(out, ", ")
end

-- Index columns: "-created_at" is "created_at" DESC.
local function index_columns(list)
    local out = {}
    for i, n in ipairs(list) do
        local bare = n:gsub("^%-", "")
        out[i] = q(bare) .. (bare ~= n and " DESC" or "")
    end
    return concat(out, ", ")
end

local function named(name, default_name)
    if name and name ~= default_name then
        return "CONSTRAINT " .. q(name) .. " "
    end
    return ""
end

--- The REFERENCES clause of a foreign key.
function _M.references(fk)
    local ref = "REFERENCES " .. _M.table_name(fk.table)
    if fk.column then
        ref = ref .. " (" .. q(fk.column) .. ")"
    end
    if fk.on_delete then
        ref = ref .. " ON DELETE " .. fk.on_delete
    end
    return ref
end

--- A column's type, NOT NULL and DEFAULT.
function _M.column_head(col)
    local parts = { q(col.name), col.type }
    if not col.null then
        parts[#parts + 1] = "NOT NULL"
    end
    if col.default then
        parts[#parts + 1] = "DEFAULT " .. col.default
    end
    return concat(parts, " ")
end

-- A column of CREATE TABLE of `t` with its inline constraints, the
-- foreign key left out when `no_fk`.
local function column_sql(t, col, no_fk)
    local parts = { _M.column_head(col) }
    if col.unique then
        parts[#parts + 1] = named(col.unique_name, state.constraint_name(t.name, { col.name }, "key"))
            .. "UNIQUE"
    end
    if col.fk and not no_fk then
        parts[#parts + 1] = named(col.fk.name, state.constraint_name(t.name, { col.name }, "fkey"))
            .. _M.references(col.fk)
    end
    if col.check then
        parts[#parts + 1] = named(col.check_name, state.constraint_name(t.name, { col.name }, "check"))
            .. "CHECK (" .. col.check .. ")"
    end
    return concat(parts, " ")
end

--- CREATE TABLE of the table state `t`; the foreign keys of the columns
-- in `deferred` (a set of names) are left for ALTER TABLE.
function _M.create_table(t, deferred)
    local lines = {}
    for i, col in ipairs(t.columns) do
        lines[i] = "    " .. column_sql(t, col, deferred and deferred[col.name])
    end
    if #t.primary_key > 0 then
        lines[#lines + 1] = "    " .. named(t.pk_name, t.name .. "_pkey") .. "PRIMARY KEY ("
            .. names(t.primary_key) .. ")"
    end
    for _, u in ipairs(t.unique) do
        lines[#lines + 1] = "    " .. named(u.name, state.constraint_name(t.name, u.columns, "key"))
            .. "UNIQUE (" .. names(u.columns) .. ")"
    end
    for _, c in ipairs(t.checks) do
        lines[#lines + 1] = ("    CONSTRAINT %s CHECK (%s)"):format(q(c.name), c.sql)
    end
    return ("CREATE TABLE %s (\n%s\n);"):format(_M.table_name(state.key(t)), concat(lines, ",\n"))
end

--- CREATE INDEX of `ix` on the table `key`.
function _M.create_index(key, ix)
    return ("CREATE %sINDEX %s ON %s (%s);"):format(ix.unique and "UNIQUE " or "", q(ix.name),
        _M.table_name(key), index_columns(ix.columns))
end

function _M.drop_index(key, ix)
    local schema = key:match("^([^.]+)%.")
    return ("DROP INDEX %s%s;"):format(schema and (q(schema) .. ".") or "", q(ix.name))
end

-- Serials are not types ALTER COLUMN TYPE knows: their integers.
local SERIAL = { smallserial = "smallint", serial = "integer", bigserial = "bigint" }

local function alter(key, rest)
    return ("ALTER TABLE %s %s;"):format(_M.table_name(key), rest)
end

--- The forward and reverse statements of one operation: two lists.
function _M.statements(op)
    local k, fwd, rev = op.kind, {}, {}
    local key = op.key
    if k == "create_table" then
        fwd[1], rev[1] = _M.create_table(op.table, op.deferred), ("DROP TABLE %s;"):format(_M.table_name(key))
    elseif k == "drop_table" then
        fwd[1] = ("DROP TABLE %s;"):format(_M.table_name(key))
        rev[1] = _M.create_table(op.table, op.deferred)
    elseif k == "rename_table" then
        fwd[1] = alter(op.from, "RENAME TO " .. q(op.to_name))
        rev[1] = alter(key, "RENAME TO " .. q(op.from_name))
    elseif k == "add_column" then
        fwd[1] = alter(key, "ADD COLUMN " .. _M.column_head(op.column))
        rev[1] = alter(key, "DROP COLUMN " .. q(op.column.name))
    elseif k == "drop_column" then
        fwd[1] = alter(key, "DROP COLUMN " .. q(op.column.name))
        rev[1] = alter(key, "ADD COLUMN " .. _M.column_head(op.column))
    elseif k == "rename_column" then
        fwd[1] = alter(key, ("RENAME COLUMN %s TO %s"):format(q(op.from), q(op.to)))
        rev[1] = alter(key, ("RENAME COLUMN %s TO %s"):format(q(op.to), q(op.from)))
    elseif k == "alter_type" then
        local function to(t)
            t = SERIAL[t:lower()] or t
            return ("ALTER COLUMN %s TYPE %s USING %s::%s"):format(q(op.column), t, q(op.column), t)
        end
        fwd[1], rev[1] = alter(key, to(op.to)), alter(key, to(op.from))
    elseif k == "alter_null" then
        local set, drop = "ALTER COLUMN " .. q(op.column) .. " SET NOT NULL",
            "ALTER COLUMN " .. q(op.column) .. " DROP NOT NULL"
        fwd[1], rev[1] = alter(key, op.null and drop or set), alter(key, op.null and set or drop)
    elseif k == "alter_default" then
        local function to(d)
            return "ALTER COLUMN " .. q(op.column) .. (d and (" SET DEFAULT " .. d) or " DROP DEFAULT")
        end
        fwd[1], rev[1] = alter(key, to(op.to)), alter(key, to(op.from))
    elseif k == "add_constraint" then
        fwd[1] = alter(key, ("ADD CONSTRAINT %s %s"):format(q(op.name), op.def))
        rev[1] = alter(key, "DROP CONSTRAINT " .. q(op.name))
    elseif k == "drop_constraint" then
        fwd[1] = alter(key, "DROP CONSTRAINT " .. q(op.name))
        rev[1] = alter(key, ("ADD CONSTRAINT %s %s"):format(q(op.name), op.def))
    elseif k == "create_index" then
        fwd[1], rev[1] = _M.create_index(key, op.index), _M.drop_index(key, op.index)
    elseif k == "drop_index" then
        fwd[1], rev[1] = _M.drop_index(key, op.index), _M.create_index(key, op.index)
    else
        error("unknown operation " .. tostring(k))
    end
    return fwd, rev
end

return _M
