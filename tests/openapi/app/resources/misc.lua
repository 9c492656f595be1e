-- Two handlers of the same method in one file: their operationIds come
-- from their routes.
local soom = require "soom"

return {
    soom.Resource { route = "/misc/a", get = function() return {} end },
    soom.Resource { route = "/misc/b/{name:slug}", get = function() return {} end },
    soom.Resource { route = "/misc/c", operation_id = "misc_c", get = function() return {} end,
        delete = function() return nil, 204 end },
}
