-- The peers' three database endpoints, written as a Soom user would:
--   GET  /samples/<id>                 a RetrieveResource (runs in C)
--   POST /samples {"name","score"}     a CreateResource answering {"id": N} (runs in C,
--                                      validated in C)
--   GET  /samples?limit=20&after=<id>  the peers' own keyset contract
--                                      {"items": [...], "next": "<last id>" | null}: a few
--                                      lines of Lua over soom.db
local soom = require "soom"
local s = require "soom.schema"
local Sample = require "models.sample"

local PAGE_SQL = "SELECT id, name, score, created_at FROM sample WHERE id > $1 ORDER BY id LIMIT $2"

return {
    soom.RetrieveResource {
        route = "/samples/{id:int}",
        model = Sample,
        fields = { "id", "name", "score", "created_at" },
    },
    soom.CreateResource {
        route = "/samples",
        model = Sample,
        fields = { "id", { "name", write_only = true }, { "score", write_only = true } },
        validation_schema = s.object {
            name = s.string { min = 1, max = 100 },
            score = s.integer { min = 0, max = 100 },
        },
        query_schema = {
            type = "object",
            properties = {
                limit = { type = "integer", minimum = 1, maximum = 100 },
                after = { type = "integer", minimum = 0 },
            },
        },
        get = function(_, req)
            local limit = req.query.limit or 20
            local items = soom.db.query(PAGE_SQL, req.query.after or 0, limit)
            local last = items[#items]
            return { items = items, next = #items == limit and tostring(last.id) or soom.null }
        end,
    },
}
