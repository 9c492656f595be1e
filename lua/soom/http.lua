--- soom.http: calls to other services.
--
--   local http = require "soom.http"            -- also soom.http
--   local res, err = http.get("http://users:8000/users/42", { timeout = 2 })
--   if not res then
--       return soom.error(502, "the user service is unavailable")  -- err.kind says why
--   end
--   return { name = res.json.name }
--
--   local res = assert(http.post(url, { json = { name = "x" } }))  -- unhandled: a 502/504
--
-- get, head, post, put, patch, delete (url, options) and request(options
-- with method and url) return a response { status, headers (lower-case
-- names), body (the bytes), json (the decoded body when it is JSON) } or
-- nil and an error. Under the async server the handler's coroutine yields
-- while the call is in flight, so the worker serves other requests; under
-- the other models the thread waits.
--
-- Options: headers, query (a table; lists repeat the key), json (a value
-- sent as JSON) or body (a string), timeout (seconds for each attempt,
-- settings http.timeout), connect_timeout, total_timeout (every attempt
-- and the pauses between them), retries (0: none; only for GET, HEAD, PUT,
-- DELETE and OPTIONS), retry_backoff (0.1 s, doubled after each attempt),
-- status_errors (true: a 4xx or 5xx answer is an error), max_size (bytes of
-- body, 16 MiB), ca_file (a CA bundle instead of the system's). Every call
-- ends by the request's request_timeout too, and carries its X-Request-Id
-- and W3C trace context.
--
-- An error has a kind: "timeout", "refused", "dns", "tls", "connection"
-- (reset, closed mid-answer), "too_large", "url", "status" (with status
-- and response) or "json" (a JSON answer that does not parse, with
-- response); a message for the log; the url. Raised and not handled, it
-- is answered as a 504 problem (timeout) or a 502 one, its details logged.

local c = require "soom.core.c"
local core = require "soom.core.http"
local errors = require "soom.errors"
local json = require "soom.json"
local settings = require("soom.core.settings").get

local type, pairs, ipairs, error, setmetatable, getmetatable, tostring, tonumber =
    type, pairs, ipairs, error, setmetatable, getmetatable, tostring, tonumber
local concat, sort, format, byte = table.concat, table.sort, string.format, string.byte

local _M = {}

local IDEMPOTENT = { GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true }
local RETRIED_KINDS = { timeout = true, refused = true, connection = true }
local RETRIED_STATUS = { [429] = true, [502] = true, [503] = true, [504] = true }
local MAX_SIZE = 16 * 1024 * 1024

-- ---- errors --------------------------------------------------------------

local Error = {}
Error.__index = Error

function Error.__tostring(e)
    return format("%s: %s (%s)", e.kind, e.message, e.url)
end

--- The problem an unhandled error becomes (soom.errors.to_problem).
function Error.to_problem(e)
    c.log("warn", "an outbound call failed and the handler did not handle it", {
        kind = e.kind, url = e.url, error = e.message, status = e.status,
    })
    if e.kind == "timeout" then
        return errors.error(504, "an upstream service did not answer in time")
    end
    return errors.error(502, "an upstream service failed (" .. e.kind .. ")")
end

local function fail(kind, message, url, extra)
    local e = setmetatable({ kind = kind, message = message, url = url }, Error)
    if extra then
        for k, v in pairs(extra) do
            e[k] = v
        end
    end
    return nil, e
end

--- True when `v` is an error of soom.http.
function _M.is_error(v)
    return getmetatable(v) == Error
end

-- ---- requests ------------------------------------------------------------

local function escape(s)
    return (tostring(s):gsub("[^%w%-%._~]", function(ch)
        return format("%%%02X", byte(ch))
    end))
end

local function with_query(url, query)
    if query == nil then
        return url
    end
    if type(query) ~= "table" then
        error("soom.http: query must be a table", 4)
    end
    local keys = {}
    for k in pairs(query) do
        keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
        local v = query[k]
        local list = type(v) == "table" and v or { v }
        for _, item in ipairs(list) do
            parts[#parts + 1] = escape(k) .. "=" .. escape(item)
        end
    end
    if #parts == 0 then
        return url
    end
    return url .. (url:find("?", 1, true) and "&" or "?") .. concat(parts, "&")
end

local function is_json(content_type)
    if not content_type then
        return false
    end
    local media = content_type:lower():match("^%s*([^;%s]+)")
    return media == "application/json" or (media ~= nil and media:sub(-5) == "+json")
end

-- Builds what soom.core.http.request takes.
local function spec(method, url, opts)
    local s = settings().http or {}
    local headers = {}
    for k, v in pairs(opts.headers or {}) do
        headers[k] = tostring(v)
    end
    local body = opts.body
    if opts.json ~= nil then
        local text, err = json.encode(opts.json)
        if text == nil then
            error("soom.http: the json option cannot be encoded: " .. tostring(err), 4)
        end
        body = text
        local has_type = false
        for k in pairs(headers) do
            has_type = has_type or k:lower() == "content-type"
        end
        if not has_type then
            headers["Content-Type"] = "application/json"
        end
    end
    if body ~= nil and type(body) ~= "string" then
        error("soom.http: body must be a string (use json for a value)", 4)
    end
    headers["User-Agent"] = headers["User-Agent"] or ("soom/" .. c.version)
    return {
        method = method, url = with_query(url, opts.query), headers = headers, body = body,
        timeout = opts.timeout or s.timeout, connect_timeout = opts.connect_timeout or s.connect_timeout,
        ca_file = opts.ca_file or s.ca_file, max_size = opts.max_size or MAX_SIZE,
        max_per_host = s.max_per_host,
    }
end

-- One attempt: a response, or nil and an error.
local function attempt(sp, opts)
    local status, headers, body = core.request(sp)
    if status == nil then
        return fail(headers, body, sp.url)
    end
    local res = { status = status, headers = headers, body = body }
    if is_json(headers["content-type"]) and #body > 0 and sp.method ~= "HEAD" then
        local doc, err = json.decode(body)
        if doc == nil and err ~= nil then
            return fail("json", "the answer is not valid JSON: " .. tostring(err), sp.url,
                { status = status, response = res })
        end
        res.json = doc
    end
    if status >= 400 and opts.status_errors ~= false then
        return fail("status", "the answer was " .. status, sp.url, { status = status, response = res })
    end
    return res
end

-- The pause before the next attempt, or nil when there is none.
local function pause(err, n, backoff)
    if err.response and (err.status == 429 or err.status == 503) then
        local after = tonumber(err.response.headers["retry-after"] or "")
        if after then
            return after
        end
    end
    return backoff * 2 ^ (n - 1)
end

local function retried(err)
    return RETRIED_KINDS[err.kind] or (err.kind == "status" and RETRIED_STATUS[err.status])
end

--- A call: options as above, with `method` and `url`.
function _M.request(opts)
    if type(opts) ~= "table" or type(opts.url) ~= "string" or type(opts.method) ~= "string" then
        error("soom.http.request needs a table with a method and a url", 2)
    end
    local method = opts.method:upper()
    local retries = opts.retries or 0
    if retries > 0 and not IDEMPOTENT[method] then
        error("soom.http: retries are only for idempotent methods (GET, HEAD, PUT, DELETE, "
            .. "OPTIONS), not " .. method, 2)
    end
    local sp = spec(method, opts.url, opts)
    local deadline = opts.total_timeout and c.now() + opts.total_timeout
    local backoff = opts.retry_backoff or 0.1
    for n = 1, retries + 1 do
        if deadline then
            local left = deadline - c.now()
            if left <= 0 then
                return fail("timeout", "total_timeout ran out", sp.url)
            end
            if not sp.timeout or sp.timeout == 0 or left < sp.timeout then
                sp.timeout = left
            end
        end
        local res, err = attempt(sp, opts)
        if res or n > retries or not retried(err) then
            return res, err
        end
        local wait = pause(err, n, backoff)
        if deadline and c.now() + wait >= deadline then
            return res, err
        end
        if not c.sleep(wait) then
            return fail("timeout", "the request's time ran out between attempts", sp.url)
        end
    end
end

for _, method in ipairs({ "get", "head", "post", "put", "patch", "delete", "options" }) do
    local name = method:upper()
    _M[method] = function(url, opts)
        if type(url) ~= "string" then
            error("soom.http." .. method .. " needs a URL", 2)
        end
        local o = {}
        for k, v in pairs(opts or {}) do
            o[k] = v
        end
        o.method, o.url = name, url
        return _M.request(o)
    end
end

return _M
