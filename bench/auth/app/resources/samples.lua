-- GET /samples/<id> three ways, each a RetrieveResource run in C:
--   /samples/<id>         no authentication
--   /token/samples/<id>   Authorization: Token <key> (DRF's tables), is_authenticated
--   /jwt/samples/<id>     Authorization: Bearer <HS256 JWT>, is_authenticated
local soom = require "soom"
local Sample = require "models.sample"

local FIELDS = { "id", "name", "score", "created_at" }
local function by_id(route, classes)
    return soom.RetrieveResource {
        route = route, model = Sample, fields = FIELDS,
        authentication = classes,
        permissions = classes and { soom.perm.is_authenticated } or nil,
    }
end

return {
    by_id("/samples/{id:int}", nil),
    by_id("/token/samples/{id:int}", { soom.auth.token }),
    by_id("/jwt/samples/{id:int}", { soom.auth.jwt }),
}
