-- GET /hello?name=Ada: a resource written in Lua. Its query string is
-- checked (and typed) by query_schema before the handler runs.
local soom = require "soom"
local s = require "soom.schema"
local greeting = require "lib.greeting"

return soom.Resource {
    route = "/hello",
    query_schema = s.object {
        name = s.string { min = 1, max = 100, optional = true },
    },
    get = function(_, req)
        return { message = greeting.text(req.query.name), request_id = req.id }
    end,
}
