--- soom migrate: apply the app's migrations to its database.
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
            io.write((fmt:format("pending", f.name, "")):gsub("%s+\n$", "\n"))
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

return soom.command {
    description = "Apply the app's migrations (migrations/NNNN_name.sql) to its database",
    app = true,
    arguments = {
        { "list", type = "boolean", help = "show the applied and pending migrations, apply nothing" },
    },
    run = function(args)
        local dir = args.app_dir
        local settings = loader.settings(dir)
        settings_of.set(settings)
        if args.list then
            return list(dir, settings.database_url)
        end
        local done = migrate.apply(dir, settings.database_url, function(name)
            io.write("applied ", name, "\n")
        end)
        if #done == 0 then
            io.write("nothing to apply: the database is up to date\n")
        else
            io.write(("%d migration%s applied\n"):format(#done, #done == 1 and "" or "s"))
        end
        return 0
    end,
}
