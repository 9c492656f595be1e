local soom = require "soom"
return soom.model {
    table = "item", primary_key = "id",
    fields = { id = soom.f.bigserial(), name = soom.f.text(), score = soom.f.integer(),
        created_at = soom.f.timestamptz { default = "now()" } },
}
