-- The @route@ API against the app served for real, on a fresh, migrated
-- test database (`soom test`).
local soom = require "soom"
local t = require "soom.test"

local ROUTE = "@route@"

local function one()
    return {
        @body_one@
    }
end

local function two()
    return {
        @body_two@
    }
end

local function create(client)
    local res = client:post(ROUTE, one())
    t.eq(res.status, 201, "create")
    return res.json
end

-- the list's links are absolute URLs; the client wants a path
local function path_of(url)
    return url:match("^https?://[^/]+(/.*)$") or url
end

return {
    t.case("create, read, update and delete", function(client)
        local obj = create(client)
        @check_one@
        t.ok(type(obj.id) == "number", "an id")
        local res = client:get(ROUTE .. "/" .. obj.id)
        t.eq(res.status, 200)
        t.eq(res.json, obj)
        res = client:patch(ROUTE .. "/" .. obj.id, { @patch_field@ = @patch_value@ })
        t.eq(res.status, 200, "patch")
        t.eq(res.json.@patch_field@, @patch_expected@)
        res = client:put(ROUTE .. "/" .. obj.id, two())
        t.eq(res.status, 200, "put")
        obj = res.json
        @check_two@
        t.eq(client:delete(ROUTE .. "/" .. obj.id).status, 204)
        t.eq(client:get(ROUTE .. "/" .. obj.id).status, 404)
    end),

    t.case("bodies are validated before anything runs", function(client)
        local bad = one()
        bad.@patch_field@ = @wrong_value@
        local res = client:post(ROUTE, bad)
        t.eq(res.status, 422)
        t.eq(res.headers["content-type"], "application/problem+json")
        t.eq(res.json.errors[1].pointer, "/@patch_field@")
        bad = one()
        bad.not_a_field = 1
        t.eq(client:post(ROUTE, bad).status, 422, "an unknown key")
        t.eq(client:post(ROUTE, "{", { ["Content-Type"] = "application/json" }).status, 400)
    end),

    t.case("the list pages with a signed cursor", function(client)
        local mine = {}
        for _ = 1, 3 do
            mine[create(client).id] = true
        end
        local url, seen, pages, last = ROUTE .. "?page_size=2&ordering=id", {}, 0, 0
        while url do
            local res = client:get(url)
            t.eq(res.status, 200)
            pages = pages + 1
            for _, row in ipairs(res.json.results) do
                t.ok(row.id > last, "ids in order, none twice")
                last = row.id
                seen[row.id] = true
            end
            url = res.json.next ~= soom.null and path_of(res.json.next) or nil
        end
        for id in pairs(mine) do
            t.ok(seen[id], "every row listed")
        end
        t.ok(pages >= 2, "more than one page")
        t.eq(client:get(ROUTE .. "?cursor=tampered").status, 400)
    end),
}
