-- A table with a field of every kind.
local soom = require "soom"

return soom.model {
    table = "thing",
    primary_key = "id",
    fields = {
        id = soom.f.bigserial(),
        name = soom.f.varchar { max_length = 80, help = "what it is called" },
        slug = soom.f.text { unique = true },
        size = soom.f.smallint { null = true },
        count = soom.f.integer { default = 0 },
        total = soom.f.bigint { null = true },
        ratio = soom.f.real { null = true },
        weight = soom.f.double { null = true },
        price = soom.f.numeric { precision = 10, scale = 2, null = true },
        active = soom.f.boolean { default = true },
        kind = soom.f.text { choices = { "a", "b" }, default = soom.f.literal("a") },
        uid = soom.f.uuid { null = true },
        born = soom.f.date { null = true },
        created_at = soom.f.timestamptz { default = "now()", read_only = true },
        meta = soom.f.jsonb { null = true },
        doc = soom.f.json { null = true },
        blob = soom.f.bytea { null = true },
        tags = soom.f.array(soom.f.text(), { null = true }),
        secret = soom.f.text { null = true },
    },
}
