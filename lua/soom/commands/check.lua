--- soom check: the app loads, its routes agree, and its models match the
-- database (for CI: exits 1 on any problem). Without DATABASE_URL the models
-- are compared with the app's own database (started and migrated under
-- .soom/, as `soom run` does); with --offline (an image build, where no
-- database is reachable) everything but that comparison is checked.
local soom = require "soom"
local drift = require "soom.core.drift"
local loader = require "soom.core.loader"
local serve = require "soom.core.serve"

return soom.command {
    description = "Check an app: it loads, its routes agree, its models match the database",
    app = true,
    arguments = {
        { "offline", type = "boolean", help = "do not compare the models with a database" },
    },
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
        if args.offline then
            io.write(("ok: %d route%s; the models were not compared with a database (--offline)\n")
                :format(#loaded.routes, #loaded.routes == 1 and "" or "s"))
            return 0
        end
        local url, pgserver = settings.database_url, nil
        if url == "" then
            pgserver = require "soom.core.pgserver"
            url = pgserver.start(dir, { quiet = true })
        end
        local ok, found, why = pcall(drift.check_app, loaded, url)
        if pgserver then
            pgserver.stop()
        end
        if not ok then
            error(found, 0)
        end
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
