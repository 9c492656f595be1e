-- bench/relations.sh's table of owners: 100 rows, each owning 100 items.
local soom = require "soom"

return soom.model {
    table = "bench_owner",
    managed = false,
    fields = {
        id = soom.f.serial(),
        name = soom.f.text(),
        city = soom.f.text(),
    },
}
