-- Specs of lua/soom/pagination.lua: the spec each paginator gives the plan
-- (kind, sizes, names) with its defaults, and every refusal with its
-- message, raised at the line that declared the paginator. Run by
-- `soom test tests/lua/pagination_spec.lua` in the real runtime.
local pagination = require "soom.pagination"
local soom = require "soom"
local t = require "soom.test"

-- The error of fn(), checked to contain `text` and to point at `line` of
-- this file (the declaration, not the inside of soom.pagination).
local function refused(line, fn, text)
    local err = t.raises(fn, text)
    t.ok(tostring(err):find("pagination_spec.lua:" .. line .. ":", 1, true),
        "raised at the declaring line " .. line .. ": " .. tostring(err))
end

local function here()
    return debug.getinfo(2, "l").currentline
end

return {
    t.case("soom.pagination is this module", function()
        t.eq(soom.pagination, pagination)
    end),

    t.case("cursor: defaults", function()
        t.eq(pagination.cursor(), { kind = "cursor", page_size = 20, max_page_size = 100 })
        t.eq(pagination.cursor {}, { kind = "cursor", page_size = 20, max_page_size = 100 })
    end),

    t.case("cursor: ordering and sizes as given", function()
        t.eq(pagination.cursor { ordering = { "-score", "created_at" }, page_size = 5, max_page_size = 50 },
            { kind = "cursor", ordering = { "-score", "created_at" }, page_size = 5, max_page_size = 50 })
        -- a page size above 100 raises the default maximum with it
        t.eq(pagination.cursor { page_size = 250 }.max_page_size, 250)
        t.eq(pagination.cursor { page_size = 100 }.max_page_size, 100)
        t.eq(pagination.cursor { page_size = 1 }.max_page_size, 100)
    end),

    t.case("cursor: refusals", function()
        local msg = "soom.pagination.cursor: ordering must be a list of field names"
        refused(here(), function() pagination.cursor { ordering = "-score" } end, msg)
        refused(here(), function() pagination.cursor { ordering = { "-score", 5 } } end, msg)
        for _, bad in ipairs({ 0, -1, 2.5, "20", true }) do
            refused(here(), function() pagination.cursor { page_size = bad } end,
                "soom.pagination: page_size must be a positive integer")
            refused(here(), function() pagination.cursor { max_page_size = bad } end,
                "soom.pagination: max_page_size must be a positive integer")
        end
    end),

    t.case("offset: defaults, count modes and limits", function()
        t.eq(pagination.offset(),
            { kind = "offset", page_size = 20, max_page_size = 100, count = "exact" })
        t.eq(pagination.offset { default_limit = 10, max_limit = 30, count = "planned" },
            { kind = "offset", page_size = 10, max_page_size = 30, count = "planned" })
        t.eq(pagination.offset { count = "none" }.count, "none")
        t.eq(pagination.offset { default_limit = 500 }.max_page_size, 500)
    end),

    t.case("offset: refusals", function()
        refused(here(), function() pagination.offset { count = "estimated" } end,
            'soom.pagination.offset: count must be "exact", "planned" or "none"')
        refused(here(), function() pagination.offset { count = true } end,
            'soom.pagination.offset: count must be "exact", "planned" or "none"')
        for _, bad in ipairs({ 0, -5, 1.5, "10" }) do
            refused(here(), function() pagination.offset { default_limit = bad } end,
                "soom.pagination: default_limit must be a positive integer")
            refused(here(), function() pagination.offset { max_limit = bad } end,
                "soom.pagination: max_limit must be a positive integer")
        end
    end),

    t.case("keyset: defaults", function()
        t.eq(pagination.keyset(), {
            kind = "keyset", param = "after", results = "results", next = "next",
            page_size = 20, max_page_size = 100,
        })
    end),

    t.case("keyset: field, renamed parameter and envelope", function()
        t.eq(pagination.keyset {
            field = "-id", param = "starting_after", results = "data", next = "next_id",
            page_size = 3, max_page_size = 9,
        }, {
            kind = "keyset", field = "-id", param = "starting_after", results = "data",
            next = "next_id", page_size = 3, max_page_size = 9,
        })
        t.eq(pagination.keyset { page_size = 120 }.max_page_size, 120)
    end),

    t.case("keyset: refusals", function()
        for _, k in ipairs({ "field", "param", "results", "next" }) do
            refused(here(), function() pagination.keyset { [k] = 5 } end,
                ("soom.pagination.keyset: %s must be a string"):format(k))
            refused(here(), function() pagination.keyset { [k] = { "id" } } end,
                ("soom.pagination.keyset: %s must be a string"):format(k))
        end
        refused(here(), function() pagination.keyset { page_size = 0 } end,
            "soom.pagination: page_size must be a positive integer")
        refused(here(), function() pagination.keyset { max_page_size = 0.5 } end,
            "soom.pagination: max_page_size must be a positive integer")
    end),
}
