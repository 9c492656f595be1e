-- Specs of lua/soom/resource.lua and lua/soom/errors.lua, run by
-- `soom test tests/lua/resource_spec.lua` in the real runtime.
local soom = require "soom"
local errors = require "soom.errors"
local t = require "soom.test"

return {
    t.case("a resource lists the methods it defines", function()
        local r = soom.Resource { route = "/x", get = function() end, delete = function() end }
        t.eq(r:methods(), { "GET", "DELETE" })
    end),

    t.case("extend inherits and overrides, Django-CBV style", function()
        local Base = soom.Resource:extend {
            word = "base",
            get = function(self) return { word = self:say() } end,
            say = function(self) return self.word end,
        }
        local Child = Base { route = "/child", word = "child" }
        local GrandChild = Child:extend { say = function(self) return "grand " .. self.word end }
        t.eq(Child.get(Child), { word = "child" })
        t.eq(GrandChild.get(GrandChild), { word = "grand child" })
        t.eq(GrandChild.super, Child)
        t.eq(GrandChild:methods(), { "GET" })
        t.eq(Base.route, nil)
    end),

    t.case("dispatch picks the handler by method; HEAD uses GET", function()
        local r = soom.Resource {
            get = function() return "got" end,
            post = function(_, req) return req.body end,
        }
        t.eq(r:dispatch({ method = "GET" }), "got")
        t.eq(r:dispatch({ method = "HEAD" }), "got")
        t.eq(r:dispatch({ method = "POST", body = 5 }), 5)
    end),

    t.case("a resource must be declared with a table", function()
        t.raises(function() soom.Resource("nope") end, "declared with a table")
    end),

    t.case("soom.error builds a problem", function()
        local p = soom.error(409, "taken", {
            errors = { { pointer = "/name" } },
            headers = { ["Retry-After"] = "1" },
        })
        t.ok(errors.is_problem(p))
        t.eq(p.status, 409)
        t.eq(p.title, "Conflict")
        local doc, headers = errors.document(p, "/x")
        t.eq(doc.instance, "/x")
        t.eq(doc.type, "about:blank")
        t.eq(doc.headers, nil)
        t.eq(headers, { ["Retry-After"] = "1" })
        t.raises(function() soom.error(200) end, "400..599")
        t.raises(function() soom.error(404, 5) end, "detail")
    end),
}
