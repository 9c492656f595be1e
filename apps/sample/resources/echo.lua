-- POST /echo: answers the JSON body it was sent, with the request id.
local soom = require "soom"

return soom.Resource {
    route = "/echo",
    summary = "Echo the body",
    -- what the handler answers, for the OpenAPI document
    responses = {
        [200] = {
            type = "object",
            required = { "request_id", "query" },
            properties = {
                echo = { description = "the body, any JSON value" },
                request_id = { type = "string" },
                query = { type = "object", additionalProperties = { type = "string" } },
            },
        },
    },
    post = function(_, req)
        return { echo = req.body, request_id = req.id, query = req.query }
    end,
}
