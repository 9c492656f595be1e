--- soom makemigrations: write what changed in the models as a migration.
local soom = require "soom"
local migrate = require "soom.core.migrate"

local function summary(ops)
    for _, op in ipairs(ops) do
        io.write("  ", op.destructive and "! " or "- ", op.label, "\n")
    end
end

return soom.command {
    description = "Write what changed in the models since the migrations as the next migration",
    app = true,
    arguments = {
        { "check", type = "boolean",
            help = "write nothing; exit 1 when the models and the migrations disagree" },
        { "allow_destructive", type = "boolean",
            help = "write drops and narrowing type changes as statements, not commented out" },
        { "name", help = "the file's name after its number (default: from what changed)" },
        { "empty", type = "boolean",
            help = "write a file for statements of your own, with its reverse section" },
    },
    run = function(args)
        if args.check then
            local ops = migrate.changes(args.app_dir).ops
            if #ops == 0 then
                io.write("no changes: the migrations match the models\n")
                return 0
            end
            io.write(("the models and the migrations disagree (%d change%s without a migration; "
                .. "run `soom makemigrations`):\n"):format(#ops, #ops == 1 and "" or "s"))
            summary(ops)
            return 1
        end
        local made = migrate.make(args.app_dir, {
            allow_destructive = args.allow_destructive, name = args.name, empty = args.empty,
        })
        if not made.path then
            io.write("no changes: the migrations match the models\n")
            return 0
        end
        io.write("wrote ", made.path, "\n")
        summary(made.ops)
        for _, w in ipairs(made.warnings) do
            io.stderr:write("soom makemigrations: warning: ", w, "\n")
        end
        return 0
    end,
}
