--- soom createmodule: a native module project, from scaffold/module/.
--
-- `soom createmodule NAME [--dir DIR]` writes DIR (default ./NAME) with
-- NAME.c (a middleware, a route, a format and a Lua library through
-- soom/module.h), a CMakeLists.txt that finds Soom with pkg-config alone, a
-- README, .clang-format (the core's style), and tests/app, an app that
-- loads the built module, with its tests. As createapp does, everything is
-- rendered before anything is written, and a folder that is not empty is
-- refused.
local soom = require "soom"
local cli = require "soom.cli"
local files = require "soom.core.files"
local scaffold = require "soom.core.scaffold"

local io, os, error, pcall = io, os, error, pcall

local function target(name, dir)
    local path = dir or name
    local kind = files.type(path)
    if kind == nil then
        return path, true
    end
    if kind ~= "directory" or #files.list(path) > 0 then
        error(("%s exists and is not an empty folder: nothing written"):format(path), 0)
    end
    return path, false
end

return soom.command {
    description = "Create a native module project: C, CMake with pkg-config soom, and its tests",
    arguments = {
        { "name", positional = true, required = true, help = "the module's name (a lower-case identifier)" },
        { "dir", help = "the folder to create (default: ./NAME); must not exist, or be empty" },
    },
    run = function(args)
        local name = args.name
        scaffold.check_name(name, "module")
        local dir, create = target(name, args.dir)
        local plan = scaffold.plan(scaffold.templates(cli.home, "module"), { name = name })
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
        io.write(("wrote %s: build it with\n  cmake -S %s -B %s/build && cmake --build %s/build\n"
            .. "then test it with\n  soom test %s/tests/app\n"):format(dir, dir, dir, dir, dir))
    end,
}
