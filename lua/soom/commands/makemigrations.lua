--- soom makemigrations: write CREATE TABLE migrations for new models.
local soom = require "soom"
local app = require "soom.app"
local cli = require "soom.cli"
local migrate = require "soom.core.migrate"

return soom.command {
    description = "Write a CREATE TABLE migration for each managed model that has none yet",
    arguments = {
        { "app_dir", positional = true, help = "the app folder (default: --app, or the current folder)" },
    },
    run = function(args)
        local dir = app.resolve(args.app_dir or cli.app_dir or ".")
        local written = migrate.make(dir)
        for _, path in ipairs(written) do
            io.write("wrote ", path, "\n")
        end
        if #written == 0 then
            io.write("no changes: every managed model has a CREATE TABLE migration\n")
        end
        return 0
    end,
}
