--- soom routes: list an app's routes.
local soom = require "soom"
local app = require "soom.app"
local host = require "soom.core.app"
local cli = require "soom.cli"

return soom.command {
    description = "List the routes of an app",
    arguments = {
        { "app_dir", positional = true, help = "the app folder (default: --app, or the current folder)" },
    },
    run = function(args)
        local dir = app.resolve(args.app_dir or cli.app_dir or ".")
        local loaded = app.load(dir)
        host.check_routes(loaded.routes)
        local width = 7
        for _, r in ipairs(loaded.routes) do
            width = math.max(width, #table.concat(r.methods, ","))
        end
        local fmt = "%-" .. width .. "s  %-32s  %s\n"
        io.write(fmt:format("METHODS", "ROUTE", "DECLARED IN"))
        for _, r in ipairs(loaded.routes) do
            io.write(fmt:format(table.concat(r.methods, ","), r.pattern, r.name))
        end
    end,
}
