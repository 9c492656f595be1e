--- soom.test: writing tests for an app, run by `soom test`.
--
-- A test file in an app's tests/ folder returns a list of cases:
--
--   local t = require "soom.test"
--   return {
--       t.case("GET /hello answers", function(client)
--           local res = client:get("/hello")
--           t.eq(res.status, 200)
--           t.eq(res.json, { message = "Hello, World!" })
--       end),
--   }
--
-- `soom test` starts the app on a free loopback port (a real server, real
-- HTTP), hands each case a client bound to it, and reports every case. A
-- Lua spec file (tests/lua/*_spec.lua) has the same shape; its cases get no
-- client.
--
-- The client remembers the requests of the running case: when an
-- assertion fails, `soom test` prints the last of them (method, path,
-- body, and the status and body of the answer) under the expected and
-- actual values.

local json = require "soom.json"

local type, pairs, tostring, error, getmetatable = type, pairs, tostring, error, getmetatable

local _M = {}

function _M.case(name, fn)
    if type(name) ~= "string" or type(fn) ~= "function" then
        error("t.case(name, fn)", 2)
    end
    return { name = name, fn = fn }
end

local function show(v)
    if type(v) == "table" then
        local text = json.encode(v)
        return text or tostring(v)
    end
    if type(v) == "string" then
        return ("%q"):format(v)
    end
    return tostring(v)
end

local function deep_equal(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return false
    end
    if json.is_array(a) ~= json.is_array(b) and (next(a) == nil or next(b) == nil) then
        return false -- [] is not {}
    end
    for k, v in pairs(a) do
        if not deep_equal(v, b[k]) then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end

_M.deep_equal = deep_equal

--- Fails unless `actual` equals `expected` (tables compared deeply).
function _M.eq(actual, expected, what)
    if not deep_equal(actual, expected) then
        error(("%sexpected %s, got %s"):format(what and what .. ": " or "", show(expected),
            show(actual)), 2)
    end
end

function _M.ok(value, what)
    if not value then
        error(what or "expected a true value", 2)
    end
    return value
end

--- Fails unless the string `s` matches the Lua pattern.
function _M.match(s, pattern, what)
    if type(s) ~= "string" or not s:find(pattern) then
        error(("%s%s does not match %q"):format(what and what .. ": " or "", show(s), pattern), 2)
    end
end

-- The text of an error value: a string, or the message of an error object
-- (a soom.error problem's detail, a usage error's msg).
local function error_text(err)
    if type(err) == "table" then
        return tostring(rawget(err, "detail") or rawget(err, "msg") or err)
    end
    return tostring(err)
end

--- Fails unless fn() raises an error whose text contains `text` (plain
-- text, not a pattern: say which error is expected).
function _M.raises(fn, text)
    if type(text) ~= "string" then
        error("t.raises needs the text the error must contain", 2)
    end
    local ok, err = pcall(fn)
    if ok then
        error(("expected an error containing %q"):format(text), 2)
    end
    if not error_text(err):find(text, 1, true) then
        error(("error %q does not contain %q"):format(error_text(err), text), 2)
    end
    return err
end

-- ---- the HTTP client -------------------------------------------------------

local Client = {}
Client.__index = Client

local Response = {}
Response.__index = function(res, k)
    if k == "json" then
        local v = rawget(res, "body") ~= "" and json.decode(res.body) or nil
        rawset(res, "json", v)
        return v
    end
    return nil
end

function _M.client(port)
    return setmetatable({ port = port, requests = {} }, Client)
end

-- Requests a client keeps for a failure's report: the last few of a case.
local KEEP = 3

--- client:request(method, path[, body[, headers]]): a table body is sent
-- as JSON. Returns { status, headers (lower-case names), body, json }.
function Client:request(method, path, body, headers)
    local testing = require "soom.core.testing"
    local hdrs = {}
    for k, v in pairs(headers or {}) do
        hdrs[k] = v
    end
    if type(body) == "table" then
        body = assert(json.encode(body))
        if not hdrs["Content-Type"] then
            hdrs["Content-Type"] = "application/json"
        end
    end
    local status, h, b = testing.http(self.port, method, path, hdrs, body)
    local seen = self.requests
    seen[#seen + 1] = { method = method, path = path, body = body, status = status, response = b }
    if #seen > KEEP then
        table.remove(seen, 1)
    end
    return setmetatable({ status = status, headers = h, body = b }, Response)
end

for _, m in pairs({ "get", "post", "put", "patch", "delete", "head", "options" }) do
    Client[m] = function(self, path, body, headers)
        return self:request(m:upper(), path, body, headers)
    end
end

_M.is_case = function(v)
    return type(v) == "table" and type(v.fn) == "function" and type(v.name) == "string"
        and getmetatable(v) == nil
end

return _M
