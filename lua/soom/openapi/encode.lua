--- soom.openapi.encode: ordered maps, and the JSON and YAML writers of the
-- OpenAPI document.
--
-- The document must be the same bytes on every run, so nothing here
-- depends on the order in which Lua happens to walk a table: a map made
-- with map() keeps the order its keys were first set in (operations,
-- properties in serializer order), and any other table is written with its
-- keys sorted. Arrays are tables marked by soom.json.array() or decoded
-- from JSON, or tables whose keys are exactly 1..n.
--
-- JSON comes out indented by two spaces, as JSON.stringify(doc, null, 2)
-- writes it, so a document committed to a repository diffs line by line.
-- YAML is the same tree in block style; a string is written plain only
-- when no YAML reader could take it for anything else, double-quoted (with
-- JSON's escapes, which YAML shares) otherwise.

local document = require "soom.core.document"
local json = require "soom.json"

local type, pairs, ipairs, next, setmetatable, getmetatable, rawset =
    type, pairs, ipairs, next, setmetatable, getmetatable, rawset
local sort = table.sort

local _M = {}

-- ---- ordered maps ---------------------------------------------------------------

-- A map's keys, in order, live in its own metatable (`keys`): a document
-- makes tens of thousands of maps, and one table each is cheaper than an
-- entry in a weak table the collector must clear.
local function add_key(t, k, v)
    local keys = getmetatable(t).keys
    keys[#keys + 1] = k
    rawset(t, k, v)
end

--- A table that remembers the order its keys were first set in.
function _M.map()
    return setmetatable({}, { __newindex = add_key, keys = {} })
end

-- The ordered keys of a map, or nil for any other table.
local function map_keys(t)
    local mt = getmetatable(t)
    return mt ~= nil and mt.__newindex == add_key and mt.keys or nil
end

function _M.is_map(t)
    return map_keys(t) ~= nil
end

local function is_array(t)
    if json.is_array(t) then
        return true
    end
    if next(t) == nil or map_keys(t) then
        return false
    end
    local n = #t
    if n == 0 then
        return false
    end
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
            return false
        end
    end
    return true
end

_M.is_array = is_array

local function key_before(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
        return ta == "number"
    end
    return a < b
end

--- The keys of an object in the order they are written.
local function keys_of(t)
    local ordered = map_keys(t)
    if ordered then
        local list = {}
        for _, k in ipairs(ordered) do
            if t[k] ~= nil then
                list[#list + 1] = k
            end
        end
        return list
    end
    local list = {}
    for k in pairs(t) do
        list[#list + 1] = k
    end
    sort(list, key_before)
    return list
end

_M.keys = keys_of

-- ---- JSON -------------------------------------------------------------------------

--- The document as indented JSON text, ending with a newline. The writers
-- are C (soom.core.document), by the rules above: a document of 200 routes
-- is a megabyte and a half that Lua took tens of milliseconds to write.
function _M.json(doc)
    return document.json(doc)
end

--- Compact JSON with every object's keys sorted: the identity of a schema,
-- to tell equal components from different ones (soom.core.document).
function _M.canonical(v)
    return document.canonical(v)
end

-- ---- YAML -------------------------------------------------------------------------

--- The document as YAML text (block style; soom.core.document): a string is
-- written plain only when no YAML 1.1 or 1.2 reader could take it for
-- anything else (a boolean, null, a number, a key or a flow collection),
-- double-quoted with JSON's escapes, which YAML shares, otherwise.
function _M.yaml(doc)
    return document.yaml(doc)
end

return _M
