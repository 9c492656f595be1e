--- soom.generics: generic resources over a model, Django REST framework's
-- generic views as Lua tables.
--
--   soom.ListCreateResource {
--       route = "/samples",
--       model = Sample,
--       fields = { "id", "name", "score", "created_at" },
--       filter_fields = { "score" },                 -- ?score=5, ?score__gt=5, ...
--       ordering_fields = { "id", "score" },         -- ?ordering=-score,id
--       pagination = soom.pagination.cursor { ordering = { "-created_at" } },
--   }
--
-- Classes: CreateResource, ListResource, RetrieveResource, UpdateResource
-- (PUT and PATCH), DestroyResource, ListCreateResource,
-- RetrieveUpdateResource, RetrieveDestroyResource,
-- RetrieveUpdateDestroyResource. A detail resource's route has the lookup
-- parameter: "/samples/{id:int}" (lookup_field, default the primary key;
-- lookup_param when the route names it differently).
--
-- Every step is a method to override, as in DRF: get_queryset(req),
-- get_object(req), perform_create(req, data), perform_update(req, obj,
-- data), perform_destroy(req, obj), serializer_data(data, req), and the
-- handlers themselves (list, create, retrieve, update, destroy). An action
-- whose steps are all the built-in ones runs entirely in C, from route to
-- response, without entering Lua; overriding a step runs the action in Lua,
-- which calls the same C steps with what the hooks supplied. Writes in Lua
-- run in one transaction.
--
-- `fields` is the serializer: output names in order, each a field of the
-- model ("name") or { "title", source = "name", read_only = true,
-- write_only = true }. Without it, every field of the model. A relation
-- of the model is either its key ("category": the id, written by id too)
-- or embedded: { "category", fields = { "id", "name" } } (to-one) and
-- { "lines", many = true, fields = {...} } (to-many), in the same SQL
-- statement as the rows; `expand = true` embeds only when the request asks
-- (?expand=category), sending the key otherwise. Filters and orderings
-- may cross relations: filter_fields = { "category__name" },
-- ordering_fields = { "category__name" }.

local db = require "soom.db"
local embed = require "soom.core.embed"
local errors = require "soom.errors"
local json = require "soom.json"
local plan = require "soom.core.plan"
local queryset = require "soom.queryset"
local relations = require "soom.core.relations"
local request = require "soom.core.request"
local resource = require "soom.resource"
local settings_of = require "soom.core.settings"

local type, ipairs, pairs, error, tostring, rawget, pcall = type, ipairs, pairs, error, tostring,
    rawget, pcall

local _M = {}

local RESPONDED = plan.RESPONDED

_M.queryset = queryset.new

-- ---- the base class -----------------------------------------------------------------

local function decode(body)
    if body == RESPONDED then
        return nil
    end
    return json.decode(body)
end

-- Runs `action` in C; raises RESPONDED (caught by the dispatcher, which then
-- sends the response C made) when C answered with an error.
local function run(req, action, conds, data, for_update)
    local status, body = plan.run(request.handle(req), action, conds, true, data, for_update)
    if body == RESPONDED then
        if status == 404 and (action == "retrieve") then
            return nil, status
        end
        error(RESPONDED, 0)
    end
    return decode(body), status
end

local Generic = resource.Resource:extend {
    fields = nil,
    filter_fields = {},
    ordering_fields = {},
    ordering = nil,
    pagination = nil,
    lookup_field = nil,
    lookup_param = nil,
    owner_field = nil,
}

function Generic:get_queryset()
    return queryset.new(self)
end

-- the object of an update or destroy is locked until the write is done,
-- so that what its permissions were checked on is what is written
local LOCKING = { PUT = true, PATCH = true, DELETE = true }

function Generic:get_object(req)
    local obj = run(req, "retrieve", self:get_queryset(req):conditions(), nil, LOCKING[req.method])
    if obj ~= nil and self._object_check then
        self:check_object_permissions(req, obj)
    end
    return obj
end

function Generic:perform_create(req, data)
    return (run(req, "create", nil, data))
end

function Generic:perform_update(req, obj, data)
    local _ = obj
    return (run(req, "update", self:get_queryset(req):conditions(), data))
end

function Generic:perform_destroy(req, obj)
    local _ = obj
    plan.run(request.handle(req), "destroy", self:get_queryset(req):conditions(), false)
end

function Generic:serializer_data(data)
    return data
end

local function numeric_number()
    local s = settings_of.get()
    return s ~= nil and s.numeric_as == "number"
end

-- One serializer entry as { name, column, read_only, write_only, alt,
-- embed }: `alt` is the other body key a relation's id may come under
-- (category_id for category), `embed` the SQL of an embedded relation.
local function serializer_entry(model, entry, i)
    if type(entry) == "string" then
        if model:field(entry) then
            return { name = entry, column = entry }
        end
        local rel = model:relation(entry)
        if rel and not rel.many and rel.kind == "foreign_key" then
            return { name = entry, column = rel.local_column, alt = rel.local_column }
        elseif rel then
            entry = { entry }
        else
            error(("fields[%d]: %s is neither a field nor a relation of %s"):format(i, entry,
                model.name or model.table), 0)
        end
    end
    if type(entry) ~= "table" or type(entry[1]) ~= "string" then
        error(("fields[%d] must be a field name or { name, source = ... }"):format(i), 0)
    end
    local spec = {
        name = entry[1], column = entry.source or entry[1],
        read_only = entry.read_only == true, write_only = entry.write_only == true,
    }
    local rel = not model:field(spec.column) and model:relation(spec.column)
    if embed.is_embed(entry) or rel then
        spec.embed = embed.embed(model, entry, ("fields[%d]"):format(i), numeric_number())
        spec.embed.entry = entry -- for the OpenAPI document (the core reads the SQL only)
        spec.embed.relation = model:relation(entry.source or entry[1])
        spec.column = spec.embed.column
        spec.alt = spec.embed.column
        spec.read_only = spec.read_only or spec.column == nil
    end
    return spec
end

-- The serializer's fields as { name, column, read_only, write_only, alt,
-- embed }.
function Generic:serializer_fields()
    local cached = rawget(self, "_fields")
    if cached then
        return cached
    end
    local model = self.model
    relations.check(model)
    local list = {}
    for i, entry in ipairs(self.fields or model.field_names) do
        list[#list + 1] = serializer_entry(model, entry, i)
    end
    self._fields = list
    return list
end

-- ---- handlers --------------------------------------------------------------------------

local HOOKS = {}
local DEFAULTS = {}

local function serialize(self, req, data)
    if self.serializer_data == DEFAULTS.serializer_data then
        return data
    end
    if type(data) == "table" and data.results ~= nil then
        data.results = self:serializer_data(data.results, req)
        return data
    end
    return self:serializer_data(data, req)
end

function Generic:list(req)
    local conds = self:get_queryset(req):conditions()
    if self.serializer_data == DEFAULTS.serializer_data then
        local status, body = plan.run(request.handle(req), "list", conds, false)
        return body, status
    end
    local data = run(req, "list", conds)
    return serialize(self, req, data)
end

function Generic:retrieve(req)
    local obj = self:get_object(req)
    if obj == nil then
        return errors.error(404, "no such object")
    end
    return serialize(self, req, obj)
end

function Generic:create(req)
    return db.transaction(function()
        local obj = self:perform_create(req, req.body)
        return serialize(self, req, obj), 201
    end)
end

function Generic:update(req)
    return db.transaction(function()
        local obj = self:get_object(req)
        if obj == nil then
            return errors.error(404, "no such object")
        end
        return serialize(self, req, self:perform_update(req, obj, req.body))
    end)
end

function Generic:destroy(req)
    return db.transaction(function()
        local obj = self:get_object(req)
        if obj == nil then
            return errors.error(404, "no such object")
        end
        self:perform_destroy(req, obj)
        return nil, 204
    end)
end

for _, name in ipairs({ "get_queryset", "get_object", "perform_create", "perform_update",
    "perform_destroy", "serializer_data", "list", "retrieve", "create", "update", "destroy",
    "dispatch" }) do
    DEFAULTS[name] = Generic[name]
end

-- The steps each action runs: overriding any of them runs it in Lua.
HOOKS.list = { "get_queryset", "serializer_data", "list", "dispatch" }
HOOKS.retrieve = { "get_queryset", "get_object", "serializer_data", "retrieve", "dispatch" }
HOOKS.create = { "perform_create", "serializer_data", "create", "dispatch" }
HOOKS.update = { "get_queryset", "get_object", "perform_update", "serializer_data", "update",
    "dispatch" }
HOOKS.destroy = { "get_queryset", "get_object", "perform_destroy", "destroy", "dispatch" }

-- The method handlers of each action, calling the (overridable) action.
local HANDLERS = {
    list = { get = function(self, req) return self:list(req) end },
    retrieve = { get = function(self, req) return self:retrieve(req) end },
    create = { post = function(self, req) return self:create(req) end },
    update = {
        put = function(self, req) return self:update(req) end,
        patch = function(self, req) return self:update(req) end,
    },
    destroy = { delete = function(self, req) return self:destroy(req) end },
}

local function class(actions, detail)
    local def = { _actions = actions, _detail = detail }
    for _, a in ipairs(actions) do
        for method, fn in pairs(HANDLERS[a]) do
            def[method] = fn
        end
    end
    return Generic:extend(def)
end

_M.Generic = Generic
_M.CreateResource = class({ "create" }, false)
_M.ListResource = class({ "list" }, false)
_M.ListCreateResource = class({ "list", "create" }, false)
_M.RetrieveResource = class({ "retrieve" }, true)
_M.UpdateResource = class({ "update" }, true)
_M.DestroyResource = class({ "destroy" }, true)
_M.RetrieveUpdateResource = class({ "retrieve", "update" }, true)
_M.RetrieveDestroyResource = class({ "retrieve", "destroy" }, true)
_M.RetrieveUpdateDestroyResource = class({ "retrieve", "update", "destroy" }, true)

-- ---- the plan ----------------------------------------------------------------------------

--- True for a generic resource (one made from these classes).
function _M.is_generic(res)
    return type(res) == "table" and res._actions ~= nil
end

local DETAIL = { retrieve = true, update = true, destroy = true }

local function overrides(res, action)
    for _, hook in ipairs(HOOKS[action]) do
        if res[hook] ~= DEFAULTS[hook] then
            return true
        end
    end
    for method, fn in pairs(HANDLERS[action]) do
        if res[method] ~= fn then
            return true
        end
    end
    return false
end

-- Filters and orderings split into the model's own fields and the ones
-- across relations ("category__name"), whose SQL soom.core.embed writes.
local function relation_specs(res, model, fields)
    local out = { filters = {}, relation_filters = {}, ordering_fields = {}, relation_orderings = {} }
    local by_name = {}
    for _, f in ipairs(fields) do
        by_name[f.name] = f
    end
    local seen = {}
    local function add_ordering(name, orderable)
        name = name:gsub("^[-+]", "")
        if name:find("__", 1, true) and not by_name[name] and not seen[name] then
            local o = embed.ordering(model, name, "ordering " .. name)
            seen[name] = o
            out.relation_orderings[#out.relation_orderings + 1] = o
        end
        if seen[name] then
            seen[name].orderable = seen[name].orderable or orderable
            return true
        end
        return false
    end
    for _, name in ipairs(res.filter_fields or {}) do
        if name:find("__", 1, true) and not by_name[name] then
            out.relation_filters[#out.relation_filters + 1] = embed.filter(model, name, "filter " .. name)
        else
            out.filters[#out.filters + 1] = name
        end
    end
    for _, name in ipairs(res.ordering_fields or {}) do
        if not add_ordering(name, true) then
            out.ordering_fields[#out.ordering_fields + 1] = name
        end
    end
    local pagination = res.pagination
    for _, term in ipairs((pagination and pagination.ordering) or res.ordering or {}) do
        add_ordering(term, false)
    end
    return out
end

--- The spec the core compiles into a plan (core/src/plan/plan.c); raises a
-- message naming what is wrong.
function _M.plan_spec(res, file)
    local model = res.model
    if type(model) ~= "table" or type(model.fields) ~= "table" or not model.table then
        error(("%s: a generic resource needs a model (soom.model{...})"):format(file), 0)
    end
    if type(model.primary_key) ~= "string" then
        error(("%s: a generic resource needs a model with a single-column primary key")
            :format(file), 0)
    end
    local resolved, why = pcall(relations.check, model)
    if not resolved then
        error(("%s: %s"):format(file, tostring(why)), 0)
    end
    local columns = {}
    for i, fd in ipairs(model.fields) do
        columns[i] = {
            name = fd.name, type = fd.sql_type, nullable = fd.nullable and not fd.primary_key,
            read_only = fd.read_only or fd.kind == "serial" or fd.kind == "bigserial",
        }
    end
    local ok, fields = pcall(res.serializer_fields, res)
    if not ok then
        error(("%s: %s"):format(file, tostring(fields)), 0)
    end
    if model.read_only then
        for _, a in ipairs(res._actions) do
            if a == "create" or a == "update" or a == "destroy" then
                error(("%s: the model %s is read_only: the resource at %s cannot %s it (use a "
                    .. "ListResource or RetrieveResource)"):format(file, model.name or model.table,
                    res.route, a), 0)
            end
        end
    end
    local ok2, across = pcall(relation_specs, res, model, fields)
    if not ok2 then
        error(("%s: %s"):format(file, tostring(across)), 0)
    end
    local pagination = res.pagination
    if pagination and pagination.kind == "keyset" then
        local name = (pagination.field or model.primary_key):gsub("^[-+]", "")
        local fd = model:field(name)
        if not fd or not (fd.primary_key or fd.unique) then
            error(("%s: keyset pagination needs a unique field (the primary key by default), "
                .. "not %s"):format(file, name), 0)
        end
    end
    -- object permissions written in Lua are checked on the object: the
    -- detail actions then run in Lua (their statements stay the C ones)
    local object_check = require("soom.core.chain").needs_object_check(res)
    rawset(res, "_object_check", object_check or nil)
    local fast = {}
    for _, a in ipairs(res._actions) do
        if not overrides(res, a) and not (object_check and DETAIL[a]) then
            fast[#fast + 1] = a
        end
    end
    if res.owner_field ~= nil and not model:field(res.owner_field) then
        error(("%s: owner_field %s is not a field of the model"):format(file,
            tostring(res.owner_field)), 0)
    end
    local spec = {
        table = model.schema and (model.schema .. "." .. model.table) or model.table,
        primary_key = model.primary_key,
        columns = columns,
        fields = fields,
        filters = across.filters,
        relation_filters = across.relation_filters,
        ordering_fields = across.ordering_fields,
        relation_orderings = across.relation_orderings,
        ordering = (pagination and pagination.ordering) or res.ordering or {},
        actions = res._actions,
        fast = fast,
        owner_field = res.owner_field,
        pagination = pagination,
    }
    if res._detail then
        spec.lookup_field = res.lookup_field or model.primary_key
        spec.lookup_param = res.lookup_param or spec.lookup_field
        -- the parameter itself ({id} or {id:int}), not one whose name
        -- merely begins the same ({identifier}), which would never match
        local param = "{" .. spec.lookup_param
        if not (res.route:find(param .. "}", 1, true) or res.route:find(param .. ":", 1, true)) then
            error(("%s: the route %s has no {%s} parameter for the lookup"):format(file,
                res.route, spec.lookup_param), 0)
        end
    end
    return spec
end

return _M
