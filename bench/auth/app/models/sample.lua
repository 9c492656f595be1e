-- The peers' table (../shared/bench/db.sh): 10,000 rows.
local soom = require "soom"

return soom.model {
    table = "sample",
    primary_key = "id",
    managed = false,
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text(),
        score = soom.f.integer(),
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
    },
}
