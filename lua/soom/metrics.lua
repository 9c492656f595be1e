--- soom.metrics: an app's own Prometheus metrics.
--
-- Declare them when the app loads (at the top of a resource's file), with
-- the names of their labels; use them in handlers:
--
--   local jobs = soom.metrics.counter { name = "jobs_total", help = "Jobs run",
--                                       labels = { "queue" } }
--   jobs:inc(1, { queue = "mail" })            -- or jobs:labels{ queue = "mail" }:inc()
--   soom.metrics.gauge { name = "queue_depth" }:set(12)
--   soom.metrics.histogram { name = "job_seconds", buckets = { 0.1, 1, 10 } }:observe(0.4)
--
-- A bad name, a reserved label or a redeclaration that differs is an error
-- when the app loads; a label that was not declared (or one missing) is an
-- error where it is used, never at scrape time. Values live in the
-- service's shared metrics (every thread and worker process adds to the
-- same series) and appear on /metrics. Gauges are one value for the whole
-- service. Using a metric the way its kind does not allow (a counter
-- going down, observing a gauge) raises.

local core = require "soom.core.metrics"

local setmetatable, type, error, pairs, ipairs, next, tostring, unpack =
    setmetatable, type, error, pairs, ipairs, next, tostring, unpack
local concat = table.concat

local _M = {}

local Metric = {}
Metric.__index = Metric

local Series = {}
Series.__index = Series

local function handle(self, values)
    local h = self.series[values]
    if h == nil then
        h = core.series(self.id, unpack(self.label_values[values])) or false
        self.series[values] = h
    end
    return h
end

-- The series of `labels` (a table of every declared label): its key in the
-- metric's cache, built once per distinct set of values.
local function key_of(self, labels, level)
    local names = self.label_names
    if #names == 0 then
        if labels ~= nil and next(labels) ~= nil then
            error(("metric %s has no labels"):format(self.name), level + 1)
        end
        return ""
    end
    if type(labels) ~= "table" then
        error(("metric %s needs its labels: %s"):format(self.name, concat(names, ", ")), level + 1)
    end
    local values = {}
    for i, n in ipairs(names) do
        local v = labels[n]
        if v == nil then
            error(("metric %s: label %s is missing"):format(self.name, n), level + 1)
        end
        values[i] = tostring(v)
    end
    for k in pairs(labels) do
        if not self.declared[k] then
            error(("metric %s: label %s was not declared"):format(self.name, tostring(k)),
                level + 1)
        end
    end
    local key = concat(values, "\0")
    if self.label_values[key] == nil then
        self.label_values[key] = values
    end
    return key
end

local function run(self, op, v, labels)
    local h = handle(self, key_of(self, labels, 3))
    if h then
        core[op](h, v)
    end
end

--- counter:inc([n = 1[, labels]])
function Metric:inc(n, labels)
    run(self, "add", n or 1, labels)
end

--- gauge:dec([n = 1[, labels]])
function Metric:dec(n, labels)
    run(self, "add", -(n or 1), labels)
end

--- gauge:set(v[, labels])
function Metric:set(v, labels)
    run(self, "set", v, labels)
end

--- histogram:observe(v[, labels])
function Metric:observe(v, labels)
    run(self, "observe", v, labels)
end

--- metric:labels{...}: the series of these label values, to use many times.
function Metric:labels(labels)
    local key = key_of(self, labels, 2)
    return setmetatable({ metric = self, key = key }, Series)
end

for _, op in ipairs({ "inc", "dec", "set", "observe" }) do
    Series[op] = function(self, v)
        local m = self.metric
        local h = handle(m, self.key)
        if h then
            local f = op == "observe" and "observe" or op == "set" and "set" or "add"
            core[f](h, op == "dec" and -(v or 1) or v or 1)
        end
    end
end

local function declare(kind, def)
    if type(def) ~= "table" or type(def.name) ~= "string" then
        error(("soom.metrics.%s{ name = ..., help = ..., labels = {...} }"):format(kind), 3)
    end
    local names = def.labels or {}
    local id, err = core.declare(kind, def.name, def.help or "", names, def.buckets)
    if not id then
        error(err, 3)
    end
    local declared = {}
    for _, n in ipairs(names) do
        declared[n] = true
    end
    return setmetatable({
        id = id, name = def.name, kind = kind, label_names = names, declared = declared,
        series = {}, label_values = { [""] = {} },
    }, Metric)
end

function _M.counter(def)
    return declare("counter", def)
end

function _M.gauge(def)
    return declare("gauge", def)
end

function _M.histogram(def)
    return declare("histogram", def)
end

return _M
