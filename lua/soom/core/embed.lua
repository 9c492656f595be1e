--- soom.core.embed: the SQL a generic resource's plan needs for relations,
-- written once at start-up from the models.
--
--   embeds     a serializer field { "category", fields = {...} } (to-one)
--              or { "lines", many = true, fields = {...} } (to-many, or
--              many-to-many through a table) becomes a correlated
--              subquery that PostgreSQL turns into the nested JSON:
--              json_build_object for a row, json_agg of them for a list,
--              so a page with its related rows is one statement, never a
--              query per row. Embeds nest. The outer row is "_t".
--   filters    "category__name" becomes `"category_id" IN (SELECT ...
--              WHERE <cond>)`, the condition on the last field written by
--              the core as for any filter; paths go through any number of
--              relations, to-one or to-many.
--   orderings  "category__name" (to-one relations only) becomes a scalar
--              subquery the list is ordered by (and cursors keep).
--
-- Values in embedded JSON follow the core's own conversions (the same as
-- the top-level row): numeric as a string (or a number with numeric_as =
-- "number"), NaN and infinite floats as null, bytea as base64, timestamps
-- in ISO 8601 (the session's TimeZone is UTC).
--
-- Every identifier here comes from model declarations, which soom.model
-- checked, and is quoted; request values never reach this SQL.

local model = require "soom.model"
local relations = require "soom.core.relations"

local type, ipairs, pairs, error, tostring = type, ipairs, pairs, error, tostring
local concat = table.concat

local _M = {}

local q = model.quote

-- PostgreSQL accepts at most 100 arguments: 50 key/value pairs.
local MAX_PAIRS = 50

local function literal(s)
    return "'" .. s:gsub("'", "''") .. "'"
end

local function base_type(sql_type)
    return (sql_type or "text"):lower():match("^([%a ]+)"):gsub("%s+$", "")
end

-- The JSON value of a column as the core would write it.
local function value_sql(col, fd, numeric_number)
    local t = base_type(fd.sql_type)
    local array = (fd.sql_type or ""):find("[]", 1, true) ~= nil
    if t == "numeric" or t == "decimal" then
        if array then
            return numeric_number and col or (col .. "::text[]")
        end
        return numeric_number and ("nullif(" .. col .. ", 'NaN')") or (col .. "::text")
    elseif (t == "real" or t == "double precision" or t == "float4" or t == "float8") and not array then
        return ("CASE WHEN %s IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE %s END")
            :format(col, col)
    elseif t == "bytea" and not array then
        return ("translate(encode(%s, 'base64'), E'\\n', '')"):format(col)
    end
    return col
end

local function relation_of(m, name, what)
    relations.check(m)
    local rel = m:relation(name)
    if not rel then
        error(("%s: %s is not a relation of %s"):format(what, tostring(name), m.name or m.table), 0)
    end
    return rel
end

-- ---- embeds ------------------------------------------------------------------

local object_sql

-- The correlated subquery of an embed of `rel` from the row `outer`.
local function embed_sql(rel, entry, outer, depth, ctx)
    local a = ('"_r%d"'):format(depth)
    local obj = object_sql(rel.target, entry, a, depth, ctx)
    local from = rel.target:quoted_table() .. " AS " .. a
    local where = ("%s.%s = %s.%s"):format(a, q(rel.remote_column), outer, q(rel.local_column))
    if rel.through then
        local m = ('"_m%d"'):format(depth)
        from = ("%s JOIN %s AS %s ON %s.%s = %s.%s"):format(from, rel.through.model:quoted_table(), m,
            m, q(rel.through.remote_column), a, q(rel.remote_column))
        where = ("%s.%s = %s.%s"):format(m, q(rel.through.local_column), outer, q(rel.local_column))
    end
    if not rel.many then
        return ("(SELECT %s FROM %s WHERE %s)"):format(obj, from, where)
    end
    local order = {}
    local terms = entry.ordering or { rel.target.primary_key }
    for i, term in ipairs(type(terms) == "table" and terms or { terms }) do
        local desc = term:sub(1, 1) == "-"
        local name = term:gsub("^[-+]", "")
        if not rel.target:field(name) then
            error(("%s: ordering %s is not a field of %s"):format(ctx.what, name,
                rel.target.name or rel.target.table), 0)
        end
        order[i] = a .. "." .. q(name) .. (desc and " DESC" or "")
    end
    return ("(SELECT coalesce(json_agg(%s ORDER BY %s), '[]'::json) FROM %s WHERE %s)")
        :format(obj, concat(order, ", "), from, where)
end

-- A to-one embed of plain columns as a LEFT JOIN (the core writes the
-- columns itself): { table, remote, columns, names }, or nil.
local function join_of(rel, entry)
    if rel.many or rel.through then
        return nil
    end
    local m = rel.target
    local out = {
        table = m.schema and (m.schema .. "." .. m.table) or m.table,
        remote = rel.remote_column, columns = {}, names = {},
    }
    for i, item in ipairs(entry.fields or m.field_names) do
        local name, column
        if type(item) == "string" and m:field(item) then
            name, column = item, item
        elseif type(item) == "table" and not _M.is_embed(item) and type(item[1]) == "string"
            and m:field(item.source or item[1]) then
            name, column = item[1], item.source or item[1]
        else
            return nil -- a relation inside: the subquery form
        end
        out.columns[i], out.names[i] = column, name
    end
    return out
end

local EMBED_KEYS = { fields = true, many = true, expand = true, source = true, ordering = true,
    read_only = true, write_only = true }

--- True when a serializer entry asks for an embed.
function _M.is_embed(entry)
    return type(entry) == "table" and (entry.fields ~= nil or entry.many ~= nil
        or entry.expand ~= nil or entry.ordering ~= nil)
end

-- json_build_object('name', value, ...) of the fields `entry.fields` of `m`
-- (default: every field), at alias `a`.
object_sql = function(m, entry, a, depth, ctx)
    local pairs_sql = {}
    for i, item in ipairs(entry.fields or m.field_names) do
        local name, value
        if type(item) == "string" and m:field(item) then
            name, value = item, value_sql(a .. "." .. q(item), m:field(item), ctx.numeric_number)
        elseif type(item) == "string" or _M.is_embed(item) then
            local sub = type(item) == "string" and { item } or item
            name = sub[1]
            local rel = relation_of(m, sub.source or name, ctx.what)
            if not rel.many and not _M.is_embed(sub) and rel.local_column then
                value = a .. "." .. q(rel.local_column) -- the key of a to-one relation
            else
                value = embed_sql(rel, sub, a, depth + 1, ctx)
            end
        elseif type(item) == "table" and type(item[1]) == "string" and m:field(item.source or item[1]) then
            name = item[1]
            value = value_sql(a .. "." .. q(item.source or item[1]), m:field(item.source or item[1]),
                ctx.numeric_number)
        else
            error(("%s: fields[%d] of an embed must be a field or relation name"):format(ctx.what, i), 0)
        end
        if #pairs_sql >= MAX_PAIRS * 2 then
            error(("%s: an embed holds at most %d fields"):format(ctx.what, MAX_PAIRS), 0)
        end
        pairs_sql[#pairs_sql + 1] = literal(name)
        pairs_sql[#pairs_sql + 1] = value
    end
    return "json_build_object(" .. concat(pairs_sql, ", ") .. ")"
end

--- The plan spec of an embed field of model `m`: { sql, local_column,
-- many, expand, column (the key column of a to-one relation, written by
-- id and sent when not expanded) }.
function _M.embed(m, entry, what, numeric_number)
    for k in pairs(entry) do
        if type(k) ~= "number" and not EMBED_KEYS[k] then
            error(("%s: field %s: unknown option %q"):format(what, tostring(entry[1]), tostring(k)), 0)
        end
    end
    local rel = relation_of(m, entry.source or entry[1], what)
    if entry.many ~= nil and (entry.many == true) ~= rel.many then
        error(("%s: field %s: %s is a to-%s relation"):format(what, entry[1], rel.name,
            rel.many and "many: say many = true" or "one: drop many = true"), 0)
    end
    local ctx = { what = what .. ": field " .. entry[1], numeric_number = numeric_number }
    return {
        sql = embed_sql(rel, entry, '"_t"', 1, ctx),
        local_column = rel.local_column,
        many = rel.many,
        expand = entry.expand == true,
        column = not rel.many and rel.kind == "foreign_key" and rel.local_column or nil,
        join = join_of(rel, entry),
    }
end

-- ---- filters and orderings across relations --------------------------------------

-- Splits "category__name" into its relations and the final field.
local function walk(m, path, what, to_one_only)
    local parts = {}
    for p in (path .. "__"):gmatch("(.-)__") do
        parts[#parts + 1] = p
    end
    local steps, cur = {}, m
    for i = 1, #parts - 1 do
        local rel = relation_of(cur, parts[i], what)
        if to_one_only and rel.many then
            error(("%s: cannot order by %s: %s is a to-many relation"):format(what, path, rel.name), 0)
        end
        steps[#steps + 1] = rel
        cur = rel.target
    end
    local last = parts[#parts]
    local fd = cur:field(last)
    if not fd then
        local rel = cur:relation(last)
        if rel and not rel.many and rel.local_column then
            fd = cur:field(rel.local_column)
        end
    end
    if not fd then
        error(("%s: %s: %s is not a field of %s"):format(what, path, last, cur.name or cur.table), 0)
    end
    return steps, fd
end

--- The plan spec of a filter across relations ("category__name"):
-- { name, prefix, column, type, suffix }: the core writes
-- prefix .. <condition on column> .. suffix.
function _M.filter(m, path, what)
    local steps, fd = walk(m, path, what, false)
    local prefix, outer = {}, nil
    for i, rel in ipairs(steps) do
        local a = ('"_f%d"'):format(i)
        local left = (outer and (outer .. ".") or "") .. q(rel.local_column)
        if rel.through then
            local mt = ('"_g%d"'):format(i)
            prefix[i] = ("%s IN (SELECT %s.%s FROM %s AS %s JOIN %s AS %s ON %s.%s = %s.%s WHERE ")
                :format(left, mt, q(rel.through.local_column), rel.through.model:quoted_table(), mt,
                    rel.target:quoted_table(), a, a, q(rel.remote_column), mt,
                    q(rel.through.remote_column))
        else
            prefix[i] = ("%s IN (SELECT %s.%s FROM %s AS %s WHERE "):format(left, a,
                q(rel.remote_column), rel.target:quoted_table(), a)
        end
        outer = a
    end
    return {
        name = path,
        prefix = concat(prefix),
        column = outer .. "." .. q(fd.name),
        type = fd.sql_type,
        suffix = (")"):rep(#steps),
    }
end

--- The plan spec of an ordering across to-one relations
-- ("category__name"): { name, sql, nullable }.
function _M.ordering(m, path, what)
    local steps, fd = walk(m, path, what, true)
    local nullable = fd.nullable
    -- innermost first: the field of the last target, then each step out
    local expr
    for i = #steps, 1, -1 do
        local rel = steps[i]
        local a = ('"_o%d"'):format(i)
        local outer = i == 1 and m:quoted_table() or ('"_o%d"'):format(i - 1)
        local inner = expr and expr or (a .. "." .. q(fd.name))
        expr = ("(SELECT %s FROM %s AS %s WHERE %s.%s = %s.%s)"):format(inner,
            rel.target:quoted_table(), a, a, q(rel.remote_column), outer, q(rel.local_column))
        local col = rel.owner:field(rel.local_column)
        nullable = nullable or (col and col.nullable)
    end
    return { name = path, sql = expr, nullable = nullable and true or false }
end

return _M
