--- soom routes: list an app's routes.
local soom = require "soom"
local loader = require "soom.core.loader"
local serve = require "soom.core.serve"

return soom.command {
    description = "List the routes of an app",
    app = true,
    run = function(args)
        local loaded = loader.load(args.app_dir)
        serve.check_routes(loaded.routes)
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
