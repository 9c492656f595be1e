-- POST /greetings: creates a greeting (201 with a Location), and
-- GET /greetings/{name:slug} reads one back. A subclass overrides one step.
local soom = require "soom"

local Greeting = soom.Resource:extend {
    salutation = "Hello",

    greet = function(self, name)
        return ("%s, %s!"):format(self.salutation, name)
    end,
}

return {
    Greeting {
        route = "/greetings",
        post = function(self, req)
            local name = req.body and req.body.name
            if type(name) ~= "string" or name == "" then
                return soom.error(422, "name must be a non-empty string", {
                    errors = {
                        { pointer = "/name", detail = "a non-empty string is required", code = "required" },
                    },
                })
            end
            return { greeting = self:greet(name) }, 201, { Location = "/greetings/" .. name }
        end,
    },
    Greeting {
        route = "/greetings/{name:slug}",
        salutation = "Welcome back",
        get = function(self, req)
            return { greeting = self:greet(req.params.name) }
        end,
    },
}
