-- GET /hello, the greeting module and the greet command.
local t = require "soom.test"
local greeting = require "lib.greeting"

return {
    t.case("GET /hello greets the world, or the name it is given", function(client)
        local res = client:get("/hello")
        t.eq(res.status, 200)
        t.eq(res.json.message, "Hello, world!")
        t.eq(res.headers["x-request-id"], res.json.request_id)
        t.eq(client:get("/hello?name=Ada").json.message, "Hello, Ada!")
    end),

    t.case("the query is checked by its schema", function(client)
        local res = client:get("/hello?name=")
        t.eq(res.status, 422)
        t.eq(res.json.errors[1].pointer, "/name")
        t.eq(client:get("/hello?nope=1").status, 422)
    end),

    t.case("the greet command parses its arguments", function()
        local greet = require "commands.greet"
        t.eq(greet:parse({ "--who", "Ada" }).who, "Ada")
        t.eq(greet:parse({}).who, "world")
        t.eq(greeting.text("Ada"), "Hello, Ada!")
    end),
}
