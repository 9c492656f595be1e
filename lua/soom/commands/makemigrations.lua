--- soom makemigrations: write CREATE TABLE migrations for new models.
local soom = require "soom"
local migrate = require "soom.core.migrate"

return soom.command {
    description = "Write a CREATE TABLE migration for each managed model that has none yet",
    app = true,
    run = function(args)
        local written = migrate.make(args.app_dir)
        for _, path in ipairs(written) do
            io.write("wrote ", path, "\n")
        end
        if #written == 0 then
            io.write("no changes: every managed model has a CREATE TABLE migration\n")
        end
        return 0
    end,
}
