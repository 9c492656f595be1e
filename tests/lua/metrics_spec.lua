-- Specs of lua/soom/metrics.lua: declarations refused with a reason when
-- the app loads, and labels checked where a metric is used. (Values are
-- counted by the served app: tests/http/test_ops.py reads them back from
-- /metrics through a real Prometheus.)
local soom = require "soom"
local t = require "soom.test"

return {
    t.case("a declaration Prometheus would refuse is an error", function()
        t.raises(function() soom.metrics.counter { name = "9lives" } end, "9lives")
        t.raises(function() soom.metrics.counter { name = "http_mine_total" } end, "soom's own")
        t.raises(function() soom.metrics.counter { name = "a_total", labels = { "x", "x" } } end,
            "twice")
        t.raises(function() soom.metrics.histogram { name = "h_seconds", labels = { "le" } } end,
            "not allowed")
        t.raises(function() soom.metrics.histogram { name = "h2_seconds", buckets = { 1, 0.5 } } end,
            "ascending")
        t.raises(function() soom.metrics.gauge "depth" end, "name =")
    end),

    t.case("the same declaration twice is one metric; a different one is an error", function()
        local a = soom.metrics.counter { name = "spec_jobs_total", labels = { "queue" } }
        local b = soom.metrics.counter { name = "spec_jobs_total", labels = { "queue" } }
        t.eq(a.id, b.id)
        t.raises(function() soom.metrics.gauge { name = "spec_jobs_total" } end, "differently")
    end),

    t.case("labels must be exactly the declared ones", function()
        local m = soom.metrics.counter { name = "spec_sent_total", labels = { "queue", "outcome" } }
        t.raises(function() m:inc(1, { queue = "a" }) end, "outcome is missing")
        t.raises(function() m:inc(1, { queue = "a", outcome = "ok", extra = 1 }) end,
            "extra was not declared")
        t.raises(function() m:inc() end, "needs its labels")
        m:inc(1, { queue = "a", outcome = "ok" })
        m:labels({ queue = "a", outcome = "ok" }):inc()
        local plain = soom.metrics.gauge { name = "spec_depth" }
        t.raises(function() plain:set(1, { queue = "a" }) end, "has no labels")
        plain:set(3)
    end),
}
