-- POST /greetings: creates a greeting (201 with a Location), and
-- GET /greetings/{name:slug} reads one back. A subclass overrides one step.
local soom = require "soom"
local s = require "soom.schema"

local Greeting = soom.Resource:extend {
    salutation = "Hello",

    greet = function(self, name)
        return ("%s, %s!"):format(self.salutation, name)
    end,
}

return {
    Greeting {
        route = "/greetings",
        summary = "Create a greeting",
        request_body = s.object { name = s.string { min = 1 } },
        responses = {
            [201] = {
                schema = s.object { greeting = s.string() },
                headers = { Location = s.string() },
            },
            [422] = true,
        },
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
        summary = "Read a greeting",
        responses = { [200] = s.object { greeting = s.string() } },
        salutation = "Welcome back",
        get = function(self, req)
            return { greeting = self:greet(req.params.name) }
        end,
    },
}
