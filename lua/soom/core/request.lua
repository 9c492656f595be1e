--- soom.core.request: the request object handed to resources.
--
-- A thin Lua table over the C request. Fields are read through the FFI the
-- first time they are used and then cached in the table, so a handler pays
-- only for what it reads:
--   req.method   "GET", ...            req.path     "/samples/42"
--   req.params   route parameters, typed ({id:int} gives a number)
--   req.query    query parameters (a repeated key gives its last value;
--                with a query_schema, the validated values, typed)
--   req.headers  headers by lower-case name
--   req.body     the parsed JSON body (nil without a body)
--   req.raw_body the body bytes        req.id       the request id
--   req:header(name)       one header, any case
--   req:query_all(name)    every value of a repeated query parameter
-- The C request is freed when the response is sent; close() cuts the link
-- first, so a request kept past its handler raises instead of reading
-- freed memory.

local ffi = require "ffi"
local c = require "soom.core.c"

ffi.cdef(require "soom.core.cdef")

local C = ffi.C
local ffi_string, ffi_cast = ffi.string, ffi.cast
local setmetatable, rawget, rawset, tonumber, error = setmetatable, rawget, rawset, tonumber, error

local _M = {}

local REQ = ffi.typeof("const struct soom_request *")
local PTR = ffi.new("const char *[2]")
local LEN = ffi.new("size_t[2]")
local TYPE = ffi.new("int[1]")
local PARAM_INT = 1

local getters = {}
local methods = {}

function getters._r(self)
    local p = rawget(self, "_p")
    if p == nil then
        error("the request was used after its response was sent", 3)
    end
    return ffi_cast(REQ, p)
end

local function pair(i)
    return ffi_string(PTR[i], LEN[i])
end

function getters.path(self)
    C.soom_ffi_req_path(self._r, PTR, LEN)
    return pair(0)
end

function getters.id(self)
    C.soom_ffi_req_id(self._r, PTR, LEN)
    return pair(0)
end

function getters.raw_body(self)
    if C.soom_ffi_req_body(self._r, PTR, LEN) == 0 then
        return nil
    end
    return pair(0)
end

function getters.body(self)
    return c.request_body(self._p)
end

function getters.params(self)
    local r, t = self._r, {}
    for i = 0, C.soom_ffi_req_param_count(r) - 1 do
        C.soom_ffi_req_param_at(r, i, PTR, LEN, PTR + 1, LEN + 1, TYPE)
        local v = pair(1)
        t[pair(0)] = TYPE[0] == PARAM_INT and tonumber(v) or v
    end
    return t
end

function getters.query(self)
    local coerced = c.request_query(self._p)
    if coerced ~= nil then
        return coerced -- validated and typed by the route's query_schema
    end
    local r, t = self._r, {}
    for i = 0, C.soom_ffi_req_query_count(r) - 1 do
        C.soom_ffi_req_query_at(r, i, PTR, LEN, PTR + 1, LEN + 1)
        t[pair(0)] = pair(1)
    end
    return t
end

function getters.headers(self)
    local r, t = self._r, {}
    for i = 0, C.soom_ffi_req_header_count(r) - 1 do
        C.soom_ffi_req_header_at(r, i, PTR, LEN, PTR + 1, LEN + 1)
        t[pair(0):lower()] = pair(1)
    end
    return t
end

function methods:header(name)
    if C.soom_ffi_req_header(self._r, name, #name, PTR, LEN) == 0 then
        return nil
    end
    return pair(0)
end

function methods:query_all(name)
    local r, list = self._r, {}
    for i = 0, C.soom_ffi_req_query_count(r) - 1 do
        C.soom_ffi_req_query_at(r, i, PTR, LEN, PTR + 1, LEN + 1)
        if pair(0) == name then
            list[#list + 1] = pair(1)
        end
    end
    return list
end

local mt = {
    __index = function(self, k)
        local get = getters[k]
        if get then
            local v = get(self)
            rawset(self, k, v)
            return v
        end
        return methods[k]
    end,
}

function _M.new(ptr, method, route)
    return setmetatable({ _p = ptr, method = method, route = route and route.pattern }, mt)
end

--- Cuts the link to the C request (its response is about to be sent).
function _M.close(req)
    rawset(req, "_p", nil)
    rawset(req, "_r", nil)
end

return _M
