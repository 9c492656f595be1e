--- soom.core.drift: every declared model compared with the live schema.
--
-- A model says what it expects of its table: the columns it declares,
-- their types and nullability, the primary key. A table that another
-- application migrates (a Django monolith's) can change under the service;
-- this finds out at start-up, and in CI with `soom check`, instead of in
-- the middle of a request. Reported, naming the model, the column, what
-- was declared and what was found:
--   - a table that does not exist (dropped or renamed),
--   - a declared column the table lacks,
--   - a type that differs (varchar(100) declared, varchar(200) found),
--   - a nullability that differs, either way,
--   - a primary key that differs.
-- Columns of the table that the model does not declare are not drift: a
-- model may read a subset (but see `soom inspectdb`). A managed model
-- whose table does not exist yet is a note rather than drift: its
-- migrations are pending (`soom migrate` creates it).
--
-- Types are compared in PostgreSQL's own spelling (format_type): the
-- declared type is rewritten into it first (varchar(n) is character
-- varying(n), serial is integer...).

local db = require "soom.db"

local ipairs, pcall, tostring, concat, sort = ipairs, pcall, tostring, table.concat, table.sort

local _M = {}

-- Declared names as format_type spells them.
local ALIASES = {
    int = "integer", int4 = "integer", serial = "integer", serial4 = "integer",
    int8 = "bigint", bigserial = "bigint", serial8 = "bigint",
    int2 = "smallint", smallserial = "smallint", serial2 = "smallint",
    float8 = "double precision", double = "double precision", float4 = "real",
    bool = "boolean", varchar = "character varying", char = "character",
    decimal = "numeric", timestamptz = "timestamp with time zone",
    timestamp = "timestamp without time zone", time = "time without time zone",
    timetz = "time with time zone",
}

--- A type in format_type's spelling ("varchar(20)" -> "character varying(20)").
function _M.canonical(t)
    t = (t or ""):lower():gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
    local array = t:find("[]", 1, true) ~= nil and "[]" or ""
    t = t:gsub("%[%]", ""):gsub("%s+$", "")
    local base, mod, rest = t:match("^([%a_ ]-)%s*(%b())%s*(.*)$")
    if not base then
        return (ALIASES[t] or t) .. array
    end
    base = ALIASES[base] or base
    mod = mod:gsub("%s", "")
    if base == "numeric" and mod:match("^%(%d+%)$") then
        mod = mod:gsub("%)$", ",0)")
    end
    if base == "timestamp without time zone" or base == "time without time zone" then
        -- "timestamp(3)": the modifier goes before the zone
        base = base:match("^(%a+)")
    end
    if (base == "timestamp" or base == "time") and rest == "" then
        rest = "without time zone"
    end
    return base .. mod .. (rest ~= "" and (" " .. rest) or "") .. array
end

local COLUMNS = [[
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       coalesce(array_position(i.indkey::int2[], a.attnum)
                - array_lower(i.indkey::int2[], 1) + 1, 0) AS pk_position
  FROM pg_attribute a
  LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum]]

local function label(m)
    local name = m.name or m.path_name
    if name and name ~= m.table then
        return ("model %s (table %s)"):format(name, m.table)
    end
    return ("model %s"):format(m.table)
end

local function qualified(m)
    return m:quoted_table()
end

-- The drift of one model: a list of messages.
local function model_drift(m)
    local found = {}
    local rows = db.query(COLUMNS, qualified(m))
    if #rows == 0 then
        local exists = db.one("SELECT to_regclass($1) IS NOT NULL AS yes", qualified(m))
        if not (exists and exists.yes) then
            local name = m.schema and (m.schema .. "." .. m.table) or m.table
            if m.managed then
                return {}, { ("%s: the table %s does not exist yet: apply the migrations "
                    .. "(soom migrate)"):format(label(m), name) }
            end
            return { ("%s: the table %s does not exist (dropped or renamed?)"):format(label(m), name) }
        end
    end
    local pk = {}
    for _, r in ipairs(rows) do
        found[r.name] = r
        if r.pk_position > 0 then
            pk[#pk + 1] = { r.pk_position, r.name }
        end
    end
    sort(pk, function(a, b)
        return a[1] < b[1]
    end)
    local out = {}
    for _, fd in ipairs(m.fields) do
        local live = found[fd.name]
        local what = ("%s: column %s"):format(label(m), fd.name)
        if not live then
            out[#out + 1] = ("%s: declared, not found in the table"):format(what)
        else
            local declared = _M.canonical(fd.sql_type)
            local actual = _M.canonical(live.type)
            if declared ~= actual then
                out[#out + 1] = ("%s: declared %s, found %s"):format(what, declared, live.type)
            end
            local want_null = fd.nullable and not fd.primary_key
            if want_null and live.not_null then
                out[#out + 1] = ("%s: declared nullable, found NOT NULL"):format(what)
            elseif not want_null and not live.not_null then
                out[#out + 1] = ("%s: declared NOT NULL, found nullable"):format(what)
            end
        end
    end
    local live_pk = {}
    for i, e in ipairs(pk) do
        live_pk[i] = e[2]
    end
    local declared_pk = concat(m.primary_keys, ", ")
    if #m.primary_keys > 0 and declared_pk ~= concat(live_pk, ", ") then
        out[#out + 1] = ("%s: primary key: declared (%s), found (%s)"):format(label(m), declared_pk,
            #live_pk > 0 and concat(live_pk, ", ") or "none")
    end
    return out
end

--- The drift of `models` (a list) against the database soom.db reaches:
-- a list of messages, empty when every model matches, a list of notes
-- (managed tables not created yet), and whether a managed model drifted
-- (its migration is missing or not applied).
function _M.check(models)
    local out, notes, seen, managed = {}, {}, {}, false
    for _, m in ipairs(models) do
        if not seen[m] then
            seen[m] = true
            local found, pending = model_drift(m)
            for _, msg in ipairs(found) do
                out[#out + 1] = msg
                managed = managed or m.managed
            end
            for _, msg in ipairs(pending or {}) do
                notes[#notes + 1] = msg
            end
        end
    end
    return out, notes, managed
end

--- The models an app uses: those of its models/ folder, and every other
-- model its resources brought in (soom.contrib.django's, for one).
function _M.app_models(loaded)
    local list = {}
    for _, entry in ipairs(loaded.models or {}) do
        list[#list + 1] = entry.model
    end
    for _, m in ipairs(require("soom.core.relations").all()) do
        list[#list + 1] = m
    end
    return list
end

-- The app's models checked over soom.db's connection (the one open, or
-- the one its first query opens): the messages, the notes and whether a
-- managed model drifted (nil and the reason when the database cannot be
-- reached).
local function check_loaded(loaded)
    local ok, result, notes, managed = pcall(function()
        return _M.check(_M.app_models(loaded))
    end)
    if not ok then
        local errors = require "soom.errors"
        return nil, errors.is_problem(result) and result.detail or tostring(result)
    end
    return result, notes, managed
end

--- Connects to `url`, checks the app's models, disconnects. Returns the
-- messages, the notes and whether a managed model drifted (nil and the
-- reason when the database cannot be reached).
function _M.check_app(loaded, url)
    db.use(url)
    local result, notes, managed = check_loaded(loaded)
    db.close()
    db.use(nil)
    return result, notes, managed
end

--- The start-up check of `soom run` (settings.check.drift): "error"
-- refuses to start on drift, "warn" logs each mismatch, "off" skips. A
-- database that cannot be reached is logged, not fatal: the pool copes
-- with one that comes up later, and /ready says so meanwhile. Runs over
-- soom.db's connection (soom run opens one for this and the CHECK
-- constraints' read: soom.commands.run).
function _M.startup(loaded, settings)
    local mode = settings.check and settings.check.drift or "error"
    local url = settings.database_url
    if mode == "off" or url == nil or url == "" then
        return
    end
    local c = require "soom.core.c"
    local found, notes, managed = check_loaded(loaded)
    if not found then
        c.log("warn", "cannot check the models against the database", { error = notes })
        return
    end
    for _, msg in ipairs(notes) do
        c.log("warn", "model table missing", { drift = msg })
    end
    if #found == 0 then
        return
    end
    if mode == "error" then
        error(("the models do not match the database (set check.drift = \"warn\" to start "
            .. "anyway):\n  %s%s"):format(concat(found, "\n  "), managed and ("\nfor a managed "
            .. "model, `soom makemigrations` writes the migration that follows it and `soom "
            .. "migrate` applies it") or ""), 0)
    end
    for _, msg in ipairs(found) do
        c.log("warn", "model drift", { drift = msg })
    end
end

return _M
