-- GET /hello: the smallest resource.
local soom = require "soom"
local s = require "soom.schema"

return soom.Resource {
    route = "/hello",
    summary = "Say hello",
    responses = { [200] = s.object { message = s.string() } },
    get = function()
        return { message = "Hello, World!" }
    end,
}
