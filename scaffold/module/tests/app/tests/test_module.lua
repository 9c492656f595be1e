-- @name@'s tests: run by `soom test tests/app` against the app served on
-- loopback with the module loaded.
local t = require "soom.test"

return {
    t.case("the route answers with the configured greeting", function(client)
        local res = client:get("/@name@/hello/ada")
        t.eq(res.status, 200)
        t.eq(res.json, { message = "Hi, ada!" })
    end),

    t.case("the middleware marks every response", function(client)
        t.eq(client:get("/@name@/hello/ada").headers["x-@name@-version"], "0.1.0")
        t.eq(client:get("/no/such/path").headers["x-@name@-version"], "0.1.0")
    end),

    t.case("the format checks the app's schema", function(client)
        t.eq(client:post("/codes", { code = "ABC123" }).status, 201)
        local res = client:post("/codes", { code = "abc123" })
        t.eq(res.status, 422)
        t.eq(res.json.errors[1].code, "format")
    end),

    t.case("the Lua library is there for the app's resources", function(client)
        local res = client:post("/codes", { code = "XYZ789" })
        t.eq(res.json, { code = "XYZ789", shout = "XYZ789!", greeting = "Hi" })
    end),
}
