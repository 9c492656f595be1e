--- soom run: serve an app.
local soom = require "soom"
local loader = require "soom.core.loader"
local serve = require "soom.core.serve"
local cli = require "soom.cli"

-- The start-up's reads of the database (the models against the schema,
-- the CHECK constraints' columns) over one connection: each connection
-- costs its authentication (SCRAM's thousands of HMAC rounds, some 70
-- million instructions): a second one was a sixth of a 200-route app's
-- start-up.
local function read_database(loaded, settings)
    local url = settings.database_url
    if url == nil or url == "" then
        return
    end
    local db = require "soom.db"
    db.use(url)
    local ok, err = pcall(function()
        require("soom.core.drift").startup(loaded, settings)
        require("soom.core.checks").startup(settings) -- CHECK violations' pointers
    end)
    db.close()
    db.use(nil)
    if not ok then
        error(err, 0)
    end
end

return soom.command {
    description = "Serve an app over HTTP",
    app = true,
    arguments = {
        { "port", type = "number", help = "port to listen on (settings.port)" },
        { "host", help = "address to listen on (settings.host)" },
        { "server", help = "async, threads, thread-per-connection or prefork (settings.server)" },
        {
            "reload", type = "boolean",
            help = "reload the app's Lua code when its files change, keeping connections open "
                .. "(settings.reload; for development)",
        },
    },
    run = function(args)
        local dir = args.app_dir
        local settings = loader.settings(dir)
        -- flags beat the environment, which beats settings.lua
        settings.port = args.port or settings.port
        settings.host = args.host or settings.host
        settings.server = args.server or settings.server
        settings.reload = args.reload or settings.reload
        -- no DATABASE_URL: the app's own PostgreSQL under .soom/, migrated
        local pgserver
        if settings.database_url == "" and loader.wants_database(dir) then
            pgserver = require "soom.core.pgserver"
            settings.database_url = pgserver.start(dir)
        end
        local ok, code = pcall(function()
            local loaded = loader.load(dir, settings)
            read_database(loaded, settings)
            -- the OpenAPI document and the docs pages, after the app's routes; the
            -- document is built once, while the server loads its worker states
            local routes = { unpack(loaded.routes) }
            routes.access_classes = loaded.routes.access_classes
            local docs, make = require("soom.openapi.routes").routes(loaded, cli.home)
            for _, r in ipairs(docs) do
                routes[#routes + 1] = r
            end
            return serve.serve(loader.core_settings(settings), dir, routes, cli.home, make)
        end)
        if ok and code == serve.RESTART then
            -- --reload found the routes changed: the same command again, in
            -- this process (the embedded database keeps running for it)
            require("soom.db").close()
            local _, err = serve.restart(cli.argv)
            error("cannot restart: " .. tostring(err), 0)
        end
        if pgserver then
            pgserver.stop()
        end
        if not ok then
            error(code, 0)
        end
        return code
    end,
}
