-- The sample's CRUD API over PostgreSQL (a fresh test database per run).
local t = require "soom.test"

local function create(client, name, score)
    local res = client:post("/samples", { name = name, score = score })
    t.eq(res.status, 201)
    return res.json
end

return {
    t.case("create, read, update and delete a sample", function(client)
        local s = create(client, "ada", 90)
        t.ok(type(s.id) == "number")
        t.match(s.created_at, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d")
        t.eq(client:get("/samples/" .. s.id).json.name, "ada")
        local res = client:patch("/samples/" .. s.id, { score = 91 })
        t.eq(res.status, 200)
        t.eq(res.json.score, 91)
        t.eq(client:put("/samples/" .. s.id, { name = "ada l.", score = 92 }).json.name, "ada l.")
        t.eq(client:delete("/samples/" .. s.id).status, 204)
        t.eq(client:get("/samples/" .. s.id).status, 404)
        t.eq(client:delete("/samples/" .. s.id).status, 404)
    end),

    t.case("the body is validated: strings of 1..100, integers 0..100, no coercion", function(client)
        local res = client:post("/samples", { name = "", score = "42" })
        t.eq(res.status, 422)
        t.eq(#res.json.errors, 2)
        t.eq(client:post("/samples", { name = "x", score = 101 }).status, 422)
        t.eq(client:patch("/samples/1", { score = -1 }).status, 422)
    end),

    t.case("the list pages with a cursor and filters", function(client)
        for i = 1, 5 do
            create(client, "page-" .. i, 7)
        end
        local res = client:get("/samples?score=7&page_size=2&ordering=id")
        t.eq(res.status, 200)
        t.eq(#res.json.results, 2)
        t.eq(res.json.previous, require("soom").null)
        local seen = {}
        local url = res.json.next
        for _, row in ipairs(res.json.results) do
            seen[#seen + 1] = row.name
        end
        while url ~= nil and type(url) == "string" do
            local page = client:get(url:match("https?://[^/]+(.*)$"))
            for _, row in ipairs(page.json.results) do
                seen[#seen + 1] = row.name
            end
            url = page.json.next
        end
        t.eq(seen, { "page-1", "page-2", "page-3", "page-4", "page-5" })
        t.eq(client:get("/samples?cursor=garbage").status, 400)
        t.eq(client:get("/samples?ordering=nope").status, 400)
        t.eq(client:get("/samples?score=abc").status, 400)
    end),
}
