--- soom migrate: apply the app's migrations to its database, or take it
-- back to a given migration (--to N). Without DATABASE_URL, the app's own
-- database under .soom/ (as `soom run` uses it), started for the command
-- and stopped after it unless it was already running.
local soom = require "soom"
local loader = require "soom.core.loader"
local settings_of = require "soom.core.settings"
local migrate = require "soom.core.migrate"

local function list(dir, url)
    local files, missing = migrate.status(dir, url)
    local width = 12
    for _, f in ipairs(files) do
        width = math.max(width, #f.name)
    end
    local fmt = "%-8s %-" .. width .. "s  %s\n"
    local changed = false
    for _, f in ipairs(files) do
        if f.changed then
            changed = true
            io.write(fmt:format("CHANGED", f.name, "applied " .. f.applied_at .. ", changed since"))
        elseif f.applied_at then
            io.write(fmt:format("applied", f.name, f.applied_at))
        else
            -- gsub's second result (the count) must not reach io.write
            io.write((fmt:format("pending", f.name, ""):gsub("%s+\n$", "\n")))
        end
    end
    for _, m in ipairs(missing) do
        io.write(fmt:format("applied", m.name, m.applied_at .. " (the file is missing)"))
    end
    if #files == 0 and #missing == 0 then
        io.write("no migrations (migrations/NNNN_name.sql)\n")
    end
    return changed and 1 or 0
end

local function to(dir, url, n)
    local steps = migrate.to(dir, url, n, function(name, action)
        io.write(action == "reverted" and "reverted " or "applied ", name, "\n")
    end)
    if #steps == 0 then
        io.write(("nothing to do: the database is at migration %d\n"):format(n))
    end
    return 0
end

local function apply(dir, url)
    local done = migrate.apply(dir, url, function(name)
        io.write("applied ", name, "\n")
    end)
    if #done == 0 then
        io.write("nothing to apply: the database is up to date\n")
    else
        io.write(("%d migration%s applied\n"):format(#done, #done == 1 and "" or "s"))
    end
    return 0
end

return soom.command {
    description = "Apply the app's migrations (migrations/NNNN_name.sql) to its database",
    app = true,
    arguments = {
        { "list", type = "boolean", help = "show the applied and pending migrations, apply nothing" },
        { "to", type = "number",
            help = "go to migration N: undo the later ones (their reverse sections), apply those "
                .. "up to N; 0 undoes them all" },
    },
    run = function(args)
        local dir = args.app_dir
        local settings = loader.settings(dir)
        settings_of.set(settings)
        if args.to ~= nil and (args.to < 0 or args.to % 1 ~= 0) then
            error("--to takes a migration number (0 undoes them all)", 0)
        end
        local url, pgserver = settings.database_url, nil
        if (url == nil or url == "") and loader.wants_database(dir) then
            pgserver = require "soom.core.pgserver"
            url = pgserver.start(dir, { migrate = false, quiet = true })
        end
        local ok, code = pcall(function()
            if args.list then
                return list(dir, url)
            elseif args.to ~= nil then
                return to(dir, url, args.to)
            end
            return apply(dir, url)
        end)
        if pgserver then
            pgserver.stop()
        end
        if not ok then
            error(code, 0)
        end
        return code
    end,
}
