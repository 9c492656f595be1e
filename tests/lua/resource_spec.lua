-- Specs of lua/soom/resource.lua, run by `soom test
-- tests/lua/resource_spec.lua` in the real runtime (soom.errors has its
-- own, errors_spec.lua).
local soom = require "soom"
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
}
