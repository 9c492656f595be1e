--- soom.openapi.params: the parameters of an operation, as the core reads
-- them.
--
-- Path parameters come from the route's typed segments (the router's
-- types: int, uuid, slug, any). Query parameters come from the resource's
-- query_schema (one parameter per property, arrays comma-separated as the
-- coercion reads them) and, for a generic list, from what plan_query.c
-- reads: each filter field with every lookup of its FILTERS table,
-- ?ordering= among the ordering fields, ?fields=, and the page position of
-- the pagination in use (cursor and page_size; limit, offset, page and
-- page_size; or the keyset's own parameter with limit and page_size).

local encode = require "soom.openapi.encode"
local json = require "soom.json"
local schemas = require "soom.openapi.schemas"

local ipairs, type, pairs, tostring = ipairs, type, pairs, tostring
local sort, concat = table.sort, table.concat

local map, array, once = encode.map, json.array, schemas.once

local _M = {}

-- ---- path --------------------------------------------------------------------------

local function path_schema(kind)
    local s = map()
    if kind == "int" then
        s.type = "integer"
        s.minimum = 0
        s.maximum = 9007199254740991
    elseif kind == "uuid" then
        s.type = "string"
        s.format = "uuid"
    elseif kind == "slug" then
        s.type = "string"
        s.pattern = "^[A-Za-z0-9_-]+$"
    else
        s.type = "string"
        s.minLength = 1
    end
    return s
end

--- The OpenAPI path of a route pattern ("/samples/{id:int}" ->
-- "/samples/{id}") and its path parameters as { name, kind } in order.
function _M.parse_route(pattern)
    local list = {}
    local path = pattern:gsub("{([%a_][%w_]*):?(%a*)}", function(name, kind)
        list[#list + 1] = { name = name, kind = kind ~= "" and kind or "any" }
        return "{" .. name .. "}"
    end)
    return path, list
end

local function param(name, where, description, schema, required)
    local p = map()
    p.name = name
    p["in"] = where
    p.description = description
    if required then
        p.required = true
    end
    if schema.type == "array" then
        p.style = "form"
        p.explode = false
    end
    p.schema = schema
    return p
end

local KIND_WORDS = {
    int = "an integer", uuid = "a UUID", slug = "letters, digits, - and _", any = "a path segment",
}

--- The path parameters of a route; `memo` (a table kept for one document)
-- hands out the one table of a name and type to every route that has it.
function _M.path(list, memo)
    memo = memo or {}
    local out = array()
    for i, p in ipairs(list) do
        out[i] = once(memo, "path\0" .. p.name .. "\0" .. p.kind, function()
            return param(p.name, "path", ("The %s (%s)."):format(p.name, KIND_WORDS[p.kind]),
                path_schema(p.kind), true)
        end)
    end
    return out
end

-- ---- the app's query schema -----------------------------------------------------------

--- Parameters for the properties of a query schema (a decoded tree): its
-- references to itself are resolved in place, or when they cannot be (a
-- loop), moved under `base` (a component holding the whole schema; nil
-- when it has none).
function _M.from_schema(schema, base)
    local out = array()
    if type(schema) ~= "table" or type(schema.properties) ~= "table" then
        return out
    end
    local required = {}
    for _, name in ipairs(schema.required or {}) do
        required[name] = true
    end
    local names = {}
    for name in pairs(schema.properties) do
        names[#names + 1] = name
    end
    sort(names)
    for _, name in ipairs(names) do
        local s = schemas.inline_refs(schema.properties[name], schema)
            or schemas.rebase(schema.properties[name], base())
        local description = type(s) == "table" and s.description or nil
        local p = param(name, "query", description, s, required[name])
        out[#out + 1] = p
    end
    return out
end

-- ---- generic lists --------------------------------------------------------------------

-- The schema of one filter value of a column, as plan_query.c checks it.
local function value_schema(fd)
    if fd.kind == "array" then
        return value_schema(fd.of)
    end
    local s = schemas.field(fd, false)
    s.type = type(s.type) == "table" and s.type[1] or s.type
    s.enum = nil
    s.default = nil
    s.description = nil
    if fd.kind == "numeric" then
        s.type = "number"
    end
    return s
end

local function plain(t, extra)
    local s = map()
    s.type = t
    for k, v in pairs(extra or {}) do
        s[k] = v
    end
    return s
end

-- Each lookup (plan_query.c's FILTERS), its words and its value's schema.
local LOOKUPS = {
    { "", "equals" },
    { "gt", "is greater than" },
    { "gte", "is at least" },
    { "lt", "is less than" },
    { "lte", "is at most" },
    { "in", "is one of (comma-separated)" },
    { "contains", "contains (a substring; an element, for an array)" },
    { "icontains", "contains, ignoring case" },
    { "isnull", "is null (true) or not (false)" },
}

local function lookup_schema(op, fd)
    if op == "isnull" then
        return plain("boolean")
    elseif op == "in" then
        local s = plain("array")
        s.items = value_schema(fd)
        return s
    elseif (op == "contains" or op == "icontains") and fd.kind ~= "array" then
        return plain("string")
    elseif op == "" and fd.kind == "array" then
        return plain("string", { description = "an array literal: {a,b}" })
    end
    return value_schema(fd)
end

local function filter_params(name, fd)
    local list = {}
    for i, l in ipairs(LOOKUPS) do
        local pname = l[1] == "" and name or (name .. "__" .. l[1])
        list[i] = param(pname, "query", ("Only objects whose %s %s."):format(name, l[2]),
            lookup_schema(l[1], fd))
    end
    return list
end

local function filters(res, fields, out, memo)
    local by_name = {}
    for _, f in ipairs(fields) do
        by_name[f.name] = f
    end
    for _, name in ipairs(res.filter_fields or {}) do
        local f = by_name[name]
        if f then
            local fd = f.fd
            local list = once(memo, "filter\0" .. name .. "\0" .. tostring(fd), function()
                return filter_params(name, fd)
            end)
            for _, p in ipairs(list) do
                out[#out + 1] = p
            end
        end
    end
end

local function enum_list(values)
    local items = map()
    items.type = "string"
    items.enum = values
    local s = map()
    s.type = "array"
    s.items = items
    return s
end

local function ordering(res, out, memo)
    local terms, page = array(), res.pagination
    if #(res.ordering_fields or {}) == 0 or (page and page.kind == "keyset") then
        return
    end
    for _, name in ipairs(res.ordering_fields) do
        terms[#terms + 1] = name
        terms[#terms + 1] = "-" .. name
    end
    local default = (page and page.ordering) or res.ordering
    local text = "The order of the results: fields, each descending with a leading -."
    if type(default) == "table" and #default > 0 then
        text = text .. " Default: " .. concat(default, ",") .. "."
    end
    out[#out + 1] = once(memo, "ordering\0" .. concat(terms, ",") .. "\0" .. text, function()
        return param("ordering", "query", text, enum_list(terms))
    end)
end

local function fields_param(fields, out, memo)
    local names = array()
    for _, f in ipairs(fields) do
        if not f.write_only then
            names[#names + 1] = f.name
        end
    end
    out[#out + 1] = once(memo, "fields\0" .. concat(names, ","), function()
        return param("fields", "query", "Only these fields in each object (the objects "
            .. "then carry only the fields named).", enum_list(names))
    end)
end

local function int_schema(min, default)
    local s = plain("integer")
    s.minimum = min
    s.default = default
    return s
end

local function page_params(res, fields, p)
    local out = {}
    local size = ("Objects per page (default %d, at most %d: larger values are capped)."):format(
        p.page_size, p.max_page_size)
    if p.kind == "cursor" then
        out[#out + 1] = param("cursor", "query", "Where the page starts: the opaque cursor of a "
            .. "previous page's next or previous link.", plain("string"))
        out[#out + 1] = param("page_size", "query", size, int_schema(1, p.page_size))
    elseif p.kind == "offset" then
        out[#out + 1] = param("limit", "query", size, int_schema(1, p.page_size))
        out[#out + 1] = param("offset", "query", "How many objects to skip.", int_schema(0, 0))
        out[#out + 1] = param("page", "query", "The page number, from 1 (with page_size).",
            int_schema(1, 1))
        out[#out + 1] = param("page_size", "query", size, int_schema(1, p.page_size))
    elseif p.kind == "keyset" then
        local name = (p.field or res.model.primary_key):gsub("^[-+]", "")
        local fd
        for _, f in ipairs(fields) do
            if f.fd.name == name then
                fd = f.fd
            end
        end
        fd = fd or res.model:field(name)
        out[#out + 1] = param(p.param, "query", ("The %s of the last object seen: the page "
            .. "starts after it (the previous page's %s)."):format(name, p.next), value_schema(fd))
        out[#out + 1] = param("limit", "query", size, int_schema(1, p.page_size))
        out[#out + 1] = param("page_size", "query", size, int_schema(1, p.page_size))
    end
    return out
end

local function pagination(res, fields, out, memo)
    local p = res.pagination
    if not p then
        return
    end
    -- cursor and offset parameters depend on the sizes only; a keyset's
    -- on its column too, so each keyset list makes its own
    local list
    if p.kind == "keyset" then
        list = page_params(res, fields, p)
    else
        list = once(memo, concat({ "page", p.kind, p.page_size, p.max_page_size }, "\0"),
            function()
                return page_params(res, fields, p)
            end)
    end
    for _, one in ipairs(list) do
        out[#out + 1] = one
    end
end

--- The query parameters of a generic list: filters, ordering, fields and
-- the page position. `memo` (a table kept for one document) holds the
-- parameters made so far, handed out again to the lists they fit.
function _M.list(res, fields, memo)
    memo = memo or {}
    local out = array()
    filters(res, fields, out, memo)
    ordering(res, out, memo)
    fields_param(fields, out, memo)
    pagination(res, fields, out, memo)
    return out
end

return _M
