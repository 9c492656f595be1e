--- soom.schema: JSON Schema 2020-12 for request validation, written as Lua.
--
-- Every helper returns a plain, standard JSON Schema table, so the sugar and
-- the standard form mix freely and what the validator (compiled in C) sees
-- is exactly what docs/VALIDATION.md describes:
--
--   local s = require "soom.schema"
--   s.object{
--       name  = s.string{ min = 1, max = 100 },
--       score = s.integer{ min = 0, max = 100 },
--       note  = s.string{ optional = true },
--   }
--   --> { type = "object", additionalProperties = false,
--   --     required = { "name", "score" },
--   --     properties = { name = {...}, score = {...}, note = {...} } }
--
-- Objects are closed by default (additionalProperties = false): a client's
-- misspelt field is an error, not silently ignored. Pass `{ additional =
-- true }` (or a schema) as the second argument of s.object to open one.
-- Every property is required unless its schema was made with
-- `optional = true`; that mark is kept beside the table (a weak set), never
-- in it, so the schema stays standard.
--
-- schema.to_json(t) writes a schema table as JSON text. Lua cannot tell an
-- empty array from an empty object, so it uses keyword knowledge: `required`,
-- `enum`, `type`, `prefixItems`, `allOf`... become arrays, `properties`,
-- `$defs` and every subschema position become objects.

local json = require "soom.json"

local type, pairs, ipairs, error, tostring, next = type, pairs, ipairs, error, tostring, next
local setmetatable, table_sort = setmetatable, table.sort

local _M = {}

-- Tables made with optional = true.
local OPTIONAL = setmetatable({}, { __mode = "k" })

-- Options every helper takes, mapped to their keyword.
local COMMON = {
    title = "title",
    description = "description",
    default = "default",
    examples = "examples",
    deprecated = "deprecated",
    read_only = "readOnly",
    write_only = "writeOnly",
}

local function build(kind, opts, map, base)
    if opts ~= nil and type(opts) ~= "table" then
        error(("s.%s expects a table of options"):format(kind), 3)
    end
    local schema = base or {}
    for k, v in pairs(opts or {}) do
        local kw = map[k] or COMMON[k]
        if kw then
            schema[kw] = v
        elseif k ~= "optional" then
            error(("unknown option '%s' for s.%s"):format(tostring(k), kind), 3)
        end
    end
    if opts and opts.optional then
        OPTIONAL[schema] = true
    end
    return schema
end

local STRING = {
    min = "minLength", max = "maxLength", pattern = "pattern", format = "format",
    enum = "enum",
}

--- A string; `min`/`max` count characters (code points).
function _M.string(opts)
    return build("string", opts, STRING, { type = "string" })
end

local NUMBER = {
    min = "minimum", max = "maximum", exclusive_min = "exclusiveMinimum",
    exclusive_max = "exclusiveMaximum", multiple_of = "multipleOf", enum = "enum",
}

--- A number with no fraction (1 and 1.0 both qualify).
function _M.integer(opts)
    return build("integer", opts, NUMBER, { type = "integer" })
end

function _M.number(opts)
    return build("number", opts, NUMBER, { type = "number" })
end

function _M.boolean(opts)
    return build("boolean", opts, {}, { type = "boolean" })
end

function _M.null(opts)
    return build("null", opts, {}, { type = "null" })
end

local ARRAY = {
    items = "items", min = "minItems", max = "maxItems", unique = "uniqueItems",
    contains = "contains", min_contains = "minContains", max_contains = "maxContains",
    prefix = "prefixItems",
}

--- s.array{ items = s.string{}, min = 1, max = 10, unique = true }
function _M.array(opts)
    return build("array", opts, ARRAY, { type = "array" })
end

local OBJECT = {
    additional = "additionalProperties", min = "minProperties", max = "maxProperties",
    pattern_properties = "patternProperties", property_names = "propertyNames",
}

--- s.object(properties[, options]): required = every property not made
-- with optional = true, sorted; closed unless options.additional says
-- otherwise.
function _M.object(props, opts)
    if type(props) ~= "table" then
        error("s.object expects a table of property schemas", 2)
    end
    local properties, required = {}, {}
    for name, schema in pairs(props) do
        if type(name) ~= "string" or type(schema) ~= "table" and type(schema) ~= "boolean" then
            error(("s.object: property '%s' must map a name to a schema"):format(tostring(name)),
                  2)
        end
        properties[name] = schema
        if not OPTIONAL[schema] then
            required[#required + 1] = name
        end
    end
    table_sort(required)
    local schema = { type = "object", properties = properties, additionalProperties = false }
    if #required > 0 then
        schema.required = required
    end
    return build("object", opts, OBJECT, schema)
end

--- One of the given values (compared as JSON: 1 == 1.0, strings exactly).
function _M.enum(values, opts)
    if type(values) ~= "table" or next(values) == nil then
        error("s.enum expects a non-empty list of values", 2)
    end
    return build("enum", opts, {}, { enum = values })
end

function _M.const(value, opts)
    return build("const", opts, {}, { const = value })
end

local function combinator(kw, name)
    return function(list, opts)
        if type(list) ~= "table" or #list == 0 then
            error(("s.%s expects a non-empty list of schemas"):format(name), 2)
        end
        return build(name, opts, {}, { [kw] = list })
    end
end

_M.any_of = combinator("anyOf", "any_of")
_M.one_of = combinator("oneOf", "one_of")
_M.all_of = combinator("allOf", "all_of")

--- A reference, e.g. s.ref("#/$defs/address").
function _M.ref(uri, opts)
    if type(uri) ~= "string" then
        error("s.ref expects a URI reference string", 2)
    end
    return build("ref", opts, {}, { ["$ref"] = uri })
end

-- The formats named by a helper are asserted whatever format_assertion
-- says: "x-format-assert" (an extension keyword the validator reads, which
-- other validators ignore as they ignore any unknown keyword) asks for it.
-- Whoever writes s.date_time() means a date-time; a plain
-- { type = "string", format = "date-time" } stays an annotation, as 2020-12
-- has it (docs/VALIDATION.md).
local function format(name, kind)
    return function(opts)
        local schema = build(kind, opts, STRING, { type = "string" })
        schema.format = name
        schema["x-format-assert"] = true
        return schema
    end
end

_M.email = format("email", "email")
_M.uuid = format("uuid", "uuid")
_M.date = format("date", "date")
_M.date_time = format("date-time", "date_time")
_M.time = format("time", "time")
_M.duration = format("duration", "duration")
_M.ipv4 = format("ipv4", "ipv4")
_M.ipv6 = format("ipv6", "ipv6")
_M.uri = format("uri", "uri")

--- The schema, or null. A schema with a single `type` and no enum or const
-- gains "null" in its type list; others become anyOf { schema, null }.
-- Keeps the optional mark.
function _M.nullable(schema)
    if type(schema) ~= "table" then
        error("s.nullable expects a schema table", 2)
    end
    local out
    if type(schema.type) == "string" and schema.enum == nil and schema.const == nil then
        out = {}
        for k, v in pairs(schema) do
            out[k] = v
        end
        out.type = { schema.type, "null" }
    else
        out = { anyOf = { schema, { type = "null" } } }
    end
    OPTIONAL[out] = OPTIONAL[schema]
    return out
end

--- Whether a schema was made with optional = true.
function _M.is_optional(schema)
    return OPTIONAL[schema] == true
end

-- Keyword knowledge for to_json.
local SCHEMA_KW = {
    items = true, contains = true, additionalProperties = true, propertyNames = true,
    ["if"] = true, ["then"] = true, ["else"] = true, ["not"] = true,
    unevaluatedItems = true, unevaluatedProperties = true, contentSchema = true,
}
local SCHEMA_LIST_KW = { prefixItems = true, allOf = true, anyOf = true, oneOf = true }
local SCHEMA_MAP_KW = {
    properties = true, patternProperties = true, ["$defs"] = true, dependentSchemas = true,
}
local ARRAY_KW = { required = true, enum = true, examples = true, type = true }

local normalize

local function as_array(list, fn)
    local out = json.array({})
    for i, v in ipairs(list) do
        out[i] = fn and fn(v) or v
    end
    return out
end

normalize = function(schema)
    if type(schema) ~= "table" then
        return schema -- a boolean schema
    end
    local out = {}
    for k, v in pairs(schema) do
        if SCHEMA_KW[k] then
            out[k] = normalize(v)
        elseif SCHEMA_LIST_KW[k] and type(v) == "table" then
            out[k] = as_array(v, normalize)
        elseif SCHEMA_MAP_KW[k] and type(v) == "table" then
            local map = {}
            for name, sub in pairs(v) do
                map[name] = normalize(sub)
            end
            out[k] = map
        elseif ARRAY_KW[k] and type(v) == "table" then
            out[k] = as_array(v)
        elseif k == "dependentRequired" and type(v) == "table" then
            local map = {}
            for name, list in pairs(v) do
                map[name] = as_array(list)
            end
            out[k] = map
        else
            out[k] = v -- const, default and the like are data: encoded as they are
        end
    end
    return out
end

--- The JSON text of a schema table, or nil and a message.
function _M.to_json(schema)
    if type(schema) ~= "table" and type(schema) ~= "boolean" then
        error("schema.to_json expects a schema table or a boolean", 2)
    end
    return json.encode(normalize(schema))
end

--- A validator for data of the app's own (a resource's schemas are compiled
-- by the core already): `local v = s.compile(schema)`, then
-- `local ok, errors = v:validate(value)` with errors as { pointer, detail,
-- code } tables, and `v:json()` for the schema's JSON text. Raises on an
-- invalid schema, naming the place in it.
function _M.compile(schema, opts)
    local text, err = _M.to_json(schema)
    if not text then
        error(err, 2)
    end
    return require("soom.core.validate").compile(text, opts and opts.format_assertion)
end

return _M
