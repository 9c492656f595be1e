-- soom.openapi over the every-feature app of tests/openapi/app, built in
-- the real runtime from the loaded app (no server needed).
local t = require "soom.test"
local json = require "soom.json"
local loader = require "soom.core.loader"
local openapi = require "soom.openapi"
local encode = require "soom.openapi.encode"
local routes = require "soom.openapi.routes"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local APP = here .. "/../openapi/app"

local function load()
    return loader.load(loader.resolve(APP))
end

local function doc()
    return json.decode(openapi.json(openapi.document(load())))
end

-- The operation, its parameters taken out of components.parameters.
local function op(d, path, method)
    local o = t.ok(d.paths[path] and d.paths[path][method], path .. " " .. method .. " is documented")
    local copy, list = {}, {}
    for k, v in pairs(o) do
        copy[k] = v
    end
    for i, p in ipairs(o.parameters or {}) do
        local name = p["$ref"] and p["$ref"]:match("^#/components/parameters/(.+)$")
        list[i] = name and t.ok(d.components.parameters[name], "parameter " .. name) or p
    end
    copy.parameters = o.parameters and list
    return copy
end

local function refs(o)
    local list = {}
    for i, p in ipairs(o.parameters or {}) do
        list[i] = p["$ref"] or p.name
    end
    return list
end

local function param(o, name)
    for _, p in ipairs(o.parameters or {}) do
        if p.name == name then
            return p
        end
    end
    return nil
end

local function statuses(o)
    local list = {}
    for k in pairs(o.responses) do
        list[#list + 1] = k
    end
    table.sort(list)
    return table.concat(list, ",")
end

return {
    t.case("the same app gives the same bytes, JSON and YAML", function()
        local a, b = openapi.document(load()), openapi.document(load())
        t.eq(openapi.json(a), openapi.json(b))
        t.eq(openapi.yaml(a), openapi.yaml(b))
        t.match(openapi.json(a), '^{\n  "openapi": "3.1.0",\n  "info": {\n')
    end),

    t.case("info and servers come from app.lua", function()
        local d = doc()
        t.eq(d.info.title, "Everything")
        t.eq(d.info.version, "2.1.0")
        t.eq(d.info.license, { name = "Apache 2.0", identifier = "Apache-2.0" })
        t.eq(d.servers[1].url, "https://api.soom.invalid/v2")
        t.eq(d.servers[2].description, "local")
    end),

    t.case("operationIds: file and action, the route when shared, the resource's own", function()
        local d = doc()
        t.eq(op(d, "/things", "get").operationId, "things_list")
        t.eq(op(d, "/things", "post").operationId, "things_create")
        t.eq(op(d, "/things/{id}", "patch").operationId, "things_partial_update")
        t.eq(op(d, "/things/{id}", "delete").operationId, "things_destroy")
        t.eq(op(d, "/misc/a", "get").operationId, "misc_a_get")
        t.eq(op(d, "/misc/b/{name}", "get").operationId, "misc_b_name_get")
        t.eq(op(d, "/misc/c", "delete").operationId, "misc_c_delete")
        t.eq(op(d, "/orders", "post").operationId, "place_order")
        t.eq(op(d, "/things/{id}", "delete").deprecated, true)
        t.eq(op(d, "/orders", "post").tags, { "custom", "orders" })
    end),

    t.case("POST and PATCH document Idempotency-Key, other methods do not", function()
        local d = doc()
        local key = param(op(d, "/things", "post"), "Idempotency-Key")
        t.eq(key["in"], "header")
        t.eq(key.required, false)
        t.eq(key.schema.maxLength, 255)
        t.ok(param(op(d, "/things/{id}", "patch"), "Idempotency-Key"), "PATCH takes a key")
        t.eq(param(op(d, "/things", "get"), "Idempotency-Key"), nil)
        t.eq(param(op(d, "/things/{id}", "delete"), "Idempotency-Key"), nil)
    end),

    t.case("a list's parameters are components, shared by the lists that read the same", function()
        local d = doc()
        local things = refs(d.paths["/things"].get)
        t.eq(things[1], "#/components/parameters/Thing.count")
        t.eq(d.components.parameters["Thing.count__gt"].name, "count__gt")
        -- lists over one serializer share ?fields=; another serializer takes the next name
        local exact, planned = refs(d.paths["/pages/exact"].get), refs(d.paths["/pages/planned"].get)
        t.eq(exact[1], "#/components/parameters/Thing.fields")
        t.eq(planned[1], exact[1])
        t.ok(things[#things - 2] ~= exact[1], "another serializer, another ?fields=")
        local function enum(r)
            return d.components.parameters[r:match("[^/]+$")].schema.items.enum
        end
        t.ok(#enum(things[#things - 2]) > #enum(exact[1]), "the longer serializer's ?fields=")
        -- page sizes differ (default_limit = 5 on one): each keeps its own
        local limit = {}
        for _, list in ipairs({ exact, planned }) do
            for _, r in ipairs(list) do
                if r:match("%.limit$") then
                    limit[#limit + 1] = r
                end
            end
        end
        t.eq(#limit, 2)
        t.ok(limit[1] ~= limit[2], "page sizes differ: two components")
        t.eq(d.components.parameters[limit[1]:match("[^/]+$")].schema.default, 5)
        -- the same Idempotency-Key everywhere it is taken
        local post = d.paths["/things"].post.parameters
        t.eq(post[#post], { ["$ref"] = "#/components/parameters/IdempotencyKey" })
        t.eq(d.components.parameters.IdempotencyKey.name, "Idempotency-Key")
        -- every component is used
        local used, text = 0, openapi.json(openapi.document(load()))
        for name in pairs(d.components.parameters) do
            t.ok(text:find('"#/components/parameters/' .. name .. '"', 1, true), name .. " is used")
            used = used + 1
        end
        t.ok(used > 10, "components: " .. used)
    end),

    t.case("path parameters are typed as the router reads them", function()
        local d = doc()
        t.eq(param(op(d, "/things/{id}", "get"), "id").schema,
            { type = "integer", minimum = 0, maximum = 9007199254740991 })
        t.eq(param(op(d, "/orders/{id}", "get"), "id").schema, { type = "string", format = "uuid" })
        t.eq(param(op(d, "/pages/by-slug/{slug}", "get"), "slug").schema.pattern, "^[A-Za-z0-9_-]+$")
    end),

    t.case("filters, ordering, fields and every page position", function()
        local d = doc()
        local list = op(d, "/things", "get")
        for _, name in ipairs({ "count", "count__gt", "count__in", "title__icontains", "active",
            "created_at__lte", "tags__contains", "price__isnull", "ordering", "fields", "cursor",
            "page_size" }) do
            t.ok(param(list, name), "parameter " .. name)
        end
        t.eq(param(list, "count__in").schema.items.type, "integer")
        t.eq(param(list, "active").schema.type, "boolean")
        t.eq(param(list, "ordering").schema.items.enum[2], "-id")
        local exact = op(d, "/pages/exact", "get")
        for _, name in ipairs({ "limit", "offset", "page", "page_size" }) do
            t.ok(param(exact, name), "offset parameter " .. name)
        end
        t.ok(param(op(d, "/pages/keyset", "get"), "starting_after"), "the keyset's own parameter")
        t.eq(param(op(d, "/pages/keyset", "get"), "ordering"), nil)
    end),

    t.case("envelopes: cursor, offset by count, keyset renamed, a plain array", function()
        local d = doc()
        local s = d.components.schemas
        local function body(path)
            local ref = op(d, path, "get").responses["200"].content["application/json"].schema
            return ref["$ref"] and s[ref["$ref"]:match("([^/]+)$")] or ref
        end
        t.eq(body("/things").required, { "next", "previous", "results" })
        t.eq(body("/pages/exact").properties.count.type, "integer")
        t.eq(body("/pages/uncounted").properties.count.type, "null")
        t.eq(body("/pages/keyset").required, { "items", "next_after" })
        t.eq(body("/pages/plain").type, "array")
        t.eq(body("/pages/plain").items["$ref"], "#/components/schemas/ThingRef")
    end),

    t.case("the serializer: renames, read-only, write-only, every column type", function()
        local d = doc()
        local s = d.components.schemas
        local out = s[op(d, "/things/{id}", "get").responses["200"].content["application/json"]
            .schema["$ref"]:match("([^/]+)$")]
        t.ok(out.properties.title and not out.properties.name, "name is renamed title")
        t.eq(out.properties.secret, nil)
        t.eq(out.properties.id.readOnly, true)
        t.eq(out.properties.price, { type = { "string", "null" }, format = "decimal" })
        t.eq(out.properties.blob.contentEncoding, "base64")
        t.eq(out.properties.tags.items, { type = "string" })
        t.eq(out.properties.kind.enum, { "a", "b" })
        t.eq(out.properties.created_at.format, "date-time")
        t.eq(out.additionalProperties, false)
        local input = s[op(d, "/things", "post").requestBody.content["application/json"]
            .schema["$ref"]:match("([^/]+)$")]
        t.eq(input.properties.secret.writeOnly, true)
        t.eq(input.properties.id, nil)
        t.eq(input.required, { "title", "slug" })
        t.eq(input.properties.kind.default, "a")
    end),

    t.case("app schemas keep their references inside their component", function()
        local d = doc()
        local body = op(d, "/orders", "post").requestBody
        t.eq(body.required, true)
        local name = body.content["application/json"].schema["$ref"]:match("([^/]+)$")
        t.eq(d.components.schemas[name].properties.lines.items["$ref"],
            "#/components/schemas/" .. name .. "/$defs/line")
        local status = param(op(d, "/orders", "get"), "status")
        t.eq(status.schema.items, { enum = { "open", "shipped" } })
        t.eq(param(op(d, "/orders", "get"), "limit").required, true)
        t.eq(body.content["application/json"].example.customer, "ada@example.com")
    end),

    t.case("errors: what each operation can answer, from components", function()
        local d = doc()
        t.eq(statuses(op(d, "/misc/a", "get")), "200,400,413,415,500")
        t.eq(statuses(op(d, "/pages/exact", "get")), "200,400,413,415,500,503")
        t.eq(statuses(op(d, "/pages/create", "post")), "201,400,401,403,409,413,415,422,500,503")
        t.eq(statuses(op(d, "/pages/destroy/{id}", "delete")), "204,400,404,409,413,415,500,503")
        t.eq(statuses(op(d, "/things", "get")), "200,400,401,403,413,415,429,500,503")
        t.eq(statuses(op(d, "/orders/{id}/receipt", "put")), "204,400,404,413,500")
        t.eq(statuses(op(d, "/orders", "get")), "200,400,402,413,415,422,500")
        t.eq(op(d, "/orders", "post").responses["409"].description, "An order with these lines exists.")
        t.eq(op(d, "/pages/exact", "get").responses["503"],
            { ["$ref"] = "#/components/responses/ServiceUnavailable" })
        t.eq(d.components.responses.UnprocessableContent.content["application/problem+json"].schema,
            { ["$ref"] = "#/components/schemas/ValidationProblem" })
        t.ok(d.components.responses.ServiceUnavailable.headers["Retry-After"], "503 says Retry-After")
    end),

    t.case("security from the authentication classes' openapi field", function()
        local d = doc()
        t.eq(d.components.securitySchemes.bearerAuth,
            { type = "http", scheme = "bearer", bearerFormat = "JWT" })
        t.eq(d.components.securitySchemes.tokenAuth.type, "apiKey")
        local none = json.array()
        t.eq(op(d, "/things", "get").security, { { bearerAuth = none }, { tokenAuth = none }, {} })
        t.eq(op(d, "/things", "post").security, { { bearerAuth = none }, { tokenAuth = none } })
        t.eq(op(d, "/things/{id}", "get").security, { { bearerAuth = none } })
        t.eq(op(d, "/pages/create", "post").security, { { apiKeyQuery = none }, {} })
        t.eq(op(d, "/misc/a", "get").security, json.array())
    end),

    t.case("tags: described by the resource file's comment or by app.lua", function()
        local d = doc()
        local by = {}
        for _, tag in ipairs(d.tags) do
            by[tag.name] = tag.description
        end
        t.match(by.things, "^Things: the full CRUD")
        t.eq(by.custom, "Operations tagged by hand.")
    end),

    t.case("a name two different schemas want, or a shared operationId: a clear error", function()
        local soom = require "soom"
        local Thing = require "models.thing"
        local app = load()
        local res = soom.ListResource { route = "/clash", model = Thing, fields = { "id" },
            component_name = "ThingRef" }
        app.routes[#app.routes + 1] = { pattern = "/clash", methods = { "GET" },
            name = "resources/clash.lua", resource = res }
        t.raises(function() openapi.document(app) end, "its schema ThingRef differs")
        res.component_name = "ThingId"
        t.ok(pcall(openapi.document, app), "with a name of its own it documents")
        res.operation_id = "things_list"
        t.raises(function() openapi.document(app) end, "operationId things_list")
    end),

    t.case("a table in several places of a tree is written as each place wants it", function()
        -- the writers copy the text of a table seen before at the same place:
        -- the same tree made of distinct tables must give the same bytes
        local function tree(shared)
            local function leaf()
                local m = encode.map()
                m["$ref"] = "#/components/schemas/X"
                m.list = json.array { 1, "a" }
                return m
            end
            local one = leaf()
            local function get()
                return shared and one or leaf()
            end
            local root = encode.map()
            root.a = get()
            local nested = encode.map()
            nested.b = get()
            nested.c = json.array { get(), get() }
            root.deep = nested
            root.items = json.array { get(), json.array { get() } }
            root.z = get()
            return root
        end
        t.eq(encode.json(tree(true)), encode.json(tree(false)))
        t.eq(encode.yaml(tree(true)), encode.yaml(tree(false)))
        t.match(encode.yaml(tree(true)), "\nitems:\n  %- \"?%$ref\"?: ")
    end),

    t.case("YAML: quoted where a reader could misread, plain elsewhere", function()
        local y = encode.yaml({ a = "3.1.0", b = "yes", c = "/samples/{id}", d = json.array({ 1, "x y" }),
            e = {}, ["200"] = "ok: no" })
        t.eq(y, '"200": "ok: no"\na: "3.1.0"\nb: "yes"\nc: /samples/{id}\nd:\n  - 1\n  - x y\ne: {}\n')
    end),

    t.case("the pages link to their assets relative to themselves", function()
        t.eq(routes.relative("/docs", "/openapi.json"), "openapi.json")
        t.eq(routes.relative("/api/docs", "/api/docs/assets/x.js"), "docs/assets/x.js")
        t.eq(routes.relative("/api/docs", "/openapi.json"), "/openapi.json")
    end),

    t.case("the document's routes come without their bytes, which make() sets", function()
        local app = load()
        app.settings.openapi.ui = "off"
        local list, make = routes.routes(app, ".")
        t.eq(#list, 2, "the pages off: the document's two routes")
        for _, r in ipairs(list) do
            t.eq(r.static.later, true, r.pattern)
            t.eq(r.static.body, nil, r.pattern)
        end
        make()
        local tree = openapi.document(app)
        t.eq(list[1].static.body, openapi.json(tree), "JSON")
        t.eq(list[2].static.body, openapi.yaml(tree), "YAML")
        app.settings.openapi.json, app.settings.openapi.yaml = "", ""
        local none, no_make = routes.routes(app, ".")
        t.eq(#none, 0, "nothing served")
        t.eq(no_make, nil, "nothing to make")
    end),

    t.case("serve refuses a route still waiting for its bytes when there is no make", function()
        local serve = require "soom.core.serve"
        local route = { pattern = "/later.json", methods = { "GET" }, name = "spec",
            static = { later = true, content_type = "application/json" } }
        local ok, err = pcall(serve.serve, serve.settings({}), ".", { route }, ".")
        t.eq(ok, false)
        t.match(tostring(err), "the bytes of /later.json were not made")
    end),
}
