-- The @model@ model: the "@table@" table, created by
-- migrations/@migration@.sql. After a change here, `soom makemigrations`
-- writes the migration that follows it.
local soom = require "soom"

return soom.model {
    table = "@table@",
    primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        @model_fields@
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
    -- the list pages newest first: (created_at DESC, id) is its cursor's order
    indexes = { { "-created_at", "id" } },
}
