-- bench/keyorder: the paths JSON key order touches (run.sh measures them).
local soom = require "soom"
local Item = require "models.item"
local FIELDS = { "id", "name", "score", "created_at" }
return {
    soom.Resource { route = "/json", get = function() return { message = "Hello, World!" } end },
    soom.ListResource { route = "/items", model = Item, fields = FIELDS,
        pagination = soom.pagination.keyset { page_size = 20 } },
    soom.ListResource { route = "/hooked", model = Item, fields = FIELDS,
        pagination = soom.pagination.keyset { page_size = 20 },
        serializer_data = function(self, rows) return rows end },
    soom.Resource { route = "/rows", get = function()
        return soom.db.query("SELECT id, name, score, created_at FROM item ORDER BY id LIMIT 20") end },
}
