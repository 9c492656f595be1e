-- bench/relations.sh's items: the peers' sample rows, each with an owner.
local soom = require "soom"

return soom.model {
    table = "bench_item",
    managed = false,
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.text(),
        score = soom.f.integer(),
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
        owner = soom.f.foreign_key { to = "bench_owner", related_name = "items" },
    },
}
