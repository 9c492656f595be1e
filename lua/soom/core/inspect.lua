--- soom.core.inspect: `soom inspectdb`, the tables of a database written as
-- Lua model modules, marked managed = false.
--
-- It reads pg_catalog (tables and views of one schema, their columns,
-- constraints and indexes) through soom.db, and writes for each table a
-- module in Django's naming: market_service -> models/market/service.lua
-- declaring MarketService, named "market.service" (a table without an
-- underscore goes to models/<table>.lua). Every column becomes a field
-- with its type and constraints (max_length of varchar(n), precision and
-- scale, nullability, defaults as SQL, unique), the primary key (composite
-- too), foreign keys as relations to the target's model with a reverse
-- name that does not clash, Django's many-to-many tables as many_to_many
-- fields, unique constraints over several columns as unique_together;
-- check constraints and indexes are noted as comments. A table without a
-- primary key is written with `primary_key = false` and a comment saying
-- what to choose, instead of a guess. Views are read_only.
--
-- The output is deterministic (tables by name, columns by position,
-- constraints and indexes by name) and passes luacheck.

local db = require "soom.db"
local model = require "soom.model"

local ipairs, pairs, error, format, concat = ipairs, pairs, error, string.format, table.concat

local _M = {}

local MARKER = "-- Written by `soom inspectdb`"
_M.MARKER = MARKER

-- ---- reading the catalog -----------------------------------------------------------

local TABLES = [[
SELECT c.oid::int8 AS oid, c.relname AS name, c.relkind AS kind,
       obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
   AND c.relname <> 'soom_migrations'
 ORDER BY c.relname]]

local COLUMNS = [[
SELECT a.attnum AS num, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
       a.attidentity AS identity, a.attgenerated AS generated
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum]]

local CONSTRAINTS = [[
SELECT con.conname AS name, con.contype AS kind, con.conkey AS keys, con.confkey AS fkeys,
       con.confdeltype AS on_delete, fc.relname AS ftable, fn.nspname AS fschema,
       pg_get_constraintdef(con.oid) AS def
  FROM pg_constraint con
  LEFT JOIN pg_class fc ON fc.oid = con.confrelid
  LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
 WHERE con.conrelid = $1::oid
 ORDER BY con.conname]]

local INDEXES = [[
SELECT i.relname AS name, pg_get_indexdef(ix.indexrelid) AS def
  FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
 WHERE ix.indrelid = $1::oid
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
 ORDER BY i.relname]]

local null = require("soom.json").null

-- Rows with SQL NULLs as nil.
local function query(sql, ...)
    local rows = db.query(sql, ...)
    for _, row in ipairs(rows) do
        for k, v in pairs(row) do
            if v == null then
                row[k] = nil
            end
        end
    end
    return rows
end

-- The column names of attribute numbers.
local function names_of(cols, nums)
    local by_num, out = {}, {}
    for _, c in ipairs(cols) do
        by_num[c.num] = c.name
    end
    for i, n in ipairs(nums or {}) do
        out[i] = by_num[n]
    end
    return out
end

local function read_table(t, schema)
    t.schema = schema
    t.columns = query(COLUMNS, t.oid)
    t.constraints = query(CONSTRAINTS, t.oid)
    t.indexes = query(INDEXES, t.oid)
    t.pk, t.fks, t.uniques, t.checks = {}, {}, {}, {}
    for _, con in ipairs(t.constraints) do
        local cols = names_of(t.columns, con.keys)
        if con.kind == "p" then
            t.pk = cols
        elseif con.kind == "f" then
            t.fks[#t.fks + 1] = { name = con.name, columns = cols, ftable = con.ftable,
                fschema = con.fschema, fkeys = con.fkeys, on_delete = con.on_delete, def = con.def }
        elseif con.kind == "u" then
            t.uniques[#t.uniques + 1] = { name = con.name, columns = cols }
        elseif con.kind == "c" then
            t.checks[#t.checks + 1] = { name = con.name, def = con.def }
        end
    end
    return t
end

--- The tables of `schema` (all, or those named in `only`), read from the
-- catalog: { name, kind, columns, pk, fks, uniques, checks, indexes }.
function _M.read(schema, only)
    local wanted
    if only and #only > 0 then
        wanted = {}
        for _, n in ipairs(only) do
            wanted[n] = true
        end
    end
    local tables = {}
    for _, t in ipairs(query(TABLES, schema)) do
        if not wanted or wanted[t.name] then
            tables[#tables + 1] = read_table(t, schema)
        end
    end
    if wanted then
        for n in pairs(wanted) do
            local found = false
            for _, t in ipairs(tables) do
                found = found or t.name == n
            end
            if not found then
                error(("no table %s in schema %s"):format(n, schema), 0)
            end
        end
    end
    -- the referenced column's name, for foreign keys to tables read here
    local by_name = {}
    for _, t in ipairs(tables) do
        by_name[t.name] = t
    end
    for _, t in ipairs(tables) do
        for _, fk in ipairs(t.fks) do
            local target = fk.fschema == schema and by_name[fk.ftable]
            fk.target = target or nil
            if target then
                fk.fcolumns = names_of(target.columns, fk.fkeys)
            end
        end
    end
    return tables
end

-- ---- naming ------------------------------------------------------------------------

--- Django's naming of a table: market_service -> "market", "service",
-- "MarketService", "models/market/service.lua" (the folder part is the
-- text before the first underscore).
function _M.naming(table_name)
    local app, rest = table_name:match("^([a-z0-9]+)_([a-z0-9_]+)$")
    local class = table_name:gsub("^%l", string.upper):gsub("_(%w)", string.upper)
    if app and not rest:match("^_") then
        return { name = app .. "." .. rest, path = app .. "/" .. rest .. ".lua", class = class,
            short = rest }
    end
    return { name = table_name, path = table_name .. ".lua", class = class, short = table_name }
end

-- ---- writing -----------------------------------------------------------------------

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
    repeat return then true until while]]):gmatch("%a+") do
    KEYWORDS[w] = true
end

local function key(name)
    return KEYWORDS[name] and ("[%q]"):format(name) or name
end

local function str(s)
    return format("%q", s):gsub("\\\n", "\\n")
end

local SIMPLE = {
    integer = "integer", bigint = "bigint", smallint = "smallint", real = "real",
    ["double precision"] = "double", boolean = "boolean", text = "text", uuid = "uuid",
    date = "date", ["timestamp with time zone"] = "timestamptz",
    ["timestamp without time zone"] = "timestamp", ["time without time zone"] = "time",
    interval = "interval", json = "json", jsonb = "jsonb", bytea = "bytea", inet = "inet",
    ["character varying"] = "varchar", numeric = "numeric",
}

local SERIAL = { integer = "serial", bigint = "bigserial", smallint = "smallserial" }

-- "f.varchar { max_length = 100", "f.integer", ... without the options'
-- closing: the constructor call text and its options in a list.
local function type_call(t)
    local elem = t:match("^(.-)%[%]$")
    if elem then
        local inner, opts = type_call(elem)
        local call = inner .. (#opts > 0 and (" { " .. concat(opts, ", ") .. " }") or "()")
        return "f.array(" .. call .. ", ", {}, true
    end
    if SIMPLE[t] then
        return "f." .. SIMPLE[t], {}
    end
    local n = t:match("^character varying%((%d+)%)$")
    if n then
        return "f.varchar", { "max_length = " .. n }
    end
    n = t:match("^character%((%d+)%)$")
    if n then
        return "f.char", { "max_length = " .. n }
    end
    local p, s = t:match("^numeric%((%d+),(%d+)%)$")
    if p then
        return "f.numeric", { "precision = " .. p, "scale = " .. s }
    end
    return "f.column", { "type = " .. str(t) }
end

-- The Lua text of one field (no trailing comma).
local function field_text(c, opts)
    local serial = (c.identity ~= "" or (c.default or ""):match("^nextval%(")) and SERIAL[c.type]
    local call, topts, array = type_call(c.type)
    if serial then
        call, topts = "f." .. serial, {}
    end
    for _, o in ipairs(opts) do
        topts[#topts + 1] = o
    end
    if not c.not_null then
        topts[#topts + 1] = "null = true"
    end
    if c.default and not serial and c.generated == "" then
        topts[#topts + 1] = "default = " .. str(c.default)
    end
    if c.generated ~= "" then
        topts[#topts + 1] = "read_only = true"
    end
    if array then
        return #topts > 0 and (call .. "{ " .. concat(topts, ", ") .. " })") or (call:sub(1, -3) .. ")")
    end
    return call .. (#topts > 0 and (" { " .. concat(topts, ", ") .. " }") or "()")
end

local ON_DELETE = { c = "cascade", r = "restrict", n = "set null" }

-- The relation field of a single-column foreign key: its name and text.
local function fk_text(t, fk, c)
    local opts = {
        "to = " .. str(fk.target and _M.naming(fk.target.name).name or _M.naming(fk.ftable).name),
        "on = " .. str(c.name),
        "type = " .. str(c.type),
    }
    if fk.fcolumns and fk.target and fk.fcolumns[1] ~= (fk.target.pk[1] or "id") then
        opts[#opts + 1] = "to_field = " .. str(fk.fcolumns[1])
    end
    if not c.not_null then
        opts[#opts + 1] = "null = true"
    end
    if t.unique_columns[c.name] then
        opts[#opts + 1] = "unique = true"
    end
    if ON_DELETE[fk.on_delete] then
        opts[#opts + 1] = "on_delete = " .. str(ON_DELETE[fk.on_delete])
    end
    opts[#opts + 1] = "related_name = " .. str(fk.related_name)
    return fk.field, "f.foreign_key { " .. concat(opts, ", ") .. " }"
end

-- Comment lines, wrapped to stay under luacheck's line length.
local function comment(lines, text, indent)
    local line = indent .. "--"
    for word in text:gmatch("%S+") do
        if #line + #word + 1 > 100 and line ~= indent .. "--" then
            lines[#lines + 1] = line
            line = indent .. "--   "
        end
        line = line .. " " .. word
    end
    lines[#lines + 1] = line
end

local function valid(name)
    return model.valid_identifier(name)
end

local function fields_text(t, lines)
    local fk_of = {}
    for _, fk in ipairs(t.fks) do
        if #fk.columns == 1 then
            fk_of[fk.columns[1]] = fk
        end
    end
    for _, c in ipairs(t.columns) do
        local fk = fk_of[c.name]
        if not valid(c.name) then
            comment(lines, ("column %q is skipped: Soom names columns with lower-case letters, "
                .. "digits and _ (rename it, or read it through a view)"):format(c.name), "        ")
        elseif not model.valid_sql_type(c.type) then
            comment(lines, ("column %s is skipped: its type %s is not one Soom can name")
                :format(c.name, c.type), "        ")
        elseif fk then
            local name, text = fk_text(t, fk, c)
            lines[#lines + 1] = ("        %s = %s,"):format(key(name), text)
        else
            local opts = {}
            if t.unique_columns[c.name] and not (#t.pk == 1 and t.pk[1] == c.name) then
                opts[1] = "unique = true"
            end
            lines[#lines + 1] = ("        %s = %s,"):format(key(c.name), field_text(c, opts))
        end
    end
    for _, m2m in ipairs(t.many_to_many or {}) do
        lines[#lines + 1] = ("        %s = f.many_to_many { to = %s, through = %s, related_name = %s },")
            :format(key(m2m.field), str(m2m.to), str(m2m.through), str(m2m.related_name))
    end
end

local function list_text(cols)
    local q = {}
    for i, c in ipairs(cols) do
        q[i] = str(c)
    end
    return "{ " .. concat(q, ", ") .. " }"
end

--- The Lua module text of a table (read by _M.read, named by _M.plan).
function _M.module_text(t)
    local n = _M.naming(t.name)
    local lines = {
        MARKER .. " from the table " .. t.schema .. "." .. t.name .. ".",
        "-- The table belongs to the database's owner (managed = false): Soom reads and writes its",
        "-- rows and never migrates it; `soom check` compares this model with the live table.",
        "-- luacheck: no max line length",
        "local soom = require \"soom\"",
        "local f = soom.f",
        "",
    }
    if #t.pk == 0 then
        comment(lines, ("%s has no primary key: generic resources need one. Set primary_key to a "
            .. "column (or columns) whose values are unique and never null, or add a primary key "
            .. "to the table."):format(t.name), "")
    end
    for _, chk in ipairs(t.checks) do
        comment(lines, ("check %s: %s"):format(chk.name, chk.def), "")
    end
    for _, ix in ipairs(t.indexes) do
        comment(lines, ("index %s: %s"):format(ix.name, ix.def), "")
    end
    for _, fk in ipairs(t.fks) do
        if #fk.columns > 1 then
            comment(lines, ("foreign key %s over several columns (not a relation): %s")
                :format(fk.name, fk.def), "")
        elseif not fk.target then
            comment(lines, ("foreign key %s refers to %s.%s, which was not inspected")
                :format(fk.name, fk.fschema, fk.ftable), "")
        end
    end
    lines[#lines + 1] = ("local %s = soom.model {"):format(n.class)
    lines[#lines + 1] = ("    name = %s,"):format(str(n.name))
    lines[#lines + 1] = ("    table = %s,"):format(str(t.name))
    if t.schema ~= "public" then
        lines[#lines + 1] = ("    schema = %s,"):format(str(t.schema))
    end
    lines[#lines + 1] = "    managed = false,"
    if t.kind == "v" or t.kind == "m" then
        lines[#lines + 1] = "    read_only = true, -- a view"
    end
    if #t.pk == 0 then
        lines[#lines + 1] = "    primary_key = false,"
    elseif #t.pk == 1 then
        lines[#lines + 1] = ("    primary_key = %s,"):format(str(t.pk[1]))
    else
        lines[#lines + 1] = ("    primary_key = %s,"):format(list_text(t.pk))
    end
    lines[#lines + 1] = "    fields = {"
    fields_text(t, lines)
    lines[#lines + 1] = "    },"
    local together = {}
    for _, u in ipairs(t.uniques) do
        if #u.columns > 1 then
            together[#together + 1] = "        " .. list_text(u.columns) .. ","
        end
    end
    if #together > 0 then
        lines[#lines + 1] = "    unique_together = {"
        for _, l in ipairs(together) do
            lines[#lines + 1] = l
        end
        lines[#lines + 1] = "    },"
    end
    lines[#lines + 1] = "}"
    lines[#lines + 1] = ""
    lines[#lines + 1] = "return " .. n.class
    return concat(lines, "\n") .. "\n"
end

-- ---- relation names ------------------------------------------------------------------

-- Django's many-to-many tables: two foreign keys (to tables read here),
-- unique together, and nothing else but an id.
local function through_of(t)
    if #t.fks ~= 2 or #t.columns ~= 3 or #t.pk ~= 1 then
        return nil
    end
    local a, b = t.fks[1], t.fks[2]
    if #a.columns ~= 1 or #b.columns ~= 1 or not a.target or not b.target then
        return nil
    end
    for _, u in ipairs(t.uniques) do
        if #u.columns == 2 then
            -- the owner is the table whose name the through table extends
            for _, pair in ipairs({ { a, b }, { b, a } }) do
                local owner, other = pair[1], pair[2]
                local field = t.name:match("^" .. owner.target.name:gsub("%p", "%%%0") .. "_(.+)$")
                if field and owner.target ~= other.target then
                    return { owner = owner.target, target = other.target, field = field }
                end
            end
        end
    end
    return nil
end

-- A name not yet in `used` (base, base_2, ...).
local function free_name(used, base)
    local name, i = base, 1
    while used[name] do
        i = i + 1
        name = base .. "_" .. i
    end
    used[name] = true
    return name
end

--- Names every relation: the field of each foreign key (its column
-- without _id, as Django names it), the reverse side on its target
-- (<model>_set, or <model>_<field>_set when that is taken), and the
-- many-to-many fields of Django's through tables.
function _M.plan(tables)
    local used = {} -- per table: names taken by columns and relations
    for _, t in ipairs(tables) do
        used[t] = {}
        t.unique_columns = {}
        for _, c in ipairs(t.columns) do
            used[t][c.name] = true
        end
        for _, u in ipairs(t.uniques) do
            if #u.columns == 1 then
                t.unique_columns[u.columns[1]] = true
            end
        end
        if #t.pk == 1 then
            t.unique_columns[t.pk[1]] = true
        end
    end
    for _, t in ipairs(tables) do
        for _, fk in ipairs(t.fks) do
            if #fk.columns == 1 then
                local col = fk.columns[1]
                local base = col:match("^(.+)_id$")
                fk.field = free_name(used[t], (base and not used[t][base]) and base or (col .. "_rel"))
            end
        end
    end
    for _, t in ipairs(tables) do
        local short = _M.naming(t.name).short
        for _, fk in ipairs(t.fks) do
            if fk.field and fk.target then
                local taken = used[fk.target]
                -- a one-to-one key's reverse is one row: Django names it after the model
                local name = t.unique_columns[fk.columns[1]] and short or (short .. "_set")
                if taken[name] then
                    name = short .. "_" .. fk.field .. "_set"
                end
                fk.related_name = free_name(taken, name)
            elseif fk.field then
                fk.related_name = short .. "_" .. fk.field .. "_set"
            end
        end
        local m2m = through_of(t)
        if m2m then
            m2m.owner.many_to_many = m2m.owner.many_to_many or {}
            local owner_short = _M.naming(m2m.owner.name).short
            m2m.owner.many_to_many[#m2m.owner.many_to_many + 1] = {
                field = free_name(used[m2m.owner], m2m.field),
                to = _M.naming(m2m.target.name).name,
                through = _M.naming(t.name).name,
                related_name = free_name(used[m2m.target], owner_short .. "_set"),
            }
        end
    end
    return tables
end

return _M
