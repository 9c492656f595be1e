--- soom.app: loading an app folder.
--
-- An app is a folder with `settings.lua` (a table of settings), `app.lua`
-- (optional: `{ name = ..., resources = { "hello", ... } }`), `resources/`
-- (each file returns a resource or a list of resources), `commands/`,
-- `migrations/` and `tests/`. Without a `resources` list in app.lua every
-- file of resources/ is loaded, in name order. Loading is deterministic, so
-- the start-up state and every worker state number the routes alike.

local c = require "soom.core.c"
local generics = require "soom.generics"

local type, ipairs, pairs, loadfile, setmetatable = type, ipairs, pairs, loadfile, setmetatable

local _M = {}

local function exists(path)
    return c.filetype(path) ~= nil
end

--- Runs a Lua file that must return a table; raises with the file named.
local function load_table(path, what)
    local chunk, err = loadfile(path)
    if not chunk then
        error(err, 0)
    end
    local ok, value = pcall(chunk)
    if not ok then
        error(("%s: %s"):format(path, tostring(value)), 0)
    end
    if type(value) ~= "table" then
        error(("%s must return a table of %s"):format(path, what), 0)
    end
    return value
end

--- The absolute path of an app folder; raises when it is not an app.
function _M.resolve(dir)
    local abs = c.realpath(dir or ".")
    if not abs or c.filetype(abs) ~= "directory" then
        error(("%s is not a folder"):format(dir), 0)
    end
    if not exists(abs .. "/app.lua") and not exists(abs .. "/resources") then
        error(("%s is not a soom app (no app.lua nor resources/)"):format(dir), 0)
    end
    return abs
end

--- The settings table of an app folder (settings.lua, or empty).
function _M.user_settings(dir)
    local path = dir .. "/settings.lua"
    if exists(path) then
        return load_table(path, "settings")
    end
    return {}
end

local function add_to_path(dir)
    local entry = dir .. "/?.lua;" .. dir .. "/?/init.lua;"
    if not package.path:find(entry, 1, true) then
        package.path = entry .. package.path
    end
end

local function resource_names(dir, meta)
    if meta.resources then
        return meta.resources
    end
    local names = {}
    for _, file in ipairs(c.listdir(dir .. "/resources") or {}) do
        local name = file:match("^(.+)%.lua$")
        if name then
            names[#names + 1] = name
        end
    end
    return names
end

-- The JSON text of a resource's schema field, or nil; raises naming the
-- resource and the field when the table cannot be written as JSON.
local function schema_json(res, field, file, transform)
    local schema = res[field]
    if schema == nil then
        return nil
    end
    if type(schema) ~= "table" and type(schema) ~= "boolean" then
        error(("%s: %s must be a table (a JSON Schema)"):format(file, field), 0)
    end
    if transform then
        schema = transform(schema)
    end
    local text, err = require("soom.schema").to_json(schema)
    if not text then
        error(("%s: %s: %s"):format(file, field, err), 0)
    end
    return text
end

-- PATCH sends some fields only: its body is checked by the schema without
-- the top-level "required" (Django REST framework's partial update).
local function partial(schema)
    if type(schema) ~= "table" or schema.required == nil then
        return schema
    end
    local copy = {}
    for k, v in pairs(schema) do
        if k ~= "required" then
            copy[k] = v
        end
    end
    return copy
end

local function add_routes(routes, value, file)
    local list = value
    if value.route ~= nil or getmetatable(value) ~= nil then
        list = { value }
    end
    for _, res in ipairs(list) do
        if type(res) ~= "table" or type(res.route) ~= "string" then
            error(("%s: a resource needs a route (a string such as \"/things/{id:int}\")")
                :format(file), 0)
        end
        local methods = res:methods()
        if #methods == 0 then
            error(("%s: the resource at %s defines no get, post, put, patch or delete")
                :format(file, res.route), 0)
        end
        routes[#routes + 1] = {
            pattern = res.route,
            methods = methods,
            name = file,
            raw_body = res.raw_body and true or false,
            resource = res,
            body_schema = schema_json(res, "validation_schema", file),
            patch_schema = type(res.patch) == "function"
                and schema_json(res, "validation_schema", file, partial) or nil,
            query_schema = schema_json(res, "query_schema", file),
            plan = generics.is_generic(res) and generics.plan_spec(res, file) or nil,
        }
    end
end

--- Loads the app in `dir` (absolute). `settings` are the effective
-- settings when the caller has them (a worker); otherwise they are read
-- from settings.lua and the environment. Returns
-- { dir, name, settings, routes = { { pattern, methods, name, raw_body, resource } } }.
function _M.load(dir, settings)
    local soom = require "soom"
    if not settings then
        settings = require("soom.core.app").settings(_M.user_settings(dir))
    end
    soom.settings = settings
    add_to_path(dir)
    local meta = {}
    if exists(dir .. "/app.lua") then
        meta = load_table(dir .. "/app.lua", "app fields")
    end
    local routes = {}
    for _, name in ipairs(resource_names(dir, meta)) do
        local file = "resources/" .. name .. ".lua"
        local ok, value = pcall(require, "resources." .. name)
        if not ok then
            error(tostring(value), 0)
        end
        if type(value) ~= "table" then
            error(("%s must return a resource or a list of resources"):format(file), 0)
        end
        add_routes(routes, value, file)
    end
    return setmetatable({
        dir = dir,
        name = meta.name or dir:match("([^/]+)/*$"),
        settings = settings,
        routes = routes,
    }, { __index = meta })
end

return _M
