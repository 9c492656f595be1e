--- soom.errors: HTTP errors as values (RFC 9457 problem details).
--
-- A resource returns `soom.error(404, "no such sample")`, or raises it with
-- `error(soom.error(...))`; either way the client receives an
-- application/problem+json document. Anything else raised is a 500 whose
-- traceback goes to the log only.

local c = require "soom.core.c"

local setmetatable, getmetatable, type, rawget = setmetatable, getmetatable, type, rawget
local pairs, ipairs, tostring, sort = pairs, ipairs, tostring, table.sort

local function json_array()
    return setmetatable({}, c.array_mt)
end

local _M = {}

local Problem = {}
Problem.__index = Problem
Problem.__tostring = function(p)
    return ("HTTP %d: %s"):format(p.status, p.detail or p.title)
end

--- A problem with `status` (400..599), an optional `detail` text and
-- optional `extra` members: `errors` (a list of field errors), `type`,
-- `title`, `headers` (response headers), or any other member, which is
-- copied into the document.
function _M.error(status, detail, extra)
    if type(status) ~= "number" or status < 400 or status > 599 or status % 1 ~= 0 then
        error("soom.error: status must be an integer 400..599", 2)
    end
    if detail ~= nil and type(detail) ~= "string" then
        error("soom.error: detail must be a string", 2)
    end
    local p = {
        status = status,
        detail = detail,
        type = "about:blank",
        title = c.status_reason(status),
    }
    if extra ~= nil then
        if type(extra) ~= "table" then
            error("soom.error: extra members must be a table", 2)
        end
        for k, v in pairs(extra) do
            p[k] = v
        end
    end
    return setmetatable(p, Problem)
end

function _M.is_problem(v)
    return getmetatable(v) == Problem
end

--- The problem a raised value stands for, when it is not one itself but
-- its metatable knows (`to_problem`: an unhandled soom.http error is a 502
-- or a 504); nil for anything else, which is a 500.
function _M.to_problem(v)
    local mt = getmetatable(v)
    local convert = type(mt) == "table" and rawget(mt, "to_problem")
    if type(convert) == "function" then
        return convert(v)
    end
    return nil
end

--- The metatable of problems (the dispatcher compares it inline).
_M.PROBLEM_MT = Problem

-- RFC 9457's members, in its order; extensions follow, sorted by name.
local MEMBERS = { "type", "title", "status", "detail", "instance" }
local IS_MEMBER = { type = true, title = true, status = true, detail = true, instance = true,
    headers = true }
-- The members of a field error, as the core writes them.
local FIELD_ERROR = { "pointer", "detail", "code", "source" }
local IS_FIELD = { pointer = true, detail = true, code = true, source = true }

local function by_name(a, b)
    return tostring(a) < tostring(b)
end

-- `t`'s own members (`given` first, then `t`'s): `first` in that order,
-- then the others sorted.
local function ordered(t, first, skip, given)
    local out, rest = c.json_object(), {}
    for _, k in ipairs(first) do
        local v = given and given[k]
        if v == nil then
            v = rawget(t, k)
        end
        out[k] = v
    end
    for k in pairs(t) do
        if not skip[k] then
            rest[#rest + 1] = k
        end
    end
    sort(rest, by_name)
    for _, k in ipairs(rest) do
        out[k] = rawget(t, k)
    end
    return out
end

-- The field errors of a document, each in the core's order.
local function field_errors(list)
    if type(list) ~= "table" then
        return list
    end
    local out = json_array()
    for i, e in ipairs(list) do
        out[i] = type(e) == "table" and getmetatable(e) == nil and ordered(e, FIELD_ERROR, IS_FIELD)
            or e
    end
    return out
end

--- The document to send for a problem, with `instance` set to the
-- request path, and its response headers. Its members come in RFC 9457's
-- order (type, title, status, detail, instance), then the extensions
-- sorted by name; each field error as { pointer, detail, code, ... }.
function _M.document(p, instance)
    local doc = ordered(p, MEMBERS, IS_MEMBER, { instance = rawget(p, "instance") or instance })
    if doc.errors ~= nil then
        doc.errors = field_errors(doc.errors)
    end
    return doc, p.headers
end

return _M
