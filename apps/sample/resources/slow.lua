-- GET /slow?seconds=0.5: takes its time (used to show graceful shutdown).
local soom = require "soom"
local s = require "soom.schema"

return soom.Resource {
    route = "/slow",
    summary = "Take some time",
    responses = {
        [200] = s.object { slept = s.number() },
        [400] = "seconds is not between 0 and 30.",
    },
    get = function(_, req)
        local seconds = tonumber(req.query.seconds) or 1
        if seconds < 0 or seconds > 30 then
            return soom.error(400, "seconds must be between 0 and 30")
        end
        soom.sleep(seconds)
        return { slept = seconds }
    end,
}
