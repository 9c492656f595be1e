--- soom check: the app loads, its routes agree, and its models match the
-- database (for CI: exits 1 on any problem).
local soom = require "soom"
local drift = require "soom.core.drift"
local loader = require "soom.core.loader"
local serve = require "soom.core.serve"

return soom.command {
    description = "Check an app: it loads, its routes agree, its models match the database",
    app = true,
    run = function(args)
        local dir = args.app_dir
        local settings = loader.settings(dir)
        local loaded = loader.load(dir, settings)
        serve.check_routes(loaded.routes)
        local models = drift.app_models(loaded)
        if #models == 0 then
            io.write(("ok: %d route%s, no models\n"):format(#loaded.routes,
                #loaded.routes == 1 and "" or "s"))
            return 0
        end
        if settings.database_url == "" then
            io.stderr:write("soom check: no database to compare the models with: set DATABASE_URL\n")
            return 1
        end
        local found, why = drift.check_app(loaded, settings.database_url)
        if not found then
            io.stderr:write("soom check: cannot reach the database: ", tostring(why), "\n")
            return 1
        end
        for _, msg in ipairs(found) do
            io.write("drift: ", msg, "\n")
        end
        for _, msg in ipairs(why) do
            io.write("note: ", msg, "\n")
        end
        if #found > 0 then
            io.write(("%d problem%s: the models do not match the database\n"):format(#found,
                #found == 1 and "" or "s"))
            return 1
        end
        local n = 0
        local seen = {}
        for _, m in ipairs(models) do
            if not seen[m] then
                seen[m], n = true, n + 1
            end
        end
        io.write(("ok: %d route%s, %d model%s match the database\n"):format(#loaded.routes,
            #loaded.routes == 1 and "" or "s", n, n == 1 and "" or "s"))
        return 0
    end,
}
