-- The @model@ model: the "@table@" table, created by
-- migrations/@migration@.sql. A field added here needs a migration too.
local soom = require "soom"

return soom.model {
    table = "@table@",
    primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        @model_fields@
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
}
