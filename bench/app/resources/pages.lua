-- Soom's own pagination over the peers' table, for bench/pages.sh:
--   GET /cursor?page_size=20[&cursor=...]   keyset pages by id, signed cursors (C)
--   GET /offset?limit=20&offset=N           offset pages by id, no count (C)
local soom = require "soom"
local Sample = require "models.sample"

local FIELDS = { "id", "name", "score", "created_at" }

return {
    soom.ListResource {
        route = "/cursor",
        model = Sample,
        fields = FIELDS,
        pagination = soom.pagination.cursor { ordering = { "id" }, page_size = 20 },
    },
    soom.ListResource {
        route = "/offset",
        model = Sample,
        fields = FIELDS,
        ordering = { "id" },
        pagination = soom.pagination.offset { default_limit = 20, count = "none" },
    },
}
