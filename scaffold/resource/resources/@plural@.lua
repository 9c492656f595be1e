-- @route@ and @route@/{id}: create, list, read, update and delete @plural@.
-- Declarations only: nothing is overridden, so every request runs in C from
-- the route to the response. Bodies are checked by validation_schema before
-- anything else runs (422 lists every error); the list pages with a signed
-- cursor, newest first. docs: GUIDE.md, VALIDATION.md and PAGINATION.md of Soom.
local soom = require "soom"
local s = require "soom.schema"
local Model = require "models.@model@"

local common = {
    model = Model,
    -- the serializer: the fields sent back, in this order
    fields = { @output_fields@ },
    -- a closed object: an unknown key is refused like a wrong type
    validation_schema = s.object {
        @schema_properties@
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
        route = "@route@",
        filter_fields = { @filter_fields@ },
        ordering_fields = { @ordering_fields@ },
        pagination = soom.pagination.cursor { ordering = { "-created_at" }, page_size = 20 },
    }),
    soom.RetrieveUpdateDestroyResource(with {
        route = "@route@/{id:int}",
    }),
}
