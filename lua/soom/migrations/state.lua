--- soom.migrations.state: the schema as the models declare it, and as the
-- migration files build it.
--
-- A state is a map from a table's key ("booking", or "legacy.booking"
-- with a schema) to the table's description, plain data that encodes as
-- JSON:
--
--   { name, schema, primary_key = { "id" },
--     columns = { { name, type, null, default, unique, check,
--                   fk = { table, column, on_delete, name },
--                   unique_name, check_name }, ... },     -- in order
--     unique = { { columns = { "a", "b" }, name } },     -- unique_together
--     checks = { { name, sql } },                        -- by name
--     indexes = { { name, columns = { "-created_at", "id" }, unique } },
--     untracked = true }   -- created by a file Soom did not write
--
-- `null`, `unique` and `untracked` are left out when false; `default` and
-- `check` are SQL text. Constraint names are the ones PostgreSQL gives
-- the inline constraints of CREATE TABLE (booking_room_id_fkey), carried
-- over renames by the autodetector, so a later change drops the right one.
--
-- Every file `soom makemigrations` writes carries, in its header, one line
-- per table it touched: `-- soom:table {json}` (the table after the file)
-- or `-- soom:drop "name"`. The state of a folder is these lines folded in
-- number order. A file without such lines (written by hand, by an older
-- makemigrations, or by the first scaffolds) is read for the statements
-- Soom knows: CREATE TABLE, CREATE [UNIQUE] INDEX, DROP TABLE, and ALTER
-- TABLE's ADD COLUMN and DROP COLUMN; its tables are `untracked`, so a
-- table with no model is never dropped because a hand-written file made it.

local drift = require "soom.core.drift"
local files = require "soom.core.files"
local json = require "soom.json"
local model = require "soom.model"

local type, ipairs, pairs, tostring, error, select = type, ipairs, pairs, tostring, error, select
local concat, sort = table.concat, table.sort

local _M = {}

local ON_DELETE = { cascade = "CASCADE", restrict = "RESTRICT", ["set null"] = "SET NULL",
    ["no action"] = "NO ACTION" }

-- ---- names -------------------------------------------------------------------

--- The name PostgreSQL gives a constraint of `table` over `cols` with the
-- suffix `label` (its makeObjectName: the longer part trimmed, the
-- columns' on a tie, until the name fits in 63 bytes).
function _M.constraint_name(table, cols, label)
    local a, b = table, cols and concat(cols, "_") or nil
    local avail = 63 - #label - 1 - (b and 1 or 0)
    while #a + (b and #b or 0) > avail do
        if not b or #a > #b then
            a = a:sub(1, #a - 1)
        else
            b = b:sub(1, #b - 1)
        end
    end
    return a .. (b and ("_" .. b) or "") .. "_" .. label
end

--- The key of a table in a state.
function _M.key(t)
    return t.schema and (t.schema .. "." .. t.name) or t.name
end

--- A type in one spelling, so that two spellings of it compare equal;
-- serials stay serials (they differ from the integers by a default).
function _M.canonical_type(t)
    local lower = (t or ""):lower():gsub("^%s+", ""):gsub("%s+$", "")
    if lower:match("^%a*serial%d?$") then
        return lower
    end
    return drift.canonical(lower)
end

-- ---- from the models ---------------------------------------------------------------

local function fk_of(fd)
    local rel = fd.relation
    local fk
    if rel and rel.target then
        local t = rel.target
        fk = { table = t.schema and (t.schema .. "." .. t.table) or t.table, column = rel.remote_column }
    elseif fd.references_table then
        fk = { table = fd.references_table, column = fd.references_column }
    else
        return nil
    end
    fk.on_delete = fd.on_delete and ON_DELETE[fd.on_delete] or nil
    return fk
end

local function column_of(m, fd)
    local col = {
        name = fd.name,
        type = fd.sql_type,
        null = (fd.nullable and not fd.primary_key) or nil,
        default = model.default_sql(fd),
        unique = fd.unique or nil,
        check = model.choices_sql(fd),
        fk = fk_of(fd),
        renamed_from = fd.renamed_from,
    }
    if col.unique then
        col.unique_name = _M.constraint_name(m.table, { fd.name }, "key")
    end
    if col.check then
        col.check_name = _M.constraint_name(m.table, { fd.name }, "check")
    end
    if col.fk then
        col.fk.name = _M.constraint_name(m.table, { fd.name }, "fkey")
    end
    return col
end

--- The state of a model (managed or not).
function _M.of_model(m)
    require("soom.core.relations").check(m)
    local t = { name = m.table, schema = m.schema, columns = {}, unique = {}, checks = {}, indexes = {},
        renamed_from = m.renamed_from }
    for i, fd in ipairs(m.fields) do
        t.columns[i] = column_of(m, fd)
    end
    local pk = {}
    for i, name in ipairs(m.primary_keys) do
        pk[i] = name
    end
    t.primary_key = pk
    for i, cols in ipairs(m.unique_together) do
        local copy = {}
        for j, c in ipairs(cols) do
            copy[j] = c
        end
        t.unique[i] = { columns = copy, name = _M.constraint_name(m.table, copy, "key") }
    end
    for name, sql in pairs(m.checks) do
        t.checks[#t.checks + 1] = { name = name, sql = sql }
    end
    sort(t.checks, function(a, b)
        return a.name < b.name
    end)
    for i, ix in ipairs(m.indexes or {}) do
        local cols = {}
        for j, c in ipairs(ix.columns) do
            cols[j] = c
        end
        t.indexes[i] = { name = ix.name, columns = cols, unique = ix.unique or nil }
    end
    return t
end

--- The state the managed models of `entries` ({ file, model }, as
-- loader.models gives them) declare, and the set of the unmanaged
-- models' table keys.
function _M.of_models(entries)
    local state, unmanaged = {}, {}
    for _, entry in ipairs(entries) do
        local m = entry.model
        if not m.managed then
            unmanaged[m.schema and (m.schema .. "." .. m.table) or m.table] = true
        else
            local t = _M.of_model(m)
            if state[_M.key(t)] then
                error(("%s: the table %s is declared by another model too"):format(entry.file,
                    _M.key(t)), 0)
            end
            t.file = entry.file
            state[_M.key(t)] = t
        end
    end
    return state, unmanaged
end

-- ---- the header lines ------------------------------------------------------------

-- JSON with sorted keys, so a file's text depends on its content only.
local function encode(v)
    local tv = type(v)
    if tv == "table" then
        if #v > 0 or json.is_array(v) then
            local parts = {}
            for i, item in ipairs(v) do
                parts[i] = encode(item)
            end
            return "[" .. concat(parts, ",") .. "]"
        end
        local keys = {}
        for k in pairs(v) do
            keys[#keys + 1] = k
        end
        sort(keys)
        local parts = {}
        for _, k in ipairs(keys) do
            parts[#parts + 1] = encode(k) .. ":" .. encode(v[k])
        end
        if #parts == 0 then
            return "[]" -- the state's only empty tables are lists
        end
        return "{" .. concat(parts, ",") .. "}"
    end
    return (json.encode(v))
end

-- What the header keeps of a table: its description without the
-- autodetector's notes (the model's file, renames).
local function stored(t)
    local copy = {}
    for k, v in pairs(t) do
        if k ~= "file" and k ~= "renamed_from" and k ~= "untracked" then
            copy[k] = v
        end
    end
    local cols = {}
    for i, col in ipairs(t.columns) do
        local c = {}
        for k, v in pairs(col) do
            if k ~= "renamed_from" then
                c[k] = v
            end
        end
        cols[i] = c
    end
    copy.columns = cols
    return copy
end

--- The header line of a table after a migration.
function _M.table_line(t)
    return "-- soom:table " .. encode(stored(t))
end

--- The header line of a table a migration drops.
function _M.drop_line(key)
    return ("-- soom:drop %s"):format(encode(key))
end

-- Decoded JSON has soom.null for null and array-marked tables: plain Lua.
local function plain(v)
    if v == json.null then
        return nil
    elseif type(v) == "table" then
        local out = {}
        for k, item in pairs(v) do
            out[k] = plain(item)
        end
        return out
    end
    return v
end

local function apply_header(state, text, name)
    local found = false
    for line in text:gmatch("[^\n]+") do
        local body = line:match("^%-%- soom:table (.*)$")
        if body then
            local t, err = json.decode(body)
            if type(t) ~= "table" then
                error(("migrations/%s: a soom:table line that is not JSON: %s"):format(name,
                    tostring(err)), 0)
            end
            t = plain(t)
            t.columns, t.unique, t.checks, t.indexes = t.columns or {}, t.unique or {}, t.checks or {},
                t.indexes or {}
            t.primary_key = t.primary_key or {}
            state[_M.key(t)] = t
            found = true
        end
        local key = line:match("^%-%- soom:drop (.*)$")
        if key then
            state[plain(json.decode(key))] = nil
            found = true
        end
    end
    return found
end

-- ---- the statements of files Soom did not write -------------------------------------

-- Words, quoted strings and identifiers, and balanced parentheses glued to
-- the word they follow ("varchar(100)", "now()", "'{}'::jsonb"), of one
-- statement without its comments.
local function words(s)
    local out, i, n = {}, 1, #s
    while i <= n do
        local ch = s:sub(i, i)
        if ch:match("%s") or ch == "," then
            if ch == "," then
                out[#out + 1] = ","
            end
            i = i + 1
        else
            local j, depth = i, 0
            while j <= n do
                local cj = s:sub(j, j)
                if cj == "'" or cj == '"' then
                    local close = s:find(cj, j + 1, true)
                    j = (close or n) + 1
                else
                    if cj == "(" then
                        depth = depth + 1
                    elseif cj == ")" then
                        depth = depth - 1
                    elseif depth == 0 and (cj:match("%s") or cj == ",") then
                        break
                    end
                    j = j + 1
                end
            end
            out[#out + 1] = s:sub(i, j - 1)
            i = j
        end
    end
    return out
end

local function unquote(w)
    return (w or ""):match('^"(.*)"$') or (w or ""):lower()
end

-- A qualified name "schema"."table" as a state key.
local function name_key(w)
    local a, b = w:match('^("?[%w_]+"?)%.("?[%w_]+"?)$')
    if a then
        return unquote(a) .. "." .. unquote(b), unquote(b), unquote(a)
    end
    return unquote(w), unquote(w), nil
end

-- The list inside "(a, b)" as unquoted names.
local function name_list(group)
    local list = {}
    for item in (group:match("^%((.*)%)$") or ""):gmatch("[^,]+") do
        local w = words(item)
        local name = unquote(w[1])
        if w[2] and w[2]:upper() == "DESC" then
            name = "-" .. name
        end
        list[#list + 1] = name
    end
    return list
end

local KEYWORDS = { NOT = true, NULL = true, DEFAULT = true, UNIQUE = true, REFERENCES = true,
    CHECK = true, PRIMARY = true, CONSTRAINT = true, COLLATE = true }

-- REFERENCES' target at w[i]: { table, column, on_delete, next (the
-- index of the word after it) }.
local function parse_references(w, i)
    local fk = { table = name_key(w[i] or "") }
    i = i + 1
    if w[i] and w[i]:sub(1, 1) == "(" then
        fk.column = name_list(w[i])[1]
        i = i + 1
    end
    if w[i] and w[i]:upper() == "ON" and (w[i + 1] or ""):upper() == "DELETE" then
        local action = { w[i + 2] and w[i + 2]:upper() }
        if action[1] == "SET" or action[1] == "NO" then
            action[2] = w[i + 3] and w[i + 3]:upper()
        end
        fk.on_delete = concat(action, " ")
        i = i + 2 + #action
    end
    fk.next = i
    return fk
end

-- One column definition's words into a column of `tname`.
local function parse_column(w, tname)
    local col = { name = unquote(w[1]) }
    local i, ty = 2, {}
    while w[i] and not KEYWORDS[w[i]:upper()] do
        ty[#ty + 1] = w[i]
        i = i + 1
    end
    col.type, col.null = concat(ty, " "), true
    while w[i] do
        local kw = w[i]:upper()
        if kw == "NOT" and (w[i + 1] or ""):upper() == "NULL" then
            col.null, i = nil, i + 2
        elseif kw == "NULL" then
            i = i + 1
        elseif kw == "DEFAULT" then
            local expr = {}
            i = i + 1
            while w[i] and not KEYWORDS[w[i]:upper()] do
                expr[#expr + 1] = w[i]
                i = i + 1
            end
            col.default = concat(expr, " ")
        elseif kw == "UNIQUE" then
            col.unique, col.unique_name, i = true, _M.constraint_name(tname, { col.name }, "key"), i + 1
        elseif kw == "PRIMARY" then
            col.primary, col.null, i = true, nil, i + 2
        elseif kw == "CHECK" then
            col.check = (w[i + 1] or ""):match("^%((.*)%)$")
            col.check_name, i = _M.constraint_name(tname, { col.name }, "check"), i + 2
        elseif kw == "REFERENCES" then
            col.fk = parse_references(w, i + 1)
            col.fk.name = _M.constraint_name(tname, { col.name }, "fkey")
            i = col.fk.next
            col.fk.next = nil
        else
            i = i + 1 -- COLLATE and what else a hand may write: not compared
        end
    end
    return col
end

-- The items of CREATE TABLE's body, split at its top-level commas.
local function items(body)
    local list, cur = {}, {}
    for _, w in ipairs(words(body)) do
        if w == "," then
            list[#list + 1], cur = cur, {}
        else
            cur[#cur + 1] = w
        end
    end
    list[#list + 1] = cur
    return list
end

local function create_table(state, w)
    local i = 3
    if (w[i] or ""):upper() == "IF" then
        i = i + 3
    end
    local head = w[i] or ""
    local body = head:match("^[^(]*(%b())$")
    local key, name, schema = name_key(head:match("^([^(]*)"))
    if not body then
        body = w[i + 1] or "()"
    end
    local t = { name = name, schema = schema, columns = {}, unique = {}, checks = {}, indexes = {},
        primary_key = {}, untracked = true }
    for _, it in ipairs(items(body:match("^%((.*)%)$") or "")) do
        local first = (it[1] or ""):upper()
        if first == "PRIMARY" then
            t.primary_key = name_list(it[#it])
        elseif first == "UNIQUE" then
            local cols = name_list(it[2] or "()")
            t.unique[#t.unique + 1] = { columns = cols, name = _M.constraint_name(name, cols, "key") }
        elseif first == "CONSTRAINT" and (it[3] or ""):upper() == "CHECK" then
            t.checks[#t.checks + 1] = { name = unquote(it[2]), sql = (it[4] or ""):match("^%((.*)%)$") }
        elseif first ~= "" and first ~= "CONSTRAINT" and first ~= "FOREIGN" and first ~= "CHECK" then
            local col = parse_column(it, name)
            if col.primary then
                t.primary_key, col.primary = { col.name }, nil
            end
            t.columns[#t.columns + 1] = col
        end
    end
    sort(t.checks, function(a, b)
        return a.name < b.name
    end)
    for _, pk in ipairs(t.primary_key) do
        for _, col in ipairs(t.columns) do
            if col.name == pk then
                col.null = nil
            end
        end
    end
    state[key] = t
end

local function create_index(state, w)
    local i, unique = 2, false
    if w[i]:upper() == "UNIQUE" then
        unique, i = true, i + 1
    end
    i = i + 1 -- INDEX
    if (w[i] or ""):upper() == "CONCURRENTLY" then
        i = i + 1
    end
    if (w[i] or ""):upper() == "IF" then
        i = i + 3
    end
    local name = w[i] and w[i]:upper() ~= "ON" and unquote(w[i]) or nil
    while w[i] and w[i]:upper() ~= "ON" do
        i = i + 1
    end
    local head = w[i + 1] or ""
    local key = name_key(head:match("^([^(]*)"))
    local group = head:match("(%b())$") or w[i + 2]
    local t = state[key]
    if t and name and group then
        t.indexes[#t.indexes + 1] = { name = name, columns = name_list(group), unique = unique or nil,
            untracked = true }
    end
end

local function alter_table(state, w)
    local i = 3
    if (w[i] or ""):upper() == "IF" then
        i = i + 2
    end
    if (w[i] or ""):upper() == "ONLY" then
        i = i + 1
    end
    local t = state[name_key(w[i] or "")]
    local verb = (w[i + 1] or ""):upper()
    if not t then
        return
    end
    i = i + 2
    if (w[i] or ""):upper() == "COLUMN" then
        i = i + 1
    end
    if (w[i] or ""):upper() == "IF" then
        i = i + (verb == "ADD" and 3 or 2)
    end
    if verb == "ADD" and w[i] and not KEYWORDS[w[i]:upper()] and w[i]:upper() ~= "FOREIGN" then
        local def = {}
        for j = i, #w do
            def[#def + 1] = w[j]
        end
        t.columns[#t.columns + 1] = parse_column(def, t.name)
    elseif verb == "DROP" and w[i] and w[i]:upper() ~= "CONSTRAINT" then
        local name = unquote(w[i])
        for j, col in ipairs(t.columns) do
            if col.name == name then
                table.remove(t.columns, j)
                break
            end
        end
    end
end

-- The statements of `text`, split at the semicolons outside quotes,
-- without their comments (quoted text kept; a dollar-quoted body, as a
-- hand-written function has, kept whole).
local function statements(text)
    local list, cur = {}, {}
    local i, n = 1, #text
    while i <= n do
        local ch = text:sub(i, i)
        local tag = ch == "$" and text:match("^%$[%a_]*%$", i)
        if ch == "-" and text:sub(i + 1, i + 1) == "-" then
            i = (text:find("\n", i, true) or n) + 1
        elseif ch == "'" or ch == '"' or tag then
            local close = tag and select(2, text:find(tag, i + #tag, true)) or text:find(ch, i + 1, true)
            close = close or n
            cur[#cur + 1] = text:sub(i, close)
            i = close + 1
        elseif ch == ";" then
            list[#list + 1], cur = concat(cur), {}
            i = i + 1
        else
            cur[#cur + 1] = ch
            i = i + 1
        end
    end
    list[#list + 1] = concat(cur)
    return list
end

local function apply_statements(state, text)
    for _, stmt in ipairs(statements(text)) do
        local w = words(stmt)
        local a, b = (w[1] or ""):upper(), (w[2] or ""):upper()
        if a == "CREATE" and b == "TABLE" then
            create_table(state, w)
        elseif a == "CREATE" and (b == "INDEX" or b == "UNIQUE") then
            create_index(state, w)
        elseif a == "DROP" and b == "TABLE" then
            local i = (w[3] or ""):upper() == "IF" and 5 or 3
            for j = i, #w do
                if w[j] ~= "," and not (w[j]:upper() == "CASCADE" or w[j]:upper() == "RESTRICT") then
                    state[name_key(w[j])] = nil
                end
            end
        elseif a == "ALTER" and b == "TABLE" then
            alter_table(state, w)
        end
    end
end

--- The forward part of a migration's text: before its `-- soom:reverse`
-- line (the marker at a line's start, then a colon, a blank or the end),
-- the whole text when it has none; and the reverse part, or nil.
function _M.split(text)
    local t = "\n" .. text
    local at = (t .. "\n"):find("\n%-%- soom:reverse[:%s]")
    if not at then
        return text, nil
    end
    return t:sub(2, at), t:sub(at + 1):match("^[^\n]*\n(.*)$") or ""
end

--- The state the migration files `list` (from soom.core.migrate.files)
-- build, in order.
function _M.of_files(list)
    local state = {}
    for _, f in ipairs(list) do
        local text = files.read(f.path)
        local forward = _M.split(text)
        if not apply_header(state, forward, f.name) then
            apply_statements(state, forward)
        end
    end
    return state
end

return _M
