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

--- Blocks the worker thread for `seconds`. For tests and demonstrations:
-- the thread serves nothing else meanwhile.
function _M.sleep(seconds)
    c.sleep(seconds)
end

return _M
