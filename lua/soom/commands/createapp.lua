--- soom createapp: a new service, ready for production from its first commit.
--
-- Renders scaffold/app/ of soom's data folder (the install tree, or the
-- build tree that mirrors it) into the new folder, and, unless --no-db, the
-- sample CRUD resource from scaffold/resource/ as `soom generate resource`
-- would write it. Everything is rendered before anything is written: a bad
-- name, a folder that is not empty or a template error writes nothing.
local soom = require "soom"
local cli = require "soom.cli"
local files = require "soom.core.files"
local generate = require "soom.core.generate"
local scaffold = require "soom.core.scaffold"

-- The sample resource of a new app.
local SAMPLE = { name = "item", fields = "name:text(100),quantity:integer" }

local function app_vars(name, db)
    return {
        app = name,
        slug = name:gsub("_", "-"),
        soom_version = soom.VERSION,
        db = db,
        sample_model = SAMPLE.name,
        sample_plural = generate.plural(SAMPLE.name),
        sample_route = "/" .. generate.plural(SAMPLE.name),
        sample_body = '{"name": "first", "quantity": 3}',
    }
end

-- The folder to write into: refused when it is not an empty folder.
local function target(name, dir)
    local path = dir or name
    local kind = files.type(path)
    if kind == nil then
        return path, true
    end
    if kind ~= "directory" then
        error(("%s exists and is not a folder: nothing written"):format(path), 0)
    end
    if #files.list(path) > 0 then
        error(("%s exists and is not empty: nothing written (choose another --dir)"):format(path), 0)
    end
    return path, false
end

local function plan_app(name, db)
    local home = cli.home
    local plan = scaffold.plan(scaffold.templates(home, "app"), app_vars(name, db))
    if db then
        local fields = generate.parse_fields(SAMPLE.fields)
        local vars = generate.resource_vars(SAMPLE.name, fields, { migration = 1 })
        for _, f in ipairs(generate.plan(scaffold.templates(home, "resource"), vars)) do
            plan[#plan + 1] = f
        end
    end
    return plan
end

return soom.command {
    description = "Create a new service: the app, its tests, image, compose file, "
        .. "Kubernetes manifests and CI",
    arguments = {
        { "name", positional = true, required = true, help = "the app's name (a lower-case identifier)" },
        { "dir", help = "the folder to create (default: ./NAME); must not exist, or be empty" },
        { "no_db", type = "boolean", help = "no database: no model, migration or CRUD resource" },
    },
    run = function(args)
        scaffold.check_name(args.name, "app")
        local dir, create = target(args.name, args.dir)
        local plan = plan_app(args.name, not args.no_db)
        if create then
            local r = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
            if r ~= 0 and r ~= true then
                error("cannot create the folder " .. dir, 0)
            end
        end
        local ok, err = pcall(scaffold.write, dir, plan)
        if not ok then
            if create then
                os.remove(dir)
            end
            error(err, 0)
        end
        io.write(("created %s in %s (%d files)\n\n"):format(args.name, dir, #plan))
        io.write(("  cd %s\n  soom test          # the tests, on the app's own database\n"
            .. "  soom run           # http://127.0.0.1:8000/hello\n\n"
            .. "README.md says how to build the image, deploy and observe it.\n"):format(dir))
        return 0
    end,
}
