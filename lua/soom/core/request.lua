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
--   req.trace    W3C trace context: trace_id, span_id (this request's),
--                parent_id (nil when the trace starts here), sampled,
--                tracestate (or nil), traceparent (to send on, with this
--                request's span as the parent)
--   req.user     the authenticated user's fields (never its password) and
--                is_authenticated = true, or { is_authenticated = false }
--   req.auth     what authenticated it: the token's row, the JWT's claims...
--                (nil when anonymous)
--   req:header(name)       one header, any case
--   req:query_all(name)    every value of a repeated query parameter
-- The C request (a light userdata) is kept in a table private to this
-- module, never on the request table users see; other modules of soom.core
-- reach it with handle(req). The C request is freed when the response is
-- sent; close() cuts the link first, so a request kept past its handler
-- raises instead of reading freed memory.

local ffi = require "ffi"
local c = require "soom.core.c"
local access = require "soom.core.access"

ffi.cdef(require "soom.core.cdef")

local C = ffi.C
local ffi_string, ffi_cast = ffi.string, ffi.cast
local setmetatable, rawset, tonumber, error = setmetatable, rawset, tonumber, error

local _M = {}

local REQ = ffi.typeof("const struct soom_request *")
local PTR = ffi.new("const char *[4]")
local LEN = ffi.new("size_t[4]")
local TYPE = ffi.new("int[1]")
local PARAM_INT = C.SOOM_PARAM_INT

--- Method names by enum soom_method bit, from the generated declarations.
_M.METHOD_NAMES = {
    [C.SOOM_GET] = "GET", [C.SOOM_HEAD] = "HEAD", [C.SOOM_POST] = "POST", [C.SOOM_PUT] = "PUT",
    [C.SOOM_PATCH] = "PATCH", [C.SOOM_DELETE] = "DELETE", [C.SOOM_OPTIONS] = "OPTIONS",
}

-- request table -> its C request (weak keys: a table dropped with its link
-- still open is collected all the same)
local handles = setmetatable({}, { __mode = "k" })

local getters = {}
local methods = {}

--- The C request of `req` (a light userdata), for the C functions of
-- soom.core; raises once the response has been sent.
function _M.handle(req)
    local p = handles[req]
    if p == nil then
        error("the request was used after its response was sent", 3)
    end
    return p
end
local handle = _M.handle

-- The C request as FFI cdata, for the soom_ffi_* calls (a cast costs nothing
-- once compiled, and each field is read once: no need to keep it).
local function cast(req)
    return ffi_cast(REQ, handle(req))
end

local function pair(i)
    return ffi_string(PTR[i], LEN[i])
end

function getters.path(self)
    C.soom_ffi_req_path(cast(self), PTR, LEN)
    return pair(0)
end

function getters.id(self)
    C.soom_ffi_req_id(cast(self), PTR, LEN)
    return pair(0)
end

function getters.trace(self)
    local flags = C.soom_ffi_req_trace(cast(self), PTR, LEN)
    local t = { trace_id = pair(0), span_id = pair(1), sampled = flags % 2 == 1 }
    if LEN[2] > 0 then
        t.parent_id = pair(2)
    end
    if LEN[3] > 0 then
        t.tracestate = pair(3)
    end
    t.traceparent = ("00-%s-%s-%02x"):format(t.trace_id, t.span_id, flags)
    return t
end

function getters.raw_body(self)
    if C.soom_ffi_req_body(cast(self), PTR, LEN) == 0 then
        return nil
    end
    return pair(0)
end

function getters.body(self)
    return c.request_body(handle(self))
end

function getters.user(self)
    return access.user(handle(self))
end

function getters.auth(self)
    return access.auth(handle(self))
end

function getters.params(self)
    local r, t = cast(self), {}
    for i = 0, C.soom_ffi_req_param_count(r) - 1 do
        C.soom_ffi_req_param_at(r, i, PTR, LEN, PTR + 1, LEN + 1, TYPE)
        local v = pair(1)
        t[pair(0)] = TYPE[0] == PARAM_INT and tonumber(v) or v
    end
    return t
end

function getters.query(self)
    local coerced = c.request_query(handle(self))
    if coerced ~= nil then
        return coerced -- validated and typed by the route's query_schema
    end
    local r, t = cast(self), {}
    for i = 0, C.soom_ffi_req_query_count(r) - 1 do
        C.soom_ffi_req_query_at(r, i, PTR, LEN, PTR + 1, LEN + 1)
        t[pair(0)] = pair(1)
    end
    return t
end

function getters.headers(self)
    local r, t = cast(self), {}
    for i = 0, C.soom_ffi_req_header_count(r) - 1 do
        C.soom_ffi_req_header_at(r, i, PTR, LEN, PTR + 1, LEN + 1)
        t[pair(0):lower()] = pair(1)
    end
    return t
end

function methods:header(name)
    if C.soom_ffi_req_header(cast(self), name, #name, PTR, LEN) == 0 then
        return nil
    end
    return pair(0)
end

function methods:query_all(name)
    local r, list = cast(self), {}
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
    local req = setmetatable({ method = method, route = route and route.pattern }, mt)
    handles[req] = ptr
    return req
end

--- Cuts the link to the C request (its response is about to be sent).
function _M.close(req)
    handles[req] = nil
end

return _M
