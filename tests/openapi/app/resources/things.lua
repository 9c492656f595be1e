-- Things: the full CRUD, filtered, ordered and paged by cursor, behind
-- authentication.
local soom = require "soom"
local auth = require "lib.auth"
local Thing = require "models.thing"

local fields = {
    "id", { "title", source = "name" }, "slug", "size", "count", "total", "ratio", "weight",
    "price", "active", "kind", "uid", "born", "created_at", "meta", "doc", "blob", "tags",
    { "secret", write_only = true },
}

return {
    soom.ListCreateResource {
        route = "/things",
        model = Thing,
        fields = fields,
        filter_fields = { "count", "title", "active", "tags", "created_at", "price" },
        ordering_fields = { "id", "count", "created_at" },
        pagination = soom.pagination.cursor { ordering = { "-created_at" }, page_size = 10 },
        authentication = { auth.bearer, auth.token },
        permissions = { auth.read_only },
        throttles = { auth.user_rate },
        examples = { create = { request = { title = "a thing", slug = "a-thing" } } },
    },
    soom.RetrieveUpdateDestroyResource {
        route = "/things/{id:int}",
        model = Thing,
        fields = fields,
        authentication = { auth.bearer },
        permissions = { auth.is_authenticated },
        deprecated = { destroy = true },
    },
}
