-- Specs of lua/soom/schema.lua: the sugar produces standard JSON Schema
-- tables, and to_json writes empty arrays and empty objects correctly.
local s = require "soom.schema"
local json = require "soom.json"
local t = require "soom.test"

local function has(text, part)
    t.ok(text:find(part, 1, true), part .. " in " .. text)
end

return {
    t.case("s.object gives the standard form, closed, required sorted", function()
        local schema = s.object{
            score = s.integer{ min = 0, max = 100 },
            name = s.string{ min = 1, max = 100 },
            note = s.string{ optional = true },
        }
        t.eq(schema, {
            type = "object",
            additionalProperties = false,
            required = { "name", "score" },
            properties = {
                name = { type = "string", minLength = 1, maxLength = 100 },
                score = { type = "integer", minimum = 0, maximum = 100 },
                note = { type = "string" },
            },
        })
        t.ok(s.is_optional(schema.properties.note))
        t.ok(not s.is_optional(schema.properties.name))
    end),

    t.case("s.object options open it and bound it", function()
        local schema = s.object({ a = s.number{ optional = true } }, { additional = true, max = 3 })
        t.eq(schema.additionalProperties, true)
        t.eq(schema.maxProperties, 3)
        t.eq(schema.required, nil)
    end),

    t.case("arrays, enums, consts, combinators and refs", function()
        t.eq(s.array{ items = s.string{}, min = 1, max = 5, unique = true },
             { type = "array", items = { type = "string" }, minItems = 1, maxItems = 5,
               uniqueItems = true })
        t.eq(s.enum{ "a", "b" }, { enum = { "a", "b" } })
        t.eq(s.const(3), { const = 3 })
        t.eq(s.any_of{ s.null(), s.boolean() },
             { anyOf = { { type = "null" }, { type = "boolean" } } })
        t.eq(s.one_of{ true }, { oneOf = { true } })
        t.eq(s.all_of{ s.ref("#/$defs/x") }, { allOf = { { ["$ref"] = "#/$defs/x" } } })
        t.eq(s.number{ exclusive_min = 0, multiple_of = 0.5, description = "price" },
             { type = "number", exclusiveMinimum = 0, multipleOf = 0.5, description = "price" })
    end),

    t.case("formats are strings with a format", function()
        t.eq(s.string{ format = "email" }, { type = "string", format = "email" })
        t.eq(s.email{ max = 254 },
            { type = "string", format = "email", maxLength = 254, ["x-format-assert"] = true })
        t.eq(s.date_time(), { type = "string", format = "date-time", ["x-format-assert"] = true })
        t.eq(s.time().format, "time")
        t.eq(s.uuid().format, "uuid")
    end),

    t.case("s.nullable widens the type or wraps in anyOf, keeping optional", function()
        local n = s.nullable(s.string{ max = 3, optional = true })
        t.eq(n, { type = { "string", "null" }, maxLength = 3 })
        t.ok(s.is_optional(n))
        t.eq(s.nullable(s.enum{ "x" }), { anyOf = { { enum = { "x" } }, { type = "null" } } })
    end),

    t.case("misuse is reported at the caller", function()
        t.raises(function() s.string{ mn = 1 } end, "unknown option 'mn' for s.string")
        t.raises(function() s.enum{} end, "non-empty")
        t.raises(function() s.object("x") end, "table of property schemas")
    end),

    t.case("to_json writes empty arrays as [] and empty schemas as {}", function()
        local text = s.to_json({
            type = "object",
            required = {},
            properties = {},
            patternProperties = {},
            items = {},
            allOf = { {} },
            enum = {},
            prefixItems = {},
            dependentRequired = { a = {} },
            ["$defs"] = { empty = {} },
        })
        has(text, '"required":[]')
        has(text, '"properties":{}')
        has(text, '"patternProperties":{}')
        has(text, '"items":{}')
        has(text, '"allOf":[{}]')
        has(text, '"enum":[]')
        has(text, '"prefixItems":[]')
        has(text, '"dependentRequired":{"a":[]}')
        has(text, '"$defs":{"empty":{}}')
    end),

    t.case("to_json round-trips the sugar and leaves data alone", function()
        local schema = s.object{
            tags = s.array{ items = s.string{ max = 20 }, unique = true, optional = true },
            kind = s.enum{ "a", "b" },
            when = s.nullable(s.date{}),
            fixed = s.const({ x = json.array() }),
        }
        local back = json.decode(s.to_json(schema))
        t.eq(back.required, json.array({ "fixed", "kind", "when" }))
        t.eq(back.properties.kind.enum, json.array({ "a", "b" }))
        t.eq(back.properties.tags.items, { type = "string", maxLength = 20 })
        t.ok(json.is_array(back.properties.fixed.const.x))
        t.eq(s.to_json(true), "true")
    end),

    t.case("compile gives a validator for the app's own data", function()
        local v = s.compile(s.object { name = s.string { min = 1 }, n = s.integer { max = 3 } })
        t.eq(v:validate({ name = "x", n = 2 }), true)
        local ok, errors = v:validate({ name = "", n = 9, extra = true })
        t.eq(ok, false)
        local codes = {}
        for _, e in ipairs(errors) do
            codes[e.pointer] = e.code
        end
        t.eq(codes, { ["/name"] = "minLength", ["/n"] = "maximum", ["/extra"] = "additionalProperties" })
        t.match(v:json(), '"minLength":1')
        t.raises(function() s.compile({ type = "object", minProperties = -1 }) end, "minProperties")
        local email = s.compile(s.email(), { format_assertion = true })
        t.eq(email:validate("nope"), false)
        t.eq(email:validate("a@example.com"), true)
    end),

    t.case("the helpers that name a format assert it without format_assertion", function()
        local cases = {
            { s.date_time(), "tomorrow", "2026-12-02T10:00:00Z" },
            { s.date(), "tomorrow", "2026-12-02" },
            { s.time(), "noon", "10:20:30+02:00" },
            { s.duration(), "a while", "PT36H" },
            { s.email(), "nope", "a@example.com" },
            { s.uuid(), "not-a-uuid", "123e4567-e89b-12d3-a456-426614174000" },
            { s.ipv4(), "1.2.3", "10.0.0.1" },
            { s.ipv6(), "::g", "::1" },
            { s.uri(), "no scheme", "https://example.com/a" },
        }
        for _, c in ipairs(cases) do
            local v = s.compile(c[1])
            local ok, errors = v:validate(c[2])
            t.eq(ok, false)
            t.eq(errors[1].code, "format")
            t.eq(v:validate(c[3]), true)
        end
        -- nullable keeps the assertion; a raw table keeps 2020-12's annotation
        t.eq(s.compile(s.nullable(s.date_time())):validate("tomorrow"), false)
        t.eq(s.compile({ type = "string", format = "date-time" }):validate("tomorrow"), true)
        t.eq(s.compile(s.string { format = "date-time" }):validate("tomorrow"), true)
        t.raises(function() s.compile({ type = "string", format = "nope", ["x-format-assert"] = true }) end,
            "not a format")
    end),
}
