--- soom.core.report: the Sentry event of an uncaught error in a resource.
--
-- frames() runs inside the error handler, where the failing stack is still
-- there to walk; event() then builds the event from the frames, the
-- request and the route, scrubbed of credentials (Authorization, Cookie
-- and the like) and of the body fields named in
-- error_reporting.scrub_fields, and returns it as JSON for the core's
-- sender (which adds the ids, times and release). Nothing here may raise:
-- a report must never turn a 500 into something worse.

local c = require "soom.core.c"

local getinfo, tostring, type, pairs, pcall = debug.getinfo, tostring, type, pairs, pcall
local setmetatable, getmetatable, floor = setmetatable, getmetatable, math.floor
local lower, gmatch, concat = string.lower, string.gmatch, table.concat

local _M = {}

local FILTERED = "[Filtered]"
local SECRET_HEADERS = {
    authorization = true, ["proxy-authorization"] = true, cookie = true, ["set-cookie"] = true,
    ["x-api-key"] = true, ["x-auth-token"] = true,
}
local MAX_FRAMES = 50

local scrub_fields = {}

--- Reads the settings once per state.
function _M.setup(settings)
    local er = settings.error_reporting or {}
    scrub_fields = {}
    for name in gmatch(er.scrub_fields or "", "[^,%s]+") do
        scrub_fields[lower(name)] = true
    end
end

--- The frames of the stack at the error, the caller's first, up to (not
-- including) the dispatcher `stop`.
function _M.frames(level, stop)
    local frames = {}
    for l = level, level + MAX_FRAMES do
        local info = getinfo(l, "Slnf")
        if info == nil or info.func == stop then
            break
        end
        local file = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
        frames[#frames + 1] = {
            filename = info.short_src,
            abs_path = file,
            lineno = info.currentline > 0 and info.currentline or nil,
            ["function"] = info.name or (info.what == "main" and "main chunk" or "?"),
            in_app = info.what ~= "C" and not file:find("/lua/soom/", 1, true),
        }
    end
    -- Sentry lists the oldest call first and the failing one last
    local n = #frames
    for i = 1, floor(n / 2) do
        frames[i], frames[n - i + 1] = frames[n - i + 1], frames[i]
    end
    return frames
end

local function scrub(value, depth)
    if type(value) ~= "table" or depth > 20 then
        return value
    end
    local out = {}
    for k, v in pairs(value) do
        if type(k) == "string" and scrub_fields[lower(k)] then
            out[k] = FILTERED
        else
            out[k] = scrub(v, depth + 1)
        end
    end
    return setmetatable(out, getmetatable(value))
end

local function request_part(req, settings)
    local headers = {}
    for k, v in pairs(req.headers) do
        headers[k] = SECRET_HEADERS[k] and FILTERED or v
    end
    local scheme = "http"
    if settings.trust_proxy and headers["x-forwarded-proto"] then
        scheme = headers["x-forwarded-proto"]
    end
    local q = {}
    for k, v in pairs(req.query) do
        q[#q + 1] = tostring(k) .. "=" .. tostring(v)
    end
    local part = {
        method = req.method,
        url = scheme .. "://" .. (headers.host or "localhost") .. req.path,
        query_string = concat(q, "&"),
        headers = headers,
    }
    local ok, body = pcall(function() return req.body end)
    if ok and body ~= nil then
        part.data = scrub(body, 0)
    end
    return part
end

local function build(message, frames, req, route, settings)
    local trace = req.trace
    local event = {
        exception = { values = { {
            type = "LuaError",
            value = message,
            mechanism = { type = "soom", handled = false },
            stacktrace = { frames = frames },
        } } },
        request = request_part(req, settings),
        transaction = req.method .. " " .. (route or req.path),
        tags = { route = route, request_id = req.id, trace_id = trace.trace_id },
        contexts = { trace = {
            trace_id = trace.trace_id, span_id = trace.span_id, parent_span_id = trace.parent_id,
            op = "http.server",
        } },
    }
    return c.json_encode(event)
end

--- The event as JSON, or nil when it cannot be built.
function _M.event(message, frames, req, route, settings)
    local ok, json = pcall(build, tostring(message), frames, req, route, settings)
    if ok then
        return json
    end
    return nil
end

return _M
