-- POST /codes {"code": "ABC123"}: the module's format checks the body, its
-- Lua library answers.
local soom = require "soom"
local ext = require "soom.ext.@name@"

return soom.Resource {
    route = "/codes",
    validation_schema = {
        type = "object",
        required = { "code" },
        properties = { code = { type = "string", format = "@name@-code" } },
    },
    post = function(_, req)
        return { code = req.body.code, shout = ext.shout(req.body.code), greeting = ext.greeting() }, 201
    end,
}
