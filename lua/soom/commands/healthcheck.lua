--- soom healthcheck: GET the running app's liveness path on loopback and
-- exit 0 when it answers 200 (the image's HEALTHCHECK, so the image needs no
-- curl). The port and path come from the app's effective settings.
local soom = require "soom"
local loader = require "soom.core.loader"

return soom.command {
    description = "Probe the running app's /live on 127.0.0.1; exit 0 when it answers 200",
    app = true,
    arguments = {
        { "port", type = "number", help = "the port (default: settings.port)" },
        { "path", help = "the path (default: /live, or health.live_path)" },
        { "timeout", type = "number", default = 2, help = "seconds to wait for the answer" },
    },
    run = function(args)
        local settings = loader.settings(args.app_dir)
        local port = args.port or settings.port
        local health = type(settings.health) == "table" and settings.health or {}
        local path = args.path or health.live_path or "/live"
        local testing = require "soom.core.testing"
        local ok, status = pcall(testing.http, port, "GET", path, {}, nil, args.timeout)
        if not ok then
            io.stderr:write(("unhealthy: %s\n"):format(tostring(status)))
            return 1
        end
        if status ~= 200 then
            io.stderr:write(("unhealthy: GET %s answered %d\n"):format(path, status))
            return 1
        end
        io.write(("healthy: GET %s answered 200\n"):format(path))
        return 0
    end,
}
