--- soom.errors: HTTP errors as values (RFC 9457 problem details).
--
-- A resource returns `soom.error(404, "no such sample")`, or raises it with
-- `error(soom.error(...))`; either way the client receives an
-- application/problem+json document. Anything else raised is a 500 whose
-- traceback goes to the log only.

local c = require "soom.core.c"

local setmetatable, getmetatable, type, rawget = setmetatable, getmetatable, type, rawget

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

--- The document to send for a problem, with `instance` set to the
-- request path, and its response headers.
function _M.document(p, instance)
    local doc = {}
    for k, v in pairs(p) do
        if k ~= "headers" then
            doc[k] = v
        end
    end
    doc.instance = doc.instance or instance
    return doc, p.headers
end

return _M
