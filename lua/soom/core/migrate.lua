--- soom.core.migrate: the app's migrations, applied, listed and written.
--
-- A migration is a file migrations/NNNN_name.sql of plain SQL, applied in
-- number order, each in its own transaction (so a file must not hold
-- BEGIN or COMMIT, nor statements that refuse a transaction such as
-- CREATE INDEX CONCURRENTLY). The soom_migrations table records each one
-- applied with the sha256 of its text; a file changed after it was applied
-- is an error naming it, since the database no longer matches what the
-- folder says. An advisory lock serialises concurrent `soom migrate`s (two
-- replicas starting together).
--
-- A file may end with a reverse section: a `-- soom:reverse` line and the
-- statements that undo the file, which `to` runs to go back (applying
-- runs the text above that line only).
--
-- `make` writes what changed in the models since the state the files
-- build (soom.migrations: state, autodetect, writer) as the next file.
--
-- Every function connects through soom.db's direct connection and closes
-- it before returning, so nothing stays open when the server forks.

local fs = require "soom.core.files"
local loader = require "soom.core.loader"
local pg = require "soom.core.pg"
local db = require "soom.db"
local errors = require "soom.errors"
local autodetect = require "soom.migrations.autodetect"
local mstate = require "soom.migrations.state"
local writer = require "soom.migrations.writer"

local io, os, ipairs, pairs, pcall, error, tostring, tonumber, select = io, os, ipairs, pairs, pcall,
    error, tostring, tonumber, select
local format, sort = string.format, table.sort

local _M = {}

local NAME = "^(%d%d%d%d)_([%w_%-]+)%.sql$"
-- pg_advisory_lock key: "soom" in ASCII
local LOCK_KEY = 1936683885

local TABLE = [[CREATE TABLE IF NOT EXISTS soom_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)]]

local read = fs.read

--- The migration files of an app, in order: { name, number, path }.
function _M.files(dir)
    local list, seen = {}, {}
    for _, file in ipairs(fs.list(dir .. "/migrations")) do
        if file:match("%.sql$") then
            local num = file:match(NAME)
            if not num then
                error(("migrations/%s: a migration is named NNNN_name.sql (four digits, then "
                    .. "letters, digits, _ or -)"):format(file), 0)
            end
            if seen[num] then
                error(("migrations/%s and migrations/%s have the same number"):format(seen[num], file), 0)
            end
            seen[num] = file
            list[#list + 1] = { name = file, number = tonumber(num), path = dir .. "/migrations/" .. file }
        end
    end
    sort(list, function(a, b)
        return a.number < b.number
    end)
    return list
end

-- A query whose failure is a plain message for the operator.
local function sql(text, ...)
    local ok, rows, n = pcall(db.query, text, ...)
    if not ok then
        error(errors.is_problem(rows) and rows.detail or tostring(rows), 0)
    end
    return rows, n
end

local function connect(url)
    if url == nil or url == "" then
        error("no database: set DATABASE_URL (or database_url in settings.lua), for example "
            .. "postgresql://user:password@localhost/dbname", 0)
    end
    db.use(url)
end

local function disconnect()
    db.close()
    db.use(nil)
end

-- Runs fn connected to `url`; always disconnects.
local function connected(url, fn)
    connect(url)
    local ok, a, b = pcall(fn)
    disconnect()
    if not ok then
        error(a, 0)
    end
    return a, b
end

-- Files with their checksum and state, and applied names with no file.
local function state(dir)
    local files = _M.files(dir)
    sql(TABLE)
    local applied = {}
    for _, row in ipairs(sql("SELECT name, checksum, applied_at FROM soom_migrations")) do
        applied[row.name] = row
    end
    for _, f in ipairs(files) do
        f.sql = read(f.path)
        f.checksum = pg.sha256(f.sql)
        local row = applied[f.name]
        if row then
            f.applied_at = row.applied_at
            f.changed = row.checksum ~= f.checksum
            applied[f.name] = nil
        end
    end
    local missing = {}
    for name, row in pairs(applied) do
        missing[#missing + 1] = { name = name, applied_at = row.applied_at, missing = true }
    end
    sort(missing, function(a, b)
        return a.name < b.name
    end)
    return files, missing
end

--- The migrations of `dir` and their state in the database at `url`:
-- a list of { name, applied_at (nil: pending), changed }, and the list of
-- applied migrations whose file is gone.
function _M.status(dir, url)
    return connected(url, function()
        return state(dir)
    end)
end

-- True when `text` holds a statement (not only comments and blanks).
local function has_statement(text)
    return (text:gsub("%-%-[^\n]*", "")):find("%S") ~= nil
end

local function run_script(f, text, what)
    if has_statement(text) then
        local ok, failure = pg.script(text)
        if not ok then
            error(("migrations/%s%s failed: %s"):format(f.name, what, failure.message or failure.detail), 0)
        end
    end
end

local function apply_one(f)
    db.transaction(function()
        run_script(f, (mstate.split(f.sql)), "")
        sql("INSERT INTO soom_migrations (name, checksum) VALUES ($1, $2)", f.name, f.checksum)
    end)
end

local function revert_one(f)
    local _, reverse = mstate.split(f.sql)
    db.transaction(function()
        run_script(f, reverse, " (its reverse section)")
        sql("DELETE FROM soom_migrations WHERE name = $1", f.name)
    end)
end

local function refuse_changed(files)
    for _, f in ipairs(files) do
        if f.changed then
            error(("migrations/%s was changed after it was applied (its sha256 differs from "
                .. "the one recorded): restore it and put the change in a new migration")
                :format(f.name), 0)
        end
    end
end

--- Applies the pending migrations of `dir` to the database at `url`,
-- calling on_applied(name) after each. Returns the names applied.
function _M.apply(dir, url, on_applied)
    return connected(url, function()
        sql("SELECT pg_advisory_lock($1)", LOCK_KEY)
        local files = state(dir)
        refuse_changed(files)
        local done = {}
        for _, f in ipairs(files) do
            if not f.applied_at then
                apply_one(f)
                done[#done + 1] = f.name
                if on_applied then
                    on_applied(f.name)
                end
            end
        end
        return done
    end)
end

--- Takes the database at `url` to migration number `n`: the applied
-- migrations above it are undone (their reverse sections, last first,
-- each in its own transaction), the pending ones up to it applied.
-- on_step(name, "reverted" | "applied") after each. Returns the steps,
-- { name, action }. A migration to undo without a reverse section stops
-- the run before anything is undone.
function _M.to(dir, url, n, on_step)
    return connected(url, function()
        sql("SELECT pg_advisory_lock($1)", LOCK_KEY)
        local files, missing = state(dir)
        refuse_changed(files)
        for _, m in ipairs(missing) do
            if tonumber(m.name:match("^(%d+)")) > n then
                error(("migrations/%s is applied but its file is missing: it cannot be undone")
                    :format(m.name), 0)
            end
        end
        local undo = {}
        for i = #files, 1, -1 do
            local f = files[i]
            if f.number > n and f.applied_at then
                if select(2, mstate.split(f.sql)) == nil then
                    error(("migrations/%s has no reverse section (a `-- soom:reverse` line and the "
                        .. "statements that undo it): cannot go back past it"):format(f.name), 0)
                end
                undo[#undo + 1] = f
            end
        end
        local steps = {}
        local function step(name, action)
            steps[#steps + 1] = { name = name, action = action }
            if on_step then
                on_step(name, action)
            end
        end
        for _, f in ipairs(undo) do
            revert_one(f)
            step(f.name, "reverted")
        end
        for _, f in ipairs(files) do
            if f.number <= n and not f.applied_at then
                apply_one(f)
                step(f.name, "applied")
            end
        end
        return steps
    end)
end

-- ---- makemigrations ---------------------------------------------------------

local function write(path, text)
    local fh, err = io.open(path, "wb")
    if not fh then
        error(err, 0)
    end
    fh:write(text)
    fh:close()
end

local function shell_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- What changed between the models of `dir` and the state its migrations
-- build: { ops (soom.migrations.autodetect), new (the models' state) }.
function _M.changes(dir)
    local old = mstate.of_files(_M.files(dir))
    local new, unmanaged = mstate.of_models(loader.models(dir))
    return { ops = autodetect.diff(old, new, unmanaged), new = new }
end

--- Writes the migration of what changed in the models of `dir`, unless
-- nothing did. `opts`: allow_destructive, name (the file's name after its
-- number), empty (a file for statements written by hand, whatever
-- changed). Returns { path (relative to dir, nil when nothing changed),
-- ops, warnings }.
function _M.make(dir, opts)
    opts = opts or {}
    local changes = opts.empty and { ops = {} } or _M.changes(dir)
    if #changes.ops == 0 and not opts.empty then
        return { ops = changes.ops, warnings = {} }
    end
    local text, warnings = writer.empty(), {}
    if not opts.empty then
        text, warnings = writer.render(changes.ops, changes.new, opts)
    end
    local files = _M.files(dir)
    local number = #files > 0 and files[#files].number + 1 or 1
    local name = opts.name or (opts.empty and "custom") or writer.slug(changes.ops)
    if not name:match("^[%w_%-]+$") then
        error(("--name %s: a migration's name is letters, digits, _ or -"):format(name), 0)
    end
    if not fs.exists(dir .. "/migrations") then
        os.execute("mkdir -p " .. shell_quote(dir .. "/migrations"))
    end
    local path = format("migrations/%04d_%s.sql", number, name)
    write(dir .. "/" .. path, text)
    return { path = path, ops = changes.ops, warnings = warnings }
end

--- The text of the first migration of a model, as makemigrations would
-- write it (`soom generate resource`, the scaffold's sample).
function _M.initial(m)
    local t = mstate.of_model(m)
    local new = { [mstate.key(t)] = t }
    return (writer.render(autodetect.diff({}, new), new, { title = "As `soom makemigrations` writes it" }))
end

-- ---- unmanaged tables in a test database ----------------------------------------

--- Creates, in the database at `url`, the table of every unmanaged model of
-- `dir` that does not exist there (a test database: the app's migrations
-- never create tables it does not own), targets of foreign keys first.
-- Returns the tables created.
function _M.create_unmanaged(dir, url)
    return connected(url, function()
        local pending = {}
        local models = loader.models(dir)
        require("soom.core.relations").resolve_all()
        for _, entry in ipairs(models) do
            local m = entry.model
            local exists = sql("SELECT to_regclass($1) IS NOT NULL AS yes", m:quoted_table())[1].yes
            if not m.managed and not exists then
                pending[#pending + 1] = m
            end
        end
        local created, waiting = {}, {}
        for _, m in ipairs(pending) do
            waiting[m] = true
        end
        local function ready(m)
            for _, rel in ipairs(m.relations) do
                if rel.kind == "foreign_key" and rel.target ~= m and waiting[rel.target] then
                    return false
                end
            end
            return true
        end
        local progress = true
        while #created < #pending and progress do
            progress = false
            for _, m in ipairs(pending) do
                if waiting[m] and ready(m) then
                    sql(m:create_table_sql())
                    waiting[m] = nil
                    created[#created + 1] = m.table
                    progress = true
                end
            end
        end
        if #created < #pending then
            error("the unmanaged models refer to each other in a cycle: create their tables in a "
                .. "migration", 0)
        end
        return created
    end)
end

return _M
