-- Orders: handlers in Lua, documented from their schemas and declared
-- responses.
local soom = require "soom"
local s = require "soom.schema"

return {
    soom.Resource {
        route = "/orders",
        tags = { "custom", "orders" },
        operation_id = { post = "place_order", get = "find_orders" },
        summary = { post = "Place an order", get = "Find orders" },
        description = { post = "Checks the order against its schema before the handler runs." },
        validation_schema = {
            type = "object", required = { "customer", "lines" }, additionalProperties = false,
            ["$defs"] = {
                line = s.object { sku = s.string { pattern = "^[A-Z]{3}$" }, qty = s.integer { min = 1 } },
            },
            properties = {
                customer = s.email(),
                lines = { type = "array", minItems = 1, items = { ["$ref"] = "#/$defs/line" } },
            },
        },
        query_schema = {
            type = "object",
            ["$defs"] = { status = { enum = { "open", "shipped" } } },
            properties = {
                status = { type = "array", items = { ["$ref"] = "#/$defs/status" } },
                limit = { type = "integer", minimum = 1, maximum = 50, description = "at most this many" },
            },
            required = { "limit" },
        },
        examples = {
            post = {
                request = { customer = "ada@example.com", lines = { { sku = "ABC", qty = 1 } } },
                response = { id = 1 },
            },
        },
        responses = {
            post = { [201] = { schema = s.object { id = s.integer() }, headers = { Location = s.string() } },
                [409] = "An order with these lines exists." },
            get = { [200] = s.array { items = s.object { id = s.integer() } }, [402] = true },
        },
        post = function() return { id = 1 }, 201 end,
        get = function() return soom.array() end,
    },
    soom.Resource {
        route = "/orders/{id:uuid}/receipt",
        raw_body = true,
        summary = "Attach a receipt",
        request_body = { type = "string" },
        responses = { [204] = "Stored." },
        put = function() return nil, 204 end,
    },
    soom.Resource {
        route = "/orders/{id:uuid}",
        summary = "Read an order",
        responses = { [200] = { schema = s.string(), content_type = "text/plain" } },
        get = function() return "an order" end,
    },
}
