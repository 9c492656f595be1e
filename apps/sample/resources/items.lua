-- GET /items/{id:int}: a typed path parameter arrives as a number.
local soom = require "soom"

return soom.Resource {
    route = "/items/{id:int}",
    get = function(_, req)
        local id = req.params.id
        if id > 1000 then
            return soom.error(404, ("no item %d"):format(id))
        end
        return { id = id, kind = type(id), tags = soom.array() }
    end,
}
