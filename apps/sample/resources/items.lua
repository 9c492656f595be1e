-- GET /items/{id:int}: a typed path parameter arrives as a number.
local soom = require "soom"
local s = require "soom.schema"

return soom.Resource {
    route = "/items/{id:int}",
    summary = "Read an item",
    responses = {
        [200] = s.object { id = s.integer(), kind = s.string(), tags = s.array { items = s.string() } },
        [404] = "No item with this id (above 1000).",
    },
    get = function(_, req)
        local id = req.params.id
        if id > 1000 then
            return soom.error(404, ("no item %d"):format(id))
        end
        return { id = id, kind = type(id), tags = soom.array() }
    end,
}
