-- POST /orders and GET /orders: validation by JSON Schema, compiled in C at
-- start-up. An invalid request is answered 422 before any Lua runs, with
-- every error listed; the handler only ever sees valid, typed input.
local soom = require "soom"
local s = require "soom.schema"

local line = s.object {
    sku = s.string { pattern = "^[A-Z]{3}-[0-9]{4}$" },
    quantity = s.integer { min = 1, max = 1000 },
}

return soom.Resource {
    route = "/orders",
    summary = { post = "Place an order", get = "Show the typed query" },
    responses = {
        post = {
            [201] = s.object {
                accepted = s.boolean(), items = s.integer(), priority = s.enum { "low", "normal", "high" },
            },
        },
        get = {
            [200] = s.object {
                query = s.object({}, { additional = true }),
                limit_type = s.string { description = "the Lua type of the limit parameter" },
            },
        },
    },

    -- the sugar form: closed objects, required unless optional = true
    validation_schema = s.object {
        customer = s.object {
            name = s.string { min = 1, max = 100 },
            email = s.email(),
        },
        lines = s.array { items = line, min = 1, max = 50 },
        priority = s.enum({ "low", "normal", "high" }, { optional = true }),
    },

    -- the standard form: query strings are coerced to the declared types
    query_schema = {
        type = "object",
        additionalProperties = false,
        properties = {
            limit = { type = "integer", minimum = 1, maximum = 100 },
            status = { type = "array", items = { enum = { "open", "shipped" } } },
            express = { type = "boolean" },
        },
    },

    post = function(_, req)
        soom.log("info", "order accepted", { customer = req.body.customer.email })
        local total = 0
        for _, l in ipairs(req.body.lines) do
            total = total + l.quantity
        end
        return { accepted = true, items = total, priority = req.body.priority or "normal" }, 201
    end,

    get = function(_, req)
        return { query = req.query, limit_type = type(req.query.limit) }
    end,
}
