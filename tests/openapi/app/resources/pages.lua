-- Every pagination, and every other generic class.
local soom = require "soom"
local auth = require "lib.auth"
local Thing = require "models.thing"

local short = { "id", "slug", "count" }

return {
    soom.ListResource {
        route = "/pages/exact", model = Thing, fields = short,
        pagination = soom.pagination.offset { count = "exact", default_limit = 5 },
    },
    soom.ListResource {
        route = "/pages/planned", model = Thing, fields = short,
        pagination = soom.pagination.offset { count = "planned" },
    },
    soom.ListResource {
        route = "/pages/uncounted", model = Thing, fields = short,
        pagination = soom.pagination.offset { count = "none" },
    },
    soom.ListResource {
        route = "/pages/keyset", model = Thing, fields = short,
        pagination = soom.pagination.keyset { field = "-id", param = "starting_after",
            results = "items", next = "next_after" },
    },
    soom.ListResource {
        route = "/pages/plain", model = Thing, fields = { "id", "slug" }, component_name = "ThingRef",
    },
    soom.CreateResource { route = "/pages/create", model = Thing, fields = short,
        authentication = { auth.api_key } },
    soom.RetrieveResource { route = "/pages/by-slug/{slug:slug}", model = Thing, fields = short,
        lookup_field = "slug" },
    soom.UpdateResource { route = "/pages/update/{id:int}", model = Thing, fields = short },
    soom.DestroyResource { route = "/pages/destroy/{id:int}", model = Thing, fields = short },
    soom.RetrieveUpdateResource { route = "/pages/ru/{id:int}", model = Thing, fields = short },
    soom.RetrieveDestroyResource { route = "/pages/rd/{key}", model = Thing, fields = short,
        lookup_param = "key" },
}
