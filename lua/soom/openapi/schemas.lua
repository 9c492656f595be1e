--- soom.openapi.schemas: the JSON Schemas of the document and the registry
-- of named components.
--
-- Models give the schemas of generic resources: each field's type as the
-- core writes it out (pg_json.c: numeric as a string unless numeric_as is
-- "number", bytea as base64, timestamps in ISO 8601) and as it reads it in
-- (plan_write.c). The app's own schemas (validation_schema, query_schema,
-- declared responses) are JSON Schema 2020-12, which OpenAPI 3.1 takes as
-- it is; their internal references ("#/$defs/x") are rewritten to point
-- inside the component that holds them, since in the document "#" is the
-- document's root.
--
-- Components are named from models and resources, never numbered: each is
-- registered with a list of candidate names, takes the first one free, and
-- shares the name of an identical schema registered before it. When every
-- candidate is taken by a different schema the app must name one itself.

local encode = require "soom.openapi.encode"
local json = require "soom.json"

local type, pairs, ipairs, error, tostring, tonumber, next = type, pairs, ipairs, error,
    tostring, tonumber, next
local concat, sort = table.concat, table.sort

local map, array = encode.map, json.array

local _M = {}

-- ---- names ----------------------------------------------------------------------

local pascals = {} -- text -> its PascalCase: the same names come back for every route

--- "auth_user" -> "AuthUser", "/samples/{id}" -> "SamplesId".
function _M.pascal(text)
    text = tostring(text)
    local done = pascals[text]
    if done then
        return done
    end
    local parts = {}
    for word in text:gmatch("[%w]+") do
        parts[#parts + 1] = word:sub(1, 1):upper() .. word:sub(2)
    end
    done = concat(parts)
    pascals[text] = done
    return done
end

--- The display name of a model: its `name`, else its table in PascalCase.
function _M.model_name(model)
    return type(model.name) == "string" and model.name or _M.pascal(model.table)
end

-- ---- the registry of components ---------------------------------------------------

local Registry = {}
Registry.__index = Registry

--- `make()`, made once per document for `key` in `memo` (a table kept for
-- one document): operations over one model describe the same objects and
-- read the same parameters, and one table then stands for each of them,
-- which the registry knows again by identity without comparing texts.
function _M.once(memo, key, make)
    local v = memo[key]
    if v == nil then
        v = make()
        memo[key] = v
    end
    return v
end

--- A registry of components of one kind (schemas, parameters).
function _M.registry()
    return setmetatable({ by_name = {}, owner = {}, texts = {} }, Registry)
end

-- The identity of a component: its canonical text, made once per table
-- (the generator hands the same table to every operation it fits).
function Registry:text(schema)
    local text = self.texts[schema]
    if text == nil then
        text = encode.canonical(schema)
        self.texts[schema] = text
    end
    return text
end

--- Registers `schema` under the first free name of `candidates` (each
-- followed by `suffix`, when given), or the name an identical schema
-- already has, and returns the name; nil when every candidate holds a
-- different one.
function Registry:offer(candidates, schema, owner, fix, suffix)
    local text = self:text(schema)
    for _, name in ipairs(candidates) do
        if suffix then
            name = name .. suffix
        end
        if name ~= "" then
            local have = self.by_name[name]
            if have == nil then
                self.by_name[name] = { text = text, schema = fix and fix(name, schema) or schema }
                self.owner[name] = owner
                return name
            elseif have.text == text then
                return name
            end
        end
    end
    return nil
end

--- Registers `schema` as offer() does and returns the name; `owner` names
-- the resource, for the message when no candidate is free; `fix`, when
-- given, makes the stored schema from the name and the schema (the
-- identity is the schema as given).
function Registry:add(candidates, schema, owner, fix, suffix)
    local name = self:offer(candidates, schema, owner, fix, suffix)
    if name then
        return name
    end
    local first = tostring(candidates[1]) .. (suffix or "")
    error(("%s: its schema %s differs from the one %s declared under that name; "
        .. "set component_name on one of them"):format(owner, first, tostring(self.owner[first])), 0)
end

--- The registered components, as a map sorted by name (nil when none).
function Registry:components()
    if next(self.by_name) == nil then
        return nil
    end
    return self:schemas()
end

--- The registered schemas, as a map sorted by name.
function Registry:schemas()
    local names = {}
    for name in pairs(self.by_name) do
        names[#names + 1] = name
    end
    sort(names)
    local out = map()
    for _, name in ipairs(names) do
        out[name] = self.by_name[name].schema
    end
    return out
end

function _M.ref(name)
    local r = map()
    r["$ref"] = "#/components/schemas/" .. name
    return r
end

-- ---- the app's schemas -------------------------------------------------------------

--- A deep copy of a schema table with its internal references moved under
-- `base` ("#/components/schemas/OrdersRequest"); nil `base` leaves them.
function _M.rebase(schema, base)
    if type(schema) ~= "table" or schema == json.null then
        return schema
    end
    local copy = encode.is_array(schema) and array() or {}
    for k, v in pairs(schema) do
        if k == "$ref" and base and type(v) == "string" and v:sub(1, 1) == "#" then
            copy[k] = base .. v:sub(2)
        else
            copy[k] = _M.rebase(v, base)
        end
    end
    return copy
end

local function pointer_get(root, ref)
    local node = root
    for part in ref:sub(3):gmatch("[^/]+") do
        part = part:gsub("~1", "/"):gsub("~0", "~")
        if type(node) ~= "table" then
            return nil
        end
        node = node[part] ~= nil and node[part] or node[tonumber(part) and tonumber(part) + 1]
    end
    return node
end

local function inline(node, root, depth)
    if type(node) ~= "table" or node == json.null then
        return node
    end
    if depth > 16 then
        return nil -- a recursive reference: not for a query parameter
    end
    local ref = node["$ref"]
    if type(ref) == "string" and ref:sub(1, 2) == "#/" then
        local target = pointer_get(root, ref)
        if target == nil then
            return nil
        end
        local resolved = inline(target, root, depth + 1)
        if resolved == nil then
            return nil
        end
        local rest, others = {}, false
        for k, v in pairs(node) do
            if k ~= "$ref" then
                rest[k], others = v, true
            end
        end
        if not others then
            return resolved
        end
        local both = { allOf = array { resolved, inline(rest, root, depth + 1) } }
        return both
    end
    local copy = encode.is_array(node) and array() or {}
    for k, v in pairs(node) do
        if k ~= "$defs" then
            local x = inline(v, root, depth)
            if x == nil then
                return nil
            end
            copy[k] = x
        end
    end
    return copy
end

--- `schema`, a part of `root`, with its references to `root` ("#/...")
-- replaced by what they point at; nil when one loops or points nowhere.
function _M.inline_refs(schema, root)
    return inline(schema, root, 0)
end

--- True when the schema holds a "$ref" (or "$dynamicRef") anywhere.
function _M.has_ref(schema)
    if type(schema) ~= "table" then
        return false
    end
    for k, v in pairs(schema) do
        if k == "$ref" or k == "$dynamicRef" or _M.has_ref(v) then
            return true
        end
    end
    return false
end

--- A schema the app wrote (a Lua table, sugar or not) as the tree JSON
-- gives back: arrays marked, so empty lists stay lists.
function _M.from_lua(schema, what)
    local text, err = require("soom.schema").to_json(schema)
    if not text then
        error(("%s: %s"):format(what, err), 0)
    end
    return json.decode(text)
end

-- ---- models --------------------------------------------------------------------------

local INT32 = { -2147483648, 2147483647 }

-- The kind of a column whose declaration names only its SQL type (a
-- foreign key's column, soom.f.column).
local SQL_KINDS = {
    integer = "integer", int = "integer", int4 = "integer", bigint = "bigint", int8 = "bigint",
    smallint = "smallint", int2 = "smallint", uuid = "uuid", text = "text", varchar = "varchar",
    ["character varying"] = "varchar", character = "varchar", char = "varchar",
    numeric = "numeric", boolean = "boolean", date = "date",
    ["timestamp with time zone"] = "timestamptz", timestamptz = "timestamptz",
}
local TEXT_KINDS = { timestamp = true, time = true, interval = true, inet = true, char = true }

local function base_schema(fd, out, numeric_as)
    local k = fd.kind
    if k == "foreign_key" or k == "column" then
        local t = (fd.sql_type or ""):lower()
        k = SQL_KINDS[t:match("^([%a ]-)%s*[%(%[]") or t] or "text"
    elseif k == "smallserial" then
        k = "smallint"
    elseif TEXT_KINDS[k] then
        k = "text"
    end
    local s = map()
    if k == "smallint" then
        s.type = "integer"
        s.minimum = -32768
        s.maximum = 32767
    elseif k == "integer" or k == "serial" then
        s.type = "integer"
        s.format = "int32"
        if k == "serial" then
            s.minimum = 1
            s.maximum = INT32[2]
        end
    elseif k == "bigint" or k == "bigserial" then
        s.type = "integer"
        s.format = "int64"
    elseif k == "real" or k == "double" then
        s.type = "number"
        s.format = k == "real" and "float" or "double"
    elseif k == "numeric" then
        if not out then
            s.type = array { "string", "number" }
        else
            s.type = numeric_as == "number" and "number" or "string"
        end
        s.format = "decimal"
    elseif k == "boolean" then
        s.type = "boolean"
    elseif k == "text" or k == "varchar" then
        s.type = "string"
        s.maxLength = fd.max_length
    elseif k == "uuid" then
        s.type = "string"
        s.format = "uuid"
    elseif k == "date" then
        s.type = "string"
        s.format = "date"
    elseif k == "timestamptz" then
        s.type = "string"
        s.format = "date-time"
    elseif k == "bytea" then
        s.type = "string"
        s.contentEncoding = "base64"
    elseif k == "array" then
        s.type = "array"
        s.items = base_schema(fd.of, out, numeric_as)
    end
    -- json and jsonb: any JSON value, the empty schema
    return s
end

local function with_null(s)
    if s.type == nil then
        return s -- any value, null included
    end
    if type(s.type) == "table" then
        local list = array()
        for i, t in ipairs(s.type) do
            list[i] = t
        end
        list[#list + 1] = "null"
        s.type = list
    else
        s.type = array { s.type, "null" }
    end
    return s
end

--- The schema of a model field: as written out (`out`) or as read from a
-- body. `numeric_as` is settings.numeric_as.
function _M.field(fd, out, numeric_as)
    local s = base_schema(fd, out, numeric_as)
    if fd.help then
        s.description = fd.help
    end
    if fd.choices then
        local list = array()
        for i, v in ipairs(fd.choices) do
            list[i] = type(v) == "table" and v.value or v
        end
        if fd.nullable then
            list[#list + 1] = json.null
        end
        s.enum = list
    end
    if fd.nullable and not fd.primary_key then
        with_null(s)
    end
    if not out and fd.default ~= nil and type(fd.default) ~= "string" then
        local d = fd.default
        s.default = type(d) == "table" and d.value ~= nil and d.value or d
    end
    return s
end

--- The ordered list of a plan's output fields with their model fields:
-- { name, fd, read_only, write_only, embed }. An embedded relation's
-- `embed` is { relation, entry }; `fd` is its key column (to-one) or nil.
function _M.serializer(res)
    local model, list = res.model, {}
    for _, f in ipairs(res:serializer_fields()) do
        local fd = f.column and model:field(f.column)
        if not fd and not f.embed then
            error(("%s: field %s is not a field of the model"):format(res.route, tostring(f.column)), 0)
        end
        list[#list + 1] = {
            name = f.name, fd = fd, write_only = f.write_only, embed = f.embed,
            read_only = f.read_only or (fd and (fd.read_only or fd.kind == "serial"
                or fd.kind == "bigserial")) or false,
        }
    end
    return list
end

--- A key naming a serializer() list within one document: lists over the
-- same model fields with the same names and flags have the same key, so
-- their objects are made once.
function _M.fields_key(fields)
    local parts = {}
    for i, f in ipairs(fields) do
        local embed = f.embed and (tostring(f.embed.relation) .. tostring(f.embed.entry)) or ""
        parts[i] = concat({ f.name, tostring(f.fd), f.read_only and "r" or "",
            f.write_only and "w" or "", embed }, "\1")
    end
    return concat(parts, "\0")
end

-- The fields of an embed's target as serializer() lists them.
local function embed_fields(rel, entry)
    local m, list = rel.target, {}
    for _, item in ipairs(entry.fields or m.field_names) do
        local name = type(item) == "table" and item[1] or item
        local source = type(item) == "table" and item.source or name
        local fd = m:field(source)
        local sub = not fd and m:relation(source)
        local embedded = type(item) == "table" and (item.fields or item.many ~= nil) or (sub and sub.many)
        if sub and embedded then
            list[#list + 1] = { name = name, embed = { relation = sub,
                entry = type(item) == "table" and item or { item } } }
        else
            list[#list + 1] = { name = name, fd = fd or (sub and m:field(sub.local_column)) }
        end
    end
    return list
end

-- The schema of an embedded relation as the core writes it.
local function embed_schema(e, numeric_as)
    local rel = e.relation
    local obj = _M.output_object(embed_fields(rel, e.entry), numeric_as)
    if rel.many then
        local s = map()
        s.type = "array"
        s.items = obj
        return s
    end
    local key = rel.kind == "foreign_key" and rel.owner:field(rel.local_column)
    if key == nil or key.nullable or rel.kind ~= "foreign_key" then
        obj = with_null(obj)
    end
    if e.entry.expand and key then
        local s = map()
        s.anyOf = array { _M.field(key, true, numeric_as), obj }
        s.description = ("the key, or the object with ?expand=%s"):format(e.entry[1])
        return s
    end
    return obj
end

--- The object a generic resource writes out: every field but write-only
-- ones, all present, and nothing else (the shape is exactly the plan's).
function _M.output_object(fields, numeric_as)
    local props, required = map(), array()
    for _, f in ipairs(fields) do
        if not f.write_only then
            local s = f.embed and embed_schema(f.embed, numeric_as) or _M.field(f.fd, true, numeric_as)
            if f.read_only and not f.embed then
                s.readOnly = true
            end
            props[f.name] = s
            required[#required + 1] = f.name
        end
    end
    local s = map()
    s.type = "object"
    s.properties = props
    s.required = required
    s.additionalProperties = false
    return s
end

--- The object a generic create (or, `partial`, an update) reads: writable
-- fields; on create the NOT NULL ones without a default are required.
-- Other keys are ignored, as the core does.
function _M.input_object(fields, partial)
    local props, required = map(), array()
    for _, f in ipairs(fields) do
        if not f.read_only and f.fd then -- an embedded to-one relation is written by its key
            local fd = f.fd
            local s = _M.field(fd, false)
            if f.write_only then
                s.writeOnly = true
            end
            props[f.name] = s
            if not partial and not fd.nullable and fd.default == nil then
                required[#required + 1] = f.name
            end
        end
    end
    local s = map()
    s.type = "object"
    s.properties = props
    if #required > 0 then
        s.required = required
    end
    return s
end

return _M
