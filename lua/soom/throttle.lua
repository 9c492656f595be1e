--- soom.throttle: rate limits, Django REST framework's throttles.
--
--   throttles = { soom.throttle.anon "100/hour", soom.throttle.user "1000/day" },
--
--   anon      anonymous requests, by client address (honouring trust_proxy and
--             proxy_count for X-Forwarded-For); authenticated ones pass
--   user      by user id when authenticated, else by client address
--   scoped    the resource's `throttle_scope`, by user or address; its rate from
--             settings.throttle_rates[scope] (a resource without a scope is not
--             throttled by it)
--
-- Each is a throttle with its rate from settings.throttle_rates (anon, user,
-- or the scope) or, called with a rate, a copy with that rate:
-- soom.throttle.user "100/m". Called with a table it also takes a `scope`
-- of its own (soom.throttle.user { scope = "burst", rate = "10/s" }), which
-- keeps its counts apart from other throttles of the kind.
--
-- Rates are N/s, N/m, N/h, N/d ("100/hour": the unit's first letter) or
-- N/<k><unit> ("5/10m"). Counting is in the process, or in PostgreSQL
-- with settings.throttle_backend = "postgres" (exact across replicas).

local setmetatable, type, error = setmetatable, type, error

local _M = {}

local MT = {}

local function throttle(kind, scope, rate)
    return setmetatable({ kind = kind, scope = scope, rate = rate }, MT)
end

MT.__call = function(base, arg)
    if type(arg) == "string" then
        return throttle(base.kind, base.scope, arg)
    end
    if type(arg) ~= "table" then
        error(("soom.throttle.%s takes a rate (\"100/hour\") or { scope, rate }"):format(base.kind),
            2)
    end
    return throttle(base.kind, arg.scope or base.scope, arg.rate or base.rate)
end

_M.anon = throttle("anon", "anon", nil)
_M.user = throttle("user", "user", nil)
_M.scoped = throttle("scoped", nil, nil)

function _M.is_throttle(t)
    return type(t) == "table" and getmetatable(t) == MT
end

return _M
