-- bench/relations.sh: a keyset page of 20 items, plain and with each
-- item's owner embedded (a to-one relation, in the same statement):
--   GET /items?limit=20&after=<id>            {"items": [...], "next": ...}
--   GET /items/embedded?limit=20&after=<id>   the same, "owner": {"id", "name", "city"}
local soom = require "soom"
local Item = require "models.bench_item"

local PAGE = soom.pagination.keyset { page_size = 20, results = "items" }

return {
    soom.ListResource {
        route = "/items", model = Item,
        fields = { "id", "name", "score", "created_at", "owner" },
        pagination = PAGE,
    },
    soom.ListResource {
        route = "/items/embedded", model = Item,
        fields = { "id", "name", "score", "created_at", { "owner", fields = { "id", "name", "city" } } },
        pagination = PAGE,
    },
}
