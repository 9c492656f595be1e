--- soom openapi: print an app's OpenAPI 3.1 document, the same bytes
-- `soom run` serves at /openapi.json (or, with --yaml, /openapi.yaml).
local soom = require "soom"
local loader = require "soom.core.loader"
local openapi = require "soom.openapi"
local serve = require "soom.core.serve"

return soom.command {
    description = "Print the app's OpenAPI 3.1 document (JSON, or YAML with --yaml)",
    app = true,
    arguments = {
        { "out", help = "write it to this file instead of standard output" },
        { "yaml", type = "boolean", help = "YAML instead of JSON" },
    },
    run = function(args)
        local loaded = loader.load(args.app_dir)
        serve.check_routes(loaded.routes) -- the document describes only an app that starts
        local doc = openapi.document(loaded)
        local text = args.yaml and openapi.yaml(doc) or openapi.json(doc)
        if args.out then
            local f, err = io.open(args.out, "wb")
            if not f then
                error(("cannot write %s: %s"):format(args.out, err), 0)
            end
            f:write(text)
            f:close()
        else
            io.stdout:write(text)
        end
    end,
}
