--- soom.migrations.autodetect: what changed between the state the
-- migrations build and the state the models declare, as operations.
--
--   local ops = autodetect.diff(old, new)   -- two soom.migrations.state maps
--
-- Each operation is { kind, key (the table), phase, label, slug,
-- destructive, ... }. They come ordered so that every statement finds
-- what it needs: renames first (tables, then columns), then the
-- constraints and indexes that go, new tables (a table before the tables
-- that refer to it; in a cycle, the foreign keys that close it come later
-- as ALTER TABLE), new columns, altered columns, new constraints and
-- indexes, dropped columns, and last the dropped tables (a table before
-- the tables it refers to).
--
-- Renames are never guessed: a model or a field says `renamed_from`.
-- Destructive operations, which lose data or may fail on it, are marked:
-- dropping a table or a column (with the constraints and indexes that go
-- with the column), and a type change that narrows (bigint to integer,
-- text to varchar(n), a shorter varchar, numeric with fewer digits, or a
-- type of another family).
--
-- Constraints are compared by their definitions; one that did not change
-- keeps the name it has in the database (so the new state remembers the
-- names a rename left), and diff() writes those names into `new`.

local state = require "soom.migrations.state"
local sql = require "soom.migrations.sql"

local ipairs, pairs, type, tonumber, unpack = ipairs, pairs, type, tonumber, unpack
local concat, sort, insert = table.concat, table.sort, table.insert

local _M = {}

local function deep_copy(v)
    if type(v) ~= "table" then
        return v
    end
    local out = {}
    for k, item in pairs(v) do
        out[k] = deep_copy(item)
    end
    return out
end

local function sorted_keys(map)
    local keys = {}
    for k in pairs(map) do
        keys[#keys + 1] = k
    end
    sort(keys)
    return keys
end

local function quoted_list(list)
    local out = {}
    for i, n in ipairs(list) do
        out[i] = '"' .. n .. '"'
    end
    return concat(out, ", ")
end

-- ---- renames ---------------------------------------------------------------------

-- Points the foreign keys of `old`'s tables that `names` (a foreign key ->
-- true) at what `repoint` makes of them; returns the keys of their tables,
-- whose state lines change too (a table once for each such key).
local function repoint_references(old, names, repoint)
    local also = {}
    for okey, other in pairs(old) do
        for _, col in ipairs(other.columns) do
            if col.fk and names(col.fk) then
                repoint(col.fk)
                also[#also + 1] = okey
            end
        end
    end
    return also
end

local function rename_in_list(list, from, to)
    for i, n in ipairs(list) do
        if n == from then
            list[i] = to
        elseif n == "-" .. from then
            list[i] = "-" .. to
        end
    end
end

-- Renames the column `from` of the old table `t` (a copy) to `to`, and
-- the references other tables make to it.
local function rename_column(old, key, t, from, to)
    local quoted_from = '"' .. from .. '"'
    local function fix(text)
        return text and (text:gsub(quoted_from:gsub("%p", "%%%0"), '"' .. to .. '"')) or nil
    end
    for _, col in ipairs(t.columns) do
        if col.name == from then
            col.name = to
        end
        col.check = fix(col.check)
    end
    rename_in_list(t.primary_key, from, to)
    for _, u in ipairs(t.unique) do
        rename_in_list(u.columns, from, to)
    end
    for _, c in ipairs(t.checks) do
        c.sql = fix(c.sql)
    end
    for _, ix in ipairs(t.indexes) do
        rename_in_list(ix.columns, from, to)
    end
    return repoint_references(old, function(fk)
        return fk.table == key and fk.column == from
    end, function(fk)
        fk.column = to
    end)
end

-- The declared table renames, applied to `old` (a copy).
local function rename_tables(ops, old, new)
    for _, key in ipairs(sorted_keys(new)) do
        local t = new[key]
        local from = t.renamed_from and (t.schema and (t.schema .. "." .. t.renamed_from) or t.renamed_from)
        if from and old[from] and not old[key] and not new[from] then
            local ot = old[from]
            old[from], old[key] = nil, ot
            ot.name = t.name
            local also = repoint_references(old, function(fk) -- the tables that refer to it
                return fk.table == from
            end, function(fk)
                fk.table = key
            end)
            ops[#ops + 1] = { kind = "rename_table", key = key, from = from, phase = 1,
                from_name = from:match("([^.]+)$"), to_name = t.name,
                label = ("rename table %s to %s"):format(from, key), slug = "rename_" .. t.name,
                old_key = from, also = also }
        end
    end
end

local function names_of(columns)
    local set = {}
    for _, col in ipairs(columns) do
        set[col.name] = true
    end
    return set
end

-- The declared column renames, applied to `old` (a copy, its tables
-- renamed already).
local function rename_columns(ops, old, new)
    for _, key in ipairs(sorted_keys(new)) do
        local t, ot = new[key], old[key]
        local present, wanted = names_of(ot and ot.columns or {}), names_of(t.columns)
        for _, col in ipairs(ot and t.columns or {}) do
            local from = col.renamed_from
            if from and present[from] and not present[col.name] and not wanted[from] then
                local also = rename_column(old, key, ot, from, col.name)
                present[from], present[col.name] = nil, true
                ops[#ops + 1] = { kind = "rename_column", key = key, from = from, to = col.name,
                    phase = 2, label = ("rename column %s.%s to %s"):format(key, from, col.name),
                    slug = ("rename_%s_%s"):format(t.name, from), also = also }
            end
        end
    end
end

-- Applies the declared renames to a copy of `old`; returns it and the
-- rename operations.
local function renames(old, new)
    old = deep_copy(old)
    local ops = {}
    rename_tables(ops, old, new)
    rename_columns(ops, old, new)
    return old, ops
end

-- ---- types -----------------------------------------------------------------------

local INT_RANK = { smallint = 1, smallserial = 1, integer = 2, serial = 2, bigint = 3, bigserial = 3,
    numeric = 4 }

-- True when changing `from` to `to` may lose data or fail on it.
function _M.narrows(from, to)
    local a, b = state.canonical_type(from), state.canonical_type(to)
    if a == b or b == "text" then
        return false
    end
    if INT_RANK[a] and INT_RANK[b] then
        return INT_RANK[b] < INT_RANK[a]
    end
    if a == "real" and b == "double precision" then
        return false
    end
    local va, vb = a:match("^character varying%((%d+)%)$"), b:match("^character varying%((%d+)%)$")
    local ca = a:match("^character%((%d+)%)$")
    if b == "character varying" and (va or ca or a == "text") then
        return false
    end
    if vb and (va or ca) then
        return tonumber(vb) < tonumber(va or ca)
    end
    local pa, sa = a:match("^numeric%((%d+),(%d+)%)$")
    local pb, sb = b:match("^numeric%((%d+),(%d+)%)$")
    if pa and b == "numeric" then
        return false
    end
    if INT_RANK[a] and pb then
        return tonumber(pb) - tonumber(sb) < ({ 5, 10, 19, 1000 })[INT_RANK[a]]
    end
    if pa and pb then
        return tonumber(sb) < tonumber(sa) or tonumber(pb) - tonumber(sb) < tonumber(pa) - tonumber(sa)
    end
    if (a == "timestamp without time zone" and b == "timestamp with time zone")
        or (b == "timestamp without time zone" and a == "timestamp with time zone") then
        return false
    end
    return true
end

-- ---- constraints and indexes ---------------------------------------------------------

-- A column's foreign key as a table constraint's definition.
local function fk_def(col)
    return ('FOREIGN KEY ("%s") '):format(col.name) .. sql.references(col.fk)
end

-- The constraints of a table: { name, def, obj, field (where obj keeps
-- the name), columns }.
local function constraints(t)
    local list = {}
    if #t.primary_key > 0 then
        list[#list + 1] = { name = t.pk_name or (t.name .. "_pkey"), obj = t, field = "pk_name",
            def = "PRIMARY KEY (" .. quoted_list(t.primary_key) .. ")", columns = t.primary_key }
    end
    for _, col in ipairs(t.columns) do
        if col.unique then
            list[#list + 1] = { name = col.unique_name, obj = col, field = "unique_name",
                def = ('UNIQUE ("%s")'):format(col.name), columns = { col.name } }
        end
        if col.check then
            list[#list + 1] = { name = col.check_name, obj = col, field = "check_name",
                def = "CHECK (" .. col.check .. ")", columns = { col.name } }
        end
        if col.fk then
            list[#list + 1] = { name = col.fk.name, obj = col.fk, field = "name", columns = { col.name },
                def = fk_def(col), fk_table = col.fk.table }
        end
    end
    for _, u in ipairs(t.unique) do
        list[#list + 1] = { name = u.name, obj = u, field = "name", columns = u.columns,
            def = "UNIQUE (" .. quoted_list(u.columns) .. ")" }
    end
    for _, c in ipairs(t.checks) do
        list[#list + 1] = { name = c.name, obj = c, field = "name", columns = {},
            def = "CHECK (" .. c.sql .. ")", named = true }
    end
    return list
end

local function index_id(ix)
    return (ix.unique and "unique " or "") .. concat(ix.columns, ",")
end

-- True when any of `cols` (index columns may say "-name") is in `set`.
local function touches(cols, set)
    for _, c in ipairs(cols) do
        if set[(c:gsub("^%-", ""))] then
            return true
        end
    end
    return false
end

-- ---- tables ------------------------------------------------------------------------

local function by_name(columns)
    local map = {}
    for _, col in ipairs(columns) do
        map[col.name] = col
    end
    return map
end

local function diff_columns(ops, key, ot, t)
    local old_cols, new_cols = by_name(ot.columns), by_name(t.columns)
    local dropped = {}
    for _, col in ipairs(t.columns) do
        local oc = old_cols[col.name]
        local where = key .. "." .. col.name
        local slug = ("%s_%s"):format(t.name, col.name)
        if not oc then
            ops[#ops + 1] = { kind = "add_column", key = key, column = col, phase = 5,
                label = "add column " .. where, slug = "add_" .. slug,
                warning = not col.null and not col.default and ("%s is NOT NULL without a default: "
                    .. "adding it fails when the table has rows (give it a default, or add it "
                    .. "nullable, fill it, then make it NOT NULL)"):format(where) or nil }
        else
            if state.canonical_type(oc.type) ~= state.canonical_type(col.type) then
                local narrows = _M.narrows(oc.type, col.type)
                ops[#ops + 1] = { kind = "alter_type", key = key, column = col.name, from = oc.type,
                    to = col.type, phase = 6, destructive = narrows or nil,
                    label = ("alter column %s type %s to %s"):format(where, oc.type, col.type),
                    slug = "alter_" .. slug,
                    danger = narrows and ("changes the type of %s from %s to %s, which may fail on "
                        .. "its values or lose part of them"):format(where, oc.type, col.type) or nil }
            end
            if (oc.null or false) ~= (col.null or false) then
                ops[#ops + 1] = { kind = "alter_null", key = key, column = col.name, null = col.null,
                    phase = 6, slug = "alter_" .. slug,
                    label = ("alter column %s %s"):format(where, col.null and "nullable" or "NOT NULL"),
                    warning = not col.null and ("%s becomes NOT NULL: this fails while a row "
                        .. "holds NULL there (fill those rows first, with an UPDATE above it)")
                        :format(where) or nil }
            end
            if oc.default ~= col.default then
                ops[#ops + 1] = { kind = "alter_default", key = key, column = col.name, from = oc.default,
                    to = col.default, phase = 6, slug = "alter_" .. slug,
                    label = ("alter column %s default %s"):format(where, col.default or "none") }
            end
        end
    end
    for _, oc in ipairs(ot.columns) do
        if not new_cols[oc.name] then
            dropped[oc.name] = true
            ops[#ops + 1] = { kind = "drop_column", key = key, column = oc, phase = 8, order = 2,
                destructive = true, label = ("drop column %s.%s"):format(key, oc.name),
                slug = ("drop_%s_%s"):format(t.name, oc.name),
                danger = ("drops the column %s.%s and its data"):format(key, oc.name) }
        end
    end
    return dropped
end

-- Pairs each of `news` with the first of `olds` not paired yet that
-- `same(old, new)` accepts: kept(new, old) for a pair, added(new) for a
-- new one alone. Returns the set of the indexes of the olds paired.
local function pair_up(olds, news, same, kept, added)
    local used = {}
    for _, n in ipairs(news) do
        local match
        for i, o in ipairs(olds) do
            if not used[i] and same(o, n) then
                match = i
                break
            end
        end
        if match then
            used[match] = true
            kept(n, olds[match])
        else
            added(n)
        end
    end
    return used
end

-- `op`, a constraint or index that goes, placed: with a column dropped
-- (phase 8, destructive), else before the new ones are made (phase 3).
local function placed_drop(op, columns, dropped)
    local with_column = touches(columns, dropped)
    op.phase, op.order, op.destructive = with_column and 8 or 3, 1, with_column or nil
    return op
end

local function diff_constraints(ops, key, ot, t, dropped)
    local olds = constraints(ot)
    local used = pair_up(olds, constraints(t), function(oc, nc)
        return oc.def == nc.def and (not nc.named or oc.name == nc.name)
    end, function(nc, oc)
        nc.obj[nc.field] = oc.name
    end, function(nc)
        ops[#ops + 1] = { kind = "add_constraint", key = key, name = nc.name, def = nc.def, phase = 7,
            fk_table = nc.fk_table, label = ("add constraint %s on %s"):format(nc.name, key),
            slug = "alter_" .. t.name }
    end)
    for i, oc in ipairs(olds) do
        if not used[i] then
            ops[#ops + 1] = placed_drop({ kind = "drop_constraint", key = key, name = oc.name,
                def = oc.def, label = ("drop constraint %s on %s"):format(oc.name, key),
                slug = "alter_" .. t.name }, oc.columns, dropped)
        end
    end
end

local function diff_indexes(ops, key, ot, t, dropped)
    local olds = ot.indexes
    local used = pair_up(olds, t.indexes, function(oi, ix)
        return index_id(oi) == index_id(ix)
    end, function(ix, oi)
        ix.name = oi.name
    end, function(ix)
        ops[#ops + 1] = { kind = "create_index", key = key, index = ix, phase = 7,
            label = ("create index %s on %s"):format(ix.name, key), slug = "alter_" .. t.name }
    end)
    for i, oi in ipairs(olds) do
        if not used[i] and oi.untracked then
            t.indexes[#t.indexes + 1] = oi -- kept in the state, never dropped: no model made it
        elseif not used[i] then
            ops[#ops + 1] = placed_drop({ kind = "drop_index", key = key, index = oi,
                label = ("drop index %s on %s"):format(oi.name, key), slug = "alter_" .. t.name },
                oi.columns, dropped)
        end
    end
end

local function diff_table(ops, key, ot, t)
    local dropped = diff_columns(ops, key, ot, t)
    diff_constraints(ops, key, ot, t, dropped)
    diff_indexes(ops, key, ot, t, dropped)
end

-- The tables of `keys` that `t` refers to (itself left out).
local function refers(t, keys)
    local out = {}
    for _, col in ipairs(t.columns) do
        if col.fk and keys[col.fk.table] and col.fk.table ~= state.key(t) then
            out[col.fk.table] = col
        end
    end
    return out
end

local function first_pending(keys, pending)
    for _, key in ipairs(keys) do
        if pending[key] then
            return key
        end
    end
end

-- The foreign keys of the new table `t` into tables not created yet, as
-- ALTER TABLE after them: the set of their columns.
local function defer_keys(ops, key, t, pending)
    local deferred = {}
    for target, col in pairs(refers(t, pending)) do
        if target ~= key then
            deferred[col.name] = true
            ops[#ops + 1] = { kind = "add_constraint", key = key, name = col.fk.name, phase = 7,
                def = fk_def(col), label = ("add constraint %s on %s"):format(col.fk.name, key),
                slug = "create_" .. t.name }
        end
    end
    return deferred
end

-- New tables in dependency order; foreign keys of a cycle deferred.
local function create_tables(ops, new, keys)
    local pending = {}
    for _, key in ipairs(keys) do
        pending[key] = true
    end
    local remaining = #keys
    while remaining > 0 do
        local pick
        for _, key in ipairs(keys) do
            if pending[key] then
                local ready = true
                for target in pairs(refers(new[key], pending)) do
                    if target ~= key then
                        ready = false
                    end
                end
                if ready then
                    pick = key
                    break
                end
            end
        end
        local deferred
        if not pick then -- a cycle: the first table, its open foreign keys later
            pick = first_pending(keys, pending)
            deferred = defer_keys(ops, pick, new[pick], pending)
        end
        pending[pick], remaining = nil, remaining - 1
        ops[#ops + 1] = { kind = "create_table", key = pick, table = new[pick], deferred = deferred,
            phase = 4, label = "create table " .. pick, slug = "create_" .. new[pick].name }
        for _, ix in ipairs(new[pick].indexes) do
            ops[#ops + 1] = { kind = "create_index", key = pick, index = ix, phase = 4,
                label = ("create index %s on %s"):format(ix.name, pick), slug = "create_" .. new[pick].name }
        end
    end
end

-- Dropped tables: a table before the ones it refers to; in a cycle, the
-- foreign keys into the table dropped first go before it (and come back
-- after the tables in the reverse section).
local function drop_tables(ops, old, keys)
    local pending, deferred = {}, {}
    for _, key in ipairs(keys) do
        pending[key], deferred[key] = true, {}
    end
    local function referenced(key)
        for other in pairs(pending) do
            if other ~= key and refers(old[other], { [key] = true })[key] then
                return true
            end
        end
        return false
    end
    for _ = 1, #keys do
        local pick
        for _, key in ipairs(keys) do
            if pending[key] and not referenced(key) then
                pick = key
                break
            end
        end
        if not pick then
            pick = first_pending(keys, pending)
            for _, other in ipairs(keys) do
                local col = pending[other] and other ~= pick and refers(old[other], { [pick] = true })[pick]
                if col then
                    deferred[other][col.name] = true
                    ops[#ops + 1] = { kind = "drop_constraint", key = other, name = col.fk.name, phase = 9,
                        def = fk_def(col), destructive = true,
                        label = ("drop constraint %s on %s"):format(col.fk.name, other),
                        slug = "drop_" .. old[other].name }
                end
            end
        end
        pending[pick] = nil
        ops[#ops + 1] = { kind = "drop_table", key = pick, table = old[pick], phase = 9,
            deferred = deferred[pick], destructive = true, label = "drop table " .. pick,
            slug = "drop_" .. old[pick].name, danger = ("drops the table %s and its rows"):format(pick) }
    end
end

--- The operations that take the state `old` to `new`, in order. Writes
-- the names constraints keep into `new`. `keep`: a set of table keys
-- never dropped (those of unmanaged models).
function _M.diff(old, new, keep)
    keep = keep or {}
    local renamed, ops = renames(old, new)
    local created, dropped = {}, {}
    for _, key in ipairs(sorted_keys(new)) do
        if renamed[key] then
            diff_table(ops, key, renamed[key], new[key])
        else
            created[#created + 1] = key
        end
    end
    for _, key in ipairs(sorted_keys(renamed)) do
        if not new[key] and not renamed[key].untracked and not keep[key] then
            dropped[#dropped + 1] = key
        end
    end
    create_tables(ops, new, created)
    drop_tables(ops, renamed, dropped)
    for i, op in ipairs(ops) do
        op.seq = i
    end
    sort(ops, function(a, b)
        if a.phase ~= b.phase then
            return a.phase < b.phase
        end
        if a.phase == 8 and a.key ~= b.key then
            return a.key < b.key
        end
        if (a.order or 0) ~= (b.order or 0) then
            return (a.order or 0) < (b.order or 0)
        end
        return a.seq < b.seq
    end)
    return ops
end

--- The tables the operations touch: the keys written as soom:table lines
-- (a rename touches the tables whose foreign keys name what it renamed),
-- and the keys that are gone (dropped, or renamed away).
function _M.touched(ops, new)
    local kept, gone, seen = {}, {}, {}
    for _, op in ipairs(ops) do
        if op.old_key and not new[op.old_key] and not seen[op.old_key] then
            seen[op.old_key] = true
            gone[#gone + 1] = op.old_key
        end
        local keys = { op.key, unpack(op.also or {}) }
        for _, key in ipairs(keys) do
            if not seen[key] then
                seen[key] = true
                insert(new[key] and kept or gone, key)
            end
        end
    end
    sort(kept)
    sort(gone)
    return kept, gone
end

return _M
