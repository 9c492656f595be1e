-- Specs of lua/soom/throttle.lua and how soom.core.chain gives throttles
-- their rates: inline, from settings.throttle_rates, scopes of a resource.
local soom = require "soom"
local chain = require "soom.core.chain"
local t = require "soom.test"

local T = soom.throttle

local function throttles(list, settings, res)
    chain.reset(settings or {})
    res = res or {}
    res.throttles = list
    local spec = chain.route_spec(res, "resources/x.lua")
    return spec and spec.throttles
end

return {
    t.case("rates inline or from the settings", function()
        t.eq(throttles({ T.anon "100/hour" }), { { kind = "anon", scope = "anon", rate = "100/hour" } })
        t.eq(throttles({ T.user }, { throttle_rates = { user = "10/m" } }),
            { { kind = "user", scope = "user", rate = "10/m" } })
        t.eq(throttles({ T.user { scope = "burst", rate = "5/s" } }),
            { { kind = "user", scope = "burst", rate = "5/s" } })
    end),

    t.case("a scoped throttle takes the resource's scope, or throttles nothing", function()
        t.eq(throttles({ T.scoped }, { throttle_rates = { uploads = "2/10m" } },
            { throttle_scope = "uploads" }), { { kind = "scoped", scope = "uploads", rate = "2/10m" } })
        t.eq(throttles({ T.scoped }), nil, "DRF: no throttle_scope, no throttling")
    end),

    t.case("a scope without a rate, or a stranger, stops start-up naming it", function()
        t.raises(function() throttles({ T.anon }) end,
            "resources/x.lua: the throttle scope anon has no rate")
        t.raises(function() throttles({ { rate = "1/s" } }) end,
            "throttles[1] is not soom.throttle.anon")
        t.raises(function() T.anon(5) end, "takes a rate")
    end),
}
