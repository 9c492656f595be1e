--- soom run: serve an app.
local soom = require "soom"
local app = require "soom.app"
local c = require "soom.core.c"
local host = require "soom.core.app"
local cli = require "soom.cli"

-- An app with models or migrations needs a database.
local function wants_database(dir)
    return c.filetype(dir .. "/migrations") == "directory" or c.filetype(dir .. "/models") == "directory"
end

return soom.command {
    description = "Serve an app over HTTP",
    arguments = {
        { "app_dir", positional = true, help = "the app folder (default: --app, or the current folder)" },
        { "port", type = "number", help = "port to listen on (settings.port)" },
        { "host", help = "address to listen on (settings.host)" },
        { "server", help = "threads, thread-per-connection or prefork (settings.server)" },
    },
    run = function(args)
        local dir = app.resolve(args.app_dir or cli.app_dir or ".")
        local settings = host.settings(app.user_settings(dir))
        -- flags beat the environment, which beats settings.lua
        settings.port = args.port or settings.port
        settings.host = args.host or settings.host
        settings.server = args.server or settings.server
        -- no DATABASE_URL: the app's own PostgreSQL under .soom/, migrated
        local pgserver
        if settings.database_url == "" and wants_database(dir) then
            pgserver = require "soom.core.pgserver"
            settings.database_url = pgserver.start(dir)
        end
        local ok, code = pcall(function()
            local loaded = app.load(dir, settings)
            return host.serve(settings, dir, loaded.routes, cli.home)
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
