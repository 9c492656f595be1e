-- Specs of lua/soom/generics.lua and lua/soom/queryset.lua: the plan spec
-- a generic resource gives the core (columns, serializer fields with
-- renames, read_only and write_only, filters, ordering, lookup, which
-- actions stay declarative and run in C), the refusals with their
-- messages, and the conditions soom.queryset builds (each lookup's SQL and
-- parameters). Run by `soom test tests/lua/generics_spec.lua` in the real
-- runtime.
local db = require "soom.db"
local generics = require "soom.generics"
local model = require "soom.model"
local soom = require "soom"
local t = require "soom.test"

local f = model.f

local Sample = model.model {
    table = "sample",
    fields = {
        id = f.bigserial(),
        name = f.text { max_length = 100, unique = true },
        score = f.integer { null = true },
        slug = f.text { unique = true },
        secret = f.text { null = true },
        created_at = f.timestamptz { default = "now()", read_only = true },
    },
}

local FILE = "resources/samples.lua"

local function spec(res)
    return generics.plan_spec(res, FILE)
end

local function list(def)
    def.route = def.route or "/samples"
    def.model = def.model or Sample
    return soom.ListCreateResource(def)
end

local function detail(def)
    def.route = def.route or "/samples/{id:int}"
    def.model = def.model or Sample
    return soom.RetrieveUpdateDestroyResource(def)
end

local function hook() end

return {
    -- ---- the plan spec ------------------------------------------------------

    t.case("a list resource's spec: table, typed columns, every field, both actions fast", function()
        local s = spec(list {})
        t.eq(s, {
            table = "sample",
            primary_key = "id",
            columns = {
                { name = "id", type = "bigserial", nullable = false, read_only = true },
                { name = "name", type = "varchar(100)", nullable = false, read_only = false },
                { name = "score", type = "integer", nullable = true, read_only = false },
                { name = "slug", type = "text", nullable = false, read_only = false },
                { name = "secret", type = "text", nullable = true, read_only = false },
                { name = "created_at", type = "timestamptz", nullable = false, read_only = true },
            },
            fields = {
                { name = "id", column = "id" }, { name = "name", column = "name" },
                { name = "score", column = "score" }, { name = "slug", column = "slug" },
                { name = "secret", column = "secret" }, { name = "created_at", column = "created_at" },
            },
            filters = {},
            relation_filters = {},
            ordering_fields = {},
            relation_orderings = {},
            ordering = {},
            actions = { "list", "create" },
            fast = { "list", "create" },
        })
        t.eq(s.lookup_field, nil, "a collection route has no lookup")
    end),

    t.case("each class declares its actions", function()
        local function actions(class, route)
            return spec(class { route = route, model = Sample }).actions
        end
        t.eq(actions(soom.CreateResource, "/s"), { "create" })
        t.eq(actions(soom.ListResource, "/s"), { "list" })
        t.eq(actions(soom.ListCreateResource, "/s"), { "list", "create" })
        t.eq(actions(soom.RetrieveResource, "/s/{id}"), { "retrieve" })
        t.eq(actions(soom.UpdateResource, "/s/{id}"), { "update" })
        t.eq(actions(soom.DestroyResource, "/s/{id}"), { "destroy" })
        t.eq(actions(soom.RetrieveUpdateResource, "/s/{id}"), { "retrieve", "update" })
        t.eq(actions(soom.RetrieveDestroyResource, "/s/{id}"), { "retrieve", "destroy" })
        t.eq(actions(soom.RetrieveUpdateDestroyResource, "/s/{id}"), { "retrieve", "update", "destroy" })
        t.eq(soom.UpdateResource { route = "/s/{id}", model = Sample }:methods(), { "PUT", "PATCH" })
    end),

    t.case("a primary key is never nullable in the spec; read_only model fields stay so", function()
        local Coded = model.model {
            table = "coded", primary_key = "code",
            fields = { code = f.text { null = true }, n = f.serial(), at = f.date { read_only = true } },
        }
        local s = spec(soom.ListResource { route = "/c", model = Coded })
        t.eq(s.primary_key, "code")
        t.eq(s.columns, {
            { name = "code", type = "text", nullable = false, read_only = false },
            { name = "n", type = "serial", nullable = false, read_only = true },
            { name = "at", type = "date", nullable = false, read_only = true },
        })
    end),

    t.case("serializer fields: order, renames, read_only and write_only", function()
        local s = spec(list {
            fields = {
                "id", { "title", source = "name" }, { "score", read_only = true },
                { "secret", write_only = true }, { "created", source = "created_at", read_only = true },
            },
        })
        t.eq(s.fields, {
            { name = "id", column = "id" },
            { name = "title", column = "name", read_only = false, write_only = false },
            { name = "score", column = "score", read_only = true, write_only = false },
            { name = "secret", column = "secret", read_only = false, write_only = true },
            { name = "created", column = "created_at", read_only = true, write_only = false },
        })
    end),

    t.case("filters, ordering fields and the default ordering pass through", function()
        local s = spec(list {
            filter_fields = { "score", "name" }, ordering_fields = { "id", "score" },
            ordering = { "-score" },
        })
        t.eq(s.filters, { "score", "name" })
        t.eq(s.ordering_fields, { "id", "score" })
        t.eq(s.ordering, { "-score" })
        t.eq(s.pagination, nil)
    end),

    t.case("a paginator's ordering replaces the resource's; the paginator is the spec's", function()
        local page = soom.pagination.cursor { ordering = { "-created_at" }, page_size = 5 }
        local s = spec(list { ordering = { "-score" }, pagination = page })
        t.eq(s.ordering, { "-created_at" })
        t.eq(s.pagination, page)
        local offset = soom.pagination.offset { default_limit = 7 }
        s = spec(list { ordering = { "name" }, pagination = offset })
        t.eq(s.ordering, { "name" }, "an offset paginator has no ordering of its own")
        t.eq(s.pagination, offset)
    end),

    t.case("detail resources: the lookup defaults to the primary key, by its own name", function()
        local s = spec(detail {})
        t.eq({ s.lookup_field, s.lookup_param }, { "id", "id" })
        t.eq(s.actions, { "retrieve", "update", "destroy" })
        t.eq(s.fast, { "retrieve", "update", "destroy" })
        s = spec(detail { route = "/samples/{slug:slug}", lookup_field = "slug" })
        t.eq({ s.lookup_field, s.lookup_param }, { "slug", "slug" })
        s = spec(detail { route = "/samples/{key}", lookup_field = "slug", lookup_param = "key" })
        t.eq({ s.lookup_field, s.lookup_param }, { "slug", "key" })
    end),

    t.case("a detail route must have the lookup parameter itself, not one it begins", function()
        t.raises(function() spec(detail { route = "/samples/{pk:int}" }) end,
            "resources/samples.lua: the route /samples/{pk:int} has no {id} parameter for the lookup")
        t.raises(function() spec(detail { route = "/samples/{identifier:int}" }) end,
            "resources/samples.lua: the route /samples/{identifier:int} has no {id} parameter")
        t.raises(function() spec(detail { route = "/samples/{slug}", lookup_field = "slug",
            lookup_param = "sl" }) end, "has no {sl} parameter for the lookup")
        t.eq(spec(detail { route = "/samples/{id}" }).lookup_param, "id", "{id} without a type")
    end),

    t.case("an action overriding no step is fast; overriding any step runs it in Lua", function()
        local function fast(res)
            return spec(res).fast
        end
        t.eq(fast(list { get_queryset = hook }), { "create" })
        t.eq(fast(list { list = hook }), { "create" })
        t.eq(fast(list { get = hook }), { "create" }, "the method handler itself")
        t.eq(fast(list { perform_create = hook }), { "list" })
        t.eq(fast(list { post = hook }), { "list" })
        t.eq(fast(list { create = hook }), { "list" })
        t.eq(fast(list { serializer_data = hook }), {}, "serializer_data shapes both")
        t.eq(fast(list { dispatch = hook }), {}, "dispatch wraps every action")
        t.eq(fast(list { perform_update = hook }), { "list", "create" }, "a hook of no action here")
        t.eq(fast(detail { perform_destroy = hook }), { "retrieve", "update" })
        t.eq(fast(detail { perform_update = hook }), { "retrieve", "destroy" })
        t.eq(fast(detail { patch = hook }), { "retrieve", "destroy" })
        t.eq(fast(detail { retrieve = hook }), { "update", "destroy" })
        t.eq(fast(detail { get_object = hook }), {}, "every detail action looks the object up")
        t.eq(fast(detail { get_queryset = hook }), {})
        t.eq(spec(detail { get_object = hook }).actions, { "retrieve", "update", "destroy" })
    end),

    t.case("an override inherited from a base class counts too", function()
        local Scoped = soom.ListCreateResource:extend { get_queryset = hook }
        local res = Scoped { route = "/samples", model = Sample }
        t.eq(spec(res).fast, { "create" })
        local Plain = soom.ListCreateResource:extend { page_note = "plain" }
        t.eq(spec(Plain { route = "/samples", model = Sample }).fast, { "list", "create" },
            "a base class that overrides nothing")
    end),

    t.case("keyset pagination: a unique field, the primary key by default", function()
        t.eq(spec(list { pagination = soom.pagination.keyset() }).pagination.kind, "keyset")
        t.eq(spec(list { pagination = soom.pagination.keyset { field = "-id" } }).pagination.field, "-id")
        t.eq(spec(list { pagination = soom.pagination.keyset { field = "-name" } }).pagination.field,
            "-name")
        t.raises(function() spec(list { pagination = soom.pagination.keyset { field = "score" } }) end,
            "resources/samples.lua: keyset pagination needs a unique field (the primary key by default), "
            .. "not score")
        t.raises(function() spec(list { pagination = soom.pagination.keyset { field = "+nope" } }) end,
            "keyset pagination needs a unique field (the primary key by default), not nope")
    end),

    t.case("refusals: no model, no single-column primary key, a bad fields entry", function()
        t.raises(function() spec(soom.ListResource { route = "/x" }) end,
            "resources/samples.lua: a generic resource needs a model (soom.model{...})")
        t.raises(function() spec(soom.ListResource { route = "/x", model = { table = "x" } }) end,
            "resources/samples.lua: a generic resource needs a model (soom.model{...})")
        local Pair = model.model {
            table = "pair", primary_key = { "a", "b" }, fields = { a = f.integer(), b = f.integer() },
        }
        t.raises(function() spec(soom.ListResource { route = "/p", model = Pair }) end,
            "resources/samples.lua: a generic resource needs a model with a single-column primary key")
        local Keyless = model.model { table = "keyless", fields = { a = f.integer() } }
        t.raises(function() spec(soom.ListResource { route = "/k", model = Keyless }) end,
            "a generic resource needs a model with a single-column primary key")
        t.raises(function() spec(list { fields = { "id", 5 } }) end,
            "resources/samples.lua: fields[2] must be a field name or { name, source = ... }")
        t.raises(function() spec(list { fields = { { source = "name" } } }) end,
            "resources/samples.lua: fields[1] must be a field name or { name, source = ... }")
    end),

    t.case("a model's schema qualifies the table; a read_only model refuses writing resources", function()
        local Legacy = model.model {
            table = "legacy_item", schema = "legacy", read_only = true, name = "legacy.item",
            fields = { id = f.integer(), title = f.text() },
        }
        t.eq(spec(soom.ListResource { route = "/legacy", model = Legacy }).table, "legacy.legacy_item")
        t.eq(spec(soom.RetrieveResource { route = "/legacy/{id}", model = Legacy }).actions, { "retrieve" })
        t.raises(function() spec(soom.ListCreateResource { route = "/legacy", model = Legacy }) end,
            "resources/samples.lua: the model legacy.item is read_only: the resource at /legacy cannot "
            .. "create it (use a ListResource or RetrieveResource)")
        t.raises(function() spec(soom.RetrieveDestroyResource { route = "/legacy/{id}", model = Legacy }) end,
            "the resource at /legacy/{id} cannot destroy it")
    end),

    t.case("filters and orderings across a relation go apart, with their SQL", function()
        local Owner = model.model { table = "gen_owner", fields = { id = f.serial(), name = f.text() } }
        local Pet = model.model {
            table = "gen_pet",
            fields = { id = f.bigserial(), owner = f.foreign_key { to = Owner }, name = f.text() },
        }
        local s = spec(soom.ListResource {
            route = "/pets", model = Pet, filter_fields = { "name", "owner__name" },
            ordering_fields = { "id", "owner__name" }, ordering = { "-owner__name" },
        })
        t.eq(s.filters, { "name" })
        t.eq(s.relation_filters, { {
            name = "owner__name", type = "text", column = '"_f1"."name"', suffix = ")",
            prefix = '"owner_id" IN (SELECT "_f1"."id" FROM "gen_owner" AS "_f1" WHERE ',
        } })
        t.eq(s.ordering_fields, { "id" })
        t.eq(s.relation_orderings, { {
            name = "owner__name", nullable = false, orderable = true,
            sql = '(SELECT "_o1"."name" FROM "gen_owner" AS "_o1" WHERE "_o1"."id" = "gen_pet"."owner_id")',
        } })
        t.eq(s.ordering, { "-owner__name" })
        t.raises(function() spec(soom.ListResource { route = "/pets", model = Pet,
            filter_fields = { "owner__nope" } }) end,
            "resources/samples.lua: filter owner__nope: owner__nope: nope is not a field of gen_owner")
    end),

    t.case("is_generic tells generic resources from plain ones", function()
        t.ok(generics.is_generic(list {}), "a ListCreateResource")
        t.ok(generics.is_generic(soom.DestroyResource), "a class")
        t.ok(not generics.is_generic(soom.Resource { route = "/x", get = hook }), "a Resource")
        t.ok(not generics.is_generic("x"), "a string")
    end),

    -- ---- soom.queryset ------------------------------------------------------

    t.case("queryset: no conditions, and soom.queryset is the constructor", function()
        t.eq(soom.queryset, generics.queryset)
        t.eq(soom.queryset(list {}):conditions(), {})
        t.eq(list {}:get_queryset():conditions(), {}, "the default get_queryset")
    end),

    t.case("queryset: each lookup's SQL and parameter", function()
        local res = list {}
        local function cond(spec_)
            local conds = soom.queryset(res):filter(spec_):conditions()
            t.eq(#conds, 1)
            return conds[1]
        end
        t.eq(cond { score = 5 }, { '"score" = $1', "5" })
        t.eq(cond { score__gt = 5 }, { '"score" > $1', "5" })
        t.eq(cond { score__gte = -5 }, { '"score" >= $1', "-5" })
        t.eq(cond { score__lt = 2.5 }, { '"score" < $1', "2.5" })
        t.eq(cond { score__lte = 0 }, { '"score" <= $1', "0" })
        t.eq(cond { score__in = { 1, 2, 3 } }, { '"score" = ANY($1)', "{1,2,3}" })
        t.eq(cond { name__in = { "a,b", 'q"', "x\ny", "back\\slash" } },
            { '"name" = ANY($1)', '{"a,b","q\\"","x\ny","back\\\\slash"}' })
        t.eq(cond { score__isnull = true }, { '"score" IS NULL' })
        t.eq(cond { score__isnull = false }, { '"score" IS NOT NULL' })
        t.eq(cond { score = soom.null }, { '"score" IS NULL' }, "equal to null")
        t.eq(cond { name = "o'k" }, { '"name" = $1', "o'k" }, "text as it is, never in the SQL")
    end),

    t.case("queryset: values as parameter text", function()
        local res = list {}
        local function param(v)
            return soom.queryset(res):filter { score = v }:conditions()[1][2]
        end
        t.eq(param(9007199254740991), "9007199254740991")
        t.eq(param(-42), "-42")
        t.eq(param(0.1), "0.1", "the shortest text that reads back the same")
        t.eq(param(1 / 3), "0.3333333333333333")
        t.eq(param(true), "true")
        t.eq(param(false), "false")
        t.eq(param({ a = 1 }), '{"a":1}')
    end),

    t.case("queryset: names are the resource's fields, renamed ones by their column", function()
        local res = list { fields = { "id", { "title", source = "name" } } }
        t.eq(soom.queryset(res):filter { title = "x" }:conditions(), { { '"name" = $1', "x" } })
        t.eq(soom.queryset(res):filter { name = "x" }:conditions(), { { '"name" = $1', "x" } },
            "a model field by its own name")
        t.raises(function() soom.queryset(res):filter { nope = 1 } end, "nope is not a field of sample")
        t.raises(function() soom.queryset(res):filter { score__like = "x" } end,
            'unknown filter operator "like"')
    end),

    t.case("queryset: several filters in name order, chained, immutable", function()
        local res = list {}
        local base = soom.queryset(res)
        local qs = base:filter { score__gte = 50, name = "a" }
        t.eq(qs:conditions(), { { '"name" = $1', "a" }, { '"score" >= $1', "50" } })
        local narrower = qs:filter { id__lt = 10 }:where("score % 2 = $1", 0)
        t.eq(narrower:conditions(), {
            { '"name" = $1', "a" }, { '"score" >= $1', "50" }, { '"id" < $1', "10" },
            { "score % 2 = $1", "0" },
        })
        t.eq(#qs:conditions(), 2, "filter returns a new queryset")
        t.eq(base:conditions(), {})
    end),

    t.case("queryset:where keeps every parameter, NULL ones included", function()
        local res = list {}
        local cond = soom.queryset(res):where("a = $1 OR b = $2 OR c = $3", nil, 3, soom.null)
            :conditions()[1]
        -- the core reads a condition's parameters up to its length: a nil
        -- would end the list early and leave $2.. without a value
        t.eq(#cond, 4)
        t.eq(cond[1], "a = $1 OR b = $2 OR c = $3")
        t.eq(cond[2], soom.null)
        t.eq(cond[3], "3")
        t.eq(cond[4], soom.null)
        t.eq(#soom.queryset(res):where("x IS NULL"):conditions()[1], 1)
        t.raises(function() soom.queryset(res):where(5) end, "queryset:where needs SQL text")
    end),

    t.case("queryset: an __in list is the database's array literal", function()
        local values = { "x\ny", 7, soom.null, 'q"' }
        local cond = soom.queryset(list {}):filter { name__in = values }:conditions()[1]
        t.eq(cond[2], db.array(values))
    end),
}
