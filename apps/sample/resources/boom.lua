-- GET /boom: a resource that fails. The client gets a generic 500; the
-- traceback goes to the log with the request id.
local soom = require "soom"
local s = require "soom.schema"

local function explode()
    error("the sample's deliberate failure")
end

return soom.Resource {
    route = "/boom",
    summary = "Fail on purpose",
    responses = { [200] = { description = "Never sent: the handler always fails.", schema = s.object {} } },
    get = function()
        explode()
    end,
}
