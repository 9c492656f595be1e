--- soom.core.listquery: a generic resource's query_schema, with the
-- parameters the resource reads itself admitted.
--
-- A generic list reads parameters of its own (plan_query.c): the page
-- position (cursor and page_size; limit, offset, page and page_size; or a
-- keyset's parameter), ordering, fields, expand, and every filter with its
-- lookups (score, score__gt, ...). A closed query_schema written for the
-- app's own parameters would refuse them, and following a page's `next`
-- link would give a 422. (Every generic resource with a relation embedded
-- on request reads `expand` too.) So the schema the core compiles is the app's with
-- each of those names added to its top-level `properties` as an empty
-- schema (anything: the list checks its parameters itself, with its own
-- messages), and taken out of its top-level `required` (they are never
-- required).
--
-- An app may declare one of them itself, to narrow it
-- (`page_size = s.integer{ max = 50 }`): its declaration is kept, but its
-- type must admit what the list sends and reads. A parameter is text, so
-- "string" always does; otherwise the type the list reads (an integer for
-- the page position, an array for ?fields= and __in, a boolean for
-- __isnull; "number" admits an integer). A declaration without a type
-- admits anything; `false`, or a type that cannot hold the value (a
-- boolean `cursor`), stops start-up, naming the resource and the
-- parameter. The OpenAPI document keeps describing the list's parameters
-- from the list (soom.openapi.params), and the app's from its schema.

local type, ipairs, pairs, error, tostring, require = type, ipairs, pairs, error, tostring, require
local concat, sort = table.concat, table.sort

local _M = {}

-- Lookups of plan_query.c's FILTERS table.
local LOOKUPS = { "gt", "gte", "lt", "lte", "in", "contains", "icontains", "isnull" }

--- The parameters a generic list reads, as { name = type }: the type is the
-- JSON type the list reads the text as ("string" when any text will do).
function _M.parameters(res)
    local out = {}
    for _, f in ipairs(res:serializer_fields()) do
        if f.embed and f.embed.expand then
            out.expand = "array" -- read by every action of the resource
        end
    end
    if not _M.lists(res) then
        return out
    end
    -- required here, not at the top: every app's load requires this module,
    -- and only a list with a query_schema needs the OpenAPI writers (whose
    -- load is 4% of a 200-route app's, the document turned off)
    local params, schemas = require "soom.openapi.params", require "soom.openapi.schemas"
    for _, p in ipairs(params.list(res, schemas.serializer(res))) do
        local t = type(p.schema) == "table" and p.schema.type or nil
        out[p.name] = type(t) == "string" and t or "string"
    end
    -- filters across relations, which the OpenAPI document leaves out
    for _, name in ipairs(res.filter_fields or {}) do
        out[name] = out[name] or "string"
        for _, l in ipairs(LOOKUPS) do
            local pname = name .. "__" .. l
            out[pname] = out[pname] or (l == "isnull" and "boolean" or l == "in" and "array"
                or "string")
        end
    end
    out.ordering = out.ordering or "array" -- read (or skipped) by every list
    return out
end

local function types_of(schema)
    local t = schema.type
    if type(t) == "string" then
        return { t }
    end
    return type(t) == "table" and t or nil
end

-- True when a declaration of the app admits what the list reads as `want`.
local function admits(schema, want)
    if schema == true then
        return true
    elseif type(schema) ~= "table" then
        return false
    end
    local types = types_of(schema)
    if types == nil then
        return true
    end
    for _, t in ipairs(types) do
        if t == "string" or t == want or (t == "number" and want == "integer") then
            return true
        end
    end
    return false
end

local function describe(schema)
    if schema == false then
        return "false (no value)"
    end
    local types = types_of(schema) or {}
    return "type " .. concat(types, ", ")
end

--- The query schema the core compiles for a generic list whose app wrote
-- `schema` (a table): a shallow copy with the list's parameters admitted.
-- Raises a message naming a conflicting declaration.
function _M.admit(res, schema, file)
    if type(schema) ~= "table" then
        return schema
    end
    local own = type(schema.properties) == "table" and schema.properties or {}
    local wanted = _M.parameters(res)
    local names = {}
    for name in pairs(wanted) do
        names[#names + 1] = name
    end
    sort(names)
    local properties = {}
    for k, v in pairs(own) do
        properties[k] = v
    end
    for _, name in ipairs(names) do
        local declared = own[name]
        if declared == nil then
            properties[name] = {}
        elseif not admits(declared, wanted[name]) then
            local want = wanted[name]
            local as = want == "string" and "a string" or ("%s or a string"):format(want)
            error(("%s: query_schema declares %s, a parameter of the list at %s, with %s; the "
                .. "list reads it as %s (declare it as %s, or leave it to the list)")
                :format(file, name, tostring(res.route), describe(declared), want, as), 0)
        end
    end
    local copy = _M.unrequired(res, schema, wanted)
    copy.properties = properties
    return copy
end

--- A shallow copy of `schema` without the list's parameters in its
-- top-level `required` (what the OpenAPI document describes).
function _M.unrequired(res, schema, wanted)
    if type(schema) ~= "table" then
        return schema
    end
    wanted = wanted or _M.parameters(res)
    local copy = {}
    for k, v in pairs(schema) do
        copy[k] = v
    end
    if type(schema.required) == "table" then
        local required = {}
        for _, name in ipairs(schema.required) do
            if wanted[name] == nil then
                required[#required + 1] = name
            end
        end
        copy.required = #required > 0 and required or nil
    end
    return copy
end

--- True for a generic resource that lists.
function _M.lists(res)
    for _, a in ipairs(res._actions or {}) do
        if a == "list" then
            return true
        end
    end
    return false
end

return _M
