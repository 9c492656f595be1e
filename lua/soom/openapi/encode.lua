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

local json = require "soom.json"

local type, pairs, ipairs, next, tostring, setmetatable, getmetatable, rawset, error =
    type, pairs, ipairs, next, tostring, setmetatable, getmetatable, rawset, error
local concat, sort, rep, format, floor = table.concat, table.sort, string.rep, string.format,
    math.floor

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

-- A document of 200 routes holds some hundred thousand scalars: the common
-- ones are written here as the core's JSON writer would (printable ASCII
-- without a quote or a backslash needs no escape; integers up to 2^53 are
-- written whole), the rest by that writer itself.
local function scalar_text(v)
    if v == json.null then
        return "null"
    end
    local t = type(v)
    if t == "boolean" then
        return v and "true" or "false"
    end
    if t == "string" and not v:find('[^ !#-%[%]-~]') then
        return '"' .. v .. '"'
    end
    if t == "number" and v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 and v ~= 0 then
        return format("%d", v)
    end
    if t == "number" or t == "string" then
        local text, err = json.encode(v)
        if not text then
            error("the OpenAPI document holds a value JSON cannot carry: " .. tostring(err), 0)
        end
        return text
    end
    error("the OpenAPI document holds a " .. t, 0)
end

-- The same strings (keys, types, references) come back thousands of times:
-- each is written once per document.
local memo = {}

local function scalar_json(v)
    local text = memo[v]
    if text == nil then
        text = scalar_text(v)
        if v ~= nil then
            memo[v] = text
        end
    end
    return text
end

local function json_value(out, v, indent)
    if type(v) ~= "table" or v == json.null then
        out[#out + 1] = scalar_json(v)
        return
    end
    local inner = indent .. "  "
    if is_array(v) then
        if #v == 0 then
            out[#out + 1] = "[]"
            return
        end
        out[#out + 1] = "["
        for i, item in ipairs(v) do
            out[#out + 1] = (i > 1 and ",\n" or "\n") .. inner
            json_value(out, item, inner)
        end
        out[#out + 1] = "\n" .. indent .. "]"
        return
    end
    local keys = keys_of(v)
    if #keys == 0 then
        out[#out + 1] = "{}"
        return
    end
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
        out[#out + 1] = (i > 1 and ",\n" or "\n") .. inner .. scalar_json(tostring(k)) .. ": "
        json_value(out, v[k], inner)
    end
    out[#out + 1] = "\n" .. indent .. "}"
end

--- The document as indented JSON text, ending with a newline.
function _M.json(doc)
    local out = {}
    memo = {}
    json_value(out, doc, "")
    memo = {}
    out[#out + 1] = "\n"
    return concat(out)
end

--- Compact JSON with sorted keys: the identity of a schema, to tell equal
-- components from different ones.
function _M.canonical(v)
    if type(v) ~= "table" or v == json.null then
        return scalar_json(v)
    end
    local parts = {}
    if is_array(v) then
        for i, item in ipairs(v) do
            parts[i] = _M.canonical(item)
        end
        return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do
        keys[#keys + 1] = k
    end
    sort(keys, key_before)
    for i, k in ipairs(keys) do
        parts[i] = scalar_json(tostring(k)) .. ":" .. _M.canonical(v[k])
    end
    return "{" .. concat(parts, ",") .. "}"
end

-- ---- YAML -------------------------------------------------------------------------

-- Words a YAML 1.1 or 1.2 reader takes for booleans or null.
local RESERVED = {
    ["true"] = true, ["false"] = true, yes = true, no = true, on = true, off = true,
    y = true, n = true, null = true, ["~"] = true,
}

local function plain_ok(s)
    return s ~= "" and s:find("^[%a_/$][%w _./{}$+,()'-]*$") ~= nil and s:sub(-1) ~= " "
        and not RESERVED[s:lower()]
end

local plain_memo = {}

local function yaml_string(s)
    local plain = plain_memo[s]
    if plain == nil then
        plain = plain_ok(s)
        plain_memo[s] = plain
    end
    if plain then
        return s
    end
    return scalar_json(s)
end

local function yaml_scalar(v)
    if type(v) == "string" then
        return yaml_string(v)
    end
    return scalar_json(v)
end

local function empty_of(v)
    if is_array(v) then
        return #v == 0 and "[]" or nil
    end
    return next(v) == nil and "{}" or nil
end

local yaml_block

-- Writes `v` after "key:" or "- ": inline when a scalar or empty, else as
-- a block on the following lines (a map in a list starts on the dash's
-- line).
local function yaml_after(out, v, indent, in_list)
    if type(v) ~= "table" or v == json.null then
        out[#out + 1] = " " .. yaml_scalar(v) .. "\n"
        return
    end
    local empty = empty_of(v)
    if empty then
        out[#out + 1] = " " .. empty .. "\n"
        return
    end
    if in_list and not is_array(v) then
        out[#out + 1] = " "
        yaml_block(out, v, indent, true)
        return
    end
    out[#out + 1] = "\n"
    yaml_block(out, v, indent, false)
end

function yaml_block(out, v, indent, first_inline)
    local pad = rep(" ", indent)
    if is_array(v) then
        for _, item in ipairs(v) do
            out[#out + 1] = pad .. "-"
            yaml_after(out, item, indent + 2, true)
        end
        return
    end
    for i, k in ipairs(keys_of(v)) do
        local lead = (i == 1 and first_inline) and "" or pad
        out[#out + 1] = lead .. yaml_string(tostring(k)) .. ":"
        yaml_after(out, v[k], indent + 2, false)
    end
end

--- The document as YAML text (block style).
function _M.yaml(doc)
    local out = {}
    memo, plain_memo = {}, {}
    yaml_block(out, doc, 0, false)
    memo, plain_memo = {}, {}
    return concat(out)
end

return _M
