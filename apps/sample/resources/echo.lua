-- POST /echo: answers the JSON body it was sent, with the request id.
local soom = require "soom"

return soom.Resource {
    route = "/echo",
    post = function(_, req)
        return { echo = req.body, request_id = req.id, query = req.query }
    end,
}
