-- GET /json: {"message":"Hello, World!"}, serialised per request.
local soom = require "soom"

return soom.Resource {
    route = "/json",
    get = function()
        return { message = "Hello, World!" }
    end,
}
