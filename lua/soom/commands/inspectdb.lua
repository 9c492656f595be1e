--- soom inspectdb: write unmanaged models for the tables of a database.
local soom = require "soom"
local db = require "soom.db"
local files = require "soom.core.files"
local inspect = require "soom.core.inspect"
local loader = require "soom.core.loader"

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

-- A file may be replaced when inspectdb wrote it (a second run refreshes
-- it); one written by hand is left alone.
local function ours(path)
    if not files.exists(path) then
        return true
    end
    return files.read(path):sub(1, #inspect.MARKER) == inspect.MARKER
end

return soom.command {
    description = "Write a model (managed = false) for each table of the database",
    app = true,
    arguments = {
        { "schema", default = "public", help = "the PostgreSQL schema to read" },
        { "table", many = true, help = "a table to read (repeat for more; default: all)" },
        { "out", default = "models", help = "the folder to write into, in the app folder" },
    },
    run = function(args)
        local dir = args.app_dir
        local settings = loader.settings(dir)
        if settings.database_url == "" then
            io.stderr:write("soom inspectdb: no database: set DATABASE_URL\n")
            return 1
        end
        local only = {}
        for _, t in ipairs(args.table or {}) do
            for name in t:gmatch("[^,%s]+") do
                only[#only + 1] = name
            end
        end
        db.use(settings.database_url)
        local ok, tables = pcall(function()
            return inspect.plan(inspect.read(args.schema, only))
        end)
        db.close()
        db.use(nil)
        if not ok then
            io.stderr:write("soom inspectdb: ", tostring(type(tables) == "table" and tables.detail
                or tables), "\n")
            return 1
        end
        local out = args.out:sub(1, 1) == "/" and args.out or (dir .. "/" .. args.out)
        local skipped = 0
        for _, t in ipairs(tables) do
            local n = inspect.naming(t.name)
            local path = out .. "/" .. n.path
            if not require("soom.model").valid_identifier(t.name) then
                io.write(("skipped %s: Soom names tables with lower-case letters, digits and _\n")
                    :format(t.name))
                skipped = skipped + 1
            elseif not ours(path) then
                io.write(("kept %s: it was not written by soom inspectdb\n"):format(path))
                skipped = skipped + 1
            else
                os.execute("mkdir -p " .. shell_quote(path:match("^(.*)/[^/]+$")))
                write(path, inspect.module_text(t))
                io.write(("wrote %s (%s)\n"):format(path:sub(#dir + 2), n.class))
            end
        end
        io.write(("%d table%s inspected\n"):format(#tables, #tables == 1 and "" or "s"))
        return skipped > 0 and #tables == skipped and 1 or 0
    end,
}
