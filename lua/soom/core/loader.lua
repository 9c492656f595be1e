--- soom.core.loader: loading an app folder.
--
-- An app is a folder with `settings.lua` (a table of settings), `app.lua`
-- (optional: `{ name = ..., resources = { "hello", ... } }`), `resources/`
-- (each file returns a resource or a list of resources), `commands/`,
-- `migrations/` and `tests/`. Without a `resources` list in app.lua every
-- file of resources/ is loaded, in name order. Loading is deterministic, so
-- the start-up state and every worker state number the routes alike.

local access = require "soom.core.chain"
local files = require "soom.core.files"
local generics = require "soom.generics"
local listquery = require "soom.core.listquery"
local model = require "soom.model"
local relations = require "soom.core.relations"
local modules = require "soom.core.modules"
local settings_of = require "soom.core.settings"

local type, ipairs, pairs, setmetatable, getmetatable, error = type, ipairs, pairs, setmetatable,
    getmetatable, error

local _M = {}

--- The absolute path of an app folder; raises when it is not an app.
function _M.resolve(dir)
    local abs = files.realpath(dir or ".")
    if not abs or not files.is_dir(abs) then
        error(("%s is not a folder"):format(dir), 0)
    end
    if not files.exists(abs .. "/app.lua") and not files.exists(abs .. "/resources") then
        error(("%s is not a soom app (no app.lua nor resources/)"):format(dir), 0)
    end
    return abs
end

--- The settings table of an app folder (settings.lua, or empty).
function _M.user_settings(dir)
    local path = dir .. "/settings.lua"
    if files.exists(path) then
        return files.load_table(path, "a table of settings")
    end
    return {}
end

-- Splits settings.lua's table: the core's settings, and the ones whose
-- values are Lua values (authentication classes, permissions...).
local function split_settings(t)
    local core, lua = {}, {}
    for k, v in pairs(t) do
        core[k] = v
    end
    for _, k in ipairs(access.LUA_SETTINGS) do
        lua[k] = core[k]
        core[k] = nil
    end
    return core, lua
end

local function with_lua_settings(settings, lua)
    for _, k in ipairs(access.LUA_SETTINGS) do
        if settings[k] == nil then
            settings[k] = lua[k]
        end
    end
    return settings
end

--- The settings without the Lua-valued ones: what the core checks.
function _M.core_settings(settings)
    return (split_settings(settings))
end

--- The effective settings of an app folder: defaults, settings.lua, then
-- the environment (soom.core.serve is the command line's, so this runs
-- only there), with settings.lua's Lua-valued settings (authentication,
-- permissions, throttles, throttle_rates) as they are. `modules` (native
-- modules, soom.core.modules) is kept as settings.lua gives it.
function _M.settings(dir)
    local core, lua = split_settings(_M.user_settings(dir))
    local native = core.modules
    core.modules = nil
    local settings = require("soom.core.serve").settings(core)
    settings.modules = native
    return with_lua_settings(settings, lua)
end

--- True when the app has models or migrations, and so needs a database.
function _M.wants_database(dir)
    return files.is_dir(dir .. "/migrations") or files.is_dir(dir .. "/models")
end

--- The models of the app's models/ folder and its subfolders
-- (models/market/service.lua, as `soom inspectdb` writes them), in file
-- order: a list of { file = "models/x.lua", model = ... } (a file may
-- return one model or a list of them). Relations may name a model by its
-- path ("market.service"). Raises naming the file that fails to load.
function _M.models(dir)
    files.add_to_path(dir)
    local found = {}
    for _, name in ipairs(files.lua_tree(dir .. "/models")) do
        local file = name .. ".lua"
        do
            local ok, value = pcall(require, "models." .. name:gsub("/", "."))
            if not ok then
                -- `return soom.model{...}` is a tail call: the message may
                -- lack the file, so name it
                local msg = tostring(value)
                if not msg:find("models/" .. file, 1, true) then
                    msg = ("models/%s: %s"):format(file, msg)
                end
                error(msg, 0)
            end
            local list = model.is_model(value) and { value } or (type(value) == "table" and value or {})
            if model.is_model(value) then
                relations.name(value, (name:gsub("/", ".")))
            end
            for _, m in ipairs(list) do
                if model.is_model(m) then
                    found[#found + 1] = { file = "models/" .. file, model = m }
                end
            end
        end
    end
    return found
end

local function resource_names(dir, meta)
    return meta.resources or files.lua_names(dir .. "/resources")
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

-- A generic resource's query_schema admits the parameters it reads itself
-- (soom.core.listquery).
local function list_query(res, file, declared)
    if not generics.is_generic(res) then
        return nil
    end
    return function(schema)
        if declared then
            return listquery.unrequired(res, schema)
        end
        return listquery.admit(res, schema, file)
    end
end

-- The access chain of a route, and whether a generic resource filters by
-- its owner.
local function access_spec(res, file)
    local owned = generics.is_generic(res) and res.owner_field ~= nil
    return access.route_spec(res, file, owned)
end

-- A resource's own handler_timeout (seconds of Lua without a wait; 0: no
-- limit), or nil for the settings' one.
local function handler_timeout_of(res, file)
    local t = res.handler_timeout
    if t ~= nil and (type(t) ~= "number" or t ~= t or t < 0 or t > 86400) then
        error(("%s: the resource at %s: handler_timeout must be a number of seconds from 0 "
            .. "(no limit) to 86400"):format(file, res.route), 0)
    end
    return t
end

-- A resource's `idempotency`: nil (settings.idempotency.enabled decides),
-- true, false or "required", as the core reads it.
local IDEMPOTENCY = { [true] = "on", [false] = "off", required = "required" }

local function idempotency_of(res, file)
    local v = res.idempotency
    if v == nil then
        return nil
    end
    if IDEMPOTENCY[v] == nil then
        error(("%s: idempotency must be true, false or \"required\", not %s"):format(file,
            tostring(v)), 0)
    end
    return IDEMPOTENCY[v]
end

local function add_routes(routes, value, file)
    local list
    if value.route ~= nil or getmetatable(value) ~= nil then
        list = { value }
    else
        -- a list may hold lists of resources (jwt:views{...} is one)
        list = {}
        for _, item in ipairs(value) do
            if type(item) == "table" and item.route == nil and getmetatable(item) == nil then
                for _, res in ipairs(item) do
                    list[#list + 1] = res
                end
            else
                list[#list + 1] = item
            end
        end
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
            handler_timeout = handler_timeout_of(res, file),
            resource = res,
            body_schema = schema_json(res, "validation_schema", file),
            patch_schema = type(res.patch) == "function"
                and schema_json(res, "validation_schema", file, partial) or nil,
            query_schema = schema_json(res, "query_schema", file, list_query(res, file)),
            -- the app's own, for the OpenAPI document
            query_schema_declared = schema_json(res, "query_schema", file,
                list_query(res, file, true)),
            plan = generics.is_generic(res) and generics.plan_spec(res, file) or nil,
            access = access_spec(res, file),
            idempotency = idempotency_of(res, file),
        }
    end
end

--- Loads the app in `dir` (absolute). `settings` are the effective
-- settings when the caller has them (a worker); otherwise they are read
-- from settings.lua and the environment. Returns
-- { dir, name, settings, routes = { { pattern, methods, name, raw_body, resource } } }.
function _M.load(dir, settings)
    if settings then -- a worker's, from the core: without the Lua-valued ones
        local _, lua = split_settings(_M.user_settings(dir))
        settings = with_lua_settings(settings, lua)
    else
        settings = _M.settings(dir)
    end
    settings_of.set(settings)
    access.reset(settings, dir)
    files.add_to_path(dir)
    local meta = {}
    if files.exists(dir .. "/app.lua") then
        meta = files.load_table(dir .. "/app.lua", "a table of app fields")
    end
    -- native modules first: models and resources may require their Lua libraries
    if settings.modules ~= nil then
        modules.load(settings.modules, dir, require("soom.cli").home)
    end
    -- every model first, so relations find their targets and reverse sides
    local app_models = _M.models(dir)
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
    -- then the modules' routes, numbered after the app's in every state
    for _, r in ipairs(modules.routes()) do
        routes[#routes + 1] = r
    end
    routes.access_classes = access.class_specs()
    return setmetatable({
        dir = dir,
        name = meta.name or dir:match("([^/]+)/*$"),
        settings = settings,
        routes = routes,
        models = app_models,
    }, { __index = meta })
end

return _M
