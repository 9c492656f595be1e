--- soom routes: list an app's routes.
local soom = require "soom"
local loader = require "soom.core.loader"
local serve = require "soom.core.serve"
local cli = require "soom.cli"

return soom.command {
    description = "List the routes of an app",
    app = true,
    run = function(args)
        local loaded = loader.load(args.app_dir)
        serve.check_routes(loaded.routes)
        -- and the OpenAPI document and docs pages, as `soom run` serves them
        for _, r in ipairs(require("soom.openapi.routes").routes(loaded, cli.home)) do
            loaded.routes[#loaded.routes + 1] = r
        end
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
