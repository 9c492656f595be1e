-- The peers' three database endpoints, written as a Soom user would:
--   GET  /samples/<id>                 a RetrieveResource (runs in C)
--   POST /samples {"name","score"}     a CreateResource answering {"id": N} (runs in C,
--                                      validated in C)
--   GET  /samples?limit=20&after=<id>  the peers' keyset contract, {"items": [...],
--                                      "next": "<last id>" | null}: keyset pagination
--                                      with the envelope renamed (runs in C)
local soom = require "soom"
local s = require "soom.schema"
local Sample = require "models.sample"

local FIELDS = { "id", "name", "score", "created_at" }

return {
    soom.RetrieveResource {
        route = "/samples/{id:int}",
        model = Sample,
        fields = FIELDS,
    },
    soom.ListCreateResource {
        route = "/samples",
        model = Sample,
        -- out: the peers' page rows; in: name and score; POST answers {"id": N}
        fields = FIELDS,
        validation_schema = s.object {
            name = s.string { min = 1, max = 100 },
            score = s.integer { min = 0, max = 100 },
        },
        pagination = soom.pagination.keyset { results = "items", page_size = 20, max_page_size = 100 },
    },
}
