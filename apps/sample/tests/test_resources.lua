-- The sample app's own tests, run by `soom test apps/sample` against the
-- app served on loopback.
local soom = require "soom"
local t = require "soom.test"

return {
    t.case("GET /hello answers the greeting", function(client)
        local res = client:get("/hello")
        t.eq(res.status, 200)
        t.eq(res.headers["content-type"], "application/json")
        t.eq(res.json, { message = "Hello, World!" })
    end),

    t.case("POST /echo returns the body, null and empty arrays included", function(client)
        local res = client:post("/echo", { list = soom.array(), n = soom.null, x = 1.5 })
        t.eq(res.status, 200)
        t.eq(res.json.echo.x, 1.5)
        t.eq(res.json.echo.n, soom.null)
        t.ok(res.body:find('"list":[]', 1, true), "the empty array stays an array")
    end),

    t.case("POST /greetings creates with 201 and a Location", function(client)
        local res = client:post("/greetings", { name = "grace" })
        t.eq(res.status, 201)
        t.eq(res.headers.location, "/greetings/grace")
        t.eq(client:get("/greetings/grace").json.greeting, "Welcome back, grace!")
    end),

    t.case("an invalid greeting is a 422 problem", function(client)
        local res = client:post("/greetings", { name = 42 })
        t.eq(res.status, 422)
        t.eq(res.headers["content-type"], "application/problem+json")
        t.eq(res.json.errors[1].pointer, "/name")
    end),

    t.case("typed parameters and their 404s", function(client)
        t.eq(client:get("/items/7").json.id, 7)
        t.eq(client:get("/items/seven").status, 404)
        t.eq(client:get("/items/1001").json.detail, "no item 1001")
    end),

    t.case("a failing resource answers a generic 500", function(client)
        local res = client:get("/boom")
        t.eq(res.status, 500)
        t.eq(res.json.title, "Internal Server Error")
        t.eq(client:get("/hello").status, 200)
    end),
}
