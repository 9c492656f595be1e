--- soom.core.worker: the Lua side of a worker state.
--
-- The core loads this module in every worker state, calls init() once with
-- the app folder and the effective settings, and then calls the returned
-- dispatch function for each request, on a coroutine, with the route's
-- number, the request (a light userdata) and its method (an enum soom_method
-- bit, which saves making a string per request). dispatch never
-- raises: it returns
--   status, body, headers, content_type, log_error, report
-- where body is a table (encoded to JSON in C), a string or nil,
-- log_error, when set, is a traceback for the log, and report, with error
-- reporting on, the error's event as JSON for the core's sender.
--
-- The core also calls hook for the steps of a route's access chain written
-- in Lua (an authentication class's authenticate, a permission's
-- has_permission), with the route, the request, its method, what (0:
-- authenticate, 1: has_permission) and the class's number; hook returns
--   "none" | "ok"[, user, auth] | "fail"[, detail] | "answer", <dispatch's six>

local access = require "soom.core.chain"
local errors = require "soom.errors"
local loader = require "soom.core.loader"
local pg = require "soom.core.pg"
local request = require "soom.core.request"
local Resource = require("soom.resource").Resource
local report = require "soom.core.report"

local setmetatable, getmetatable, xpcall, pcall = setmetatable, getmetatable, xpcall, pcall
local pairs, ipairs, tostring, traceback, type = pairs, ipairs, tostring, debug.traceback, type

local _M = {}

local routes
local instance_mts = {} -- per route: the metatable of its per-request instances
local readonly_routes = {} -- per route: its GET handler's reads may go to a replica
local handlers = {}     -- per route: method name -> handler, when dispatch is not overridden

local PROBLEM = "application/problem+json"
local PROBLEM_MT = errors.PROBLEM_MT

local METHOD_NAMES = request.METHOD_NAMES

local INTERNAL = {
    type = "about:blank",
    title = "Internal Server Error",
    status = 500,
    detail = "the server hit an error; the request id is in the log",
}

local RESPONDED = require("soom.core.plan").RESPONDED

local reporting = false -- error_reporting.dsn is set
local settings_
local run

-- The error's text for the log, even when its __tostring raises (the
-- error it raised is named instead).
local function describe(err)
    local ok, text = pcall(tostring, err)
    if ok and type(text) == "string" then
        return text
    end
    local ok2, why = pcall(tostring, text)
    return ("(an error object whose __tostring raised: %s)"):format(ok2 and why or "?")
end

local function on_error(err)
    if errors.is_problem(err) or err == RESPONDED then
        return err -- a problem to send, or a response C already made
    end
    local p = errors.to_problem(err) -- an unhandled soom.http error: a 502 or a 504
    if p then
        return p
    end
    local text = describe(err)
    return {
        traceback = traceback(text, 2),
        message = text,
        frames = reporting and report.frames(3, run) or nil,
    }
end

-- What xpcall gives when the handler itself could not run (an error in
-- the error handling, "not enough memory"): the failure as on_error's.
local function failure(body)
    if type(body) == "table" and body.traceback then
        return body
    end
    local text = describe(body)
    return { traceback = "the error handler could not run: " .. text, message = text }
end

function run(route_id, req)
    if readonly_routes[route_id] and (req.method == "GET" or req.method == "HEAD") then
        pg.readonly()
    end
    local self = setmetatable({ request = req }, instance_mts[route_id])
    local by_method = handlers[route_id]
    if by_method then
        return by_method[req.method](self, req)
    end
    return self:dispatch(req)
end

local function problem(p, req)
    local doc, headers = errors.document(p, req.path)
    return p.status, doc, headers, PROBLEM
end

-- The Allow header of a route, as the core writes it for OPTIONS.
local ALLOW_ORDER = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" }
local function allow_of(route)
    local has = { HEAD = false, OPTIONS = true }
    for _, m in ipairs(route.methods) do
        has[m] = true
    end
    has.HEAD = has.GET
    local list = {}
    for _, m in ipairs(ALLOW_ORDER) do
        if has[m] then
            list[#list + 1] = m
        end
    end
    return table.concat(list, ", ")
end

-- An app's own OPTIONS answer carries Allow unless it set one.
local function with_allow(headers, route_id)
    headers = headers or {}
    for name in pairs(headers) do
        if type(name) == "string" and name:lower() == "allow" then
            return headers
        end
    end
    headers.Allow = allow_of(routes[route_id])
    return headers
end

local function dispatch(route_id, ptr, method)
    local req = request.new(ptr, METHOD_NAMES[method], routes[route_id])
    local ok, body, status, headers = xpcall(run, on_error, route_id, req)
    local a, b, c, d, e, f
    if ok then
        if getmetatable(body) == PROBLEM_MT then
            a, b, c, d = problem(body, req)
        else
            if req.method == "OPTIONS" and (headers == nil or type(headers) == "table") then
                headers = with_allow(headers, route_id)
            end
            a, b, c = status or 200, body, headers
        end
    elseif errors.is_problem(body) then
        a, b, c, d = problem(body, req)
    elseif body == RESPONDED then
        a, b = 0, RESPONDED
    else
        body = failure(body)
        a, b, c, d, e = 500, errors.document(INTERNAL, req.path), nil, PROBLEM, body.traceback
        if reporting then
            f = report.event(body.message, body.frames, req, req.route, settings_)
        end
    end
    request.close(req)
    return a, b, c, d, e, f
end

local function answer(body, req)
    if errors.is_problem(body) then
        local a, b, c, d = problem(body, req)
        return "answer", a, b, c, d
    end
    if body == RESPONDED then
        return "answer", 0, RESPONDED
    end
    body = failure(body)
    local doc = errors.document(INTERNAL, req.path)
    local event
    if reporting then
        event = report.event(body.message, body.frames, req, req.route, settings_)
    end
    return "answer", 500, doc, nil, PROBLEM, body.traceback, event
end

local function hook(route_id, ptr, method, what, n)
    local req = request.new(ptr, METHOD_NAMES[method], routes[route_id])
    local ok, a, b = xpcall(access.hook, on_error, what, n, req)
    local r1, r2, r3, r4, r5, r6, r7
    if not ok or errors.is_problem(a) then
        r1, r2, r3, r4, r5, r6, r7 = answer(a, req)
    elseif what == 1 then
        r1 = a and "ok" or "fail"
    elseif a == nil then
        r1 = "none"
    elseif a == false then
        r1, r2 = "fail", type(b) == "string" and b or nil
    else
        r1, r2, r3 = "ok", a, b
    end
    request.close(req)
    return r1, r2, r3, r4, r5, r6, r7
end

-- Every field a resource has, its own and inherited, in one table: an
-- instance then finds any method in one step instead of walking the class
-- chain on each lookup. Resources are declarations, fixed once loaded.
local function flatten(resource)
    local chain, flat = {}, {}
    local r = resource
    while r ~= nil do
        chain[#chain + 1] = r
        local mt = getmetatable(r)
        r = mt and mt.__index
    end
    for i = #chain, 1, -1 do
        for k, v in pairs(chain[i]) do
            flat[k] = v
        end
    end
    return flat
end

-- What the core compiled of the routes (patterns, methods, schemas, plans,
-- access chains, the authentication classes) as one text, the same for
-- the same declarations: the core compares it between states, so a state
-- loaded after the app's files changed (`soom run --reload`) is used only
-- when the routes the core serves still match it. Functions and other
-- values the core never reads are left out; schemas, JSON texts whose
-- keys come in no set order, are compared as the documents they are.
function _M.signature(list)
    -- each table is written once, and a table met again (models point at
    -- each other through their relations) as the number of its first
    -- visit, so the walk is linear in the tables and the same for the
    -- same declarations
    local out, seen, count = {}, {}, 0
    local function walk(v, key)
        local t = type(v)
        if t == "string" and type(key) == "string" and key:find("schema", 1, true) then
            local doc = require("soom.json").decode(v)
            if doc ~= nil then
                v, t = doc, type(doc)
            end
        end
        if t == "table" then
            if seen[v] then
                out[#out + 1] = "@" .. seen[v]
                return
            end
            count = count + 1
            seen[v] = count
            local keys = {}
            for k, x in pairs(v) do
                local kt, xt = type(k), type(x)
                if (kt == "string" or kt == "number") and k ~= "resource" and xt ~= "function"
                    and xt ~= "userdata" and xt ~= "thread" then
                    keys[#keys + 1] = k
                end
            end
            table.sort(keys, function(a, b)
                if type(a) == type(b) then
                    return a < b
                end
                return type(a) == "number"
            end)
            out[#out + 1] = "{"
            for _, k in ipairs(keys) do
                out[#out + 1] = tostring(k) .. "="
                walk(v[k], k)
                out[#out + 1] = ","
            end
            out[#out + 1] = "}"
        elseif t == "string" then
            out[#out + 1] = ("%q"):format(v)
        elseif t == "number" or t == "boolean" then
            out[#out + 1] = tostring(v)
        end
    end
    walk(list)
    return table.concat(out)
end

--- Loads the app; returns the dispatcher, the number of routes, the access
-- hook and the routes' signature (nil without settings.reload: only a
-- reload's states are compared with it, and writing it is half the cost
-- of a state's load, some 45 million instructions for 200 routes).
function _M.init(dir, settings)
    local app = loader.load(dir, settings)
    settings_ = settings
    reporting = (settings.error_reporting or {}).dsn ~= nil and settings.error_reporting.dsn ~= ""
    report.setup(settings)
    routes = app.routes
    for i, route in ipairs(routes) do
        -- a native module's route has no resource: the core dispatches it in C
        if route.resource ~= nil then
            local flat = flatten(route.resource)
            instance_mts[i] = { __index = flat }
            readonly_routes[i] = flat.readonly == true
            if flat.dispatch == Resource.dispatch then
                -- the common case: call the method's handler directly
                handlers[i] = {
                    GET = flat.get, HEAD = flat.get, POST = flat.post, PUT = flat.put,
                    PATCH = flat.patch, DELETE = flat.delete, OPTIONS = flat.options,
                }
            end
        end
    end
    local signature = settings.reload
        and _M.signature({ routes = routes, classes = routes.access_classes }) or nil
    return dispatch, #routes, hook, signature
end

return _M
