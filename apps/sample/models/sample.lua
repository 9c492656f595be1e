-- The sample table: the same one the peer frameworks of ../shared/bench use.
local soom = require "soom"

return soom.model {
    table = "sample",
    primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text(),
        score = soom.f.integer(),
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
}
