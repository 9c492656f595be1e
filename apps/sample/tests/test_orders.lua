-- Validation of the sample's /orders: JSON Schema compiled in C at start-up.
local t = require "soom.test"

local function order()
    return {
        customer = { name = "Ada", email = "ada@example.com" },
        lines = { { sku = "ABC-1234", quantity = 2 } },
    }
end

return {
    t.case("a valid order is accepted", function(client)
        local res = client:post("/orders", order())
        t.eq(res.status, 201)
        t.eq(res.json, { accepted = true, items = 2, priority = "normal" })
    end),

    t.case("an invalid order lists every error", function(client)
        local bad = order()
        bad.customer.name = ""
        bad.lines[1].quantity = "2"
        local res = client:post("/orders", bad)
        t.eq(res.status, 422)
        t.eq(#res.json.errors, 2)
        local pointers = {}
        for _, e in ipairs(res.json.errors) do
            pointers[e.pointer] = e.code
        end
        t.eq(pointers, { ["/customer/name"] = "minLength", ["/lines/0/quantity"] = "type" })
    end),

    t.case("the query is typed by its schema", function(client)
        local res = client:get("/orders?limit=3&express=true")
        t.eq(res.json.query, { limit = 3, express = true })
        t.eq(client:get("/orders?limit=three").status, 422)
    end),
}
