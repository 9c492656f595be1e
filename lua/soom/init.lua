--- soom: the public Lua API of the framework.
--
-- Apps `require "soom"` and find here everything they declare with:
-- resources, errors, JSON helpers, commands and the settings. Each piece
-- lives in its own module (soom.resource, soom.errors, soom.json,
-- soom.cli); this file only gathers them.

local auth = require "soom.auth"
local c = require "soom.core.c"
local errors = require "soom.errors"
local generics = require "soom.generics"
local json = require "soom.json"
local model = require "soom.model"
local resource = require "soom.resource"

local type, error = type, error

local _M = {
    VERSION = c.version,

    Resource = resource.Resource,

    -- generic resources over a model (soom.generics)
    CreateResource = generics.CreateResource,
    ListResource = generics.ListResource,
    ListCreateResource = generics.ListCreateResource,
    RetrieveResource = generics.RetrieveResource,
    UpdateResource = generics.UpdateResource,
    DestroyResource = generics.DestroyResource,
    RetrieveUpdateResource = generics.RetrieveUpdateResource,
    RetrieveDestroyResource = generics.RetrieveDestroyResource,
    RetrieveUpdateDestroyResource = generics.RetrieveUpdateDestroyResource,
    queryset = generics.queryset,
    pagination = require "soom.pagination",

    -- models and the database
    model = model.model,
    f = model.f,
    db = require "soom.db",

    -- calls to other services (soom.http)
    http = require "soom.http",

    -- an app's own Prometheus metrics (counter, gauge, histogram)
    metrics = require "soom.metrics",
    -- authentication classes and Django's password hashes (soom.auth),
    -- permissions (soom.perm), throttles (soom.throttle): docs/AUTH.md
    auth = auth,
    perm = require "soom.perm",
    throttle = require "soom.throttle",

    error = errors.error,
    is_error = errors.is_problem,

    json = json,
    null = json.null,
    array = json.array,
}

-- soom.settings: the effective settings (defaults, settings.lua, then the
-- environment), kept by soom.core.settings and set when an app is loaded.
local settings = require "soom.core.settings"
setmetatable(_M, {
    __index = function(_, k)
        if k == "settings" then
            return settings.get()
        end
    end,
    __newindex = function(t, k, v)
        if k == "settings" then
            settings.set(v)
        else
            rawset(t, k, v)
        end
    end,
})

--- Declares a CLI command: a file in commands/ (or lua/soom/commands/)
-- returns `soom.command{ description = ..., arguments = {...}, run = fn }`.
function _M.command(def)
    return require("soom.cli").command(def)
end

--- Writes a structured log line: soom.log("info", "message", { key = value }).
function _M.log(level, msg, fields)
    c.log(level, msg, fields)
end

--- Waits `seconds`. Under the async server the request's coroutine yields
-- and the thread serves other requests meanwhile; under the other models
-- the thread blocks. Raises a 503 problem when the request's
-- request_timeout comes first.
function _M.sleep(seconds)
    if type(seconds) ~= "number" then
        error("soom.sleep needs a number of seconds", 2)
    end
    if not c.sleep(seconds) then
        error(errors.error(503, "the request took longer than request_timeout",
            { headers = { ["Retry-After"] = "1" } }), 0)
    end
end

return _M
