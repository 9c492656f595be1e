--- soom generate resource NAME --fields ...: a model, its migration, a
-- CRUD resource and its tests, in the style of `soom createapp`'s sample.
--
-- Works in an app folder (the current one, or --app DIR). The files are
-- rendered from scaffold/resource/ first; when one of them exists, or a
-- migration already creates the table, nothing is written.
local soom = require "soom"
local cli = require "soom.cli"
local generate = require "soom.core.generate"
local loader = require "soom.core.loader"
local scaffold = require "soom.core.scaffold"

local KINDS = { resource = true }

return soom.command {
    description = "Generate a resource in the app: model, migration, CRUD resource and tests",
    arguments = {
        { "kind", positional = true, required = true, help = "what to generate: resource" },
        { "name", positional = true, required = true, help = "the model's name (singular: order_line)" },
        {
            "fields",
            help = "name:type pairs, e.g. title:text(200),score:integer,done:boolean,note:text? "
                .. "(? nullable)",
        },
        { "plural", help = "the plural for the route and file names (default: NAME + s)" },
    },
    run = function(args)
        if not KINDS[args.kind] then
            error(("cannot generate %q: the only kind is resource"):format(args.kind), 0)
        end
        local dir = loader.resolve(cli.app_dir or ".")
        scaffold.check_name(args.name, "resource", 50)
        if args.plural then
            scaffold.check_name(args.plural, "plural", 50)
        end
        local fields = generate.parse_fields(args.fields)
        generate.check_table_free(dir, args.name)
        local vars = generate.resource_vars(args.name, fields, {
            plural = args.plural, migration = generate.next_migration(dir),
        })
        local plan = generate.plan(scaffold.templates(cli.home, "resource"), vars)
        scaffold.write(dir, plan)
        for _, f in ipairs(plan) do
            io.write("wrote ", f.path, "\n")
        end
        io.write(("\n%s and %s/{id} are served by `soom run`; `soom test` runs their tests\n")
            :format(vars.route, vars.route))
        return 0
    end,
}
