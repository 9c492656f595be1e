-- /samples and /samples/{id}: a full CRUD API over the sample table, from
-- declarations only. Nothing is overridden, so every request runs in C from
-- the route to the response, without entering Lua.
local soom = require "soom"
local s = require "soom.schema"
local Sample = require "models.sample"

local common = {
    model = Sample,
    fields = { "id", "name", "score", "created_at" },
    -- name a string of 1..100 characters, score an integer 0..100: no coercion
    validation_schema = s.object {
        name = s.string { min = 1, max = 100 },
        score = s.integer { min = 0, max = 100 },
    },
}

local function with(def)
    for k, v in pairs(common) do
        def[k] = v
    end
    return def
end

return {
    soom.ListCreateResource(with {
        route = "/samples",
        filter_fields = { "score", "name" },
        ordering_fields = { "id", "score", "created_at" },
        pagination = soom.pagination.cursor { ordering = { "-created_at" }, page_size = 20 },
    }),
    soom.RetrieveUpdateDestroyResource(with {
        route = "/samples/{id:int}",
    }),
}
