--- soom createmodule: write a native module project from scaffold/module.
--
-- `soom createmodule NAME [--dir PARENT]` writes PARENT/NAME (default: the
-- current folder) with NAME.c (a middleware, a route, a format and a Lua
-- library through soom/module.h), a CMakeLists.txt that finds Soom with
-- pkg-config alone, a README, .clang-format (the core's style), and
-- tests/app, an app that loads the built module, with its tests. It
-- refuses a folder that exists.
local soom = require "soom"
local cli = require "soom.cli"
local files = require "soom.core.files"

local io, ipairs, error = io, ipairs, error

-- template file -> the file written (after {{name}} is replaced)
local RENAMED = { ["module.c"] = "{{name}}.c", gitignore = ".gitignore", ["clang-format"] = ".clang-format" }

local function shell_quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function mkdir(path)
    if not os.execute("mkdir -p " .. shell_quote(path)) then
        error(("cannot make the folder %s"):format(path), 0)
    end
end

local function write(path, text)
    local fh, err = io.open(path, "wb")
    if not fh then
        error(err, 0)
    end
    fh:write(text)
    fh:close()
end

-- Every file under `dir`, as paths relative to it.
local function walk(dir, prefix, out)
    for _, name in ipairs(files.list(dir)) do
        local rel = prefix and prefix .. "/" .. name or name
        if files.is_dir(dir .. "/" .. name) then
            walk(dir .. "/" .. name, rel, out)
        else
            out[#out + 1] = rel
        end
    end
    return out
end

return soom.command {
    description = "Write a native module project (C, CMake with pkg-config soom, tests)",
    arguments = {
        { "name", positional = true, required = true, help = "the module's name ([a-z][a-z0-9_]*)" },
        { "dir", default = ".", help = "the folder to write it in (default: the current one)" },
    },
    run = function(args)
        local name = args.name
        if not name:match("^[a-z][a-z0-9_]*$") then
            error(("%q is not a module name: use [a-z][a-z0-9_]*"):format(name), 0)
        end
        local target = args.dir .. "/" .. name
        if files.exists(target) then
            error(("%s exists already"):format(target), 0)
        end
        local templates = cli.home .. "/scaffold/module"
        for _, rel in ipairs(walk(templates, nil, {})) do
            local dest = rel:gsub("[^/]+$", function(base)
                return RENAMED[base] or base
            end):gsub("{{name}}", name)
            local path = target .. "/" .. dest
            mkdir(path:match("^(.*)/[^/]+$"))
            local text = files.read(templates .. "/" .. rel):gsub("{{name}}", name)
            write(path, text)
        end
        io.write(("wrote %s: build it with\n  cmake -S %s -B %s/build && cmake --build %s/build\n" ..
            "then test it with\n  soom test %s/tests/app\n"):format(target, target, target, target,
            target))
    end,
}
