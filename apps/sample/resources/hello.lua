-- GET /hello: the smallest resource.
local soom = require "soom"

return soom.Resource {
    route = "/hello",
    get = function()
        return { message = "Hello, World!" }
    end,
}
