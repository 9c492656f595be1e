--- soom.openapi: the OpenAPI 3.1 document of an app, generated from the same
-- declarations that run it.
--
--   local openapi = require "soom.openapi"
--   local doc = openapi.document(loader.load(dir))   -- a tree
--   io.write(openapi.json(doc))                      -- the bytes /openapi.json serves
--
-- Built once at start-up from the loaded app (routes with their typed
-- parameters, schemas and generic resources' models, serializers, filters,
-- orderings and pagination): soom.openapi.operations makes each operation,
-- soom.openapi.schemas names the components, soom.openapi.problems adds
-- the problem documents the core can answer, soom.openapi.security the
-- schemes of the authentication classes. The same app and settings give
-- the same bytes on every run (soom.openapi.encode). docs/OPENAPI.md says
-- what comes from where.

local encode = require "soom.openapi.encode"
local files = require "soom.core.files"
local json = require "soom.json"
local operations = require "soom.openapi.operations"
local problems = require "soom.openapi.problems"
local schemas = require "soom.openapi.schemas"
local security = require "soom.openapi.security"

local type, ipairs, error, tostring, assert = type, ipairs, error, tostring, assert
local concat = table.concat

local map, array = encode.map, json.array

local _M = {}

-- A copy of a plain table of the app's as a tree (keys sorted on output).
local function plain(t, what)
    if type(t) ~= "table" then
        error(("app.lua: %s must be a table"):format(what), 0)
    end
    return json.decode(assert(json.encode(t)))
end

--- The document's title (info.title), as the docs pages show it.
function _M.title(app)
    local t = app.title or app.name
    return type(t) == "string" and t or "API"
end

local function info(app)
    local i = map()
    i.title = app.title or app.name
    i.summary = app.summary
    i.description = app.description
    i.termsOfService = app.terms_of_service
    if app.contact ~= nil then
        i.contact = plain(app.contact, "contact")
    end
    if app.license ~= nil then
        i.license = type(app.license) == "string" and { name = app.license, identifier = app.license }
            or plain(app.license, "license")
    end
    i.version = app.version ~= nil and tostring(app.version) or "0.0.0"
    return i
end

-- settings.openapi.servers ("https://a, https://b"), else app.lua's
-- servers (URLs or Server Objects), else "/": the server that served the
-- document.
local function servers(app, settings)
    local list = array()
    local text = settings.openapi and settings.openapi.servers or ""
    for url in text:gmatch("[^,%s]+") do
        local s = map()
        s.url = url
        list[#list + 1] = s
    end
    if #list == 0 and type(app.servers) == "table" then
        for i, s in ipairs(app.servers) do
            list[i] = type(s) == "string" and { url = s } or plain(s, "servers[" .. i .. "]")
        end
    end
    if #list == 0 then
        local s = map()
        s.url = "/"
        s.description = "The server that serves this document."
        list[1] = s
    end
    return list
end

-- The paragraph of comments a resource file opens with, as one line.
local function file_comment(path)
    local text = files.exists(path) and files.read(path) or ""
    local lines = {}
    for line in (text .. "\n"):gmatch("(.-)\n") do
        local body = line:match("^%-%-+%s?(.*)$")
        if not body then
            break
        end
        if body:match("%S") then
            lines[#lines + 1] = body
        end
    end
    return #lines > 0 and concat(lines, " ") or nil
end

-- The tags of the document in order of first use; a default tag (the
-- resource file's name) is described by the file's opening comment, any
-- tag by app.lua's `tags = { { name = ..., description = ... } }`.
local function tag_book(app)
    local order, by_name, declared = array(), {}, {}
    for _, t in ipairs(type(app.tags) == "table" and app.tags or {}) do
        if type(t) == "table" and type(t.name) == "string" then
            declared[t.name] = t
        end
    end
    local function add(name, op)
        if by_name[name] then
            return
        end
        local t = map()
        t.name = name
        local own = declared[name]
        if own and own.description then
            t.description = own.description
        elseif op and name == op.base then
            t.description = file_comment(app.dir .. "/" .. op.route.name)
        end
        by_name[name] = t
        order[#order + 1] = t
    end
    return add, order
end

local function describe_all(app)
    local ops, serializers = {}, {}
    for _, route in ipairs(app.routes) do
        for _, m in ipairs(route.methods) do
            local op = operations.describe(route, m:lower(), serializers)
            op.several = #route.methods > 1
            ops[#ops + 1] = op
        end
    end
    operations.name_all(ops)
    return ops
end

--- The document of a loaded app (soom.core.loader.load), as a tree.
function _M.document(app)
    local settings = app.settings or {}
    local add_tag, tags = tag_book(app)
    local ctx = {
        registry = schemas.registry(), used = problems.tracker(), schemes = security.schemes(),
        params = schemas.registry(), param_refs = {}, memo = {},
        numeric_as = settings.numeric_as, tag = add_tag,
        idempotency = not (settings.idempotency and settings.idempotency.enabled == false),
    }
    local paths, owner = map(), {}
    for _, op in ipairs(describe_all(app)) do
        local item = paths[op.path]
        if item == nil then
            item = map()
            paths[op.path] = item
        end
        local key = op.path .. " " .. op.method
        if owner[key] then
            error(("%s: %s %s and %s in %s are the same path for OpenAPI (%s); name their "
                .. "parameters differently"):format(op.route.name, op.method:upper(),
                op.route.pattern, owner[key].pattern, owner[key].name, op.path), 0)
        end
        owner[key] = op.route
        item[op.method] = operations.build(ctx, op)
    end
    local components = map()
    local responses = ctx.used:components(ctx.registry)
    components.schemas = ctx.registry:schemas()
    components.responses = responses
    components.parameters = ctx.params:components()
    components.securitySchemes = ctx.schemes:components()
    local doc = map()
    doc.openapi = "3.1.0"
    doc.info = info(app)
    doc.servers = servers(app, settings)
    doc.tags = tags
    doc.paths = paths
    doc.components = components
    return doc
end

--- The document as JSON text (the bytes /openapi.json serves).
function _M.json(doc)
    return encode.json(doc)
end

--- The document as YAML text (the bytes /openapi.yaml serves).
function _M.yaml(doc)
    return encode.yaml(doc)
end

return _M
