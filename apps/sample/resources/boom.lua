-- GET /boom: a resource that fails. The client gets a generic 500; the
-- traceback goes to the log with the request id.
local soom = require "soom"

local function explode()
    error("the sample's deliberate failure")
end

return soom.Resource {
    route = "/boom",
    get = function()
        explode()
    end,
}
