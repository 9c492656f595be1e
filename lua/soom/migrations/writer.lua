--- soom.migrations.writer: the text of a migration file from the
-- autodetector's operations.
--
-- A file reads, in order: a comment naming what it does; one
-- `-- soom:table` line (or `-- soom:drop`) per table it changes, the
-- state that the next `soom makemigrations` starts from; the forward
-- statements; then a `-- soom:reverse` line and the statements that undo
-- them, last first, which `soom migrate --to N` runs. A destructive
-- statement is written commented out, with a warning, unless allowed (its
-- reverse too, so going back does not recreate what is still there).

local autodetect = require "soom.migrations.autodetect"
local sql = require "soom.migrations.sql"
local state = require "soom.migrations.state"

local ipairs = ipairs
local concat = table.concat

local _M = {}

local function commented(text)
    return "-- " .. text:gsub("\n", "\n-- ")
end

--- The file's name after its number: what it does, in a few words.
function _M.slug(ops)
    local subjects, seen, creates = {}, {}, true
    for _, op in ipairs(ops) do
        if not seen[op.slug] then
            seen[op.slug] = true
            subjects[#subjects + 1] = op.slug
            creates = creates and op.slug:match("^create_") ~= nil
        end
    end
    local name
    if #subjects == 1 then
        name = subjects[1]
    elseif creates and #subjects <= 3 then
        local parts = {}
        for i, s in ipairs(subjects) do
            parts[i] = s:gsub("^create_", "")
        end
        name = "create_" .. concat(parts, "_")
    else
        name = subjects[1] .. "_and_more"
    end
    return (name:sub(1, 60):gsub("[^%w_]", "_"))
end

--- The text of the migration that `ops` (autodetect.diff(old, new)) make.
-- `opts.allow_destructive` writes destructive statements as they are;
-- `opts.title` is the first line's.
-- Returns the text and the list of warnings for the operator.
function _M.render(ops, new, opts)
    opts = opts or {}
    local warnings = {}
    local head = { "-- " .. (opts.title or "Written by `soom makemigrations`") .. ":" }
    for _, op in ipairs(ops) do
        head[#head + 1] = "--   " .. op.label
    end
    head[#head + 1] = "-- The soom:table lines are the tables as this file leaves them, which the"
    head[#head + 1] = "-- next makemigrations compares the models with: leave them as they are."
    local kept, gone = autodetect.touched(ops, new)
    for _, key in ipairs(gone) do
        head[#head + 1] = state.drop_line(key)
    end
    for _, key in ipairs(kept) do
        head[#head + 1] = state.table_line(new[key])
    end
    local forward, reverse = {}, {}
    for _, op in ipairs(ops) do
        local fwd, rev = sql.statements(op)
        local f, r = concat(fwd, "\n"), concat(rev, "\n")
        if op.warning then
            warnings[#warnings + 1] = op.warning
            f = "-- Note: " .. op.warning .. ".\n" .. f
        end
        if op.destructive and not opts.allow_destructive then
            local why = op.danger or op.label
            warnings[#warnings + 1] = ("destructive, left commented out: %s"):format(why)
            f = ("-- WARNING: destructive: %s.\n"
                .. "-- Left commented out: uncomment it (and its reverse below) before this file\n"
                .. "-- is applied, or delete this file and run `soom makemigrations\n"
                .. "-- --allow-destructive`.\n%s"):format(why, commented(f))
            r = commented(r)
        elseif op.destructive then
            f = ("-- destructive: %s.\n%s"):format(op.danger or op.label, f)
        end
        forward[#forward + 1] = f
        reverse[#reverse + 1] = r
    end
    local back = {}
    for i = #reverse, 1, -1 do
        back[#back + 1] = reverse[i]
    end
    return concat(head, "\n") .. "\n\n" .. concat(forward, "\n\n") .. "\n\n"
        .. "-- soom:reverse: what follows undoes this file (soom migrate --to N)\n"
        .. concat(back, "\n") .. "\n", warnings
end

--- The text of a migration for statements written by hand: where they
-- go, and its reverse section.
function _M.empty()
    return "-- Written by `soom makemigrations --empty`: statements of your own (a data\n"
        .. "-- migration, a column dropped after its field left the model), and after the\n"
        .. "-- reverse line those that undo them. makemigrations reads the CREATE TABLE,\n"
        .. "-- CREATE INDEX, DROP TABLE, ADD COLUMN and DROP COLUMN here into its state.\n\n\n"
        .. "-- soom:reverse: what follows undoes this file (soom migrate --to N)\n"
end

return _M
