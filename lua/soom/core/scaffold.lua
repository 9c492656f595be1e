--- soom.core.scaffold: turning a template folder into files, for
-- `soom createapp` and `soom generate`.
--
-- Work happens in two steps so that a mistake writes nothing: plan()
-- renders every template of a folder in memory (paths and contents, see
-- soom.core.template), and write() creates the files of a plan, refusing
-- first when one of them exists, and removing what it made when a write
-- fails halfway. Templates are read from soom's data folder (the `home` the
-- binary found: the build tree or the install tree), never from a source
-- checkout.

local files = require "soom.core.files"
local template = require "soom.core.template"

local io, ipairs, error, pcall, os, type, tostring = io, ipairs, error, pcall, os, type, tostring
local concat, sort = table.concat, table.sort

local _M = {}

local RESERVED = {
    -- Lua's keywords and the modules an app's own module could shadow
    ["and"] = true, ["break"] = true, ["do"] = true, ["else"] = true, ["elseif"] = true,
    ["end"] = true, ["false"] = true, ["for"] = true, ["function"] = true, ["goto"] = true,
    ["if"] = true, ["in"] = true, ["local"] = true, ["nil"] = true, ["not"] = true,
    ["or"] = true, ["repeat"] = true, ["return"] = true, ["then"] = true, ["true"] = true,
    ["until"] = true, ["while"] = true,
    soom = true, ffi = true, jit = true, bit = true, string = true, table = true, math = true,
    io = true, os = true, debug = true, coroutine = true, package = true,
}

--- Raises unless `name` can name an app or a resource: a lower-case
-- identifier (it becomes a Lua module, a database, a table, an image and,
-- with - for _, a Kubernetes name), at most `max` characters.
function _M.check_name(name, what, max)
    max = max or 40
    local ok = type(name) == "string" and name:match("^[a-z][a-z0-9_]*$") ~= nil
        and not name:find("__", 1, true) and name:sub(-1) ~= "_"
    if not ok then
        error(("%q is not a valid %s name: use lower-case letters, digits and single "
            .. "underscores, starting with a letter (for example my_service)")
            :format(tostring(name), what), 0)
    end
    if #name > max then
        error(("%q is too long for a %s name (at most %d characters)"):format(name, what, max), 0)
    end
    if RESERVED[name] then
        error(("%q cannot name a %s: it is a Lua keyword or a module soom needs"):format(name, what),
            0)
    end
end

--- The template folder `kind` (app, resource) of soom's data folder.
function _M.templates(home, kind)
    local dir = home .. "/scaffold/" .. kind
    if not files.is_dir(dir) then
        error(("the %s templates are missing: %s is not a folder (a broken installation?)")
            :format(kind, dir), 0)
    end
    return dir
end

-- Every file under `dir`, as paths relative to it, in name order.
local function walk(dir, prefix, out)
    for _, name in ipairs(files.list(dir)) do
        local full, rel = dir .. "/" .. name, prefix .. name
        if files.is_dir(full) then
            walk(full, rel .. "/", out)
        elseif files.is_file(full) then
            out[#out + 1] = rel
        end
    end
    return out
end

--- Renders the template folder `src` with `vars`: a list of
-- { path = relative path, text = contents }, without the files that render
-- empty. Raises naming the template on a placeholder error.
function _M.plan(src, vars)
    local plan = {}
    for _, rel in ipairs(walk(src, "", {})) do
        local path = template.render_path(rel, vars, rel)
        local text = template.render(files.read(src .. "/" .. rel), vars, rel)
        if text:match("%S") then
            plan[#plan + 1] = { path = path, text = text }
        end
    end
    sort(plan, function(a, b)
        return a.path < b.path
    end)
    return plan
end

local function quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function mkdir_p(dir)
    local r = os.execute("mkdir -p " .. quote(dir))
    if r ~= 0 and r ~= true then
        error("cannot create the folder " .. dir, 0)
    end
end

local function write_file(path, text)
    local fh, err = io.open(path, "wb")
    if not fh then
        error(err, 0)
    end
    local ok, werr = fh:write(text)
    fh:close()
    if not ok then
        error(("%s: %s"):format(path, tostring(werr)), 0)
    end
end

-- The folders a plan needs under `dest` that do not exist yet, parents first.
local function missing_dirs(dest, plan)
    local seen, dirs = {}, {}
    for _, f in ipairs(plan) do
        local path = ""
        for part in f.path:gmatch("([^/]+)/") do
            path = path .. part .. "/"
            if not seen[path] then
                seen[path] = true
                if not files.exists(dest .. "/" .. path) then
                    dirs[#dirs + 1] = path
                end
            end
        end
    end
    return dirs
end

--- Writes the files of `plan` under `dest` (which must exist). Refuses,
-- writing nothing, when one of them exists already; on a failed write,
-- removes the files and folders it created and raises.
function _M.write(dest, plan)
    local clashes = {}
    for _, f in ipairs(plan) do
        if files.exists(dest .. "/" .. f.path) then
            clashes[#clashes + 1] = f.path
        end
    end
    if #clashes > 0 then
        error(("nothing written: %s already exist%s in %s"):format(concat(clashes, ", "),
            #clashes == 1 and "s" or "", dest), 0)
    end
    local dirs, made = missing_dirs(dest, plan), {}
    local ok, err = pcall(function()
        for _, d in ipairs(dirs) do
            mkdir_p(dest .. "/" .. d)
        end
        for _, f in ipairs(plan) do
            write_file(dest .. "/" .. f.path, f.text)
            made[#made + 1] = f.path
        end
    end)
    if not ok then
        for i = #made, 1, -1 do
            os.remove(dest .. "/" .. made[i])
        end
        for i = #dirs, 1, -1 do
            os.remove(dest .. "/" .. dirs[i])
        end
        error(err, 0)
    end
end

return _M
