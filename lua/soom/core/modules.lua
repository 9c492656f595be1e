--- soom.core.modules: loading the native modules an app's settings list.
--
--   modules = {
--       cors = { origins = { "https://app.example.com" } },   -- shipped with soom
--       mymod = { path = "modules/mymod.so", greeting = "hi" }, -- the app's own
--   }
--
-- Each key names a module; its table is the module's settings, except two
-- keys the loader reads itself: `path` (the shared object, relative to the
-- app folder; without it, the module shipped with soom of that name) and
-- `order` (a number, default 0: modules load, and their middleware runs,
-- by order, then by name; the response phase runs in reverse). `true`
-- stands for an empty table. SOOM_MODULES__<NAME>__<KEY> in the
-- environment overrides a key the table gives (read by that key's type: a
-- number, a boolean, a list as comma-separated text, else a string), so
-- one image runs in every environment. Modules are loaded once per process, before
-- the app's resources (which may require their Lua libraries); a module
-- that cannot be loaded stops start-up with the loader's message.

local files = require "soom.core.files"
local native = require "soom.core.native"

local type, pairs, ipairs, error, tostring, tonumber = type, pairs, ipairs, error, tostring,
    tonumber
local sort = table.sort

local _M = {}

local LOADER_KEYS = { path = true, order = true }

local TRUE = { ["true"] = true, ["1"] = true, yes = true, on = true }
local FALSE = { ["false"] = true, ["0"] = true, no = true, off = true }

-- The environment's text for a key, read by the type of what it replaces.
local function convert(var, old, text)
    if type(old) == "number" then
        local n = tonumber(text)
        if n == nil then
            error(("%s must be a number, not %q"):format(var, text), 0)
        end
        return n
    elseif type(old) == "boolean" then
        if TRUE[text] then
            return true
        elseif FALSE[text] then
            return false
        end
        error(("%s must be a boolean, not %q"):format(var, text), 0)
    elseif type(old) == "table" then
        local list = {}
        for item in text:gmatch("[^,]+") do
            list[#list + 1] = item:match("^%s*(.-)%s*$")
        end
        return list
    end
    return text
end

local function from_env(name, spec)
    local copy = {}
    for key, value in pairs(spec) do
        copy[key] = value
        if type(key) == "string" then
            local var = ("SOOM_MODULES__%s__%s"):format(name:upper(), key:upper())
            local text = os.getenv(var)
            if text ~= nil then
                copy[key] = convert(var, value, text)
            end
        end
    end
    return copy
end

local function check(name, spec)
    if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_]*$") then
        error(("settings.modules: %q is not a module name ([a-z][a-z0-9_]*)"):format(tostring(name)), 0)
    end
    if spec == true then
        return {}
    end
    if type(spec) ~= "table" then
        error(("settings.modules.%s must be a table of the module's settings"):format(name), 0)
    end
    spec = from_env(name, spec)
    if spec.path ~= nil and type(spec.path) ~= "string" then
        error(("settings.modules.%s.path must be a string"):format(name), 0)
    end
    if spec.order ~= nil and type(spec.order) ~= "number" then
        error(("settings.modules.%s.order must be a number"):format(name), 0)
    end
    return spec
end

--- The modules of a settings table, in load order: { { name, spec } }.
function _M.list(modules)
    if modules == nil then
        return {}
    end
    if type(modules) ~= "table" then
        error("settings.modules must be a table: { name = { settings... } }", 0)
    end
    local list = {}
    for name, spec in pairs(modules) do
        list[#list + 1] = { name = name, spec = check(name, spec) }
    end
    sort(list, function(a, b)
        local oa, ob = a.spec.order or 0, b.spec.order or 0
        if oa ~= ob then
            return oa < ob
        end
        return a.name < b.name
    end)
    return list
end

local function path_of(name, spec, dir, home)
    if spec.path then
        if spec.path:sub(1, 1) == "/" then
            return spec.path
        end
        return dir .. "/" .. spec.path
    end
    local builtin = home .. "/" .. native.builtin_dir
    return (files.realpath(builtin) or builtin) .. "/" .. name .. ".so"
end

local function module_settings(spec)
    local settings = {}
    for k, v in pairs(spec) do
        if not LOADER_KEYS[k] then
            settings[k] = v
        end
    end
    return settings
end

--- Loads the modules of `modules` (settings.modules) for the app in `dir`
-- that this process has not loaded yet; `home` is soom's data folder.
function _M.load(modules, dir, home)
    for _, m in ipairs(_M.list(modules)) do
        if not native.loaded(m.name) then
            native.load(m.name, path_of(m.name, m.spec, dir, home), module_settings(m.spec))
        end
    end
end

--- The routes of the loaded modules, as the loader lists the app's.
function _M.routes()
    return native.routes()
end

return _M
